// Anomalies seen on the wire: the rules that judge one segment against what its sender and the
// peer had sent before it (catalogue: anomaly.ts; names and evidence: src/anomalies/catalogue.ts).
//
// The tracker calls, per segment: noteBefore() before the segment changes anything,
// noteSequenceBefore() once the sender's sequence base is set (Zeek init_endpoint), then, after
// Zeek's bookkeeping and state machine, checkWireAnomalies(); startsUnseen() tells the HTTP scan
// whether the payload's first octet is seen for the first time, and noteHoleClocks() follows the
// sender's clocks while its stream has a hole. Everything here reads and writes the record only:
// no allocation, and the snapshot is a handful of module globals.
//
// A data segment that brings nothing new is classified in the order of Wireshark's
// tcp_analyze_sequence_number (epan/dissectors/packet-tcp.c): the retransmission shapes first
// (a fast retransmission answering duplicate ACKs, a sender clock newer than anything seen since
// the hole opened), then reordering (arriving within 3 ms of the sender's latest segment), and a
// retransmission otherwise.
//
// Time differences are signed: captures are not always in time order, and a segment stamped
// before its predecessor is "quick", never a 4295-second wait.

import {
  FR_ORIG, FR_RESP, FR_TS_START, FR_HS_RTT, FF_RESP_NONSYN, FF_SYNACK_AFTER_ACK, EP_WIN, EP_SEEN, EP_PKTS, EP_FIN_SEQ,
  X_RTX_QUIET, EP_LAST_ACKVAL, X_DUPACKS, EP_FLAGS2, EP_REASM, EP_SEQ_WRAPS, EF_FIN_SEEN, EF_SYN_SEEN,
  EF_FIN_RETX, EF2_ACK_SENT, EF2_BEYOND_SYN, EF2_TRUNCATED, X_HOLE_TSVAL, X_HOLE_IPID, X_HOLE_CLOCKS, HOLE_TSVAL, HOLE_IPID, Half,
} from "./live";
import {
  P_FLAGS, P_SEQ, P_ACK, P_WIN, P_PAYLEN, P_WHOLE, P_OPTS, P_TSVAL, P_IPID, OPT_TS,
  TH_FIN, TH_SYN, TH_RST, TH_PSH, TH_ACK, TH_URG,
} from "../packet";
import { Anomaly, noteAnomaly, holeSide, extTailSide, extTailSideIfAny, extSideIn } from "./anomaly";
import { extTailOf } from "./table";
import { seqDelta, startSeq, lastSeq, lastFull, ackFull, toRelative } from "./seq";
import { stateOf, epHas, epSet, setFlag } from "./state";
import { seenByReassembler, dataSent, hasUndelivered } from "./reassembly";
import { WIRE_ANOMALIES } from "../state";
import { durationAt, relAt, wrapsAt, bumpSyns } from "./narrow";

/** Data filling a hole within this long of the sender's latest segment is reordering (µs). */
const REORDER_WINDOW_US: i64 = 3000;
/**
 * Duplicate ACKs that make the segment at their ack number a fast retransmission. RFC 5681 §3.2
 * retransmits on the third; Wireshark takes two, as some may not have been captured.
 */
const FAST_RETRANSMIT_DUPACKS: u8 = 2;
/** An IPv4 identification less than this far ahead of the newest seen was sent after it (16-bit serial arithmetic). */
const IPID_AHEAD_MAX: u32 = 0x8000;
/** The six classic flag bits (ECE and CWR left out). */
const TH_CLASSIC: u32 = TH_FIN | TH_SYN | TH_RST | TH_PSH | TH_ACK | TH_URG;

// ---- the snapshot of both endpoints before the segment ---------------------------------------------
WIRE_ANOMALIES.senderWasActive = false;
WIRE_ANOMALIES.peerWasActive = false;
WIRE_ANOMALIES.origSynSentBefore = false;
WIRE_ANOMALIES.respInactiveBefore = false;
WIRE_ANOMALIES.finBefore = false;
WIRE_ANOMALIES.synBefore = false;
WIRE_ANOMALIES.finSeqBefore = 0;
WIRE_ANOMALIES.prevWin = 0;
WIRE_ANOMALIES.peerWin = 0;
WIRE_ANOMALIES.peerFin = false;
/** µs after the record's start of the sender's latest segment, or -1 when it sent none yet. */
WIRE_ANOMALIES.prevSeen = -1;
/** The sender's highest sequence (Zeek last_seq) and reassembly point, once its base is set. */
WIRE_ANOMALIES.lastBefore = 0;
WIRE_ANOMALIES.reasmBefore = 0;
/** This segment set the sender's sequence base (its SYN, or its first segment): all of it is new. */
WIRE_ANOMALIES.freshBase = false;

