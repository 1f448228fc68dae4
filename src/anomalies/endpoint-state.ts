/**
 * @module
 * Each endpoint's RFC 9293 state as far as the wire shows at the end of its input (§3.3.2,
 * figure 5). This is a report derived from Zeek-style half-states plus sequence facts (which FIN
 * was sent first, which one was acknowledged), not an RFC host machine driven by the packets:
 * an observer sees both directions, late starts and losses, so it reads states off the evidence.
 *
 * Linux timer values decide when a state has run out (a SYN_SENT that gave up is CLOSED, a
 * TIME_WAIT ends after 60 s); they are options with Linux's defaults (see StateThresholds).
 */

import type { FlowFacts, SideFacts } from "./facts.js";

/** The RFC 9293 state names flows report, plus UNKNOWN where the capture cannot tell. */
export const TCP_STATES = [
  "SYN_SENT",
  "SYN_RECEIVED",
  "ESTABLISHED",
  "FIN_WAIT_1",
  "FIN_WAIT_2",
  "CLOSE_WAIT",
  "CLOSING",
  "LAST_ACK",
  "TIME_WAIT",
  "CLOSED",
  "UNKNOWN",
] as const;
export type TcpStateName = (typeof TCP_STATES)[number];

/** Thresholds in seconds, defaults from Linux (net/ipv4 sysctls and include/net/tcp.h). */
export interface StateThresholds {
  /** A SYN_SENT side gives up after this long without an answer (tcp_syn_retries=6: 1+2+...+64 = 127 s). */
  synTimeout: number;
  /** A SYN_RECEIVED side drops the embryonic connection (tcp_synack_retries=5: 1+2+...+32 = 63 s). */
  synAckTimeout: number;
  /** Orphaned FIN_WAIT_2 lifetime (tcp_fin_timeout = 60 s). */
  finWait2Timeout: number;
  /** TIME_WAIT lasts 2*MSL (TCP_TIMEWAIT_LEN = 60 s on Linux). */
  timeWait: number;
  /** Silence after which a side whose peer keeps retransmitting counts as vanished (s). */
  vanishedAfter: number;
}

export const LINUX_THRESHOLDS: StateThresholds = {
  synTimeout: 127,
  synAckTimeout: 63,
  finWait2Timeout: 60,
  timeWait: 60,
  vanishedAfter: 3,
};

/** The state of `me` (facing `peer`) at time `endUs`. `meIsOrig` says which role `me` has. */
export function endpointState(
  f: FlowFacts,
  me: SideFacts,
  peer: SideFacts,
  meIsOrig: boolean,
  endUs: number,
  t: StateThresholds,
): TcpStateName {
  // A reset aborts the connection for both ends (RFC 9293 §3.10.7.4): no TCB is left.
  if (me.rst || peer.rst) return "CLOSED";
  const idle = (endUs - f.lastUs) / 1e6;

  if (me.pkts === 0) {
    // Never heard from. Facing an unanswered SYN there is no connection here (the SYN never
    // reached a listener, or nothing listens and the RST was lost): no TCB, CLOSED. Otherwise the
    // capture cannot tell (one-sided capture).
    if (!meIsOrig && f.orig.syn && !f.resp.syn) return "CLOSED";
    return "UNKNOWN";
  }

  // Handshake phase: a side that sent only SYNs (a side that went on to send ACKs or data had its
  // SYN answered, even where the capture missed the answer).
  if (meIsOrig && me.syn && !me.beyondSyn && !peer.syn && !peer.fin && peer.pkts === 0) {
    return idle >= t.synTimeout ? "CLOSED" : "SYN_SENT";
  }
  if (!meIsOrig && me.syn) {
    // The responder's SYN-ACK is acknowledged only when an ACK reached it: an ACK followed by a
    // repeated SYN-ACK means that ACK was lost, unless the responder later sent a normal segment.
    const acked = me.ackedRel >= 1 && (!f.synAckAfterAck || f.respNonSyn);
    if (!acked && !f.respNonSyn && !me.fin) return idle >= t.synAckTimeout ? "CLOSED" : "SYN_RECEIVED";
  }
  if (meIsOrig && me.syn && !me.beyondSyn && !peer.syn && peer.pkts > 0) {
    // The peer answered with something other than SYN-ACK and no RST: keep the handshake view.
    return idle >= t.synTimeout ? "CLOSED" : "SYN_SENT";
  }

  // Data and teardown (RFC 9293 figure 5).
  if (!me.fin && !peer.fin) return "ESTABLISHED";
  // The peer's FIN puts us in CLOSE_WAIT once it arrives; a FIN that was never acknowledged and had
  // to be sent again most likely never arrived.
  if (!me.fin && peer.fin) return !peer.finAcked && peer.finRetransmitted ? "ESTABLISHED" : "CLOSE_WAIT";
  if (me.fin && !peer.fin) {
    if (!me.finAcked) return "FIN_WAIT_1";
    return "FIN_WAIT_2";
  }
  // Both sent FIN.
  if (me.finAfterPeer && !peer.finAfterPeer) {
    // Passive close: LAST_ACK until our FIN is acknowledged, then the TCB is deleted.
    return me.finAcked ? "CLOSED" : "LAST_ACK";
  }
  // Active close (or simultaneous): CLOSING until our FIN is acknowledged, then TIME_WAIT for 2*MSL.
  if (!me.finAcked) return "CLOSING";
  return idle >= t.timeWait ? "CLOSED" : "TIME_WAIT";
}
