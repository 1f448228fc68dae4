// The straight path for the common frame: Ethernet II (IEEE 802.3 §3.2.6), at most one 802.1Q tag
// (IEEE 802.1Q §9.6), then IPv4 without options or fragmentation (RFC 791 §3.1) or IPv6 with TCP as
// its first next header (RFC 8200 §3), then TCP. It writes the descriptor exactly as the general
// decoders (ethernet.ts, ip.ts, ipv4.ts, ipv6.ts, tcp.ts) would, in one call where they take six,
// checking the captured length once for all layers (the IP and fixed TCP headers) and the IP length
// once against the wire.
//
// Contract: decodeEthStraight(pkt, p, cap, wire) with pkt = PACKET.PKT, p at the destination MAC,
// cap >= 0 and wire >= cap as unsigned numbers (decodeLink's, or an unclamped pcap wire length), and
// PKT as clearPkt left it (its zero fields are not stored again). It returns
// STRAIGHT_MISS, having written nothing, for every frame outside that
// shape (or one the general decoders would refuse): the caller then decodes it with them. Otherwise
// it returns what they return: DECODED with PKT filled (the TCP fields by tcp.ts itself), or
// Stat.BadIpChecksum. Never used while routing (the IP decoders then call routeIp).
// test/decode/straight.test.ts decodes mutated frames both ways and demands the same bytes.

import { P_VLAN, P_IPPROTO } from "../packet";
import { Stat } from "../stats";
import { be16 } from "../mem";
import { csumSum20, csumFoldsValid, CSUM_VALID } from "./checksum";
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETH_HDR, ETH_TYPE, ETHERTYPE_VLAN, VLAN_TAG, VLAN_TYPE, VLAN_ID_MASK } from "./ethernet";
import { IPPROTO_TCP } from "./ip";
import { storeIpv4Fields, V4_TOTAL_LEN, V4_FRAG, V4_PROTO, V4_MIN_HDR, V4_FLAG_MF, V4_OFFSET_MASK } from "./ipv4";
import { storeIpv6Fields, V6_HDR, V6_PAYLOAD_LEN, V6_NEXT_HDR, V6_DST } from "./ipv6";
import { decodeTcpInline, TCP_MIN_HDR } from "./tcp";
import { OPTIONS } from "../state";

/** Not the common frame: decode it with the general decoders. */
export const STRAIGHT_MISS: i32 = -1;

// The header layouts are their decoders' (ethernet.ts, ipv4.ts, ipv6.ts, tcp.ts); only the shape
// this path takes is its own.
const V4_VER_IHL_PLAIN: u32 = 0x45;   // version 4, IHL 5: no options
const V4_HDR: i32 = V4_MIN_HDR;
const V4_FRAG_MASK: u32 = V4_FLAG_MF | V4_OFFSET_MASK;    // a fragment (DF may be set)

// The 16-bit fields this path only compares are read as they lie (a little-endian load of the
// big-endian field), against constants byte-swapped once here: no swap a frame.
const ETHERTYPE_VLAN_RAW: u32 = 0x0081;
const ETHERTYPE_IPV4_RAW: u32 = 0x0008;
const ETHERTYPE_IPV6_RAW: u32 = 0xDD86;
const V4_FRAG_MASK_RAW: u32 = 0xFF3F;
/** Bytes 6..9 of the IPv4 header as a little-endian word: flags and offset less DF, TTL out, the protocol. */
const V4_FRAG_PROTO_MASK_RAW: u32 = 0xFF000000 | V4_FRAG_MASK_RAW;
/** ... of an unfragmented TCP packet. */
const V4_TCP_WHOLE_RAW: u32 = IPPROTO_TCP << 24;

