// IP fragment completion tracking (RFC 791 §3.2 reassembly, RFC 8200 §4.5), without keeping payloads.
//
// Why: Zeek (src/packet_analysis/protocol/ip/IP.cc) analyses a fully captured fragment only once its
// datagram has been reassembled, at the time of the fragment that completes it; a datagram that never
// completes is never seen by TCP. Only an incompletely captured first fragment (snaplen) is analysed
// on its own. Corpus gtp-outer-ip-frag has four first fragments whose second fragment is missing:
// Zeek counts none of them.
//
// How: the first fragment is decoded as soon as it arrives (it holds every header up to TCP) and its
// descriptor is parked here; every fragment marks the 8-byte units it covers. When the first fragment,
// the last fragment (MF clear) and every unit in between have been seen, the parked descriptor comes
// back with the completing fragment's timestamp. Payload bytes are not kept: a completed segment has
// P_PAYPTR/P_PAYCAP = 0 unless its first fragment completed the datagram itself, and its checksum
// stays Csum.Unverifiable (the brief's rule for fragments). When the fragmented IP header carried TCP
// directly, P_IPLEN/P_PAYLEN are patched to the reassembled lengths.
//
// Contract: fragment(...) returns DECODED with PKT restored for tracking, the first fragment's own skip
// code when the completed datagram carried no TCP segment, or Stat.Fragments while it is incomplete.
// The table has FRAG_SLOTS entries; when full, the least recently started datagram is forgotten (it
// then never completes, like a datagram whose fragments were lost). Overlaps are not resolved: a unit
// counts as covered by whichever fragment marked it first.

import { PKT_SIZE, P_TS, P_IPLEN, P_PAYLEN, P_PAYPTR, P_PAYCAP, P_THLEN, P_WHOLE } from "../packet";
import { Stat } from "../stats";
import { DECODED, MAX_TUNNEL_DEPTH, CTX_DEPTH_MASK } from "./context";
import { PACKET, FRAGMENTS } from "../state";

const FRAG_SLOTS: i32 = 64;
const UNIT_SHIFT: u32 = 3;                 // fragment offsets count 8-byte units
const MAX_UNITS: i32 = 65536 >> 3;         // an IPv4/IPv6 datagram payload is < 64 KiB

// Entry layout.
const E_USED: usize = 0;        // u8
const E_HAVE_FIRST: usize = 1;  // u8
const E_OWN_TCP: usize = 2;     // u8: the fragmented IP header carried TCP directly
const E_CODE: usize = 4;        // i32: decode result of the first fragment
const E_SEQ: usize = 8;         // u32: start order, for eviction
const E_LAST_END: usize = 12;   // i32: end offset of the MF-clear fragment, -1 = not seen
const E_IP_HDR: usize = 16;     // u32: bytes before the fragmentable part (for P_IPLEN)
const E_TCP_START: usize = 20;  // u32: TCP header offset inside the reassembled payload
const E_KEY: usize = 24;        // KEY_SIZE bytes
const E_PKT: usize = 64;        // parked descriptor (PKT_SIZE bytes)
const E_BITMAP: usize = E_PKT + PKT_SIZE;    // MAX_UNITS bits
const E_SIZE: usize = E_BITMAP + (<usize>MAX_UNITS >> 3);

// Key: version, protocol, identification, source, destination (v4-mapped for IPv4).
const K_VER: usize = 0;
const K_PROTO: usize = 1;
const K_ID: usize = 4;
const K_ADDRS: usize = 8;       // 32 bytes: source then destination, as in PKT
const KEY_SIZE: usize = 40;

const TABLE: usize = memory.data(<i32>(<usize>FRAG_SLOTS * E_SIZE), 16);
/** One key slot per tunnel depth: a first fragment's decode may meet an inner fragmented header. */
const KEYS: usize = memory.data(<i32>(KEY_SIZE * (<usize>MAX_TUNNEL_DEPTH + 1)), 16);

