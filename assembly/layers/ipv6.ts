// IPv6 header and extension-header chain (RFC 8200 §3, §4; AH RFC 4302 §2; routing type 0 RFC 2460 §4.4),
// with Zeek's rules (src/IP.cc IPv6_Hdr_Chain, src/packet_analysis/protocol/ip/IP.cc).
//
// Contract: decodeIpv6(p, cap, wire, ctx) with p at the IPv6 header.
//   captured >= 40 and version 6                                   else Truncated / Malformed
//   wire >= 40 + payload length (Zeek `truncated_IP_len`)         else Truncated
//   extension headers hop-by-hop (0), routing (43), fragment (44), destination options (60) and
//   AH (51) are skipped; each must lie inside the payload length  else Malformed, and be captured
//   else Truncated. ESP (50), no-next-header (59) and mobility (135) end the chain as NonTcp.
//   Fragments are handled as in ipv4.ts: a fully captured one goes to fragments.ts (analysed when
//   its datagram completes); of an incompletely captured one only the first is decoded, on its own.
// P_IPLEN is payload length + 40, as Zeek's IP_Hdr::TotalLen counts it. P_DST and the pseudo-header use
// the final destination of the first type-0 routing header with segments left (RFC 8200 §8.1), as
// Zeek's IP_Hdr::DstAddr does. (Zeek's Mobile IPv6 home-address handling is off by default; not done.)
// Jumbograms (payload length 0 with a jumbo option) are not supported: their TCP is Malformed.

import { P_IPVER, P_IPID, P_SRC, P_DST, P_IPLEN } from "../packet";
import { Stat } from "../stats";
import { be16, be32 } from "../mem";
import { CTX_FRAG, WIRE_UNKNOWN } from "./context";
import { decodeTransport, IPPROTO_TCP } from "./ip";
import { routeIp } from "../shard/route";
import { fragKeyV6, fragment } from "./fragments";
import { copy16 } from "../mem";
import { PACKET, ROUTE } from "../state";

export const V6_HDR: i32 = 40;
const V6_VER: usize = 0;
export const V6_PAYLOAD_LEN: usize = 4;
export const V6_NEXT_HDR: usize = 6;
const V6_SRC: usize = 8;
export const V6_DST: usize = 24;
const V6_ADDR: usize = 16;

// Extension header fields (RFC 8200 §4.3-4.6): next header, then length.
const EXT_NEXT: usize = 0;
const EXT_LEN: usize = 1;
const EXT_UNIT: i32 = 8;         // generic header length unit; the length excludes the first 8 bytes
const AH_UNIT: i32 = 4;          // AH counts 32-bit words minus 2 (RFC 4302 §2.2)
const FRAG_HDR: i32 = 8;
const FRAG_OFFSET: usize = 2;    // 13-bit offset << 3 | res | M
const FRAG_ID: usize = 4;
const FRAG_M: u32 = 0x0001;
const FRAG_OFFSET_MASK: u32 = 0xFFF8;
const RT_TYPE: usize = 2;
const RT_SEGLEFT: usize = 3;
const RT_TYPE0: u8 = 0;
const RT0_ADDRS: usize = 8;      // type 0: reserved(4) after the 4-byte fixed part, then addresses

const NH_HOPOPTS: u32 = 0;
const NH_ROUTING: u32 = 43;
const NH_FRAGMENT: u32 = 44;
const NH_ESP: u32 = 50;
const NH_AH: u32 = 51;
const NH_NONE: u32 = 59;
const NH_DSTOPTS: u32 = 60;
const NH_MOBILITY: u32 = 135;

/**
 * Writes the descriptor's IP fields of the IPv6 header at p (version, no identification, source,
 * destination `dst`, P_IPLEN = `total`) and returns the pseudo-header address sum (csumAdd domain).
 * Shared by decodeIpv6 and the straight path (straight.ts). [p, p+40) and [dst, dst+16) are captured.
 * `cleared`: the descriptor is as clearPkt left it (see storeIpv4Fields), so P_IPID needs no store.
 */
@inline export function storeIpv6Fields(pkt: usize, p: usize, dst: usize, total: i32, cleared: bool = false): u64 {
  store<u8>(pkt + P_IPVER, 6);
  if (!cleared) store<u16>(pkt + P_IPID, 0); // IPv6 has no identification outside fragments
  copy16(pkt + P_SRC, p + V6_SRC);
  copy16(pkt + P_DST, dst);
  store<u32>(pkt + P_IPLEN, <u32>total);
  return sum16(p + V6_SRC) + sum16(dst);
}

