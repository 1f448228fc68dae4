// Anomalies seen on the wire: the rules that judge one segment against what its sender and the
// peer had sent before it (catalogue: anomaly.ts; names and evidence: src/anomalies/catalogue.ts).
//
// The tracker calls, per segment: noteBefore() before the segment changes anything,
// noteSequenceBefore() once the sender's sequence base is set (Zeek init_endpoint), then, after
// Zeek's bookkeeping and state machine, checkWireAnomalies(). Everything here reads and writes the
// record only: no allocation, and the snapshot is a handful of module globals.

import {
  FR_ORIG, FR_RESP, FR_TS_START, FR_HS_RTT, FF_RESP_NONSYN, FF_SYNACK_AFTER_ACK, EP_WIN, EP_SEEN, EP_FIN_SEQ,
  EP_RTX_QUIET, EP_LAST_ACKVAL, EP_REASM, EP_SEQ_WRAPS, EF_FIN_SEEN, EF_SYN_SEEN, EF_FIN_RETX, Half,
} from "./record";
import { P_FLAGS, P_SEQ, P_ACK, P_WIN, P_PAYLEN, P_WHOLE, TH_FIN, TH_SYN, TH_RST, TH_PSH, TH_ACK, TH_URG } from "../packet";
import { Anomaly, noteAnomaly } from "./anomaly";
import { startSeq, lastSeq, lastFull, ackFull, toRelative } from "./seq";
import { stateOf, epHas, epSet, setFlag } from "./state";

/** Data filling a hole within this long of the sender's previous segment is reordering (µs). */
const REORDER_WINDOW_US: u32 = 3000;
/** The six classic flag bits (ECE and CWR left out). */
const TH_CLASSIC: u32 = TH_FIN | TH_SYN | TH_RST | TH_PSH | TH_ACK | TH_URG;

// ---- the snapshot of both endpoints before the segment ---------------------------------------------
let senderWasActive = false;
let peerWasActive = false;
let origSynSentBefore = false;
let respInactiveBefore = false;
let finBefore = false;
let synBefore = false;
let finSeqBefore: u64 = 0;
let prevWin: u32 = 0;
let peerWin: u32 = 0;
let peerFin = false;
/** µs after the record's start of the sender's previous segment. */
let prevSeen: u32 = 0;
/** The sender's highest sequence (Zeek last_seq) and reassembly point, once its base is set. */
let lastBefore: u32 = 0;
let reasmBefore: u64 = 0;

/** Takes the snapshot: `ep` sends the segment, `peer` is the other side. */
export function noteBefore(rec: usize, ep: usize, peer: usize): void {
  senderWasActive = stateOf(ep) != <u8>Half.Inactive;
  peerWasActive = stateOf(peer) != <u8>Half.Inactive;
  origSynSentBefore = stateOf(rec + <usize>FR_ORIG) == <u8>Half.SynSent;
  respInactiveBefore = stateOf(rec + <usize>FR_RESP) == <u8>Half.Inactive;
  finBefore = epHas(ep, EF_FIN_SEEN);
  synBefore = epHas(ep, EF_SYN_SEEN);
  finSeqBefore = load<u64>(ep + EP_FIN_SEQ);
  prevWin = <u32>load<u16>(ep + EP_WIN);
  peerWin = <u32>load<u16>(peer + EP_WIN);
  peerFin = epHas(peer, EF_FIN_SEEN);
  prevSeen = load<u32>(ep + EP_SEEN);
}

/** The rest of the snapshot, after Zeek's init_endpoint. */
export function noteSequenceBefore(ep: usize): void {
  lastBefore = lastSeq(ep);
  reasmBefore = load<u64>(ep + EP_REASM);
}

/**
 * Checks the segment at `pk` sent by `ep` (after Zeek's bookkeeping; roles as they are now).
 * relSeq/relAck: its sequence and ack in relative space; segLen: the sequence space it takes;
 * deltaLast: how far it moved the sender's highest sequence (Zeek update_last_seq).
 */
