// TCP header and options (RFC 9293 §3.1; options: MSS §3.7.1, window scale RFC 7323 §2,
// SACK-permitted / SACK RFC 2018, timestamps RFC 7323 §3, TCP Fast Open RFC 7413 §4.1.1).
//
// Contract: decodeTcp(p, cap, len, pseudo, ctx) is called by the IP layer with p at the TCP header,
// cap = captured bytes from p (already bounded by the IP length), len = the TCP length the IP header
// declares (IPv4 total length - header, IPv6 payload length - extension headers; the captured length
// for a TSO packet), pseudo = the unfolded pseudo-header address sum (csumAdd domain).
// It returns DECODED after filling the TCP fields of PKT, or Malformed / Truncated when fewer than 20
// header bytes are there (Zeek's CheckHeaderTrunc: no connection). With the fixed header in hand Zeek
// keys and creates the connection before ExtractTCP_Header looks at the data offset: a data offset
// < 20 bytes (`bad_TCP_header_len`) or a header longer than the IP payload (`truncated_header`)
// returns DECODED with P_CSUM = Csum.HeaderBad, a header longer than the captured bytes
// (`truncated_header`) Csum.HeaderCut; the tracker then creates the connection and counts nothing.
//
// Options are parsed like Zeek's build_syn_packet_val: EOL stops, NOP is one byte, any other option
// needs a length byte >= 2 that stays inside the header; a bad length stops option parsing but keeps
// the segment. Each option is range-checked before its value is read.

import {
  P_SPORT, P_DPORT, P_SEQ, P_ACK, P_FLAGS, P_WIN, P_THLEN, P_CSUM, P_OPTS, P_MSS, P_WSCALE,
  P_TSVAL, P_TSECR, P_SACKN, P_SACK, P_PAYLEN, P_PAYPTR, P_PAYCAP, P_WHOLE,
  OPT_MSS, OPT_WSCALE, OPT_SACK_PERM, OPT_SACK, OPT_TS, OPT_TFO, Csum,
} from "../packet";
import { Stat } from "../stats";
import { be16, be32 } from "../mem";
import { csumValid, csumFoldsValid, csumSum20, pseudoLen } from "./checksum";
import { CTX_FRAG, DECODED } from "./context";
import { OPTIONS, PACKET } from "../state";

// ---- header fields (RFC 9293 §3.1 figure 1) ----
const TCP_SPORT: usize = 0;
const TCP_DPORT: usize = 2;
const TCP_SEQ: usize = 4;
const TCP_ACK: usize = 8;
const TCP_DATA_OFF: usize = 12;   // high nibble: header length in 32-bit words
const TCP_FLAGS: usize = 13;
const TCP_WIN: usize = 14;
export const TCP_MIN_HDR: i32 = 20;

// ---- option kinds (IANA tcp-parameters) ----
const OPT_KIND_EOL: u32 = 0;
const OPT_KIND_NOP: u32 = 1;
const OPT_KIND_MSS: u32 = 2;
const OPT_KIND_WSCALE: u32 = 3;
const OPT_KIND_SACK_PERM: u32 = 4;
const OPT_KIND_SACK: u32 = 5;
const OPT_KIND_TS: u32 = 8;
const OPT_KIND_TFO: u32 = 34;

const OPT_LEN_MSS: u32 = 4;
const OPT_MINLEN_WSCALE: u32 = 3;    // Zeek accepts >= 3 for the window scale it uses
const OPT_LEN_TS: u32 = 10;
const SACK_BLOCK: u32 = 8;
const MAX_SACK_BLOCKS: u32 = 4;

/** The option bytes NOP, NOP, kind 8, length 10 as one little-endian word, and their total length with the values. */
const NOP_NOP_TS: u32 = 0x0A080101;
const NOP_NOP_TS_LEN: i32 = 12;

// The SYN layouts synOptions() reads, as little-endian words of their fixed bytes.
const MSS_LEAD: u32 = 0x0402;                 // MSS kind, length 4 (the value follows)
const NOP_WS_LEAD: u32 = 0x030301;            // NOP, window scale kind, length 3 (the shift follows)
const NOP_NOP_SACKPERM: u32 = 0x02040101;     // NOP, NOP, SACK-permitted kind, length 2
const SACKPERM_TS_LEAD: u32 = 0x0A080204;     // SACK-permitted kind, length 2, timestamps kind, length 10
const SYN_OPTS_WIN_LEN: i32 = 12;
const SYN_OPTS_LINUX_LEN: i32 = 20;

const IPPROTO_TCP_WORD: u64 = 6 << 8;   // pseudo-header [zero, protocol 6] as a little-endian word

export function decodeTcp(p: usize, cap: i32, len: i32, pseudo: u64, ctx: u32): i32 {
  return decodeTcpInline(PACKET.PKT, p, cap, len, pseudo, ctx);
}

/**
 * decodeTcp's body, inlined into the straight path (straight.ts), which has no call to spare. `pkt`
 * is PACKET.PKT, passed in a local: stores through it could alias the state block, so a load here
 * would be made again after the IP layer's stores.
 */
