// Link-type dispatch: the entry point from a capture record to the layer decoders.
// Link types are the tcpdump.org LINKTYPE_* values (https://www.tcpdump.org/linktypes.html):
//   1 Ethernet; 113 Linux SLL; 276 Linux SLL2; 0 BSD NULL (host byte order family) and 108 LOOP
//   (network order); 12, 14 and 101 raw IP (version nibble); 228 raw IPv4; 229 raw IPv6;
//   9 PPP and 50 PPP in HDLC framing (ppp.ts); 10 FDDI (fddi.ts); 105 IEEE 802.11 (ieee802_11.ts);
//   127 Radiotap (radiotap.ts); 239 NFLOG (nflog.ts). These are the link types Zeek registers
//   (scripts/base/packet-protocols/root, null, ppp, ppp_serial), plus the raw-IP ones its root
//   analyzer sends to IP by default.
//
// Contract: decodeLink(linktype, p, caplen, wirelen, tsUs, subframe) reads only [p, p+caplen). It
// clears the descriptor PKT, stores the timestamp, and returns DECODED (0) with PKT filled for one
// TCP segment, or the Stat member that explains the skip. It counts nothing and tracks nothing.
// `subframe` is the offset of the A-MSDU subframe wanted from an 802.11 frame (context.ts); then
// subframeHasMore() says whether the caller should decode the frame again at subframeNext().
// A wire length smaller than the captured length (damaged record) is treated as the captured length.

import { clearPkt, clearPktAt, P_TS } from "../packet";
import { Stat } from "../stats";
import { be16, le32 } from "../mem";
import { decodeEthernet, decodeEtherType } from "./ethernet";
import { decodeIp } from "./ip";
import { decodeIpv4 } from "./ipv4";
import { decodeIpv6 } from "./ipv6";
import { subframeStart } from "./context";
import { decodePpp, decodePppSerial } from "./ppp";
import { decodeFddi } from "./fddi";
import { decodeIeee80211 } from "./ieee802_11";
import { decodeRadiotap } from "./radiotap";
import { decodeNflog } from "./nflog";
import { decodeEthStraight, STRAIGHT_MISS } from "./straight";
import { PACKET, ROUTE } from "../state";


export const LINKTYPE_NULL: i32 = 0;
export const LINKTYPE_ETHERNET: i32 = 1;
export const LINKTYPE_PPP: i32 = 9;
export const LINKTYPE_FDDI: i32 = 10;
export const LINKTYPE_PPP_HDLC: i32 = 50;
export const LINKTYPE_IEEE802_11: i32 = 105;
export const LINKTYPE_IEEE802_11_RADIOTAP: i32 = 127;
export const LINKTYPE_NFLOG: i32 = 239;
export const LINKTYPE_RAW_12: i32 = 12;
export const LINKTYPE_RAW_14: i32 = 14;
export const LINKTYPE_RAW: i32 = 101;
export const LINKTYPE_LOOP: i32 = 108;
export const LINKTYPE_LINUX_SLL: i32 = 113;
export const LINKTYPE_IPV4: i32 = 228;
export const LINKTYPE_IPV6: i32 = 229;
export const LINKTYPE_LINUX_SLL2: i32 = 276;

// Linux cooked capture v1 (16 bytes) and v2 (20 bytes): where the EtherType-like protocol sits.
const SLL_HDR: i32 = 16;
const SLL_PROTO: usize = 14;
const SLL2_HDR: i32 = 20;
const SLL2_PROTO: usize = 0;

// BSD loopback: a 4-byte address family. AF_INET is 2 everywhere; AF_INET6 is 24 (NetBSD/OpenBSD),
// 28 (FreeBSD) or 30 (macOS), the values Zeek's null/main.zeek maps.
const NULL_HDR: i32 = 4;
const AF_INET: u32 = 2;
const AF_INET6_BSD: u32 = 24;
const AF_INET6_FREEBSD: u32 = 28;
const AF_INET6_DARWIN: u32 = 30;

export function decodeLink(linktype: i32, p: usize, caplen: i32, wirelen: i32, tsUs: i64, subframe: i32 = 0): i32 {
  return decodeLinkWith(linktype, p, caplen, wirelen, tsUs, subframe, true);
}

