// Ethernet II (IEEE 802.3 §3.2.6) and what rides on an EtherType: 802.1Q / 802.1ad / 0x9100 VLAN
// stacks (IEEE 802.1Q §9.6), MPLS label stacks (RFC 3032 §2.1), PPPoE sessions (RFC 2516 §4, PPP
// protocol numbers RFC 1661 §2), Cisco FabricPath (EtherType 0x8903, a 16-byte outer header in
// front of a complete Ethernet frame), 802.1ah PBB (pbb.ts), Cisco VN-Tag (vntag.ts) and IEEE 802.3
// length frames (LLC / SNAP, llc.ts), following Zeek's ethernet/vlan/mpls/pppoe/pbb/vntag analyzers.
//
// Contract: decodeEthernet(p, cap, wire, ctx) with p at the destination MAC; decodeEtherType(type,
// p, cap, wire, ctx) with p just after an EtherType field (shared by SLL/SLL2 and tunnels). Each
// VLAN tag or MPLS label consumes 4 captured bytes, so the loops end. P_VLAN gets the first tag id
// in bits 0-11 and the second in bits 12-23; a third tag overwrites the second, as in Zeek
// ("triple_tagged_vlan_unsupported"); the count of tags seen travels in ctx (CTX_VLAN_TAGS) so that
// a customer frame inside PBB adds to the provider's tags. Unknown EtherTypes are NonIp. The PPPoE length field is not trusted (the IP header length rules, as in
// Zeek; corpus pppoe-qinq-rxmit has PPPoE lengths 6 bytes short of the IP packets).

import { P_VLAN } from "../packet";
import { Stat } from "../stats";
import { be16 } from "../mem";
import { decodeIp } from "./ip";
import { CTX_VLAN_TAGS_MASK, CTX_VLAN_TAGS_SHIFT } from "./context";
import { decodePbb } from "./pbb";
import { vnTagNext, isVnTagInner, VNTAG_HDR } from "./vntag";
import { decode8023 } from "./llc";
import { PACKET } from "../state";

export const ETH_HDR: i32 = 14;
export const ETH_TYPE: usize = 12;
const FABRICPATH_HDR: i32 = 16;     // outer DA/SA (12), EtherType 0x8903 (2), FTag/TTL (2)

export const ETHERTYPE_IPV4: u32 = 0x0800;
export const ETHERTYPE_IPV6: u32 = 0x86DD;
export const ETHERTYPE_VLAN: u32 = 0x8100;
const ETHERTYPE_QINQ: u32 = 0x88A8;
const ETHERTYPE_QINQ_OLD: u32 = 0x9100;
const ETHERTYPE_MPLS_UC: u32 = 0x8847;
const ETHERTYPE_MPLS_MC: u32 = 0x8848;
const ETHERTYPE_PPPOE_SESSION: u32 = 0x8864;
const ETHERTYPE_FABRICPATH: u32 = 0x8903;
const ETHERTYPE_PBB: u32 = 0x88E7;
const ETHERTYPE_VNTAG: u32 = 0x8926;
const IEEE8023_MAX_LENGTH: u32 = 1500;

export const VLAN_TAG: i32 = 4;
const VLAN_TCI: usize = 0;
export const VLAN_TYPE: usize = 2;
export const VLAN_ID_MASK: u32 = 0x0FFF;
const VLAN_INNER_SHIFT: u32 = 12;

const MPLS_LABEL: i32 = 4;
const MPLS_BOS_BYTE: usize = 2;
const MPLS_BOS: u32 = 0x01;

const PPPOE_HDR: i32 = 6;           // ver/type, code, session id, length
const PPP_PROTO_LEN: i32 = 2;
const PPP_IPV4: u32 = 0x0021;
const PPP_IPV6: u32 = 0x0057;

@inline export function decodeEthernet(p: usize, cap: i32, wire: i32, ctx: u32): i32 {
  if (cap < ETH_HDR) return Stat.Truncated;
  // SAFETY: cap >= 14 covers the EtherType.
  let type = be16(p + ETH_TYPE);
  if (type == ETHERTYPE_FABRICPATH) {
    // The FabricPath header is followed by the original frame; Zeek skips 16 bytes and reads on.
    if (cap < FABRICPATH_HDR + ETH_HDR) return Stat.Truncated;
    p += <usize>FABRICPATH_HDR;
    cap -= FABRICPATH_HDR;
    wire -= FABRICPATH_HDR;
    // SAFETY: cap >= 14 again.
    type = be16(p + ETH_TYPE);
  }
  return decodeEthPayload(type, p + <usize>ETH_HDR, cap - ETH_HDR, wire - ETH_HDR, ctx, true);
}

