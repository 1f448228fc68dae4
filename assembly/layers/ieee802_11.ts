// IEEE 802.11 data frames (IEEE 802.11-2020 §9.2.4 frame control, §9.3.2.1 data frame format,
// §9.3.2.2 A-MSDU), as Zeek's IEEE802_11 analyzer reads them (src/packet_analysis/protocol/
// ieee802_11/IEEE802_11.cc): link type 105, inside Radiotap (radiotap.ts) and inside GRE for the
// Aruba WLAN protocol types (gre.ts).
//
// Contract: decodeIeee80211(p, cap, wire, ctx) with p at the frame control field. Zeek's rules:
//   - more than 24 captured bytes, else `truncated_802_11_header` (Truncated); management and
//     control frames, and data subtypes without data (null, CF-Ack/Poll only), are skipped (NonIp);
//   - To DS and From DS both set: a fourth address (+6); QoS subtypes: a 2-byte QoS control (+2),
//     whose A-MSDU-present bit (0x80) marks an aggregate, and a QoS frame with the Protected bit
//     carries encrypted data (NonIp; a non-QoS protected frame fails the LLC check below instead);
//     the header must leave at least one captured byte. The HT Control field is not skipped (Zeek
//     does not either).
//   - each MSDU must start with LLC/SNAP AA AA 03 00 00 00 and a protocol; 0x0800 / 0x86DD go to
//     IP (`truncated_802_11_llc_header` under 8 bytes), anything else is NonIp.
//   - A-MSDU: subframes of 14 header bytes (DA, SA, length) plus `length` bytes, each analysed as
//     a packet of its own (Zeek counts each one). The padding after a subframe is taken, as Zeek
//     does, as length % 4 bytes (the standard pads the whole subframe, 14 + length, to a multiple of
//     4: the two agree for odd lengths, Zeek's rule is followed for even ones). A cut subframe
//     header or body is `truncated_802_11_amsdu_header` / `_packet` (Truncated), and a subframe
//     without LLC/SNAP ends the frame (`invalid_802_11_amsdu_inner_packet`).
// The subframe to decode comes from the cursor in context.ts; subframeSetMore() says where the next one starts.

import { Stat } from "../stats";
import { be16 } from "../mem";
import { decodeIp } from "./ip";
import { subframeClaim, subframeSetMore } from "./context";

const FC: usize = 0;
const FC_FLAGS: usize = 1;
const WLAN_HDR: i32 = 24;                 // FC, duration, three addresses, sequence control
const WLAN_ADDR4: i32 = 6;
const WLAN_QOS_CTL: i32 = 2;

const FC_TYPE_DATA: u32 = 0x08;           // type bits 2-3: data (2) and extension (3) have bit 3
const FC_SUBTYPE_NO_DATA: u32 = 0x40;     // subtype bit 2: null / CF-Ack / CF-Poll, no body
const FC_SUBTYPE_QOS: u32 = 0x80;         // subtype bit 3: QoS data
const FLAGS_DS_MASK: u32 = 0x03;          // To DS | From DS
const FLAGS_PROTECTED: u32 = 0x40;
const QOS_AMSDU_PRESENT: u32 = 0x80;

const AMSDU_SUBHDR: i32 = 14;             // DA, SA, length
const AMSDU_LENGTH: usize = 12;
const AMSDU_PAD_MASK: i32 = 3;

const LLC_SNAP_HDR: i32 = 8;              // AA AA 03, OUI 00 00 00, protocol
const LLC_SNAP_PROTO: usize = 6;
const SNAP_AA: u8 = 0xAA;
const LLC_UI: u8 = 0x03;
const PROTO_IPV4: u32 = 0x0800;
const PROTO_IPV6: u32 = 0x86DD;

