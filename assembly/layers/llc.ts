// IEEE 802.3 length frames and IEEE 802.2 LLC / SNAP (RFC 1042 for IP over SNAP), as Zeek's
// Ethernet/VLAN analyzers hand them to its SNAP, Novell_802_3 and LLC analyzers
// (src/packet_analysis/protocol/{ethernet,vlan,snap,llc,novell_802_3}).
//
// Contract: decode8023(length, p, cap, wire, ctx) with p just after an Ethernet or VLAN length field
// (<= 1500). Zeek wants 2 captured bytes (`truncated_ethernet_frame`), then trims the frame to the
// length field (padding and trailers dropped) and looks at the first two bytes:
//   AA AA  SNAP: an LLC header (3 bytes, 4 when the control field is not an unnumbered PDU) and
//          the 5-byte SNAP header (OUI, protocol). Zeek forwards on OUI << 16 | protocol and
//          registers only OUI 0 with 0x0800 / 0x86DD: those go to IP (`truncated_snap_header` /
//          `truncated_snap_llc_header` when cut), anything else is NonIp.
//   FF FF  Novell raw 802.3 (IPX): Zeek has no analyzer behind it, NonIp.
//   other  plain LLC: forwarded on the DSAP, for which Zeek registers nothing, NonIp
//          (`truncated_llc_header` when fewer than the LLC header's bytes are captured).

import { Stat } from "../stats";
import { be16 } from "../mem";
import { decodeIp } from "./ip";

const LLC_DSAP: usize = 0;
const LLC_SSAP: usize = 1;
const LLC_CONTROL: usize = 2;
const LLC_SHORT_HDR: i32 = 3;
const LLC_CONTROL_U_MASK: u32 = 0x03;   // both low bits set: unnumbered PDU, 1-byte control field
const SNAP_SAP: u8 = 0xAA;
const NOVELL_RAW: u8 = 0xFF;
const SNAP_HDR: i32 = 5;                // OUI (3) + protocol (2)
const SNAP_PROTO: usize = 3;            // inside the SNAP header
const MIN_8023_PEEK: i32 = 2;

const SNAP_IPV4: u32 = 0x0800;          // with OUI 00-00-00 (RFC 1042)
const SNAP_IPV6: u32 = 0x86DD;

export function decode8023(length: u32, p: usize, cap: i32, wire: i32, ctx: u32): i32 {
  if (cap < MIN_8023_PEEK) return Stat.Truncated;                          // truncated_ethernet_frame
  // The 802.3 length bounds the frame: "use 802.3/802.2 length field and remove trailing bytes".
  if (wire > <i32>length) wire = <i32>length;
  if (cap > <i32>length) cap = <i32>length;
  // SAFETY: the trim may leave cap < 2 (a length field of 0 or 1), so each read below sits behind
  // its own cap >= 2 test.
  if (cap >= MIN_8023_PEEK && load<u8>(p + LLC_DSAP) == SNAP_SAP && load<u8>(p + LLC_SSAP) == SNAP_SAP) {
    return decodeSnap(p, cap, wire, ctx);
  }
  if (cap >= MIN_8023_PEEK && load<u8>(p + LLC_DSAP) == NOVELL_RAW && load<u8>(p + LLC_SSAP) == NOVELL_RAW) {
    return Stat.NonIp;
  }
  // Plain LLC: Zeek checks the header length, then finds no analyzer for the DSAP.
  const hl = llcHeaderLen(p, cap);
  if (hl < 0 || cap < hl) return Stat.Truncated;                           // truncated_llc_header
  return Stat.NonIp;
}

/** LLC header length (3 or 4), or -1 when the control byte is not captured. */
function llcHeaderLen(p: usize, cap: i32): i32 {
  if (cap < LLC_SHORT_HDR) return -1;
  // SAFETY: cap >= 3 covers the control byte.
  return (<u32>load<u8>(p + LLC_CONTROL) & LLC_CONTROL_U_MASK) == LLC_CONTROL_U_MASK ? LLC_SHORT_HDR : LLC_SHORT_HDR + 1;
}

/** Zeek's SNAP analyzer: LLC header, OUI and protocol; only OUI 0 with IPv4/IPv6 goes on. */
function decodeSnap(p: usize, cap: i32, wire: i32, ctx: u32): i32 {
  const llc = llcHeaderLen(p, cap);
  if (llc < 0) return Stat.Truncated;                                      // truncated_snap_llc_header
  const hl = llc + SNAP_HDR;
  if (cap < hl) return Stat.Truncated;                                     // truncated_snap_header
  // SAFETY: cap >= hl covers the OUI and protocol at [llc, llc+5).
  const s = p + <usize>llc;
  const oui = (<u32>load<u8>(s) << 16) | (<u32>load<u8>(s + 1) << 8) | <u32>load<u8>(s + 2);
  const proto = be16(s + SNAP_PROTO);
  if (oui != 0 || (proto != SNAP_IPV4 && proto != SNAP_IPV6)) return Stat.NonIp;
  return decodeIp(p + <usize>hl, cap - hl, wire - hl, ctx);
}
