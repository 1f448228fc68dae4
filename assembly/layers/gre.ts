// GRE (RFC 2784, key/sequence RFC 2890) and enhanced GRE for PPTP (RFC 2637 §4.1), decapsulated as
// Zeek's GRE analyzer does (src/packet_analysis/protocol/gre/GRE.cc).
//
// Contract: decodeGre(p, cap, wire, ctx) with p at the GRE header (IP protocol 47).
//   version 0: protocol 0x0800 / 0x86DD -> inner IP; 0x6558 (transparent Ethernet bridging) -> inner
//              Ethernet; anything else (ERSPAN, Aruba, MPLS ...) -> NonTcp.
//   version 1: protocol must be 0x880B (PPP); the 4-byte PPP header (FF 03 + protocol) then names
//              0x0021 IPv4 or 0x0057 IPv6.
//   The routing bit (deprecated, RFC 2784 §2.1) and the reserved flag bits 0x0078 are refused, like Zeek.
// Header length: 4 + 4 per present checksum, key, sequence and (v1) acknowledgement field.

import { Stat } from "../stats";
import { Tunnel } from "../packet";
import { be16 } from "../mem";
import { enterTunnel } from "./context";
import { decodeIp } from "./ip";
import { decodeEthernet, ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from "./ethernet";

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
const GRE_PROTO_PPP: u32 = 0x880B;
const PPP_HDR: i32 = 4;          // address FF, control 03, protocol
const PPP_PROTO: usize = 2;
const PPP_IPV4: u32 = 0x0021;
const PPP_IPV6: u32 = 0x0057;

export function decodeGre(p: usize, cap: i32, wire: i32, ctx: u32): i32 {
  if (cap < GRE_BASE_HDR) return wire >= GRE_BASE_HDR ? Stat.Truncated : Stat.NonTcp;
  // SAFETY: cap >= 4 covers flags and protocol.
  const flagsVer = be16(p + GRE_FLAGS_VER);
  const proto = be16(p + GRE_PROTO);
  const version = flagsVer & GRE_VERSION_MASK;
  if (version > 1) return Stat.NonTcp;
  if ((flagsVer & (GRE_FLAG_ROUTING | GRE_FLAGS_RESERVED)) != 0) return Stat.NonTcp;

  let hl = GRE_BASE_HDR;
  if ((flagsVer & GRE_FLAG_CSUM) != 0) hl += GRE_OPT_FIELD;
  if ((flagsVer & GRE_FLAG_KEY) != 0) hl += GRE_OPT_FIELD;
  if ((flagsVer & GRE_FLAG_SEQ) != 0) hl += GRE_OPT_FIELD;
  if ((flagsVer & GRE_FLAG_ACK) != 0) hl += GRE_OPT_FIELD;

  let ethernet = false;
  if (version == 0) {
    if (proto == GRE_PROTO_TEB) ethernet = true;
    else if (proto != ETHERTYPE_IPV4 && proto != ETHERTYPE_IPV6) return Stat.NonTcp;
  } else {
    if (proto != GRE_PROTO_PPP) return Stat.NonTcp;
    if (cap < hl + PPP_HDR) return wire >= hl + PPP_HDR ? Stat.Truncated : Stat.NonTcp;
    // SAFETY: hl + 4 <= cap.
    const pppProto = be16(p + <usize>hl + PPP_PROTO);
    if (pppProto != PPP_IPV4 && pppProto != PPP_IPV6) return Stat.NonTcp;
    hl += PPP_HDR;
  }
  if (cap < hl) return wire >= hl ? Stat.Truncated : Stat.NonTcp;

  const inner = enterTunnel(ctx, Tunnel.Gre);
  if (inner < 0) return Stat.TunnelDepth;
  const q = p + <usize>hl;
  if (ethernet) return decodeEthernet(q, cap - hl, wire - hl, <u32>inner);
  return decodeIp(q, cap - hl, wire - hl, <u32>inner);
}