/**
 * decodeLink, with the straight path for common Ethernet frames (straight.ts) when `straight` (and
 * not routing), without it otherwise: the test hook decodeFrameGeneral compares the two.
 */
@inline export function decodeLinkWith(linktype: i32, p: usize, caplen: i32, wirelen: i32, tsUs: i64, subframe: i32, straight: bool): i32 {
  clearPkt();
  subframeStart(subframe);
  store<i64>(PACKET.PKT + P_TS, tsUs);
  const cap = max(caplen, 0);
  const wire = max(wirelen, cap);
  if (straight && linktype == LINKTYPE_ETHERNET && !ROUTE.routing) {
    const code = decodeEthStraight(PACKET.PKT, p, cap, wire);
    if (code != STRAIGHT_MISS) return code;
  }
  return decodeLinkGeneral(linktype, p, cap, wire);
}

/**
 * decodeLink's straight path alone, for an Ethernet record while not routing (the caller checks
 * both): PKT cleared and stamped, then decodeEthStraight's answer, STRAIGHT_MISS included. It
 * leaves the A-MSDU cursor (context.ts) alone: an Ethernet frame has no subframes, so a caller
 * that takes its answer decodes the frame once and asks subframeHasMore() nothing.
 */
@inline export function decodeLinkStraight(p: usize, caplen: i32, wirelen: i32, tsUs: i64): i32 {
  const pkt = PACKET.PKT; // a local: stores through it could alias the state block
  clearPktAt(pkt);
  store<i64>(pkt + P_TS, tsUs);
  const cap = max(caplen, 0);
  return decodeEthStraight(pkt, p, cap, max(wirelen, cap));
}

/** The link-type switch of decodeLinkWith, after the descriptor is cleared and the lengths clamped. */
@inline function decodeLinkGeneral(linktype: i32, p: usize, cap: i32, wire: i32): i32 {
  switch (linktype) {
    case LINKTYPE_ETHERNET: return decodeEthernet(p, cap, wire, 0);
    case LINKTYPE_LINUX_SLL: {
      if (cap < SLL_HDR) return Stat.Truncated;
      // SAFETY: cap >= 16.
      return decodeEtherType(be16(p + SLL_PROTO), p + <usize>SLL_HDR, cap - SLL_HDR, wire - SLL_HDR, 0);
    }
    case LINKTYPE_LINUX_SLL2: {
      if (cap < SLL2_HDR) return Stat.Truncated;
      // SAFETY: cap >= 20.
      return decodeEtherType(be16(p + SLL2_PROTO), p + <usize>SLL2_HDR, cap - SLL2_HDR, wire - SLL2_HDR, 0);
    }
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP: {
      if (cap < NULL_HDR) return Stat.Truncated;
      // SAFETY: cap >= 4.
      let family = le32(p);
      // NULL is in the capturing host's byte order, which the file does not record: a family is
      // small, so a value whose low 16 bits are zero was written big-endian. LOOP is always big-endian.
      if (linktype == LINKTYPE_LOOP || (family & 0xFFFF) == 0) family = bswap<u32>(family);
      if (family == AF_INET || family == AF_INET6_BSD || family == AF_INET6_FREEBSD || family == AF_INET6_DARWIN) {
        return decodeIp(p + <usize>NULL_HDR, cap - NULL_HDR, wire - NULL_HDR, 0);
      }
      return Stat.NonIp;
    }
    case LINKTYPE_RAW_12:
    case LINKTYPE_RAW_14:
    case LINKTYPE_RAW: return decodeIp(p, cap, wire, 0);
    case LINKTYPE_IPV4: return decodeIpv4(p, cap, wire, 0);
    case LINKTYPE_IPV6: return decodeIpv6(p, cap, wire, 0);
    case LINKTYPE_PPP: return decodePpp(p, cap, wire, 0);
    case LINKTYPE_PPP_HDLC: return decodePppSerial(p, cap, wire, 0);
    case LINKTYPE_FDDI: return decodeFddi(p, cap, wire, 0);
    case LINKTYPE_IEEE802_11: return decodeIeee80211(p, cap, wire, 0);
    case LINKTYPE_IEEE802_11_RADIOTAP: return decodeRadiotap(p, cap, wire, 0);
    case LINKTYPE_NFLOG: return decodeNflog(p, cap, wire, 0);
    default: return Stat.UnsupportedLink;
  }
}
