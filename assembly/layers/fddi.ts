// FDDI (ANSI X3.139, link type 10), as Zeek's FDDI analyzer reads it
// (src/packet_analysis/protocol/fddi/FDDI.cc).
//
// Contract: decodeFddi(p, cap, wire, ctx) with p at the frame control byte. Zeek skips the 13-byte
// FDDI header (frame control, destination, source) and an 8-byte LLC/SNAP header without looking
// at them, and hands the rest to the IP analyzer, which goes by the version nibble. More than 21
// captured bytes are required (`FDDI_analyzer_failed`).

import { Stat } from "../stats";
import { decodeIp } from "./ip";

const FDDI_HDR: i32 = 13;            // frame control (1), destination (6), source (6)
const FDDI_LLC_SNAP: i32 = 8;        // AA AA 03, OUI, EtherType: not checked, as in Zeek
const FDDI_SKIP: i32 = FDDI_HDR + FDDI_LLC_SNAP;

export function decodeFddi(p: usize, cap: i32, wire: i32, ctx: u32): i32 {
  if (cap <= FDDI_SKIP) return Stat.Truncated;                             // FDDI_analyzer_failed
  return decodeIp(p + <usize>FDDI_SKIP, cap - FDDI_SKIP, wire - FDDI_SKIP, ctx);
}