@inline export function decodeEthStraight(pkt: usize, p: usize, cap: i32, wire: i32): i32 {
  if (ETHERTYPE_VLAN != 0x8100 || ETHERTYPE_IPV4 != 0x0800 || ETHERTYPE_IPV6 != 0x86DD || V4_FRAG_MASK != 0x3FFF) {
    ERROR("straight.ts: swap the raw constants again");
  }
  if (cap < ETH_HDR + V4_HDR + TCP_MIN_HDR) return STRAIGHT_MISS;
  // SAFETY: cap >= 54 covers the Ethernet header and one VLAN tag.
  let off = ETH_HDR;
  let vlan: u32 = 0;
  if (<u32>load<u16>(p + ETH_TYPE) == ETHERTYPE_VLAN_RAW) {
    vlan = be16(p + <usize>ETH_HDR) & VLAN_ID_MASK;
    off = ETH_HDR + VLAN_TAG;
  }
  // The type before the IP header, read again once the tag is passed (held across the two arms,
  // V8 kept it on the stack).
  if (<i32>ETH_TYPE + 2 != ETH_HDR || <i32>VLAN_TYPE + 2 != VLAN_TAG) ERROR("straight.ts: the type ends the header");
  const type = <u32>load<u16>(p + <usize>off - 2);
  const q = p + <usize>off;
  const c = cap - off;
  // Only ever compared unsigned, against an IP length: a wire length of 2^31 or more (from a
  // caller that does not clamp it, deliverEthernet) compares as what it is.
  const w = wire - off;
  if (type == ETHERTYPE_IPV4_RAW) {
    if (c < V4_HDR + TCP_MIN_HDR) return STRAIGHT_MISS;
    // SAFETY: c >= 40: the IPv4 header and the fixed TCP header are captured.
    if (<u32>load<u8>(q) != V4_VER_IHL_PLAIN) return STRAIGHT_MISS;
    const total = <i32>be16(q + V4_TOTAL_LEN);
    // A total length under 40 (no room for TCP, or 0 for TSO) is left to the general decoders. With
    // w >= c >= 40, total < 40 || w < total is one unsigned compare.
    if (<u32>(total - (V4_HDR + TCP_MIN_HDR)) > <u32>(w - (V4_HDR + TCP_MIN_HDR))) return STRAIGHT_MISS;
    // Not a fragment and TCP: the flags and offset (bytes 6..7) and the protocol (byte 9) in one
    // load, the TTL (byte 8) masked out.
    if (V4_PROTO != V4_FRAG + 3) ERROR("straight.ts: the fragment and protocol fields moved");
    if ((load<u32>(q + V4_FRAG) & V4_FRAG_PROTO_MASK_RAW) != V4_TCP_WHOLE_RAW) return STRAIGHT_MISS;
    // The tag is stored first: the general decoders have stored it when they find the bad checksum.
    store<u32>(pkt + P_VLAN, vlan);
    if (V4_HDR != 20) ERROR("csumSum20 sums a 20-byte header");
    // The sum is taken whatever the option says (the header is captured) and replaced by a valid
    // one when checksums are ignored: a select, where the two tests made V8 build a bool and test it.
    const sum = csumSum20(q);
    if (!csumFoldsValid(OPTIONS.ignoreChecksums ? CSUM_VALID : sum)) return Stat.BadIpChecksum;
    store<u8>(pkt + P_IPPROTO, <u8>IPPROTO_TCP);
    const pseudo = storeIpv4Fields(pkt, q, total, true);
    // c >= 40 and total >= 40: the TCP lengths are >= 20, as decodeTcpInline's first tests ask.
    return decodeTcpInline(pkt, q + <usize>V4_HDR, min(c, total) - V4_HDR, total - V4_HDR, pseudo, 0, true);
  }
  if (type == ETHERTYPE_IPV6_RAW) {
    if (c < V6_HDR + TCP_MIN_HDR) return STRAIGHT_MISS;
    // SAFETY: c >= 60: the IPv6 header and the fixed TCP header are captured.
    if ((<u32>load<u8>(q) >> 4) != 6 || <u32>load<u8>(q + V6_NEXT_HDR) != IPPROTO_TCP) return STRAIGHT_MISS;
    const total = <i32>be16(q + V6_PAYLOAD_LEN) + V6_HDR;
    // As for IPv4: w >= c >= 60.
    if (<u32>(total - (V6_HDR + TCP_MIN_HDR)) > <u32>(w - (V6_HDR + TCP_MIN_HDR))) return STRAIGHT_MISS;
    store<u32>(pkt + P_VLAN, vlan);
    store<u8>(pkt + P_IPPROTO, <u8>IPPROTO_TCP);
    const pseudo = storeIpv6Fields(pkt, q, q + V6_DST, total, true);
    return decodeTcpInline(pkt, q + <usize>V6_HDR, min(c, total) - V6_HDR, total - V6_HDR, pseudo, 0, true);
  }
  return STRAIGHT_MISS;
}
