// UDP (RFC 768) as a carrier of tunnels: Teredo 3544, GTP-U 2152, AYIYA 5072, VXLAN 4789, Geneve
// 6081 (RFC 8926 §3.3), GRE-in-UDP 4754 (RFC 8086 §3; Zeek's GRE::gre_ports), plus
// Zeek's protocol detection of AYIYA and Teredo on any other port. Other UDP is Stat.NonTcp.
//
// Contract: decodeUdp(p, cap, len, pseudo, ctx, v6) with p at the UDP header, cap/len as in
// decodeTransport. The tunnel is chosen by the destination port, then the source port (Zeek picks
// the analyzer by the UDP connection's responder port, which is nearly always one of them). On other
// ports Zeek asks the analyzers registered for protocol detection (AYIYA, then Teredo, in script load
// order); their DetectProtocol heuristics are reproduced in detectAyiya/detectTeredo.
// Like Zeek's UDP analyzer, a datagram with a bad UDP checksum is dropped before decapsulation
// (Stat.BadTunnelChecksum): verified when fully captured and checksums are not ignored; IPv4 zero
// means "no checksum", and VXLAN may send zero over IPv6 too (RFC 7348 §5).
// The tunnel payload length is the IP-declared length - 8, or the UDP length field - 8 inside a first
// IP fragment (the only place the full datagram length is written down).

import { Stat } from "../stats";
import { P_SPORT, P_DPORT } from "../packet";
import { be16, be32 } from "../mem";
import { csumValid, pseudoLen } from "./checksum";
import { CTX_FRAG } from "./context";
import { decodeTeredo, decodeGtpU, decodeAyiya, decodeVxlan } from "./tunnel";
import { decodeGeneve } from "./geneve";
import { decodeGre } from "./gre";
import { OPTIONS, PACKET } from "../state";

const UDP_SPORT: usize = 0;
const UDP_DPORT: usize = 2;
const UDP_LEN: usize = 4;
const UDP_CSUM: usize = 6;
const UDP_HDR: i32 = 8;

export const PORT_TEREDO: u32 = 3544;
export const PORT_GTPU: u32 = 2152;
export const PORT_AYIYA: u32 = 5072;
export const PORT_VXLAN: u32 = 4789;
export const PORT_GENEVE: u32 = 6081;
export const PORT_GRE_IN_UDP: u32 = 4754;

const IPPROTO_UDP_WORD: u64 = 17 << 8;   // pseudo-header [zero, protocol 17] as a little-endian word

export function decodeUdp(p: usize, cap: i32, len: i32, pseudo: u64, ctx: u32, v6: bool): i32 {
  if (len < UDP_HDR || cap < UDP_HDR) return Stat.NonTcp;
  // SAFETY: cap >= 8 covers the header.
  const sport = be16(p + UDP_SPORT);
  const dport = be16(p + UDP_DPORT);
  // The ports name the outer connection if this datagram carries a tunnel (enterTunnel); an inner
  // TCP header overwrites them.
  store<u16>(PACKET.PKT + P_SPORT, <u16>sport);
  store<u16>(PACKET.PKT + P_DPORT, <u16>dport);
  let port = dport;
  if (!isTunnelPort(port)) {
    port = sport;
    if (!isTunnelPort(port)) {
      // SAFETY: the detectors read only [p+8, p+cap).
      port = detectAyiya(p + <usize>UDP_HDR, cap - UDP_HDR) ? PORT_AYIYA
           : detectTeredo(p + <usize>UDP_HDR, cap - UDP_HDR) ? PORT_TEREDO : 0;
      if (port == 0) return Stat.NonTcp;
    }
  }

  let payLen = len - UDP_HDR;
  if ((ctx & CTX_FRAG) != 0) {
    const ulen = <i32>be16(p + UDP_LEN);
    if (ulen < UDP_HDR) return Stat.NonTcp;
    payLen = ulen - UDP_HDR;
  } else if (!OPTIONS.ignoreChecksums && cap >= len) {
    const csum = load<u16>(p + UDP_CSUM);
    const optional = csum == 0 && (!v6 || dport == PORT_VXLAN);
    // SAFETY: cap >= len, so [p, p+len) is captured.
    if (!optional && !csumValid(p, <usize>len, pseudo + IPPROTO_UDP_WORD + pseudoLen(<u32>len))) {
      return Stat.BadTunnelChecksum;
    }
  }

  const q = p + <usize>UDP_HDR;
  const qcap = cap - UDP_HDR;
  if (port == PORT_TEREDO) return decodeTeredo(q, qcap, payLen, ctx);
  if (port == PORT_GTPU) return decodeGtpU(q, qcap, payLen, ctx);
  if (port == PORT_AYIYA) return decodeAyiya(q, qcap, payLen, ctx);
  if (port == PORT_GENEVE) return decodeGeneve(q, qcap, payLen, ctx);
  if (port == PORT_GRE_IN_UDP) return decodeGre(q, qcap, payLen, ctx);
  return decodeVxlan(q, qcap, payLen, ctx);
}

