// Cisco VN-Tag (the pre-standard of IEEE 802.1Qbh), EtherType 0x8926, as Zeek's VNTag analyzer
// reads it (src/packet_analysis/protocol/vntag/VNTag.cc, scripts/base/packet-protocols/vntag).
//
// Contract: vnTagNext(p, cap) with p just after the 0x8926 EtherType returns the EtherType that
// follows the tag, or -1 when fewer than 7 bytes are captured (Zeek `truncated_vntag_header`:
// it wants more than the 6-byte tag). The tag is 4 bytes (direction, pointer, destination and
// source virtual interfaces) and the next EtherType 2. Zeek registers only the VLAN EtherTypes
// after a VN-Tag (0x8100, 0x88A8, 0x9100): isVnTagInner() says which may follow; anything else,
// IP included, is not analysed.

import { be16 } from "../mem";

export const VNTAG_HDR: i32 = 6;
const VNTAG_NEXT_TYPE: usize = 4;
// The EtherTypes Zeek's vntag/main.zeek registers after the tag (all to its VLAN analyzer).
const ETHERTYPE_VLAN: u32 = 0x8100;
const ETHERTYPE_QINQ: u32 = 0x88A8;
const ETHERTYPE_QINQ_OLD: u32 = 0x9100;

export function vnTagNext(p: usize, cap: i32): i32 {
  if (cap <= VNTAG_HDR) return -1;
  // SAFETY: cap > 6 covers the next EtherType at 4..5.
  return <i32>be16(p + VNTAG_NEXT_TYPE);
}

export function isVnTagInner(type: u32): bool {
  return type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ || type == ETHERTYPE_QINQ_OLD;
}