/** Takes the snapshot: `ep` sends the segment, `peer` is the other side. */
export function noteBefore(rec: usize, ep: usize, peer: usize): void {
  WIRE_ANOMALIES.senderWasActive = stateOf(ep) != <u8>Half.Inactive;
  WIRE_ANOMALIES.peerWasActive = stateOf(peer) != <u8>Half.Inactive;
  WIRE_ANOMALIES.origSynSentBefore = stateOf(rec + <usize>FR_ORIG) == <u8>Half.SynSent;
  WIRE_ANOMALIES.respInactiveBefore = stateOf(rec + <usize>FR_RESP) == <u8>Half.Inactive;
  WIRE_ANOMALIES.finBefore = epHas(ep, EF_FIN_SEEN);
  WIRE_ANOMALIES.synBefore = epHas(ep, EF_SYN_SEEN);
  WIRE_ANOMALIES.finSeqBefore = relAt(rec, ep, EP_FIN_SEQ);
  WIRE_ANOMALIES.prevWin = <u32>load<u16>(ep + EP_WIN);
  WIRE_ANOMALIES.peerWin = <u32>load<u16>(peer + EP_WIN);
  WIRE_ANOMALIES.peerFin = epHas(peer, EF_FIN_SEEN);
  WIRE_ANOMALIES.prevSeen = load<u32>(ep + EP_PKTS) != 0 ? <i64>load<u32>(ep + EP_SEEN) : -1;
}

/** The rest of the snapshot, after Zeek's init_endpoint; `fresh`: it set the sender's sequence base from this segment. */
export function noteSequenceBefore(rec: usize, ep: usize, fresh: bool): void {
  WIRE_ANOMALIES.lastBefore = lastSeq(ep);
  WIRE_ANOMALIES.reasmBefore = relAt(rec, ep, EP_REASM);
  WIRE_ANOMALIES.freshBase = fresh;
}

@inline function flags2Of(ep: usize): u8 { return load<u8>(ep + EP_FLAGS2); }

/**
 * Whether the first payload octet (relative sequence `dataSeq`, wire sequence `dataSeqRaw`) is
 * seen for the first time: it lies beyond everything the sender sent, or in a hole of its stream.
 * An HTTP line is counted once, whenever its segment arrives. Call before the payload reaches the reassembler.
 */
export function startsUnseen(rec: usize, ep: usize, dataSeq: u64, dataSeqRaw: u32): bool {
  if (WIRE_ANOMALIES.freshBase) return true;
  if (seqDelta(dataSeqRaw, WIRE_ANOMALIES.lastBefore) >= 0) return true;
  return !seenByReassembler(rec, ep, dataSeq);
}

/**
 * Hands a segment's payload (`len` bytes from relative `dataSeq`) to the reassembler when the
 * capture holds it whole (Zeek skips snaplen-truncated payload: the side is marked truncated
 * instead), and keeps the hole clocks while the sender's stream has a hole (noteHoleClocks). The
 * one hand-over for process() and the fast paths.
 */
@inline export function deliverPayload(pk: usize, rec: usize, ep: usize, dataSeq: u64, len: u32): void {
  if (load<u8>(pk + P_WHOLE) != 0) {
    const hadHole = hasUndelivered(ep);
    dataSent(rec, ep, dataSeq, <u64>len);
    if (hasUndelivered(ep)) noteHoleClocks(pk, rec, ep, !hadHole);
  } else store<u8>(ep + EP_FLAGS2, load<u8>(ep + EP_FLAGS2) | EF2_TRUNCATED);
}

/**
 * While the sender's stream has a hole, keeps the newest clocks (TSval, IPv4 identification) of the
 * segments seen since it opened (`opened`: this segment opened it). Call after the payload reached the reassembler.
 */
export function noteHoleClocks(pk: usize, rec: usize, ep: usize, opened: bool): void {
  const ts = load<u32>(pk + P_TSVAL), id = <u32>load<u16>(pk + P_IPID);
  const hasTs = (load<u8>(pk + P_OPTS) & OPT_TS) != 0 && ts != 0;
  const tsAt = holeSide(rec, ep, X_HOLE_TSVAL), idAt = holeSide(rec, ep, X_HOLE_IPID, 2), validAt = holeSide(rec, ep, X_HOLE_CLOCKS, 1);
  let valid = opened ? <u8>0 : load<u8>(validAt);
  if (hasTs && ((valid & HOLE_TSVAL) == 0 || seqDelta(ts, load<u32>(tsAt)) > 0)) { store<u32>(tsAt, ts); valid |= HOLE_TSVAL; }
  if (id != 0 && ((valid & HOLE_IPID) == 0 || ipidAhead(id, <u32>load<u16>(idAt)))) { store<u16>(idAt, <u16>id); valid |= HOLE_IPID; }
  store<u8>(validAt, valid);
}