@inline export function decodeTcpInline(pkt: usize, p: usize, cap: i32, len: i32, pseudo: u64, ctx: u32, fixedIn: bool = false): i32 {
  // `fixedIn` (a constant): the caller (the straight path) has checked both already.
  if (!fixedIn) {
    if (len < TCP_MIN_HDR) return Stat.Malformed;      // the IP length leaves no room for a TCP header
    if (cap < TCP_MIN_HDR) return Stat.Truncated;
  }
  // SAFETY: cap >= 20, so every fixed header field below is inside the captured bytes.
  const thlen = <i32>(load<u8>(p + TCP_DATA_OFF) >> 4) << 2;

  // The ports, sequence and acknowledgment numbers and the window, byte-swapped by one shuffle of
  // the first 16 header bytes (wasm has no byte swap; written out it took some 30 instructions):
  // bytes 0..7 of `h` are the sequence then the acknowledgment number, 8..11 the two ports, 12..13
  // the window, each as the descriptor holds it (host order); stored in three lane stores.
  if (TCP_SPORT != 0 || TCP_DPORT != 2 || TCP_SEQ != 4 || TCP_ACK != 8 || TCP_WIN != 14) ERROR("shuffle lanes: the TCP header");
  if (P_DPORT != P_SPORT + 2 || P_ACK != P_SEQ + 4) ERROR("shuffle lanes: the descriptor");
  // SAFETY: cap >= 20 covers the 16 bytes.
  const raw = v128.load(p);
  const h = i8x16.shuffle(raw, raw, 7, 6, 5, 4, 11, 10, 9, 8, 1, 0, 3, 2, 15, 14, 0, 0);
  v128.store64_lane(pkt + P_SEQ, h, 0);
  v128.store32_lane(pkt + P_SPORT, h, 2);
  v128.store16_lane(pkt + P_WIN, h, 6);
  store<u8>(pkt + P_FLAGS, load<u8>(p + TCP_FLAGS));
  // The connection exists from here on (Zeek's InitConnKey needs only the ports); the rest of the
  // descriptor stays zero for an unusable header.
  // thlen < 20 || thlen > len (bad_TCP_header_len; truncated_header: the IP length) as one
  // unsigned compare: len >= 20 here.
  if (<u32>(thlen - TCP_MIN_HDR) > <u32>(len - TCP_MIN_HDR)) {
    store<u8>(pkt + P_CSUM, <u8>Csum.HeaderBad);
    return DECODED;
  }
  if (thlen > cap) {                                 // truncated_header: options cut by the snaplen
    store<u8>(pkt + P_CSUM, <u8>Csum.HeaderCut);
    return DECODED;
  }
  store<u8>(pkt + P_THLEN, <u8>thlen);
  store<u32>(pkt + P_PAYLEN, <u32>(len - thlen));
  store<u32>(pkt + P_PAYPTR, <u32>(p + <usize>thlen));
  // cap <= len (the IP layer bounded it), so this is <= P_PAYLEN.
  store<u32>(pkt + P_PAYCAP, <u32>(cap - thlen));
  store<u8>(pkt + P_WHOLE, cap >= len ? 1 : 0);

  // A header without options (most segments) asks nothing more.
  if (thlen != TCP_MIN_HDR) {
    if (thlen == TCP_MIN_HDR + NOP_NOP_TS_LEN && load<u32>(p + <usize>TCP_MIN_HDR) == NOP_NOP_TS) {
      // SAFETY: thlen <= cap, so the 12 option bytes are captured.
      // NOP, NOP, timestamps (RFC 7323 Appendix A's layout, what most segments of a Linux or BSD
      // connection carry): exactly what parseOptions makes of it, without the loop.
      store<u8>(pkt + P_OPTS, OPT_TS);
      // Both values byte-swapped by one shuffle of header bytes 16..31 (the last 16 of the 32), as above.
      if (P_TSECR != P_TSVAL + 4 || TCP_MIN_HDR + NOP_NOP_TS_LEN != 32) ERROR("shuffle lanes: the timestamps");
      const ts = v128.load(p, 16);
      v128.store64_lane(pkt + P_TSVAL, i8x16.shuffle(ts, ts, 11, 10, 9, 8, 15, 14, 13, 12, 0, 0, 0, 0, 0, 0, 0, 0), 0);
    } else if (!synOptions(pkt, p + <usize>TCP_MIN_HDR, thlen - TCP_MIN_HDR)) {
      parseOptions(p + <usize>TCP_MIN_HDR, p + <usize>thlen);
    }
  }

  let csum: u8;
  if (OPTIONS.ignoreChecksums) {
    csum = <u8>Csum.NotChecked;
  } else if ((ctx & CTX_FRAG) != 0 || cap < len) {
    // Cut by the snaplen or by IP fragmentation: Zeek only verifies when caplen >= len.
    csum = <u8>Csum.Unverifiable;
  } else {
    // SAFETY: cap >= len here, so [p, p+len) is captured. A bare 20-byte header (a pure ACK, the
    // most common segment checked) is summed without csumAddSmall's jump table and tail tests.
    const acc = pseudo + IPPROTO_TCP_WORD + pseudoLen(<u32>len);
    const ok = len == TCP_MIN_HDR ? csumFoldsValid(csumSum20(p) + acc) : csumValid(p, <usize>len, acc);
    csum = ok ? <u8>Csum.Ok : <u8>Csum.Bad;
  }
  store<u8>(pkt + P_CSUM, csum);
  return DECODED;
}

