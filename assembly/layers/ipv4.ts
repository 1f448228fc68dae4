// IPv4 header (RFC 791 §3.1), with Zeek's IP-layer drop rules (src/packet_analysis/protocol/ip/IP.cc).
//
// Contract: decodeIpv4(p, cap, wire, ctx) with p at the IPv4 header. It checks, in this order:
//   captured >= 20 and version 4 and 20 <= IHL*4 <= captured            else Truncated / Malformed
//   total length: 0 is a TSO capture (accepted only when checksums are ignored, as Zeek: the
//     captured length stands in for it and P_IPLEN is 0); otherwise total >= IHL*4  else Malformed
//   wire >= total (Zeek `truncated_IP_len`: the frame is shorter on the wire than the IP packet)
//   header checksum, unless ignoreChecksums                               else BadIpChecksum
//   fragments: a fully captured fragment goes to fragments.ts and its datagram is analysed when it
//   completes (as Zeek reassembles); of an incompletely captured one only the first fragment is
//   decoded, on its own (Zeek does the same for header-only traces)        else Fragments
// The payload handed on is bounded by the total length, so Ethernet padding never counts.
// A first fragment is decoded from what it holds; CTX_FRAG marks lengths beyond it as unknown.

import { P_IPVER, P_IPID, P_SRC, P_DST, P_IPLEN } from "../packet";
import { Stat } from "../stats";
import { be16 } from "../mem";
import { csumValid } from "./checksum";
import { CTX_FRAG, WIRE_UNKNOWN } from "./context";
import { decodeTransport, IPPROTO_TCP } from "./ip";
import { routeIp } from "../shard/route";
import { fragKeyV4, fragment } from "./fragments";
import { OPTIONS, PACKET, ROUTE } from "../state";

const V4_VER_IHL: usize = 0;
export const V4_TOTAL_LEN: usize = 2;
const V4_ID: usize = 4;
export const V4_FRAG: usize = 6;        // flags (3 bits) + fragment offset (13 bits, 8-byte units)
export const V4_PROTO: usize = 9;
const V4_SRC: usize = 12;
const V4_DST: usize = 16;
export const V4_MIN_HDR: i32 = 20;

export const V4_FLAG_MF: u32 = 0x2000;
export const V4_OFFSET_MASK: u32 = 0x1FFF;

/** The 12 bytes before an IPv4 address in its v4-mapped IPv6 form ::ffff:a.b.c.d, as two stores. */
const V4MAPPED_HI: u64 = 0;
const V4MAPPED_MID: u32 = 0xFFFF0000;   // bytes 8..11 = 00 00 ff ff, read little-endian

/**
 * Writes the descriptor's IP fields of the IPv4 header at p (version, identification, the two
 * addresses v4-mapped, P_IPLEN = the total length field) and returns the pseudo-header address sum
 * (csumAdd domain). Shared by decodeIpv4 and the straight path (straight.ts). [p, p+20) is captured.
 * `cleared`: the descriptor is as clearPkt left it (the outermost IP header of the straight path),
 * so the zero words need no store; an inner header of a tunnel overwrites the outer's address.
 */
@inline export function storeIpv4Fields(pkt: usize, p: usize, totalField: i32, cleared: bool = false): u64 {
  // Each address is loaded once: a store through pkt could alias p, so a second load would stay.
  const src = load<u32>(p + V4_SRC);
  const dst = load<u32>(p + V4_DST);
  store<u8>(pkt + P_IPVER, 4);
  store<u16>(pkt + P_IPID, <u16>be16(p + V4_ID));
  if (!cleared) store<u64>(pkt + P_SRC, V4MAPPED_HI);
  store<u32>(pkt + P_SRC + 8, V4MAPPED_MID);
  store<u32>(pkt + P_SRC + 12, src);
  if (!cleared) store<u64>(pkt + P_DST, V4MAPPED_HI);
  store<u32>(pkt + P_DST + 8, V4MAPPED_MID);
  store<u32>(pkt + P_DST + 12, dst);
  store<u32>(pkt + P_IPLEN, <u32>totalField);
  return <u64>src + <u64>dst;
}

export function decodeIpv4(p: usize, cap: i32, wire: i32, ctx: u32): i32 {
  const pkt = PACKET.PKT; // a local: stores through it could alias the state block
  if (ROUTE.routing) return routeIp(p, cap, false);   // shard/route.ts: the outermost IP header keys the shard
  if (cap < V4_MIN_HDR) return Stat.Truncated;
  // SAFETY: cap >= 20 covers every fixed field read below.
  const verIhl = <u32>load<u8>(p + V4_VER_IHL);
  if ((verIhl >> 4) != 4) return Stat.Malformed;
  const hl = <i32>(verIhl & 0xF) << 2;
  if (hl < V4_MIN_HDR) return Stat.Malformed;
  if (hl > cap) return Stat.Truncated;

  const totalField = <i32>be16(p + V4_TOTAL_LEN);
  let total = totalField;
  if (total == 0) {
    // TCP segmentation offload zeroes the length. Zeek drops the packet unless checksums are
    // ignored, and then uses the captured length (zeek-semantics.md §5, pitfall 17).
    if (!OPTIONS.ignoreChecksums) return Stat.Malformed;
    total = cap;
  }
  if (total < hl) return Stat.Malformed;
  if (wire < total) return Stat.Truncated;

  // SAFETY: hl <= cap, so the whole header is captured.
  if (!OPTIONS.ignoreChecksums && !csumValid(p, <usize>hl, 0)) return Stat.BadIpChecksum;

  const frag = be16(p + V4_FRAG);
  const fragOffset = <i32>(frag & V4_OFFSET_MASK) << 3;
  const mf = (frag & V4_FLAG_MF) != 0;
  const proto = <u32>load<u8>(p + V4_PROTO);
  let c = ctx;
  let payWire = total - hl;
  let key: usize = 0;
  if (fragOffset != 0 || mf) {
    if (cap >= total) {
      // Fully captured: Zeek reassembles; the datagram is analysed when it completes.
      key = fragKeyV4(ctx, p);
      if (fragOffset != 0) return fragment(key, fragOffset, total - hl, mf, Stat.Fragments, false, hl, 0);
    } else if (fragOffset != 0) {
      return Stat.Fragments;   // incompletely captured: Zeek drops all but the first fragment
    }
    c |= CTX_FRAG;
    payWire = WIRE_UNKNOWN;
  }

  const pseudo = storeIpv4Fields(pkt, p, totalField);
  const payCap = min(cap, total) - hl;
  const code = decodeTransport(proto, p + <usize>hl, payCap, total - hl, payWire, pseudo, c, false);
  if (key == 0) return code;
  return fragment(key, 0, total - hl, mf, code, proto == IPPROTO_TCP, hl, p + <usize>hl);
}
