// Radiotap (https://www.radiotap.org, link type 127), as Zeek's IEEE802_11_Radio analyzer reads it
// (src/packet_analysis/protocol/ieee802_11_radio/IEEE802_11_Radio.cc).
//
// Contract: decodeRadiotap(p, cap, wire, ctx) with p at the radiotap header: version, pad, a
// little-endian header length at 2..3, presence bitmaps and fields, then an 802.11 frame. Only the
// length is used: the fields (rates, channel, signal) do not bear on TCP, and Zeek ignores the FCS
// flag too (an FCS at the end lies beyond the IP length anyway). More than 3 captured bytes and a
// header length below the captured length are required (`truncated_radiotap_header`).

import { Stat } from "../stats";
import { le16 } from "../mem";
import { decodeIeee80211 } from "./ieee802_11";

const RADIOTAP_LEN: usize = 2;
const RADIOTAP_MIN: i32 = 3;

export function decodeRadiotap(p: usize, cap: i32, wire: i32, ctx: u32): i32 {
  if (cap <= RADIOTAP_MIN) return Stat.Truncated;                          // truncated_radiotap_header
  // SAFETY: cap > 3 covers the length field.
  const hl = <i32>le16(p + RADIOTAP_LEN);
  if (hl >= cap) return Stat.Truncated;                                    // truncated_radiotap_header
  return decodeIeee80211(p + <usize>hl, cap - hl, wire - hl, ctx);
}