FRAGMENTS.nextSeq = 0;

export function fragmentsReset(): void {
  memory.fill(TABLE, 0, <usize>FRAG_SLOTS * E_SIZE);
  FRAGMENTS.nextSeq = 0;
}

const V4MAPPED_MID: u32 = 0xFFFF0000;   // bytes 8..11 of ::ffff:a.b.c.d, read little-endian
const IPV4_ID: usize = 4;
const IPV4_PROTO: usize = 9;
const IPV4_SRC: usize = 12;
const IPV4_DST: usize = 16;
const IPV6_ADDRS: usize = 8;             // source then destination, 32 bytes

/** Builds the key of an IPv4 fragment (header at p, captured) for the given decode context. */
export function fragKeyV4(ctx: u32, p: usize): usize {
  const k = KEYS + <usize>(ctx & CTX_DEPTH_MASK) * KEY_SIZE;
  store<u8>(k + K_VER, 4);
  // SAFETY: the caller checked the 20-byte IPv4 header is captured.
  store<u8>(k + K_PROTO, load<u8>(p + IPV4_PROTO));
  store<u32>(k + K_ID, <u32>load<u16>(p + IPV4_ID));
  store<u64>(k + K_ADDRS, 0);
  store<u32>(k + K_ADDRS + 8, V4MAPPED_MID);
  store<u32>(k + K_ADDRS + 12, load<u32>(p + IPV4_SRC));
  store<u64>(k + K_ADDRS + 16, 0);
  store<u32>(k + K_ADDRS + 24, V4MAPPED_MID);
  store<u32>(k + K_ADDRS + 28, load<u32>(p + IPV4_DST));
  return k;
}

/** Builds the key of an IPv6 fragment: header at p (40 bytes captured), identification `id`. */
export function fragKeyV6(ctx: u32, p: usize, id: u32): usize {
  const k = KEYS + <usize>(ctx & CTX_DEPTH_MASK) * KEY_SIZE;
  store<u8>(k + K_VER, 6);
  store<u8>(k + K_PROTO, 0);
  store<u32>(k + K_ID, id);
  // SAFETY: the caller checked the 40-byte IPv6 header is captured (addresses at 8..40).
  memory.copy(k + K_ADDRS, p + IPV6_ADDRS, 32);
  return k;
}

/**
 * Accounts one fully captured fragment of the datagram `key` (from fragKeyV4/V6).
 *   offset   fragment offset in bytes; len = fragment payload bytes; mf = more fragments
 *   code     offset 0: the result of decoding this fragment (PKT holds it); ignored otherwise
 *   ownTcp   the fragmented header carried the TCP header itself (lengths get patched)
 *   ipHdr    bytes before the fragmentable part (IPv4 header, or IPv6 up to the fragment header)
 *   payload  first byte of the fragmentable part in this frame (to locate TCP in a first fragment)
 */