export function checkWireAnomalies(pk: usize, rec: usize, ep: usize, peer: usize, relSeq: u64, relAck: u64, segLen: u32, deltaLast: i32, now: i64): void {
  const flags = <u32>load<u8>(pk + P_FLAGS);
  const len = load<u32>(pk + P_PAYLEN);
  const seq = load<u32>(pk + P_SEQ), ack = load<u32>(pk + P_ACK), win = <u32>load<u16>(pk + P_WIN);
  const syn = (flags & TH_SYN) != 0, fin = (flags & TH_FIN) != 0, rst = (flags & TH_RST) != 0, hasAck = (flags & TH_ACK) != 0;
  const control = flags & (TH_SYN | TH_FIN | TH_RST);
  const senderIsOrig = ep == rec + <usize>FR_ORIG;

  if ((syn && (fin || rst)) || (flags & TH_CLASSIC) == 0 || (fin && (flags & (TH_PSH | TH_URG)) == (TH_PSH | TH_URG))) {
    // SYN+FIN, SYN+RST, no flags at all, or FIN+PSH+URG ("Xmas"): no conforming stack sends these.
    noteAnomaly(rec, Anomaly.InvalidFlags, senderIsOrig, now);
  }
  if (rst) {
    // A SYN answered by RST is a refusal; any other RST is a reset (the host adds whether data flowed).
    if (!senderIsOrig && origSynSentBefore && respInactiveBefore) noteAnomaly(rec, Anomaly.Refused, false, now);
    else noteAnomaly(rec, Anomaly.Reset, senderIsOrig, now);
  }
  if (syn && !hasAck && !senderIsOrig && !senderWasActive && origSynSentBefore) {
    noteAnomaly(rec, Anomaly.SimultaneousOpen, false, now); // both sides sent a SYN (RFC 9293 §3.5, figure 7)
  }
  if (fin && peerFin && (!hasAck || relAck < load<u64>(peer + EP_FIN_SEQ))) {
    noteAnomaly(rec, Anomaly.SimultaneousClose, senderIsOrig, now); // FIN sent before the peer's FIN was acknowledged
  }
  if (len > 0 && !rst && finBefore && relSeq + <u64>len > finSeqBefore - 1) {
    noteAnomaly(rec, Anomaly.DataAfterFin, senderIsOrig, now);
  }
  if (win == 0 && control == 0) noteAnomaly(rec, Anomaly.ZeroWindow, senderIsOrig, now);
  let probe = false;
  if (control == 0 && senderWasActive && len <= 1) {
    // One octet before snd.nxt with 0 or 1 byte: a keep-alive (RFC 9293 §3.8.4), or, while the peer
    // advertises a zero window, a zero-window probe (§3.8.6.1; Linux probes look like keep-alives).
    // One new octet sent into a zero window is a probe too.
    const keepaliveShape = seq + 1 == lastBefore;
    const probeShape = len == 1 && seq == lastBefore;
    if (keepaliveShape || probeShape) {
      probe = true;
      if (peerWin == 0 && peerWasActive) noteAnomaly(rec, Anomaly.ZeroWindowProbe, senderIsOrig, now);
      else if (keepaliveShape) noteAnomaly(rec, Anomaly.Keepalive, senderIsOrig, now);
      else probe = false;
    }
  }
  if (syn && synBefore && seq == startSeq(ep) && len == 0) {
    noteAnomaly(rec, Anomaly.Retransmission, senderIsOrig, now); // the same SYN (same ISN) again
  } else if (fin && finBefore && len == 0 && relSeq + <u64>segLen == finSeqBefore) {
    noteAnomaly(rec, Anomaly.Retransmission, senderIsOrig, now); // the same FIN again
    epSet(ep, EF_FIN_RETX);
  }
  if (len > 0 && !rst && !probe && deltaLast <= 0) {
    // Nothing new: retransmitted, or filling a hole that later data already skipped. With the
    // payload seen whole, data above the reassembly point that arrives within a few ms of the
    // sender's previous segment is reordering, not loss.
    const dataSeq = syn ? relSeq + 1 : relSeq;
    const quick = (<u32>(now - load<i64>(rec + FR_TS_START)) - prevSeen) < REORDER_WINDOW_US;
    if (load<u8>(pk + P_WHOLE) != 0 && dataSeq >= reasmBefore && quick) noteAnomaly(rec, Anomaly.OutOfOrder, senderIsOrig, now);
    else {
      noteAnomaly(rec, Anomaly.Retransmission, senderIsOrig, now);
      const q = load<u16>(ep + EP_RTX_QUIET);
      if (q != 0xFFFF) store<u16>(ep + EP_RTX_QUIET, q + 1);
    }
  }
  if (hasAck && control == 0 && len == 0) {
    // The same ack and window again while the peer has unacknowledged data: a duplicate ACK.
    const peerUnacked = lastFull(peer) > ackFull(peer) + ((epHas(peer, EF_FIN_SEEN) ? 1 : 0) as u64);
    if (ack == load<u32>(ep + EP_LAST_ACKVAL) && win == prevWin && peerUnacked && peerWasActive) {
      noteAnomaly(rec, Anomaly.DuplicateAck, senderIsOrig, now);
    }
    store<u32>(ep + EP_LAST_ACKVAL, ack);
  }
  if (hasAck && !rst && peerWasActive && relAck > toRelative(peer, lastSeq(peer), load<u32>(peer + EP_SEQ_WRAPS))) {
    noteAnomaly(rec, Anomaly.AckOfUnseenData, senderIsOrig, now); // acknowledges data we never saw the peer send
  }

  // Liveness evidence for the end-of-input rules (peer_vanished, handshake_incomplete).
  store<u16>(peer + EP_RTX_QUIET, 0);
  const sinceStart = now - load<i64>(rec + FR_TS_START);
  store<u32>(ep + EP_SEEN, sinceStart > 0xFFFFFFFF ? 0xFFFFFFFF : <u32>sinceStart);
  if (!senderIsOrig) {
    if (!syn) setFlag(rec, FF_RESP_NONSYN);
    else if (hasAck && load<i64>(rec + FR_HS_RTT) >= 0) setFlag(rec, FF_SYNACK_AFTER_ACK);
  }
}
