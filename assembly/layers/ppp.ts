// PPP link types, as Zeek's PPP and PPPSerial analyzers read them
// (src/packet_analysis/protocol/{ppp,ppp_serial}, scripts/base/packet-protocols/{ppp,ppp_serial}):
//   LINKTYPE_PPP (9): RFC 1661 §2 protocol field, preceded by FF 03 when in HDLC-like framing
//     (RFC 1662 §3.1); Zeek wants more than 2 bytes (`truncated_ppp_header`), and more than 4 with
//     the framing (`truncated_ppp_hdlc_header`).
//   LINKTYPE_PPP_HDLC (50, Zeek's DLT_PPP_SERIAL): always address, control, then the protocol at
//     2..3; more than 4 bytes are required (`truncated_ppp_serial_header`).
// Contract: decodePpp / decodePppSerial(p, cap, wire, ctx) with p at the frame. The protocol goes
// where Zeek registers it: 0x0021 IPv4 and 0x0057 IPv6 to IP (by the version nibble), 0x0281
// MPLS unicast to the MPLS label stack; anything else (LCP, IPCP, CDP ...) is NonIp.

import { Stat } from "../stats";
import { be16 } from "../mem";
import { decodeIp } from "./ip";
import { decodeMpls } from "./ethernet";

const PPP_ADDR_ALL: u8 = 0xFF;
const PPP_CONTROL_UI: u8 = 0x03;
const PPP_HDLC_HDR: i32 = 4;         // address, control, protocol
const PPP_BARE_HDR: i32 = 2;         // protocol only
const PPP_HDLC_PROTO: usize = 2;
const PPP_IPV4: u32 = 0x0021;
const PPP_IPV6: u32 = 0x0057;
const PPP_MPLS_UC: u32 = 0x0281;

export function decodePpp(p: usize, cap: i32, wire: i32, ctx: u32): i32 {
  if (cap <= PPP_BARE_HDR) return Stat.Truncated;                          // truncated_ppp_header
  // SAFETY: cap > 2 covers the first two bytes.
  if (load<u8>(p) == PPP_ADDR_ALL && load<u8>(p + 1) == PPP_CONTROL_UI) return decodePppSerial(p, cap, wire, ctx);
  return pppProtocol(be16(p), p + <usize>PPP_BARE_HDR, cap - PPP_BARE_HDR, wire - PPP_BARE_HDR, ctx);
}

export function decodePppSerial(p: usize, cap: i32, wire: i32, ctx: u32): i32 {
  if (cap <= PPP_HDLC_HDR) return Stat.Truncated;                          // truncated_ppp_serial_header
  // SAFETY: cap > 4 covers the protocol field.
  return pppProtocol(be16(p + PPP_HDLC_PROTO), p + <usize>PPP_HDLC_HDR, cap - PPP_HDLC_HDR, wire - PPP_HDLC_HDR, ctx);
}

function pppProtocol(proto: u32, p: usize, cap: i32, wire: i32, ctx: u32): i32 {
  if (proto == PPP_IPV4 || proto == PPP_IPV6) return decodeIp(p, cap, wire, ctx);
  if (proto == PPP_MPLS_UC) return decodeMpls(p, cap, wire, ctx);
  return Stat.NonIp;
}
