// UDP tunnels: Teredo (RFC 4380 §5.1.1), GTPv1-U (3GPP TS 29.281 §5), AYIYA
// (draft-massar-v6ops-ayiya-02 §5) and VXLAN (RFC 7348 §5), decapsulated as Zeek does
// (src/packet_analysis/protocol/{teredo,gtpv1,ayiya,vxlan}).
//
// Contract: decodeX(p, cap, len, ctx) with p at the tunnel header, cap = captured bytes, len = the
// datagram payload length (see udp.ts). A payload that is not a valid tunnel packet is plain UDP and
// returns Stat.NonTcp; a valid header cut by the snaplen returns Stat.Truncated. On success the inner
// packet is decoded through enterTunnel() (depth bound, P_TUNNEL, VLAN reset).
//
// Acceptance follows Zeek: Teredo and GTP-U require the inner IP packet to fill the payload exactly
// (Zeek's IP::ParsePacket CaplenTooSmall/TooLarge checks; compared with the declared length, so a
// snaplen-cut packet still decodes); GTP-U only carries user packets in G-PDU messages (type 255),
// never GTP-in-GTP; AYIYA only forwards op code 1; VXLAN needs the I flag.

import { Stat } from "../stats";
import { Tunnel } from "../packet";
import { be16 } from "../mem";
import { enterTunnel, lastTunnel } from "./context";
import { decodeIp, IPPROTO_IPIP, IPPROTO_IPV6 } from "./ip";
import { decodeIpv6 } from "./ipv6";
import { decodeEthernet } from "./ethernet";

/** Not enough captured bytes for `need`: a cut tunnel header if the datagram is long enough, else not one. */
@inline function short(need: i32, len: i32): i32 { return len >= need ? Stat.Truncated : Stat.NonTcp; }

// ---- Teredo (RFC 4380 §5.1.1): [authentication] [origin indication] IPv6 ----
const TEREDO_TAG_ORIGIN: u32 = 0x0000;
const TEREDO_TAG_AUTH: u32 = 0x0001;
const TEREDO_AUTH_ID_LEN: usize = 2;
const TEREDO_AUTH_AU_LEN: usize = 3;
const TEREDO_AUTH_FIXED: i32 = 4 + 8 + 1;   // tag+lengths, nonce, confirmation byte
const TEREDO_ORIGIN_LEN: i32 = 8;
const IPV6_HDR: i32 = 40;
const IPV6_PAYLOAD_LEN: usize = 4;

export function decodeTeredo(p: usize, cap: i32, len: i32, ctx: u32): i32 {
  let o: i32 = 0;
  if (cap < 2) return short(2, len);
  // SAFETY: every read below is preceded by a check that o + width <= cap.
  if (be16(p) == TEREDO_TAG_AUTH) {
    if (cap < 4) return short(4, len);
    const auth = TEREDO_AUTH_FIXED + <i32>load<u8>(p + TEREDO_AUTH_ID_LEN) + <i32>load<u8>(p + TEREDO_AUTH_AU_LEN);
    if (cap < auth) return short(auth, len);
    o = auth;
  }
  if (cap - o >= 2 && be16(p + <usize>o) == TEREDO_TAG_ORIGIN) {
    if (cap - o < TEREDO_ORIGIN_LEN) return short(o + TEREDO_ORIGIN_LEN, len);
    o += TEREDO_ORIGIN_LEN;
  }
  if (cap - o < IPV6_HDR) return short(o + IPV6_HDR, len);
  const ip = p + <usize>o;
  if ((<u32>load<u8>(ip) >> 4) != 6) return Stat.NonTcp;
  // The inner packet must fill the datagram (a bubble, no-next-header with payload, is no TCP anyway).
  if (<i32>be16(ip + IPV6_PAYLOAD_LEN) + IPV6_HDR != len - o) return Stat.NonTcp;
  const inner = enterTunnel(ctx, Tunnel.Teredo);
  if (inner < 0) return Stat.TunnelDepth;
  return decodeIpv6(ip, cap - o, len - o, <u32>inner);
}

// ---- GTPv1-U (TS 29.281 §5.1, §5.2) ----
const GTP_FLAGS: usize = 0;
const GTP_MSG_TYPE: usize = 1;
const GTP_NEXT_EXT: usize = 11;     // next extension header type, inside the optional 4 bytes
const GTP_HDR: i32 = 8;
const GTP_OPT_HDR: i32 = 12;        // + sequence number, N-PDU number, next extension type
const GTP_VERSION_1: u32 = 1;
const GTP_FLAG_PT: u32 = 0x10;
const GTP_FLAG_E: u32 = 0x04;
const GTP_FLAGS_OPT: u32 = 0x07;    // E | S | PN: any of them adds the optional 4 bytes
const GTP_MSG_GPDU: u32 = 255;
const GTP_EXT_UNIT: i32 = 4;
const IPV4_TOTAL_LEN: usize = 2;
const IPV4_MIN_HDR: i32 = 20;