// AYIYA detection bytes: byte 1 = signature length 5 words | hash SHA-1 (2), byte 2 = auth method 1 | op code forward (1).
const AYIYA_DETECT_LEN: i32 = 3;
const AYIYA_SIG_HASH: usize = 1;
const AYIYA_SIG_HASH_VALUE: u8 = 0x52;
const AYIYA_AUTH_OP: usize = 2;
const AYIYA_AUTH_OP_VALUE: u8 = 0x11;

/** Zeek AYIYAAnalyzer::DetectProtocol. */
function detectAyiya(p: usize, cap: i32): bool {
  // SAFETY: cap >= 3 is checked before the two loads.
  return cap >= AYIYA_DETECT_LEN && load<u8>(p + AYIYA_SIG_HASH) == AYIYA_SIG_HASH_VALUE &&
         load<u8>(p + AYIYA_AUTH_OP) == AYIYA_AUTH_OP_VALUE;
}

const TEREDO_PREFIX: u32 = 0x20010000;   // 2001:0000::/32 (RFC 4380 §2.6)
const TEREDO_TAG_ORIGIN: u32 = 0;
const TEREDO_TAG_AUTH: u32 = 1;
const TEREDO_AUTH_ID_LEN: usize = 2;
const TEREDO_AUTH_AU_LEN: usize = 3;
const TEREDO_AUTH_FIXED: i32 = 13;       // tag, two lengths, nonce (8), confirmation (1)
const TEREDO_ORIGIN_LEN: i32 = 8;
const IPV6_HDR: i32 = 40;
const IPV6_SRC: usize = 8;
const IPV6_DST: usize = 24;

/**
 * Zeek TeredoAnalyzer::DetectProtocol: an IPv6 header whose source or destination is a Teredo
 * address, or an origin indication (after an optional authentication header) followed by IPv6.
 */
function detectTeredo(p: usize, cap: i32): bool {
  if (cap < IPV6_HDR) return false;
  // SAFETY: cap >= 40; later reads are checked against the remaining length.
  const b0 = <u32>load<u8>(p);
  const b1 = <u32>load<u8>(p + 1);
  if ((b0 >> 4) != 6 && (b0 != 0 || (b1 != 0 && b1 != 1))) return false;
  if ((b0 >> 4) == 6 && (be32(p + IPV6_SRC) == TEREDO_PREFIX || be32(p + IPV6_DST) == TEREDO_PREFIX)) return true;
  let q = p;
  let n = cap;
  let tag = b1;
  if (tag == TEREDO_TAG_AUTH) {
    const auth = TEREDO_AUTH_FIXED + <i32>load<u8>(q + TEREDO_AUTH_ID_LEN) + <i32>load<u8>(q + TEREDO_AUTH_AU_LEN);
    if (n < auth + IPV6_HDR) return false;
    q += <usize>auth;
    n -= auth;
    // SAFETY: n >= 40 remain after the authentication header.
    tag = be16(q);
  }
  if (tag == TEREDO_TAG_ORIGIN) {
    if (n < TEREDO_ORIGIN_LEN + IPV6_HDR) return false;
    return (<u32>load<u8>(q + <usize>TEREDO_ORIGIN_LEN) >> 4) == 6;
  }
  return false;
}

@inline function isTunnelPort(port: u32): bool {
  return port == PORT_TEREDO || port == PORT_GTPU || port == PORT_AYIYA || port == PORT_VXLAN ||
         port == PORT_GENEVE || port == PORT_GRE_IN_UDP;
}
