// GRE (RFC 2784, key/sequence RFC 2890) and enhanced GRE for PPTP (RFC 2637 §4.1), over IP protocol
// 47 or UDP port 4754 (RFC 8086), decapsulated as Zeek's GRE analyzer does
// (src/packet_analysis/protocol/gre/GRE.cc, then iptunnel/IPTunnel.cc).
//
// Contract: decodeGre(p, cap, wire, ctx) with p at the GRE header.
//   version 0, by protocol type:
//     0x6558 transparent Ethernet bridging           -> inner Ethernet
//     0x88BE ERSPAN type I (no sequence number)      -> inner Ethernet right after GRE
//            ERSPAN type II (sequence number present) -> 8-byte ERSPAN header, then Ethernet
//     0x22EB ERSPAN type III                          -> 12-byte header (+ 8-byte platform-specific
//                                                       subheader when its O flag is set), then Ethernet
//     Aruba WLAN types (0x8200 family, 0x8300..0x8370, 0x9000, Zeek's exact test) -> inner 802.11
//     anything else (0x0800, 0x86DD, ...)             -> raw IP: Zeek's IPTunnel forwards every other
//                                                       type to the IP analyzer, which goes by the
//                                                       version nibble (Malformed when it is no IP)
//   version 1: protocol must be 0x880B (PPP, Zeek `egre_protocol_type`); the 4-byte PPP header
//              (FF 03 + protocol) then names 0x0021 IPv4 or 0x0057 IPv6 (`non_ip_packet_in_encap`).
//   Other versions are `unknown_gre_version`; the routing bit (deprecated, RFC 2784 §2.1) is
//   `gre_routing` and the reserved flag bits 0x0078 are `unknown_gre_flags`: all NonTcp.
// Header length: 4 + 4 per present checksum, key, sequence and (v1) acknowledgement field.
// Zeek's length checks (`truncated_GRE`) are strict where it writes `len > ...`; a cut that leaves
// less than they need is Truncated when the wire carried enough, else the packet is no tunnel (NonTcp).

import { Stat } from "../stats";
import { Tunnel } from "../packet";
import { be16 } from "../mem";
import { enterTunnel } from "./context";
import { decodeIp } from "./ip";
import { decodeEthernet } from "./ethernet";
import { decodeIeee80211 } from "./ieee802_11";

const GRE_FLAGS_VER: usize = 0;
const GRE_PROTO: usize = 2;
const GRE_BASE_HDR: i32 = 4;
const GRE_OPT_FIELD: i32 = 4;

const GRE_FLAG_CSUM: u32 = 0x8000;
const GRE_FLAG_ROUTING: u32 = 0x4000;
const GRE_FLAG_KEY: u32 = 0x2000;
const GRE_FLAG_SEQ: u32 = 0x1000;
const GRE_FLAG_ACK: u32 = 0x0080;
const GRE_FLAGS_RESERVED: u32 = 0x0078;
const GRE_VERSION_MASK: u32 = 0x0007;

const GRE_PROTO_TEB: u32 = 0x6558;
const GRE_PROTO_ERSPAN_I_II: u32 = 0x88BE;
const GRE_PROTO_ERSPAN_III: u32 = 0x22EB;
const GRE_PROTO_ARUBA_9000: u32 = 0x9000;
const GRE_PROTO_PPP: u32 = 0x880B;

const ETH_HDR: i32 = 14;
const ERSPAN_II_HDR: i32 = 8;
const ERSPAN_III_HDR: i32 = 12;
const ERSPAN_III_FLAGS: usize = 11;     // last byte: ... Gra (2 bits), O (bit 0)
const ERSPAN_III_FLAG_O: u32 = 0x01;     // an 8-byte platform-specific subheader follows
const ERSPAN_III_SUBHDR: i32 = 8;

const PPP_HDR: i32 = 4;          // address FF, control 03, protocol
const PPP_PROTO: usize = 2;
const PPP_IPV4: u32 = 0x0021;
const PPP_IPV6: u32 = 0x0057;

// What follows the GRE (and ERSPAN / PPP) header.
const INNER_IP: i32 = 0;
const INNER_ETHERNET: i32 = 1;
const INNER_80211: i32 = 2;

/** Zeek's test for the Aruba WLAN protocol types (GRE.cc), kept bit for bit. */
@inline function isAruba(proto: u32): bool {
  return ((proto & 0x8200) == 0x8200 && (proto & 0x0F) == 0) ||
         ((proto & 0x8300) == 0x8300 && (proto & 0x0F) == 0 && proto <= 0x8370) ||
         proto == GRE_PROTO_ARUBA_9000;
}