export function decodeIpv6(p: usize, cap: i32, wire: i32, ctx: u32): i32 {
  const pkt = PACKET.PKT; // a local: stores through it could alias the state block
  if (ROUTE.routing) return routeIp(p, cap, true);   // shard/route.ts: the outermost IP header keys the shard
  if (cap < V6_HDR) return Stat.Truncated;
  // SAFETY: cap >= 40 covers the fixed header.
  if ((<u32>load<u8>(p + V6_VER) >> 4) != 6) return Stat.Malformed;
  const total = <i32>be16(p + V6_PAYLOAD_LEN) + V6_HDR;
  if (wire < total) return Stat.Truncated;
  const avail = min(cap, total);

  let c = ctx;
  let key: usize = 0;        // set when this packet is a fully captured fragment
  let fragHdrOff: i32 = 0;
  let fragMore = false;
  let nh = <u32>load<u8>(p + V6_NEXT_HDR);
  let off: i32 = V6_HDR;
  let dst: usize = p + V6_DST;
  // Each pass consumes >= 8 bytes and off never exceeds avail, so the loop ends.
  while (true) {
    if (nh == NH_HOPOPTS || nh == NH_ROUTING || nh == NH_DSTOPTS || nh == NH_AH) {
      if (off + 2 > total) return Stat.Malformed;
      if (off + 2 > avail) return Stat.Truncated;
      const q = p + <usize>off;
      // SAFETY: off + 2 <= avail.
      const hlen = nh == NH_AH
        ? (<i32>load<u8>(q + EXT_LEN) + 2) * AH_UNIT
        : (<i32>load<u8>(q + EXT_LEN) + 1) * EXT_UNIT;
      if (off + hlen > total) return Stat.Malformed;
      if (off + hlen > avail) return Stat.Truncated;
      // SAFETY: [q, q+hlen) is captured from here on.
      // The first routing header with segments left decides (Zeek: "multiple_routing_header").
      if (nh == NH_ROUTING && dst == p + V6_DST) dst = routingFinalDst(q, hlen, dst);
      nh = <u32>load<u8>(q + EXT_NEXT);
      off += hlen;
      continue;
    }
    if (nh == NH_FRAGMENT) {
      if (off + FRAG_HDR > total) return Stat.Malformed;
      if (off + FRAG_HDR > avail) return Stat.Truncated;
      const q = p + <usize>off;
      // SAFETY: off + 8 <= avail.
      const fo = be16(q + FRAG_OFFSET);
      const fragOffset = <i32>(fo & FRAG_OFFSET_MASK);
      const more = (fo & FRAG_M) != 0;
      nh = <u32>load<u8>(q + EXT_NEXT);
      off += FRAG_HDR;
      // An atomic fragment (offset 0, M clear) is a whole packet.
      if (fragOffset != 0 || more) {
        if (cap >= total && key == 0) {
          // Fully captured: Zeek reassembles; the datagram is analysed when it completes.
          key = fragKeyV6(ctx, p, be32(q + FRAG_ID));
          fragHdrOff = off - FRAG_HDR;
          fragMore = more;
          if (fragOffset != 0) {
            return fragment(key, fragOffset, total - off, more, Stat.Fragments, false, fragHdrOff, 0);
          }
        } else if (fragOffset != 0) {
          return Stat.Fragments;   // incompletely captured: Zeek drops all but the first fragment
        }
        c |= CTX_FRAG;
      }
      continue;
    }
    break;
  }
  if (nh == NH_ESP || nh == NH_NONE || nh == NH_MOBILITY) {
    if (key == 0) return Stat.NonTcp;
    return fragment(key, 0, total - fragHdrOff - FRAG_HDR, fragMore, Stat.NonTcp, false, fragHdrOff, 0);
  }

  // SAFETY: the IPv6 header (40 bytes) was length-checked, so both 16-byte addresses are in bounds.
  const pseudo = storeIpv6Fields(pkt, p, dst, total);
  const payWire = (c & CTX_FRAG) != 0 ? WIRE_UNKNOWN : total - off;
  const code = decodeTransport(nh, p + <usize>off, avail - off, total - off, payWire, pseudo, c, true);
  if (key == 0) return code;
  const fragPayload = fragHdrOff + FRAG_HDR;
  return fragment(key, 0, total - fragPayload, fragMore, code, nh == IPPROTO_TCP, fragHdrOff, p + <usize>fragPayload);
}

/** Sum of a 16-byte address as four little-endian u32 words (csumAdd domain). */
@inline function sum16(a: usize): u64 {
  // SAFETY: callers pass an address inside a captured header.
  return <u64>load<u32>(a) + <u64>load<u32>(a + 4) + <u64>load<u32>(a + 8) + <u64>load<u32>(a + 12);
}

/**
 * The destination a routing header leads to (Zeek IPv6_Hdr_Chain::ProcessRoutingHeader): type 0 with
 * segments left and an even length -> its last address. Otherwise `dst` stays. (Type 2, Mobile IPv6,
 * is only processed by Zeek builds with ENABLE_MOBILE_IPV6, off by default; so it is ignored here.)
 * [q, q+hlen) is captured.
 */
function routingFinalDst(q: usize, hlen: i32, dst: usize): usize {
  // SAFETY: hlen >= 8, so the fixed routing fields are inside [q, q+hlen).
  const type = load<u8>(q + RT_TYPE);
  const segLeft = load<u8>(q + RT_SEGLEFT);
  if (segLeft == 0) return dst;
  const lenField = load<u8>(q + EXT_LEN);
  if (type == RT_TYPE0 && lenField >= 2 && (lenField & 1) == 0 && hlen >= <i32>RT0_ADDRS + <i32>V6_ADDR) {
    return q + <usize>hlen - V6_ADDR;
  }
  return dst;
}
