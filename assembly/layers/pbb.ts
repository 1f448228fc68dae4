// IEEE 802.1ah Provider Backbone Bridging (MAC-in-MAC), EtherType 0x88E7, as Zeek's PBB analyzer
// reads it (src/packet_analysis/protocol/pbb/PBB.cc).
//
// Contract: decodePbb(p, cap, wire, ctx) with p just after the 0x88E7 EtherType, at the I-TAG. The
// I-TAG is 4 bytes (PCP, DEI, UCA, reserved, 24-bit I-SID); the customer's whole Ethernet frame
// (C-DA, C-SA, EtherType ...) follows and is decoded by the Ethernet layer. Zeek wants more than 18
// captured bytes (`truncated_PBB_header`: I-TAG + customer MAC addresses + EtherType); a shorter
// capture is Truncated. PBB is no tunnel for Zeek (the frame keeps its encapsulation stack), and
// its VLAN ids carry on: a B-TAG before the I-TAG and a C-TAG inside count as outer and inner tag.

import { Stat } from "../stats";
import { decodeEthernet } from "./ethernet";

const PBB_ITAG: i32 = 4;          // I-TAG after the EtherType: where the customer frame starts (PBB_C_DST_OFF)
const PBB_MIN: i32 = 18;          // I-TAG + C-DA + C-SA + EtherType (Zeek's PBB_LEN)

export function decodePbb(p: usize, cap: i32, wire: i32, ctx: u32): i32 {
  if (cap <= PBB_MIN) return Stat.Truncated;                               // truncated_PBB_header
  return decodeEthernet(p + <usize>PBB_ITAG, cap - PBB_ITAG, wire - PBB_ITAG, ctx);
}