@inline function ipidAhead(a: u32, b: u32): bool { const d = (a - b) & 0xFFFF; return d != 0 && d < IPID_AHEAD_MAX; }

/**
 * The retransmission shape of a segment that fills a hole: the peer asked for exactly this
 * sequence with duplicate ACKs (fast retransmit, RFC 5681 §3.2), or the sender's clock says it was
 * sent after the segments beyond the hole: a newer TSval (RFC 7323 §3: TSval never runs backwards)
 * or, without timestamps, a newer IPv4 identification.
 */
function looksRetransmitted(pk: usize, rec: usize, ep: usize, peer: usize, dataSeqRaw: u32): bool {
  const dup = extTailSideIfAny(rec, peer, X_DUPACKS, 1); // zero without an extension block's tail (live.ts)
  if (dup != 0 && load<u8>(dup) >= FAST_RETRANSMIT_DUPACKS && load<u32>(peer + EP_LAST_ACKVAL) == dataSeqRaw) return true;
  const valid = load<u8>(holeSide(rec, ep, X_HOLE_CLOCKS, 1));
  const ts = load<u32>(pk + P_TSVAL);
  if ((load<u8>(pk + P_OPTS) & OPT_TS) != 0 && ts != 0) {
    return (valid & HOLE_TSVAL) != 0 && seqDelta(ts, load<u32>(holeSide(rec, ep, X_HOLE_TSVAL))) > 0;
  }
  const id = <u32>load<u16>(pk + P_IPID);
  return id != 0 && (valid & HOLE_IPID) != 0 && ipidAhead(id, <u32>load<u16>(holeSide(rec, ep, X_HOLE_IPID, 2)));
}

/** The peer has sent data (or a FIN) that it has not seen acknowledged. */
@inline function peerUnacked(rec: usize, peer: usize): bool {
  return lastFull(rec, peer) > ackFull(rec, peer) + ((epHas(peer, EF_FIN_SEEN) ? 1 : 0) as u64);
}

/**
 * Evidence for the end-of-input rules (syn_unanswered, peer_vanished, handshake_incomplete, states)
 * that every segment `ep` sends leaves, `sinceStart` µs after the record's start: the peer's
 * retransmissions since it last heard from us restart, and the sender's latest time, whatever the order.
 * `tail` is the record's extTailOf() (0 without an extension block's tail, live.ts X_TAIL).
 */
@inline export function noteSenderSeenIn(tail: usize, rec: usize, ep: usize, peer: usize, sinceStart: i64): void {
  const quiet = extSideIn(tail, rec, peer, X_RTX_QUIET, 2);
  if (quiet != 0) store<u16>(quiet, 0);
  const seen: u32 = sinceStart < 0 ? 0 : sinceStart > 0xFFFFFFFF ? 0xFFFFFFFF : <u32>sinceStart;
  if (load<u32>(ep + EP_PKTS) == 0 || seen > load<u32>(ep + EP_SEEN)) store<u32>(ep + EP_SEEN, seen);
}

/**
 * Checks the segment at `pk` sent by `ep` (after Zeek's bookkeeping; roles as they are now).
 * relSeq/relAck: its sequence and ack in relative space; segLen: the sequence space it takes;
 * deltaLast: how far it moved the sender's highest sequence (Zeek update_last_seq).
 */
