// Geneve (RFC 8926 §3.4), on UDP port 6081, decapsulated as Zeek's Geneve analyzer does
// (src/packet_analysis/protocol/geneve/Geneve.cc, scripts/base/packet-protocols/geneve/main.zeek).
//
// Contract: decodeGeneve(p, cap, len, ctx) with p at the Geneve header, cap = captured bytes, len =
// the datagram payload length (see udp.ts). Header: version (2 bits, must be 0: Zeek
// `geneve_invalid_version`), option length (6 bits, 4-byte words), flags, protocol type, VNI,
// reserved, then the options. The options are skipped as a block by their total length; their
// individual TLVs matter to Zeek only for the geneve_packet event. The protocol type picks the
// inner layer as Zeek registers it: 0x6558 Ethernet, 0x0800 / 0x86DD IP (by the version nibble);
// anything else (ARP 0x0806 included) carries no TCP. A header with nothing after it is Zeek's
// `geneve_empty_packet`. A header cut by the snaplen is Truncated ("Geneve header truncation").

import { Stat } from "../stats";
import { Tunnel } from "../packet";
import { be16 } from "../mem";
import { enterTunnel } from "./context";
import { decodeIp } from "./ip";
import { decodeEthernet, ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from "./ethernet";

const GENEVE_VER_OPTLEN: usize = 0;   // version (high 2 bits), option length in words (low 6)
const GENEVE_PROTO: usize = 2;
const GENEVE_HDR: i32 = 8;
const GENEVE_VERSION_SHIFT: u32 = 6;
const GENEVE_OPTLEN_MASK: u32 = 0x3F;
const GENEVE_OPT_UNIT: i32 = 4;

export const GENEVE_PROTO_ETHERNET: u32 = 0x6558;   // transparent Ethernet bridging

export function decodeGeneve(p: usize, cap: i32, len: i32, ctx: u32): i32 {
  if (cap < GENEVE_HDR) return len >= GENEVE_HDR ? Stat.Truncated : Stat.NonTcp;
  // SAFETY: cap >= 8 covers the fixed header.
  const verOpt = <u32>load<u8>(p + GENEVE_VER_OPTLEN);
  if ((verOpt >> GENEVE_VERSION_SHIFT) != 0) return Stat.NonTcp;           // geneve_invalid_version
  const hl = GENEVE_HDR + <i32>(verOpt & GENEVE_OPTLEN_MASK) * GENEVE_OPT_UNIT;
  if (len < hl) return Stat.NonTcp;                                        // options run past the datagram
  if (cap < hl) return Stat.Truncated;                                     // "Geneve option header truncation"
  if (len == hl) return Stat.NonTcp;                                       // geneve_empty_packet
  const proto = be16(p + GENEVE_PROTO);
  if (proto != GENEVE_PROTO_ETHERNET && proto != ETHERTYPE_IPV4 && proto != ETHERTYPE_IPV6) return Stat.NonTcp;
  const inner = enterTunnel(ctx, Tunnel.Geneve);
  if (inner < 0) return Stat.TunnelDepth;                                  // exceeded_tunnel_max_depth
  const q = p + <usize>hl;
  if (proto == GENEVE_PROTO_ETHERNET) return decodeEthernet(q, cap - hl, len - hl, <u32>inner);
  return decodeIp(q, cap - hl, len - hl, <u32>inner);
}