export function fragment(key: usize, offset: i32, len: i32, mf: bool, code: i32, ownTcp: bool,
                         ipHdr: i32, payload: usize): i32 {
  const e = findOrCreate(key);
  const startUnit = offset >> UNIT_SHIFT;
  const endUnit = min((offset + len + 7) >> UNIT_SHIFT, MAX_UNITS);
  for (let u = startUnit; u < endUnit; u++) {
    // SAFETY: u < MAX_UNITS, so the byte is inside this entry's bitmap.
    const b = e + E_BITMAP + <usize>(u >> 3);
    store<u8>(b, load<u8>(b) | <u8>(<u32>1 << <u32>(u & 7)));
  }
  if (!mf && load<i32>(e + E_LAST_END) < 0) store<i32>(e + E_LAST_END, offset + len);
  if (offset == 0 && load<u8>(e + E_HAVE_FIRST) == 0) {
    store<u8>(e + E_HAVE_FIRST, 1);
    store<i32>(e + E_CODE, code);
    store<u8>(e + E_OWN_TCP, ownTcp && code == DECODED ? 1 : 0);
    store<u32>(e + E_IP_HDR, <u32>ipHdr);
    if (code == DECODED) {
      const thlen = <u32>load<u8>(PACKET.PKT + P_THLEN);
      store<u32>(e + E_TCP_START, load<u32>(PACKET.PKT + P_PAYPTR) - thlen - <u32>payload);
      memory.copy(e + E_PKT, PACKET.PKT, PKT_SIZE);
    }
  }
  if (!complete(e)) return Stat.Fragments;

  // Complete: the datagram is analysed now, at this fragment's time.
  store<u8>(e + E_USED, 0);
  const result = load<i32>(e + E_CODE);
  if (result != DECODED) return result;
  const ts = load<i64>(PACKET.PKT + P_TS);
  if (offset != 0) {
    memory.copy(PACKET.PKT, e + E_PKT, PKT_SIZE);
    store<u32>(PACKET.PKT + P_PAYPTR, 0);   // the first fragment's bytes are gone from the window
    store<u32>(PACKET.PKT + P_PAYCAP, 0);
  }
  // The datagram is complete: Zeek analyses the reassembled payload whole.
  store<u8>(PACKET.PKT + P_WHOLE, 1);
  store<i64>(PACKET.PKT + P_TS, ts);
  if (load<u8>(e + E_OWN_TCP) != 0) {
    const lastEnd = load<u32>(e + E_LAST_END);
    const tcpStart = load<u32>(e + E_TCP_START);
    const thlen = <u32>load<u8>(PACKET.PKT + P_THLEN);
    store<u32>(PACKET.PKT + P_IPLEN, load<u32>(e + E_IP_HDR) + lastEnd);
    store<u32>(PACKET.PKT + P_PAYLEN, lastEnd > tcpStart + thlen ? lastEnd - tcpStart - thlen : 0);
  }
  return DECODED;
}

/** The entry for `key`, or a fresh one (evicting the oldest when the table is full). */
function findOrCreate(key: usize): usize {
  let free: usize = 0;
  let oldest: usize = TABLE;
  for (let i = 0; i < FRAG_SLOTS; i++) {
    const e = TABLE + <usize>i * E_SIZE;
    if (load<u8>(e + E_USED) == 0) {
      if (free == 0) free = e;
      continue;
    }
    if (memory.compare(e + E_KEY, key, KEY_SIZE) == 0) return e;
    if (load<u32>(e + E_SEQ) - FRAGMENTS.nextSeq < load<u32>(oldest + E_SEQ) - FRAGMENTS.nextSeq) oldest = e;
  }
  const e = free != 0 ? free : oldest;
  memory.fill(e, 0, E_SIZE);
  store<u8>(e + E_USED, 1);
  store<u32>(e + E_SEQ, FRAGMENTS.nextSeq++);
  store<i32>(e + E_LAST_END, -1);
  memory.copy(e + E_KEY, key, KEY_SIZE);
  return e;
}

/** First and last fragment seen, and every 8-byte unit below the end covered. */
function complete(e: usize): bool {
  if (load<u8>(e + E_HAVE_FIRST) == 0) return false;
  const lastEnd = load<i32>(e + E_LAST_END);
  if (lastEnd < 0) return false;
  const units = min((lastEnd + 7) >> UNIT_SHIFT, MAX_UNITS);
  const bm = e + E_BITMAP;
  let u = 0;
  // SAFETY: u + 64 <= units <= MAX_UNITS keeps the 8-byte loads inside the bitmap.
  while (u + 64 <= units) {
    if (load<u64>(bm + <usize>(u >> 3)) != 0xFFFFFFFFFFFFFFFF) return false;
    u += 64;
  }
  for (; u < units; u++) {
    if ((load<u8>(bm + <usize>(u >> 3)) & <u8>(<u32>1 << <u32>(u & 7))) == 0) return false;
  }
  return true;
}