@inline export function checkWireAnomalies(pk: usize, rec: usize, ep: usize, peer: usize, relSeq: u64, relAck: u64, segLen: u32, deltaLast: i32, now: i64): void {
  const flags = <u32>load<u8>(pk + P_FLAGS);
  const len = load<u32>(pk + P_PAYLEN);
  const seq = load<u32>(pk + P_SEQ), ack = load<u32>(pk + P_ACK), win = <u32>load<u16>(pk + P_WIN);
  const syn = (flags & TH_SYN) != 0, fin = (flags & TH_FIN) != 0, rst = (flags & TH_RST) != 0, hasAck = (flags & TH_ACK) != 0;
  const control = flags & (TH_SYN | TH_FIN | TH_RST);
  const senderIsOrig = ep == rec + <usize>FR_ORIG;
  const sinceStart = now - load<i64>(rec + FR_TS_START);

  // The rules up to SimultaneousClose need a SYN, FIN or RST, or no classic flag at all: one test
  // passes the common segment by (the rules keep their order, which is the order anomalies are listed in).
  if (control != 0 || (flags & TH_CLASSIC) == 0) {
    if ((syn && (fin || rst)) || (flags & TH_CLASSIC) == 0 || (fin && (flags & (TH_PSH | TH_URG)) == (TH_PSH | TH_URG))) {
      // SYN+FIN, SYN+RST, no flags at all, or FIN+PSH+URG ("Xmas"): no conforming stack sends these.
      noteAnomaly(rec, Anomaly.InvalidFlags, senderIsOrig, now);
    }
    if (rst) {
      // A SYN answered by RST is a refusal; any other RST is a reset (the host adds whether data flowed).
      if (!senderIsOrig && WIRE_ANOMALIES.origSynSentBefore && WIRE_ANOMALIES.respInactiveBefore) noteAnomaly(rec, Anomaly.Refused, false, now);
      else noteAnomaly(rec, Anomaly.Reset, senderIsOrig, now);
    }
    if (syn && !hasAck && !senderIsOrig && !WIRE_ANOMALIES.senderWasActive && WIRE_ANOMALIES.origSynSentBefore) {
      noteAnomaly(rec, Anomaly.SimultaneousOpen, false, now); // both sides sent a SYN (RFC 9293 §3.5, figure 7)
    }
    if (fin && WIRE_ANOMALIES.peerFin && (!hasAck || relAck < relAt(rec, peer, EP_FIN_SEQ))) {
      noteAnomaly(rec, Anomaly.SimultaneousClose, senderIsOrig, now); // FIN sent before the peer's FIN was acknowledged
    }
  }
  if (len > 0 && !rst && WIRE_ANOMALIES.finBefore && relSeq + <u64>len > WIRE_ANOMALIES.finSeqBefore - 1) {
    noteAnomaly(rec, Anomaly.DataAfterFin, senderIsOrig, now);
  }
  if (win == 0 && control == 0) noteAnomaly(rec, Anomaly.ZeroWindow, senderIsOrig, now);
  let probe = false;
  if (control == 0 && WIRE_ANOMALIES.senderWasActive && len <= 1) {
    // One octet before snd.nxt with 0 or 1 byte: a keep-alive (RFC 9293 §3.8.4), or, while the peer
    // advertises a zero window, a zero-window probe (§3.8.6.1; Linux probes look like keep-alives).
    // One new octet sent into a zero window is a probe too.
    const keepaliveShape = seq + 1 == WIRE_ANOMALIES.lastBefore;
    const probeShape = len == 1 && seq == WIRE_ANOMALIES.lastBefore;
    if (keepaliveShape || probeShape) {
      probe = true;
      if (WIRE_ANOMALIES.peerWin == 0 && WIRE_ANOMALIES.peerWasActive) noteAnomaly(rec, Anomaly.ZeroWindowProbe, senderIsOrig, now);
      else if (keepaliveShape) noteAnomaly(rec, Anomaly.Keepalive, senderIsOrig, now);
      else probe = false;
    }
  }
  if (control != 0) {
    if (syn && WIRE_ANOMALIES.synBefore && seq == startSeq(ep) && len == 0) {
      noteAnomaly(rec, Anomaly.Retransmission, senderIsOrig, now); // the same SYN (same ISN) again
    } else if (fin && WIRE_ANOMALIES.finBefore && len == 0 && relSeq + <u64>segLen == WIRE_ANOMALIES.finSeqBefore) {
      noteAnomaly(rec, Anomaly.Retransmission, senderIsOrig, now); // the same FIN again
      epSet(ep, EF_FIN_RETX);
    }
  }
  // A SYN that set the sender's sequence base brings its data too (Zeek still records 'T' for it).
  if (len > 0 && !rst && !probe && deltaLast <= 0 && !WIRE_ANOMALIES.freshBase) {
    // Nothing new: retransmitted, or filling a hole that later data already skipped. Payload seen
    // whole above the reassembly point is reordering when it arrives within a few ms of the
    // sender's latest segment, unless it has the shape of a retransmission.
    const dataSeq = syn ? relSeq + 1 : relSeq;
    const dataSeqRaw = syn ? seq + 1 : seq;
    const fillsHole = load<u8>(pk + P_WHOLE) != 0 && dataSeq >= WIRE_ANOMALIES.reasmBefore;
    const quick = WIRE_ANOMALIES.prevSeen < 0 || sinceStart - WIRE_ANOMALIES.prevSeen < REORDER_WINDOW_US;
    if (fillsHole && quick && !looksRetransmitted(pk, rec, ep, peer, dataSeqRaw)) noteAnomaly(rec, Anomaly.OutOfOrder, senderIsOrig, now);
    else {
      noteAnomaly(rec, Anomaly.Retransmission, senderIsOrig, now);
      const p = extTailSide(rec, ep, X_RTX_QUIET, 2);
      const q = load<u16>(p);
      if (q != 0xFFFF) store<u16>(p, q + 1);
    }
  }
  if (hasAck && !rst) {
    // RFC 5681 §2 duplicate ACK: no data, no SYN or FIN, the greatest ack this side sent, the same
    // window as its previous segment, while the peer has data outstanding.
    const sent = (flags2Of(ep) & EF2_ACK_SENT) != 0;
    const greatest = load<u32>(ep + EP_LAST_ACKVAL);
    // The cheap tests first: a segment with data or a new ack never reads the peer's sequence state.
    if (control == 0 && len == 0 && sent && ack == greatest && win == WIRE_ANOMALIES.prevWin && peerUnacked(rec, peer) && WIRE_ANOMALIES.peerWasActive) {
      noteAnomaly(rec, Anomaly.DuplicateAck, senderIsOrig, now);
      const p = extTailSide(rec, ep, X_DUPACKS, 1);
      const n = load<u8>(p);
      if (n != 0xFF) store<u8>(p, n + 1);
    }
  }
  if (hasAck && !rst && WIRE_ANOMALIES.peerWasActive && relAck > toRelative(peer, lastSeq(peer), wrapsAt(rec, peer, EP_SEQ_WRAPS))) {
    noteAnomaly(rec, Anomaly.AckOfUnseenData, senderIsOrig, now); // acknowledges data we never saw the peer send
  }
  // The bookkeeping comes after the last rule: ack_of_unseen_data reads neither the greatest ack nor
  // its flag (and attaches no tail: without one the duplicate-ACK count reads as the zero this would store).
  noteSegmentSent(extTailOf(rec), rec, ep, peer, ack, syn, rst, hasAck, senderIsOrig, sinceStart);
}