/** What follows an EtherType-like protocol field outside Ethernet (Linux SLL/SLL2): no 802.3 lengths. */
export function decodeEtherType(type: u32, p: usize, cap: i32, wire: i32, ctx: u32): i32 {
  return decodeEthPayload(type, p, cap, wire, ctx, false);
}

/**
 * Dispatches on an EtherType. `lengthField`: the field may be an IEEE 802.3 length (<= 1500), as
 * after an Ethernet or VLAN header (Zeek's Ethernet and VLAN analyzers forward those frames to
 * SNAP, Novell or LLC, see llc.ts); values 1501..1535 are Zeek's `undefined_ether_type`.
 */
function decodeEthPayload(type: u32, p: usize, cap: i32, wire: i32, ctx: u32, lengthField: bool): i32 {
  let tags = (ctx & CTX_VLAN_TAGS_MASK) >> CTX_VLAN_TAGS_SHIFT;
  // Every VLAN or VN-Tag pass consumes at least 4 captured bytes, so the loop ends.
  while (true) {
    if (type == ETHERTYPE_IPV4 || type == ETHERTYPE_IPV6) return decodeIp(p, cap, wire, ctx);
    if (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ || type == ETHERTYPE_QINQ_OLD) {
      if (cap < VLAN_TAG) return Stat.Truncated;
      // SAFETY: cap >= 4 covers TCI and the next EtherType.
      const id = be16(p + VLAN_TCI) & VLAN_ID_MASK;
      const vlan = load<u32>(PACKET.PKT + P_VLAN);
      if (tags == 0) store<u32>(PACKET.PKT + P_VLAN, id);
      else store<u32>(PACKET.PKT + P_VLAN, (vlan & VLAN_ID_MASK) | (id << VLAN_INNER_SHIFT));
      if (tags < 2) tags++;
      type = be16(p + VLAN_TYPE);
      p += <usize>VLAN_TAG;
      cap -= VLAN_TAG;
      wire -= VLAN_TAG;
      lengthField = true;
      continue;
    }
    if (type == ETHERTYPE_VNTAG) {
      const next = vnTagNext(p, cap);
      if (next < 0) return Stat.Truncated;                  // truncated_vntag_header
      if (!isVnTagInner(<u32>next)) return Stat.NonIp;      // Zeek registers only VLAN types after it
      type = <u32>next;
      p += <usize>VNTAG_HDR;
      cap -= VNTAG_HDR;
      wire -= VNTAG_HDR;
      continue;
    }
    if (type == ETHERTYPE_PBB) {
      const c = (ctx & ~CTX_VLAN_TAGS_MASK) | (tags << CTX_VLAN_TAGS_SHIFT);
      return decodePbb(p, cap, wire, c);
    }
    if (type == ETHERTYPE_MPLS_UC || type == ETHERTYPE_MPLS_MC) return decodeMpls(p, cap, wire, ctx);
    if (type == ETHERTYPE_PPPOE_SESSION) return decodePppoe(p, cap, wire, ctx);
    if (lengthField && type <= IEEE8023_MAX_LENGTH) return decode8023(type, p, cap, wire, ctx);
    return Stat.NonIp;
  }
  return Stat.NonIp;
}

/** MPLS label stack up to the bottom-of-stack bit; the payload's first nibble picks IPv4/IPv6 (RFC 3032 §2.2 leaves it implicit). */
export function decodeMpls(p: usize, cap: i32, wire: i32, ctx: u32): i32 {
  // Every pass consumes 4 captured bytes, so the loop ends.
  while (true) {
    if (cap < MPLS_LABEL) return Stat.Truncated;
    // SAFETY: cap >= 4 covers the label entry.
    const bos = <u32>load<u8>(p + MPLS_BOS_BYTE) & MPLS_BOS;
    p += <usize>MPLS_LABEL;
    cap -= MPLS_LABEL;
    wire -= MPLS_LABEL;
    if (bos != 0) break;
  }
  return decodeIp(p, cap, wire, ctx);
}

function decodePppoe(p: usize, cap: i32, wire: i32, ctx: u32): i32 {
  const hl = PPPOE_HDR + PPP_PROTO_LEN;
  if (cap < hl) return Stat.Truncated;
  // SAFETY: cap >= 8 covers the PPP protocol field.
  const proto = be16(p + <usize>PPPOE_HDR);
  if (proto != PPP_IPV4 && proto != PPP_IPV6) return Stat.NonIp;
  return decodeIp(p + <usize>hl, cap - hl, wire - hl, ctx);
}
