// IP version dispatch and the transport-protocol switch shared by IPv4 and IPv6.
//
// Contract: decodeIp(p, cap, wire, ctx) picks IPv4 or IPv6 by the version nibble, as Zeek's IP
// analyzer does for EtherType 0x0800/0x86DD, MPLS payloads and raw-IP link types alike.
// decodeTransport() is called by the IP decoders with the upper-layer header at p and
//   cap  = captured upper-layer bytes, bounded by the IP length
//   len  = upper-layer length the IP header declares (IPv4 total - IHL, IPv6 payload - ext headers)
//   wire = the same length for wire checks of an inner packet, or WIRE_UNKNOWN inside a first fragment
// TCP is decoded; UDP goes to the tunnel ports; GRE (47) and IP-in-IP (4, 41) are decapsulated;
// everything else is Stat.NonTcp.

import { Stat } from "../stats";
import { Tunnel, P_IPPROTO } from "../packet";
import { decodeIpv4 } from "./ipv4";
import { decodeIpv6 } from "./ipv6";
import { decodeTcp } from "./tcp";
import { decodeUdp } from "./udp";
import { decodeGre } from "./gre";
import { enterTunnel } from "./context";
import { PACKET } from "../state";

export const IP_VERSION_4: u32 = 4;
export const IP_VERSION_6: u32 = 6;

export const IPPROTO_IPIP: u32 = 4;
export const IPPROTO_TCP: u32 = 6;
export const IPPROTO_UDP: u32 = 17;
export const IPPROTO_IPV6: u32 = 41;
export const IPPROTO_GRE: u32 = 47;

@inline export function decodeIp(p: usize, cap: i32, wire: i32, ctx: u32): i32 {
  if (cap < 1) return Stat.Truncated;
  // SAFETY: cap >= 1.
  const version = <u32>load<u8>(p) >> 4;
  if (version == IP_VERSION_4) return decodeIpv4(p, cap, wire, ctx);
  if (version == IP_VERSION_6) return decodeIpv6(p, cap, wire, ctx);
  return Stat.Malformed;   // Zeek: unknown_ip_version
}

@inline export function decodeTransport(proto: u32, p: usize, cap: i32, len: i32, wire: i32, pseudo: u64, ctx: u32, v6: bool): i32 {
  // SAFETY: PKT is a static descriptor; P_IPPROTO a fixed offset inside it (read by enterTunnel).
  store<u8>(PACKET.PKT + P_IPPROTO, <u8>proto);
  if (proto == IPPROTO_TCP) return decodeTcp(p, cap, len, pseudo, ctx);
  if (proto == IPPROTO_UDP) return decodeUdp(p, cap, len, pseudo, ctx, v6);
  if (proto == IPPROTO_GRE) return decodeGre(p, cap, wire, ctx);
  if (proto == IPPROTO_IPIP || proto == IPPROTO_IPV6) {
    const inner = enterTunnel(ctx, Tunnel.IpInIp);
    if (inner < 0) return Stat.TunnelDepth;
    // The inner header's version decides, as Zeek's IPTunnel forwards IP-in-IP as raw IP.
    return decodeIp(p, cap, wire, <u32>inner);
  }
  return Stat.NonTcp;
}