export function decodeGre(p: usize, cap: i32, wire: i32, ctx: u32): i32 {
  if (cap < GRE_BASE_HDR) return wire >= GRE_BASE_HDR ? Stat.Truncated : Stat.NonTcp;
  // SAFETY: cap >= 4 covers flags and protocol.
  const flagsVer = be16(p + GRE_FLAGS_VER);
  const proto = be16(p + GRE_PROTO);
  const version = flagsVer & GRE_VERSION_MASK;
  if (version > 1) return Stat.NonTcp;                                     // unknown_gre_version

  let hl = GRE_BASE_HDR;
  if ((flagsVer & GRE_FLAG_CSUM) != 0) hl += GRE_OPT_FIELD;
  if ((flagsVer & GRE_FLAG_KEY) != 0) hl += GRE_OPT_FIELD;
  if ((flagsVer & GRE_FLAG_SEQ) != 0) hl += GRE_OPT_FIELD;
  if ((flagsVer & GRE_FLAG_ACK) != 0) hl += GRE_OPT_FIELD;

  let innerKind = INNER_IP;
  let skip = 0;        // ERSPAN or PPP bytes after the GRE header
  if (version == 0) {
    if (proto == GRE_PROTO_TEB) {
      if (cap <= hl + ETH_HDR) return wire > hl + ETH_HDR ? Stat.Truncated : Stat.NonTcp;
      innerKind = INNER_ETHERNET;
    } else if (proto == GRE_PROTO_ERSPAN_I_II) {
      if (cap <= hl + ETH_HDR) return wire > hl + ETH_HDR ? Stat.Truncated : Stat.NonTcp;
      innerKind = INNER_ETHERNET;
      // Type II carries a sequence number in GRE and an 8-byte ERSPAN header; type I has neither.
      if ((flagsVer & GRE_FLAG_SEQ) != 0) skip = ERSPAN_II_HDR;
    } else if (proto == GRE_PROTO_ERSPAN_III) {
      if (cap <= hl + ERSPAN_III_HDR + ETH_HDR) return wire > hl + ERSPAN_III_HDR + ETH_HDR ? Stat.Truncated : Stat.NonTcp;
      innerKind = INNER_ETHERNET;
      skip = ERSPAN_III_HDR;
      // SAFETY: hl + 12 + 14 < cap, so the flags byte at hl + 11 is captured.
      if ((<u32>load<u8>(p + <usize>hl + ERSPAN_III_FLAGS) & ERSPAN_III_FLAG_O) != 0) {
        const need = hl + ERSPAN_III_HDR + ERSPAN_III_SUBHDR + ETH_HDR;
        if (cap <= need) return wire > need ? Stat.Truncated : Stat.NonTcp;
        skip += ERSPAN_III_SUBHDR;
      }
    } else if (isAruba(proto)) {
      if (cap <= hl) return wire > hl ? Stat.Truncated : Stat.NonTcp;
      innerKind = INNER_80211;
    }
  } else if (proto != GRE_PROTO_PPP) {
    return Stat.NonTcp;                                                    // egre_protocol_type
  } else {
    skip = PPP_HDR;
  }
  if ((flagsVer & GRE_FLAG_ROUTING) != 0) return Stat.NonTcp;             // gre_routing
  if ((flagsVer & GRE_FLAGS_RESERVED) != 0) return Stat.NonTcp;           // unknown_gre_flags
  const need = hl + skip + (innerKind == INNER_ETHERNET ? ETH_HDR : 0);
  if (cap < need) return wire >= need ? Stat.Truncated : Stat.NonTcp;     // truncated_GRE
  if (version == 1) {
    // SAFETY: hl + 4 <= need <= cap.
    const pppProto = be16(p + <usize>hl + PPP_PROTO);
    if (pppProto != PPP_IPV4 && pppProto != PPP_IPV6) return Stat.NonTcp;  // non_ip_packet_in_encap
  }

  const inner = enterTunnel(ctx, Tunnel.Gre);
  if (inner < 0) return Stat.TunnelDepth;                                  // exceeded_tunnel_max_depth
  const o = hl + skip;
  const q = p + <usize>o;
  if (innerKind == INNER_ETHERNET) return decodeEthernet(q, cap - o, wire - o, <u32>inner);
  if (innerKind == INNER_80211) return decodeIeee80211(q, cap - o, wire - o, <u32>inner);
  return decodeIp(q, cap - o, wire - o, <u32>inner);
}