export function decodeGtpU(p: usize, cap: i32, len: i32, ctx: u32): i32 {
  if (cap < GTP_HDR) return short(GTP_HDR, len);
  // SAFETY: cap >= 8 covers the mandatory header; later reads are checked against hl/cap.
  const flags = <u32>load<u8>(p + GTP_FLAGS);
  if ((flags >> 5) != GTP_VERSION_1 || (flags & GTP_FLAG_PT) == 0) return Stat.NonTcp;
  if (<u32>load<u8>(p + GTP_MSG_TYPE) != GTP_MSG_GPDU) return Stat.NonTcp;
  if (lastTunnel(ctx) == Tunnel.Gtpu) return Stat.NonTcp;   // Zeek: "GTP-in-GTP" violation
  let hl = GTP_HDR;
  if ((flags & GTP_FLAGS_OPT) != 0) {
    if (cap < GTP_OPT_HDR) return short(GTP_OPT_HDR, len);
    hl = GTP_OPT_HDR;
    if ((flags & GTP_FLAG_E) != 0) {
      let next = <u32>load<u8>(p + GTP_NEXT_EXT);
      // Each extension header is >= 4 bytes and hl stays <= cap, so the loop ends.
      while (next != 0) {
        if (cap < hl + 1) return short(hl + 1, len);
        const extLen = <i32>load<u8>(p + <usize>hl) * GTP_EXT_UNIT;
        if (extLen == 0) return Stat.NonTcp;
        if (cap < hl + extLen) return short(hl + extLen, len);
        next = <u32>load<u8>(p + <usize>(hl + extLen - 1));
        hl += extLen;
      }
    }
  }
  const ip = p + <usize>hl;
  const ipCap = cap - hl;
  const ipLen = len - hl;
  if (ipCap < 1) return short(hl + 1, len);
  const version = <u32>load<u8>(ip) >> 4;
  let innerTotal: i32;
  if (version == 4) {
    if (ipCap < IPV4_MIN_HDR) return short(hl + IPV4_MIN_HDR, len);
    innerTotal = <i32>be16(ip + IPV4_TOTAL_LEN);
  } else if (version == 6) {
    if (ipCap < IPV6_HDR) return short(hl + IPV6_HDR, len);
    innerTotal = <i32>be16(ip + IPV6_PAYLOAD_LEN) + IPV6_HDR;
  } else {
    return Stat.NonTcp;                                     // "non-IP packet in GTPv1"
  }
  if (innerTotal != ipLen) return Stat.NonTcp;              // "GTPv1 payload length"
  const inner = enterTunnel(ctx, Tunnel.Gtpu);
  if (inner < 0) return Stat.TunnelDepth;
  return decodeIp(ip, ipCap, ipLen, <u32>inner);
}

// ---- AYIYA (draft-massar-v6ops-ayiya-02 §5): 8 fixed bytes, identity, signature, payload ----
const AYIYA_ID_LEN_NIBBLE: usize = 0;    // high nibble: identity length = 2^n
const AYIYA_SIG_LEN_NIBBLE: usize = 1;   // high nibble: signature length in 4-byte words
const AYIYA_OPCODE: usize = 2;           // low nibble
const AYIYA_NEXT_HDR: usize = 3;
const AYIYA_HDR: i32 = 8;
const AYIYA_OP_FORWARD: u32 = 1;

export function decodeAyiya(p: usize, cap: i32, len: i32, ctx: u32): i32 {
  if (cap < AYIYA_HDR) return short(AYIYA_HDR, len);
  // SAFETY: cap >= 8 covers the fixed header.
  const idLen = 1 << (<i32>load<u8>(p + AYIYA_ID_LEN_NIBBLE) >> 4);
  const sigLen = (<i32>load<u8>(p + AYIYA_SIG_LEN_NIBBLE) >> 4) * 4;
  const hl = AYIYA_HDR + idLen + sigLen;
  if (cap < hl) return short(hl, len);
  if ((<u32>load<u8>(p + AYIYA_OPCODE) & 0x0F) != AYIYA_OP_FORWARD) return Stat.NonTcp;
  const next = <u32>load<u8>(p + AYIYA_NEXT_HDR);
  if (next != IPPROTO_IPV6 && next != IPPROTO_IPIP) return Stat.NonTcp;
  if (len - hl <= 0) return Stat.NonTcp;                    // Zeek: ayiya_empty_packet
  const inner = enterTunnel(ctx, Tunnel.Ayiya);
  if (inner < 0) return Stat.TunnelDepth;
  return decodeIp(p + <usize>hl, cap - hl, len - hl, <u32>inner);
}

// ---- VXLAN (RFC 7348 §5): 8-byte header, then an Ethernet frame ----
const VXLAN_FLAGS: usize = 0;
const VXLAN_FLAG_I: u32 = 0x08;
const VXLAN_HDR: i32 = 8;

export function decodeVxlan(p: usize, cap: i32, len: i32, ctx: u32): i32 {
  if (cap < VXLAN_HDR) return short(VXLAN_HDR, len);
  // SAFETY: cap >= 8.
  if ((<u32>load<u8>(p + VXLAN_FLAGS) & VXLAN_FLAG_I) == 0) return Stat.NonTcp;
  if (len - VXLAN_HDR <= 0) return Stat.NonTcp;             // Zeek: vxlan_empty_packet
  const inner = enterTunnel(ctx, Tunnel.Vxlan);
  if (inner < 0) return Stat.TunnelDepth;
  return decodeEthernet(p + <usize>VXLAN_HDR, cap - VXLAN_HDR, len - VXLAN_HDR, <u32>inner);
}