/**
 * The bookkeeping that every segment leaves, whatever anomaly it shows: the last part of
 * checkWireAnomalies() above, and the one copy of it. The tracker's fast paths (steady.ts
 * steadySegment; tracker.ts synOpen, synAckAnswer, closeAck, finAck) call it for the segments they
 * take, with constant flags that fold its branches away; a rule of this bookkeeping changes here
 * for both paths. `ep` sent the segment (flags syn/rst/hasAck, acknowledgement `ack`) to `peer`,
 * `sinceStart` µs after the record's start; `tail` is the record's extTailOf() (0 without an
 * extension block's tail, live.ts X_TAIL), read after any anomaly of this segment attached one. In order:
 *   - an ack-bearing segment other than RST that moves the side's greatest ack (or is its first)
 *     makes it the greatest ack sent and ends the side's run of duplicate ACKs (RFC 5681 §2);
 *   - the sender's liveness (noteSenderSeenIn: the peer's quiet retransmissions, its latest time);
 *   - a SYN counts in the side's SYNs; anything else but an RST says it left SYN_SENT;
 *   - the responder sent something other than a SYN, or a SYN-ACK after the handshake's ACK.
 */
@inline export function noteSegmentSent(tail: usize, rec: usize, ep: usize, peer: usize, ack: u32, syn: bool, rst: bool, hasAck: bool, senderIsOrig: bool, sinceStart: i64): void {
  let f2 = flags2Of(ep);
  if (hasAck && !rst && ((f2 & EF2_ACK_SENT) == 0 || seqDelta(ack, load<u32>(ep + EP_LAST_ACKVAL)) > 0)) {
    store<u32>(ep + EP_LAST_ACKVAL, ack);
    const dup = extSideIn(tail, rec, ep, X_DUPACKS, 1); // zero without a tail (live.ts)
    if (dup != 0) store<u8>(dup, 0);
    f2 |= EF2_ACK_SENT;
  }
  noteSenderSeenIn(tail, rec, ep, peer, sinceStart);
  if (syn) bumpSyns(rec, ep); // (EP_SYNS, and the extension block past 254: not EP_FLAGS2)
  else if (!rst) f2 |= EF2_BEYOND_SYN;
  store<u8>(ep + EP_FLAGS2, f2);
  if (!senderIsOrig) {
    if (!syn) setFlag(rec, FF_RESP_NONSYN);
    else if (hasAck && durationAt(rec, FR_HS_RTT) >= 0) setFlag(rec, FF_SYNACK_AFTER_ACK);
  }
}