/**
 * The two option layouts nearly every SYN and SYN-ACK carries, read without the loop when the `n`
 * option bytes at o are exactly one of them (values aside): Windows' MSS, NOP, window scale, NOP,
 * NOP, SACK-permitted (12 bytes) and Linux's MSS, SACK-permitted, timestamps, NOP, window scale
 * (20 bytes). It stores what parseOptions makes of them and returns true, or stores nothing and
 * returns false. [o, o+n) is captured (n = thlen - 20 <= cap - 20).
 */
@inline function synOptions(pkt: usize, o: usize, n: i32): bool {
  if ((load<u32>(o) & 0xFFFF) != MSS_LEAD) return false;    // kind 2, length 4
  if (n == SYN_OPTS_WIN_LEN) {
    if ((load<u32>(o, 4) & 0xFFFFFF) != NOP_WS_LEAD || load<u32>(o, 8) != NOP_NOP_SACKPERM) return false;
    store<u8>(pkt + P_OPTS, OPT_MSS | OPT_WSCALE | OPT_SACK_PERM);
    store<u16>(pkt + P_MSS, <u16>be16(o + 2));
    store<u8>(pkt + P_WSCALE, load<u8>(o, 7));
    return true;
  }
  if (n == SYN_OPTS_LINUX_LEN) {
    if (load<u32>(o, 4) != SACKPERM_TS_LEAD || (load<u32>(o, 16) & 0xFFFFFF) != NOP_WS_LEAD) return false;
    store<u8>(pkt + P_OPTS, OPT_MSS | OPT_SACK_PERM | OPT_TS | OPT_WSCALE);
    store<u16>(pkt + P_MSS, <u16>be16(o + 2));
    store<u32>(pkt + P_TSVAL, be32(o + 8));
    store<u32>(pkt + P_TSECR, be32(o + 12));
    store<u8>(pkt + P_WSCALE, load<u8>(o, 19));
    return true;
  }
  return false;
}

/** Parses options in [o, end) (end <= p + thlen <= captured end) into P_OPTS and the option fields. */
function parseOptions(o: usize, end: usize): void {
  const pkt = PACKET.PKT; // a local: stores through it could alias the state block
  let bits: u8 = 0;
  while (o < end) {
    // SAFETY: o < end, and end is inside the captured header.
    const kind = <u32>load<u8>(o);
    if (kind == OPT_KIND_EOL) break;
    if (kind == OPT_KIND_NOP) { o++; continue; }
    if (o + 1 >= end) break;                  // no room for the length byte
    const olen = <u32>load<u8>(o + 1);
    if (olen < 2 || o + <usize>olen > end) break;   // trashed length: stop, keep the segment
    // From here [o, o+olen) is inside the header; each case reads at most olen bytes.
    switch (kind) {
      case OPT_KIND_MSS: {
        if (olen == OPT_LEN_MSS) {
          bits |= OPT_MSS;
          store<u16>(pkt + P_MSS, <u16>be16(o + 2));
        }
        break;
      }
      case OPT_KIND_WSCALE: {
        if (olen >= OPT_MINLEN_WSCALE) {
          bits |= OPT_WSCALE;
          store<u8>(pkt + P_WSCALE, load<u8>(o + 2));
        }
        break;
      }
      case OPT_KIND_SACK_PERM: {
        bits |= OPT_SACK_PERM;
        break;
      }
      case OPT_KIND_SACK: {
        const body = olen - 2;
        if (body >= SACK_BLOCK && body % SACK_BLOCK == 0) {
          const n = min(body / SACK_BLOCK, MAX_SACK_BLOCKS);
          bits |= OPT_SACK;
          store<u8>(pkt + P_SACKN, <u8>n);
          for (let i: u32 = 0; i < n; i++) {
            const b = o + 2 + <usize>(i * SACK_BLOCK);
            // SAFETY: 2 + (i+1)*8 <= olen, so both words are inside the option.
            store<u32>(pkt + P_SACK + <usize>(i * SACK_BLOCK), be32(b));
            store<u32>(pkt + P_SACK + <usize>(i * SACK_BLOCK) + 4, be32(b + 4));
          }
        }
        break;
      }
      case OPT_KIND_TS: {
        if (olen == OPT_LEN_TS) {
          bits |= OPT_TS;
          store<u32>(pkt + P_TSVAL, be32(o + 2));
          store<u32>(pkt + P_TSECR, be32(o + 6));
        }
        break;
      }
      case OPT_KIND_TFO: {
        bits |= OPT_TFO;
        break;
      }
      default: break;
    }
    o += <usize>olen;
  }
  store<u8>(pkt + P_OPTS, bits);
}