export function decodeIeee80211(p: usize, cap: i32, wire: i32, ctx: u32): i32 {
  let hl = WLAN_HDR;
  if (cap <= hl) return Stat.Truncated;                                    // truncated_802_11_header
  // SAFETY: cap > 24 covers the frame control and flags bytes.
  const fc = <u32>load<u8>(p + FC);
  const flags = <u32>load<u8>(p + FC_FLAGS);
  if ((fc & FC_TYPE_DATA) == 0) return Stat.NonIp;                         // management or control frame
  if ((fc & FC_SUBTYPE_NO_DATA) != 0) return Stat.NonIp;
  if ((flags & FLAGS_DS_MASK) == FLAGS_DS_MASK) hl += WLAN_ADDR4;
  if (cap <= hl) return Stat.Truncated;
  let amsdu = false;
  if ((fc & FC_SUBTYPE_QOS) != 0) {
    // SAFETY: cap > hl, so the first QoS control byte at hl is captured.
    amsdu = (<u32>load<u8>(p + <usize>hl) & QOS_AMSDU_PRESENT) != 0;
    if ((flags & FLAGS_PROTECTED) != 0) return Stat.NonIp;                // encrypted
    hl += WLAN_QOS_CTL;
  }
  if (cap <= hl) return Stat.Truncated;
  let q = p + <usize>hl;
  let c = cap - hl;
  let w = wire - hl;
  if (!amsdu) return decodeMsdu(q, c, w, ctx);

  const claim = subframeClaim();
  const start = claim < 0 ? 0 : claim;
  // The wanted subframe starts `start` bytes in (0 for the first; the previous decode of this frame
  // found the later ones there).
  if (start >= c) return Stat.NonIp;                                       // no such subframe
  q += <usize>start;
  c -= start;
  if (c < AMSDU_SUBHDR) return Stat.Truncated;                             // truncated_802_11_amsdu_header
  // SAFETY: c >= 14 covers the length field at 12..13.
  const len = <i32>be16(q + AMSDU_LENGTH);
  if (c < len + AMSDU_SUBHDR) return Stat.Truncated;                       // truncated_802_11_amsdu_packet
  q += <usize>AMSDU_SUBHDR;
  c -= AMSDU_SUBHDR;
  // Zeek goes on to the next subframe only after one with LLC/SNAP (invalid_802_11_amsdu_inner_packet),
  // skipping length % 4 padding bytes when that many remain, while any byte remains.
  const rest = c - len;
  const pad = len & AMSDU_PAD_MASK;
  const skip = rest >= pad ? pad : 0;
  // SAFETY: [q, q+len) is captured (c >= len).
  if (claim >= 0 && isSnap(q, len) && rest - skip > 0) subframeSetMore(start + AMSDU_SUBHDR + len + skip);
  return decodeMsdu(q, len, len, ctx);
}

/** Zeek HandleInnerPacket: LLC/SNAP with OUI 0, then IP by protocol. */
function decodeMsdu(p: usize, cap: i32, wire: i32, ctx: u32): i32 {
  if (cap < LLC_SNAP_HDR) return Stat.Truncated;                          // truncated_802_11_llc_header
  // SAFETY: cap >= 8 covers the LLC/SNAP header.
  if (!isSnap(p, cap)) return Stat.NonIp;
  const proto = be16(p + LLC_SNAP_PROTO);
  if (proto != PROTO_IPV4 && proto != PROTO_IPV6) return Stat.NonIp;
  return decodeIp(p + <usize>LLC_SNAP_HDR, cap - LLC_SNAP_HDR, wire - LLC_SNAP_HDR, ctx);
}

/** AA AA 03 00 00 00 in the first 8 captured bytes. */
function isSnap(p: usize, cap: i32): bool {
  if (cap < LLC_SNAP_HDR) return false;
  // SAFETY: cap >= 8.
  return load<u8>(p) == SNAP_AA && load<u8>(p + 1) == SNAP_AA && load<u8>(p + 2) == LLC_UI &&
         load<u8>(p + 3) == 0 && load<u8>(p + 4) == 0 && load<u8>(p + 5) == 0;
}
