// The flow tracker: takes one decoded TCP segment (the descriptor in packet.ts), finds or creates
// its connection record, and updates it the way Zeek's TCP analysis does, in Zeek's order
// (zeek-semantics.md §1): lookup and timers, reuse check, creation with the port-based flip,
// checksum drop, then TCPSessionAdapter::Process (sequence bookkeeping, history, window, state
// machine, acks, data delivery, close), then the ConnSize counters.
//
// No allocation per packet: records live in the table's pool; finished ones are copied to the
// output ring and their slot reused.

import {
  PKT_RING, PKT_SIZE, PKT_RING_SLOTS, usePktSlot, P_TS, P_SRC, P_DST, P_SPORT, P_DPORT, P_VLAN, P_FLAGS, P_CSUM, P_SEQ, P_ACK, P_WIN, P_OPTS, P_WSCALE, P_MSS,
  P_IPLEN, P_PAYLEN, P_PAYPTR, P_PAYCAP, P_TUNNEL, P_CLOCK, P_OUTER_SRC, P_OUTER_DST, P_OUTER_SPORT, P_OUTER_VLAN, P_OUTER_PROTO, TH_SYN, TH_ACK, TH_FIN, TH_RST, TH_PSH, OPT_MSS, OPT_WSCALE, Csum, isHeaderOnly,
} from "../packet";
import {
  FR_ORIG_PORT, FR_RESP_PORT, FR_VLAN, FR_FLAGS, FR_TS_START, FR_TS_LAST, FR_TS_ACTIVE,
  FR_HS_RTT, FF_ENDED, FF_TUNNEL_SHIFT, FR_ORIG, FR_RESP, FF_LIVE, FF_PARTIAL, FF_FPS_ORIG, FF_FPS_RESP,
  EP_STATE, EP_PREV_STATE, EP_FLAGS, EP_WSCALE, EP_OPTS, EP_MSS, EP_PKTS, EP_IP_BYTES, X_CNT_T, X_CNT_C, X_CNT_W,
  EP_FIN_SEQ, EP_FLAGS2, FF_VLAN_KEY, X_HIST_SYN, X_HIST_RST, EP_REASM, EP_TRIM, EP_WIN, EP_SEQ_WRAPS, EP_ACK_WRAPS,
  EF_DID_CLOSE, EF_FIN_AFTER_PEER, EF_FIN_RETX, EF_FIN_SEEN, EF_RST_SEEN, EF_SYN_SEEN, Half, EndReason,
  HIST_SYN_PKT, HIST_FIN_PKT, HIST_RST_PKT, HIST_FIN_RST_PKT, HIST_DATA_PKT, HIST_ACK_PKT, HIST_MULTI_FLAG_PKT,
  X_OUTER_SRC, X_OUTER_DST, X_OUTER_SPORT, X_OUTER_VLAN, X_OUTER_PROTO, X_IP_BYTES_HI,
  FR_HIST_SEEN, EP_LAST_ACKVAL, EF2_ACK_SENT, EF_DID_EOF,
} from "./live";
import { timeAt, setTimeAt, setTimeSince, setDurationAt, addWide, setDeadlineFloor, deadlineFloor, deadlineFloorAt, relAt, setRelAt, wrapsAt, setSynTime } from "./narrow";
import * as O from "./record";
import { tableInit, tableClear, keyHashFamily, lookup, foundId, foundRec, foundIsOrig, isNoRecord, insert, remove, recPtr, extPtr, tableHighWater, tableLive, tableCanGrow, touchIndex, recordHinted, touchRecordLines, touchKeyBlock, NO_RECORD_BLOCK, freeListHead, touchFreeRecord, touchSweepSlot, setKeyAddrs, addrMatches, extOf, extTailOf } from "./table";
import { Anomaly, noteAnomaly, noteMidstream, setCurrentFlow, extSide, extTailSide, extTailSideIfAny, currentExt } from "./anomaly";
import { scanHttp } from "./http";
import { scanService, serviceOf } from "./service";
import {
  TOO_LARGE_SEQ_DELTA, seqDelta, startSeq, lastSeq, ackSeq, initStartSeq, initLastSeq, initAckSeq, updateLastSeq,
  updateAckSeq, relativeSeq, toRelative,
} from "./seq";
import {
  addHistory, checkHistory, scaledHistoryAt, historyIsLoneH, rewriteHistoryCaretH, caseFor, flipRoles, histLastFin, setHistLastFinAtFin,
  keepHistLastFin, historyInit,
} from "./history";
import { ackReceived } from "./reassembly";
import { noteBefore, noteSequenceBefore, checkWireAnomalies, startsUnseen, noteSegmentSent, deliverPayload } from "./wire-anomalies";
import {
  setCurrent, flipCurrent, updateStateMachine, updateInactive, connectionClosed, checkEOF, setState,
  stateOf, flagsOf, setFlag, clearFlag, epHas, epSet,
} from "./state";
import { removalTime } from "./timers";
import { finalizeRecord } from "./conn-state";
import { outPush, outNearlyFull } from "./output";
import { traceSegment } from "./trace";
import { statInc, statAdd, Stat } from "../stats";
import { isLikelyServerPort } from "../options";
import { steadySegment, noteHandshakeAck } from "./steady";
import { copy16, copyBlock } from "../mem";
import { OPTIONS, PACKET, SEQ, TABLE, TRACKER, FLOW_STATE, TRACE, TIMERS } from "../state";

/** The descriptor being processed: a slot of the batch (see enqueue/flushBatch). */
TRACKER.pk = PKT_RING;

/** Capture clock: the latest packet time seen (Zeek's network time never runs backwards). */
TRACKER.clock = i64.MIN_VALUE;
/** Incremental sweep position over the record pool, and the finish() position. */
TRACKER.sweepCursor = 0;
TRACKER.flushCursor = 0;
TRACKER.liveCursor = 0;

/** The latest packet time seen (µs), or 0 before any packet. */
export function captureClock(): i64 { return TRACKER.clock == i64.MIN_VALUE ? 0 : TRACKER.clock; }

/**
 * The latest capture record time delivered so far (capture/frame.ts). Every record moves the
 * clock, as every packet moves Zeek's network time, not only TCP segments: the clock is then a
 * function of the record sequence alone, which a reading thread can hand to each shard
 * (shard/frames.ts). Segments are tracked in batches after their records were decoded, so each
 * carries the clock as of its own record (P_CLOCK) and the clock catches up with the records
 * delivered after it when the batch is done.
 */
TRACKER.recordClock = i64.MIN_VALUE;

/** A capture record at time t was delivered. */
export function noteRecordTime(t: i64): void { if (t > TRACKER.recordClock) TRACKER.recordClock = t; }
/** The clock as of the last record delivered (what P_CLOCK of a segment decoded now gets). */
export function recordClockNow(): i64 { return TRACKER.recordClock == i64.MIN_VALUE ? 0 : TRACKER.recordClock; }

/**
 * Moves the capture clock forward to `t` (never back; queued segments must be tracked first) and
 * sweeps `sweepSlots` pool slots: a shard's engine is told the reading thread's clock after each
 * batch (src/shards/), so its idle connections expire while its share of the packets pauses.
 */
export function advanceClock(t: i64, sweepSlots: i32): void {
  noteRecordTime(t);
  if (t > TRACKER.clock) TRACKER.clock = t;
  if (sweepSlots > 0) sweep(sweepSlots);
}

export function trackerInit(): void {
  tableInit(OPTIONS.hashKey0, OPTIONS.hashKey1);
  historyInit();
  TRACKER.queued = 0;
  usePktSlot(0);
  TRACKER.pk = PKT_RING;
  TRACKER.clock = i64.MIN_VALUE;
  TRACKER.sweepCursor = 0;
  TRACKER.flushCursor = 0;
  TRACKER.liveCursor = 0;
  TRACKER.recordClock = i64.MIN_VALUE;
}

// ---- emission ------------------------------------------------------------------------------------

/** Recomputes and caches (a lower bound of) when the record would be removed (FR_DEADLINE, live.ts). */
@inline function refreshDeadline(rec: usize): void { setDeadlineFloor(rec, removalTime(rec)); }

/**
 * Whether the record's removal time is at or before t; then TIMERS.removalReason says why. The exact
 * time (removalTime, a pure function of the record) is computed only when the cached bound is reached.
 */
@inline function removedBy(rec: usize, t: i64): bool { return deadlineFloor(rec) <= t && removalTime(rec) <= t; }

/**
 * removedBy() for the sweep and the per-packet check: a cached bound that was reached too early (the
 * fast path leaves it behind, see trackOne) is raised to the exact time, so it is computed once.
 */
@inline function removedByRefreshing(rec: usize, t: i64): bool {
  if (deadlineFloor(rec) > t) return false;
  const at = removalTime(rec);
  if (at <= t) return true;
  setDeadlineFloor(rec, at);
  return false;
}

/**
 * Writes the finished output record of live record `id` ending for `reason` into the ring (the live
 * record itself is only read) and returns where: emit() then removes it, emitLiveAll() leaves it live.
 */
function writeFinished(id: u32, reason: EndReason): usize {
  const r = recPtr(id);
  const ext = extPtr(id);
  const service = serviceOf(r, ext);
  // The output record (record.ts layout), then what only a finished record has.
  const out = outPush(r, ext);
  store<u8>(out + O.FR_END_REASON, <u8>reason);
  // A timer ends the record at its time (the cached deadline, which FR_TS_END overlays); reuse,
  // eviction and the end of the input end it now.
  const timer = reason == EndReason.Closed || reason == EndReason.AttemptTimeout || reason == EndReason.Inactivity ||
    reason == EndReason.Linger;
  if (!timer) store<i64>(out + O.FR_TS_END, TRACKER.clock);
  store<u32>(out + O.FR_FLAGS, load<u32>(out + O.FR_FLAGS) | FF_ENDED);
  finalizeRecord(out, r);
  store<u8>(out + O.FR_SERVICE, <u8>service);
  return out;
}

/**
 * How the end of the input ends live record `r`: by its timer when that has passed (as the sweep
 * would have ended it: the sweep's progress, one slot per packet, must not decide the end reason),
 * else as end of input.
 */
function endOfInputReason(r: usize): EndReason {
  if (!removedBy(r, TRACKER.clock)) return EndReason.EndOfInput;
  return TIMERS.removalReason;
}

function emit(id: u32, reason: EndReason): void {
  // The output record carries the key hash (output.ts): the index entry is found without hashing again.
  const out = writeFinished(id, reason);
  remove(id, load<u32>(out + O.FR_HASH));
  statInc(Stat.FlowsEmitted);
}

/** Looks at the next pool slot (of `hw`, not 0) and emits its record if its removal time has passed. */
@inline function sweepNext(hw: u32, clock: i64): void {
  let id = TRACKER.sweepCursor;
  if (id >= hw) id = 0;
  TRACKER.sweepCursor = id + 1;
  const r = recPtr(id);
  if ((load<u32>(r + FR_FLAGS) & FF_LIVE) != 0 && removedByRefreshing(r, clock)) emit(id, TIMERS.removalReason);
}

/** Looks at the next `n` pool slots and emits the records whose removal time has passed. */
function sweep(n: i32): void {
  const hw = tableHighWater();
  if (hw == 0) return;
  for (let k = 0; k < n; k++) sweepNext(hw, TRACKER.clock);
}

/** Makes room under the flow cap: evicts the least recently active of the next few live records. */
function evictOne(): void {
  const hw = tableHighWater();
  let victim: u32 = 0xFFFFFFFF;
  let oldest: i64 = i64.MAX_VALUE;
  let seen = 0;
  for (let k: u32 = 0; k < hw && seen < 8; k++) {
    if (TRACKER.sweepCursor >= hw) TRACKER.sweepCursor = 0;
    const id = TRACKER.sweepCursor++;
    const r = recPtr(id);
    if ((load<u32>(r + FR_FLAGS) & FF_LIVE) == 0) continue;
    seen++;
    const a = timeAt(r, FR_TS_ACTIVE);
    if (a < oldest) { oldest = a; victim = id; }
  }
  if (victim != 0xFFFFFFFF) {
    emit(victim, EndReason.Evicted);
    statInc(Stat.FlowsEvicted);
  }
}

/**
 * Emits every live record (end of input). Returns true when all are out, false when the ring must
 * drain first. A record is not removed from the table as emit() removes it: each is only marked
 * not live (so emitLiveAll() and the sweep skip it until the flush ends), and once all are out the
 * table is emptied at once (table.ts tableClear), its index zeroed instead of unindexing each.
 */
export function flushAll(): bool {
  const hw = tableHighWater();
  while (TRACKER.flushCursor < hw) {
    if (outNearlyFull()) return false;
    const id = TRACKER.flushCursor++;
    const r = recPtr(id);
    if ((load<u32>(r + FR_FLAGS) & FF_LIVE) == 0) continue;
    writeFinished(id, endOfInputReason(r));
    store<u32>(r + FR_FLAGS, load<u32>(r + FR_FLAGS) & ~FF_LIVE);
    statInc(Stat.FlowsEmitted);
  }
  TRACKER.flushCursor = 0;
  tableClear();
  return true;
}

/**
 * Copies every live record into the output ring as flushAll() would report it at the end of the
 * input (endOfInputReason, conn_state and service derived), without ending it: the
 * copy in the ring is finalized, the record itself and the table stay as they were. Returns false
 * when the ring must be drained first (call again), true once every live record was copied.
 */
export function emitLiveAll(): bool {
  const hw = tableHighWater();
  while (TRACKER.liveCursor < hw) {
    if (outNearlyFull()) return false;
    const id = TRACKER.liveCursor++;
    const r = recPtr(id);
    if ((load<u32>(r + FR_FLAGS) & FF_LIVE) == 0) continue;
    writeFinished(id, endOfInputReason(r));
  }
  TRACKER.liveCursor = 0;
  return true;
}

// ---- creation and reuse ----------------------------------------------------------------------------

/** Zeek TCPSessionAdapter::IsReuse: does this SYN (or SYN-ACK) start a new connection on the tuple? */
function isReuse(rec: usize, flags: u32, seq: u32, fromOrig: bool): bool {
  if ((flags & TH_SYN) == 0) return false;
  const orig = rec + <usize>FR_ORIG, resp = rec + <usize>FR_RESP;
  // Deviation from Zeek: a pure SYN from the responder while the originator's SYN is unanswered is
  // a simultaneous open (RFC 9293 §3.5 figure 7), and its retransmission (same ISN) too. Zeek's
  // IsReuse compares it with the originator's ISN and splits the connection into new records.
  if ((flags & TH_ACK) == 0 && !fromOrig && !epHas(orig, EF_DID_CLOSE) && !epHas(resp, EF_DID_CLOSE)) {
    if (stateOf(orig) == <u8>Half.SynSent && stateOf(resp) == <u8>Half.Inactive) return false;
    if (epHas(resp, EF_SYN_SEEN) && seq == startSeq(resp)) return false;
  }
  let connOrig = orig;
  if ((flags & TH_ACK) != 0) {
    if (stateOf(orig) != <u8>Half.Inactive) return false; // not a half connection
    connOrig = resp;
  }
  const closed = epHas(orig, EF_DID_CLOSE) || epHas(resp, EF_DID_CLOSE);
  if (!closed) {
    if (seq == startSeq(connOrig)) return false;          // a retransmitted SYN
    // SYN and SYN-ACK seen in reverse order: not a reuse, the state machine flips instead.
    if ((flags & TH_ACK) == 0 && stateOf(connOrig) == <u8>Half.SynAckSent && stateOf(resp) == <u8>Half.Inactive &&
        seq == startSeq(resp)) return false;
  }
  return true;
}

/** Creates the record for this packet; Zeek's WantConnection decides who is the originator. */
function createFlow(h: u32, flags: u32, sport: u32, dport: u32, now: i64): u32 {
  // Over the cap, or out of memory for another chunk of records: make room first.
  if (tableLive() >= OPTIONS.flowCap || !tableCanGrow()) evictOne();
  const id = insert(h);
  const r = recPtr(id);
  setCurrentFlow(id, now);
  setKeyAddrs(r, TRACKER.pk + P_SRC, TRACKER.pk + P_DST);
  store<u16>(r + FR_ORIG_PORT, <u16>sport);
  store<u16>(r + FR_RESP_PORT, <u16>dport);
  // The first packet's VLAN ids are logged (Zeek's vlan-logging takes them from the packet that
  // created the connection); they are part of the key only with vlan_fivetuple.
  store<u32>(r + FR_VLAN, load<u32>(TRACKER.pk + P_VLAN));
  if (OPTIONS.vlanInKey) setFlag(r, FF_VLAN_KEY);
  store<i64>(r + FR_TS_START, now);
  setTimeAt(r, FR_TS_LAST, now);   // Zeek's Connection starts with last_time = start_time
  setTimeAt(r, FR_TS_ACTIVE, now);
  setDurationAt(r, FR_HS_RTT, -1);
  const tunnel = load<u8>(TRACKER.pk + P_TUNNEL);
  setFlag(r, <u32>tunnel << FF_TUNNEL_SHIFT); // packet.ts Tunnel: 3 bits (live.ts FF_TUNNEL)
  if (tunnel != 0) {
    // The encapsulating connection, for tunnel_parents (Zeek logs the first one in new_connection).
    const x = currentExt();
    copy16(x + X_OUTER_SRC, TRACKER.pk + P_OUTER_SRC);
    copy16(x + X_OUTER_DST, TRACKER.pk + P_OUTER_DST);
    store<u32>(x + X_OUTER_SPORT, load<u32>(TRACKER.pk + P_OUTER_SPORT)); // both ports
    store<u32>(x + X_OUTER_VLAN, load<u32>(TRACKER.pk + P_OUTER_VLAN));
    store<u8>(x + X_OUTER_PROTO, load<u8>(TRACKER.pk + P_OUTER_PROTO));
  }
  const o = r + <usize>FR_ORIG, s = r + <usize>FR_RESP;
  store<u8>(o + EP_WSCALE, 0xFF);
  store<u8>(s + EP_WSCALE, 0xFF);
  // The reassemblers start at relative sequence 1 (Zeek Reassembler(1, ...)).
  setRelAt(r, o, EP_REASM, 1); setRelAt(r, o, EP_TRIM, 1);
  setRelAt(r, s, EP_REASM, 1); setRelAt(r, s, EP_TRIM, 1);
  statInc(Stat.FlowsCreated);
  // A first packet that is not a pure SYN makes a partial connection; guess the server by port
  // (TCPAnalyzer::WantConnection): flip when the source is a likely server port and the
  // destination is not, or when both are, the packet has no SYN and the source port is lower.
  if ((flags & TH_SYN) == 0 || (flags & TH_ACK) != 0) {
    if (isLikelyServerPort(sport)) {
      const flip = isLikelyServerPort(dport) ? ((flags & TH_SYN) == 0 && sport < dport) : true;
      if (flip) flipRoles(r);
    }
  }
  // No handshake seen: the capture starts in the middle of this connection.
  if ((flags & TH_SYN) == 0) noteMidstream(r, now);
  return id;
}

// ---- per-packet processing (TCPSessionAdapter::Process) ------------------------------------------------

/** Zeek update_history, plus the late flip of a lone SYN-ACK (zeek-semantics.md §3.4). */
@inline function updateHistory(flags: u32, relSeq: u64, len: u32): void {
  const syn = (flags & TH_SYN) != 0, fin = (flags & TH_FIN) != 0, rst = (flags & TH_RST) != 0;
  const bits = (syn ? 1 : 0) + (fin ? 1 : 0) + (rst ? 1 : 0);
  if (bits > 1) {
    if (fin && rst) checkHistory(FLOW_STATE.curRec, FLOW_STATE.curEp, HIST_FIN_RST_PKT, 0x49);  // 'I'
    else checkHistory(FLOW_STATE.curRec, FLOW_STATE.curEp, HIST_MULTI_FLAG_PKT, 0x51);          // 'Q'
    return;
  }
  if (bits == 1) {
    if (syn) {
      const code: u32 = (flags & TH_ACK) != 0 ? 0x48 : 0x53;              // 'H' / 'S'
      // The last SYN's relative sequence is in the extension block, zero without one (live.ts).
      const at = extTailSideIfAny(FLOW_STATE.curRec, FLOW_STATE.curEp, X_HIST_SYN);
      const last = at != 0 ? load<u32>(at) : 0;
      if (checkHistory(FLOW_STATE.curRec, FLOW_STATE.curEp, HIST_SYN_PKT, code) && <u32>relSeq != last) {
        addHistory(FLOW_STATE.curRec, caseFor(FLOW_STATE.curRec, FLOW_STATE.curEp, code));
      }
      if (<u32>relSeq != last) store<u32>(extTailSide(FLOW_STATE.curRec, FLOW_STATE.curEp, X_HIST_SYN), <u32>relSeq);
    }
    if (fin) {
      // A FIN's sequence is taken after its payload.
      const end = <u32>(relSeq + <u64>len);
      if (checkHistory(FLOW_STATE.curRec, FLOW_STATE.curEp, HIST_FIN_PKT, 0x46) && end != histLastFin(FLOW_STATE.curRec, FLOW_STATE.curEp)) {
        addHistory(FLOW_STATE.curRec, caseFor(FLOW_STATE.curRec, FLOW_STATE.curEp, 0x46));
      }
      setHistLastFinAtFin(FLOW_STATE.curEp); // hist_last_FIN = end: process() sets EP_FIN_SEQ to end + 1
    }
    if (rst) {
      const last = extSide(FLOW_STATE.curRec, FLOW_STATE.curEp, X_HIST_RST);
      if (checkHistory(FLOW_STATE.curRec, FLOW_STATE.curEp, HIST_RST_PKT, 0x52) && <u32>relSeq != load<u32>(last)) {
        addHistory(FLOW_STATE.curRec, caseFor(FLOW_STATE.curRec, FLOW_STATE.curEp, 0x52));
      }
      store<u32>(last, <u32>relSeq);
    }
    return;
  }
  if (len == 0 && (flags & TH_ACK) == 0) return;
  // A SYN-ACK that created the record and was not flipped, followed by real traffic from either
  // side: the roles flip and the history is rewritten to "^h" (TCP_Endpoint::CheckHistory).
  if (historyIsLoneH(FLOW_STATE.curRec)) {
    flipCurrent();
    rewriteHistoryCaretH(FLOW_STATE.curRec);
  }
  if (len != 0) checkHistory(FLOW_STATE.curRec, FLOW_STATE.curEp, HIST_DATA_PKT, 0x44);         // 'D'
  else checkHistory(FLOW_STATE.curRec, FLOW_STATE.curEp, HIST_ACK_PKT, 0x41);                   // 'A'
}

/**
 * Zeek init_endpoint: sets the sequence base the first time a side is seen, or on a new SYN.
 * Returns true when it set the base from this segment (all of the segment is then new data).
 */
function initEndpoint(ep: usize, flags: u32, seq: u32, seqEnd: u32): bool {
  const syn = (flags & TH_SYN) != 0;
  switch (<i32>stateOf(ep)) {
    case Half.Inactive: {
      let last = seqEnd;
      if (syn) { initAckSeq(ep, seq); initStartSeq(ep, seq); }
      else {
        // Partial connection: number as if a SYN had occupied seq - 1.
        initAckSeq(ep, seq - 1); initStartSeq(ep, seq - 1);
        last = seq; // so the first packet is not taken for a retransmission
      }
      initLastSeq(ep, last);
      return true;
    }
    case Half.SynSent:
    case Half.SynAckSent:
      if (syn && seq != startSeq(ep)) { initStartSeq(ep, seq); initAckSeq(ep, seq); initLastSeq(ep, seqEnd); return true; }
      break;
    case Half.Established:
    case Half.Partial:
      if (syn) { initStartSeq(ep, seq); initAckSeq(ep, seq); initLastSeq(ep, seqEnd); return true; }
      break;
    case Half.Reset:
      // Sequence numbers set by a (possibly injected) RST are replaced by a later SYN's.
      if (syn && load<u8>(ep + EP_PREV_STATE) == <u8>Half.Inactive) { initStartSeq(ep, seq); initAckSeq(ep, seq); initLastSeq(ep, seqEnd); return true; }
      break;
    default: break;
  }
  return false;
}

/** Zeek update_last_seq: advances last_seq, or counts a retransmission (T/t). Returns the delta. */
function updateLast(ep: usize, seqEnd: u32, flags: u32, len: u32): i32 {
  const delta = seqDelta(seqEnd, lastSeq(ep));
  if ((flags & (TH_SYN | TH_RST)) != 0 && (delta > TOO_LARGE_SEQ_DELTA || delta < -TOO_LARGE_SEQ_DELTA)) {
    // Large SYN/RST jumps are not trusted (protects against injected RSTs).
  } else if ((flags & TH_FIN) != 0 && lastSeq(ep) == startSeq(ep) + 1) {
    updateLastSeq(FLOW_STATE.curRec, ep, seqEnd);          // only SYN and FIN seen: trust the FIN (flows over 2 GiB)
  } else if (stateOf(ep) == <u8>Half.Reset) {
    // after a RST no sequence number is trusted
  } else if (delta > 0) {
    updateLastSeq(FLOW_STATE.curRec, ep, seqEnd);
  } else if (len > 0) {
    scaledHistoryAt(FLOW_STATE.curRec, ep, extTailSide(FLOW_STATE.curRec, ep, X_CNT_T), 0x54); // 'T': nothing new in this segment
  }
  return delta;
}

/** Records the TCP options a side announced (MSS and window scale only count from its SYN). */
function noteOptions(ep: usize, flags: u32): void {
  const opts = load<u8>(TRACKER.pk + P_OPTS);
  store<u8>(ep + EP_OPTS, load<u8>(ep + EP_OPTS) | opts);
  if ((flags & TH_SYN) != 0) {
    epSet(ep, EF_SYN_SEEN);
    if ((opts & OPT_MSS) != 0) store<u16>(ep + EP_MSS, load<u16>(TRACKER.pk + P_MSS));
    if ((opts & OPT_WSCALE) != 0) store<u8>(ep + EP_WSCALE, min<u8>(load<u8>(TRACKER.pk + P_WSCALE), 14)); // RFC 7323 §2.3 caps at 14
  }
}

/**
 * Handshake RTT as Wireshark's tcp.analysis.initial_rtt: from the originator SYN that was answered
 * to the originator's first ACK of the responder's SYN-ACK.
 */
function noteHandshake(rec: usize, flags: u32, isOrigNow: bool, ack: u32, now: i64): void {
  if (isOrigNow) {
    if ((flags & (TH_SYN | TH_ACK)) == TH_SYN) {
      if (!epHas(rec + <usize>FR_RESP, EF_SYN_SEEN)) setSynTime(rec, now);
    } else if ((flags & (TH_SYN | TH_ACK | TH_RST)) == TH_ACK) {
      noteHandshakeAck(rec, ack, now);
    }
  }
}

function process(rec: usize, isOrig: bool, now: i64): void {
  const flags = <u32>load<u8>(TRACKER.pk + P_FLAGS);
  const len = load<u32>(TRACKER.pk + P_PAYLEN);
  const seq = load<u32>(TRACKER.pk + P_SEQ);
  const ack = load<u32>(TRACKER.pk + P_ACK);
  const syn = (flags & TH_SYN) != 0, fin = (flags & TH_FIN) != 0, rst = (flags & TH_RST) != 0, hasAck = (flags & TH_ACK) != 0;
  setCurrent(rec, rec + <usize>(isOrig ? FR_ORIG : FR_RESP), rec + <usize>(isOrig ? FR_RESP : FR_ORIG));

  // SetPartialStatus: a side's first packet decides whether the connection is partial.
  const f = flagsOf(rec);
  if (isOrig) {
    if ((f & FF_FPS_ORIG) == 0) { if (!syn || hasAck) setFlag(rec, FF_PARTIAL); else clearFlag(rec, FF_PARTIAL); }
  } else if ((f & FF_FPS_RESP) == 0 && (f & FF_PARTIAL) == 0) {
    if (!syn) setFlag(rec, FF_PARTIAL);
  }

  // What the anomaly rules compare against: this side's and the peer's state before the segment.
  noteBefore(rec, FLOW_STATE.curEp, FLOW_STATE.curPeer);

  // Sequence space: SYN and FIN take one octet each; RST payload is not part of the stream.
  let segLen = len + (syn ? 1 : 0) + (fin ? 1 : 0);
  if (rst) segLen -= len;
  const seqEnd = seq + segLen;
  noteSequenceBefore(rec, FLOW_STATE.curEp, initEndpoint(FLOW_STATE.curEp, flags, seq, seqEnd));
  const relSeq = relativeSeq(FLOW_STATE.curEp, seq, lastSeq(FLOW_STATE.curEp), wrapsAt(rec, FLOW_STATE.curEp, EP_SEQ_WRAPS));
  const underflow = SEQ.seqUnderflow;

  updateHistory(flags, relSeq, len); // may flip roles: cur* pointers follow

  // Zero window (W/w): not on RSTs, not from a reset side, not after the peer's FIN.
  const win = <u32>load<u16>(TRACKER.pk + P_WIN);
  store<u16>(FLOW_STATE.curEp + EP_WIN, <u16>win);
  if (win == 0 && !rst && stateOf(FLOW_STATE.curPeer) != <u8>Half.Closed && stateOf(FLOW_STATE.curEp) != <u8>Half.Reset) {
    scaledHistoryAt(rec, FLOW_STATE.curEp, extTailSide(rec, FLOW_STATE.curEp, X_CNT_W), 0x57);
  }

  const o = rec + <usize>FR_ORIG, r = rec + <usize>FR_RESP;
  if (!epHas(o, EF_DID_CLOSE) || !epHas(r, EF_DID_CLOSE)) setTimeAt(rec, FR_TS_LAST, now);

  noteOptions(FLOW_STATE.curEp, flags);
  if (fin) {
    // A passive close: this side's first FIN already acknowledges the peer's FIN (RFC 9293 figure 12).
    // FINs that cross (simultaneous close, figure 13) do not.
    if (!epHas(FLOW_STATE.curEp, EF_FIN_SEEN) && epHas(FLOW_STATE.curPeer, EF_FIN_SEEN) && hasAck &&
        seqDelta(ack, startSeq(FLOW_STATE.curPeer) + <u32>relAt(rec, FLOW_STATE.curPeer, EP_FIN_SEQ)) >= 0) epSet(FLOW_STATE.curEp, EF_FIN_AFTER_PEER);
    epSet(FLOW_STATE.curEp, EF_FIN_SEEN);
    if (syn || rst) keepHistLastFin(rec, FLOW_STATE.curEp); // this FIN leaves hist_last_FIN as it was (history.ts)
    setRelAt(rec, FLOW_STATE.curEp, EP_FIN_SEQ, relSeq + <u64>segLen);
  }
  if (rst) epSet(FLOW_STATE.curEp, EF_RST_SEEN);

  let relAck: u64 = 0;
  if (hasAck) {
    if (stateOf(FLOW_STATE.curPeer) == <u8>Half.Inactive) {
      // init_peer: the peer's numbering starts as if its SYN had taken ack - 1.
      relAck = 1;
      initStartSeq(FLOW_STATE.curPeer, ack - 1); initAckSeq(FLOW_STATE.curPeer, ack - 1); initLastSeq(FLOW_STATE.curPeer, ack - 1);
    } else {
      relAck = relativeSeq(FLOW_STATE.curPeer, ack, ackSeq(FLOW_STATE.curPeer), wrapsAt(rec, FLOW_STATE.curPeer, EP_ACK_WRAPS));
      if (SEQ.seqUnderflow) relAck = 0;
      else if (!rst) {
        // Acks in RSTs are not trusted; an ack of exactly 0 far ahead is more likely broken than a wrap.
        const d = seqDelta(ack, ackSeq(FLOW_STATE.curPeer));
        if (!(ack == 0 && d > TOO_LARGE_SEQ_DELTA) && d > 0) updateAckSeq(rec, FLOW_STATE.curPeer, ack);
      }
    }
  }

  const deltaLast = updateLast(FLOW_STATE.curEp, seqEnd, flags, len);
  updateStateMachine(now, seq, len, isOrig, flags); // may flip roles: cur* pointers follow
  const ep = FLOW_STATE.curEp, peer = FLOW_STATE.curPeer;

  checkWireAnomalies(TRACKER.pk, rec, ep, peer, relSeq, relAck, segLen, deltaLast, now);
  // HTTP request and status lines at the start of payload seen for the first time (new data, or
  // a hole filled), so each is counted once whenever it arrives.
  const dataSeq = syn ? relSeq + 1 : relSeq;
  if (len > 0 && !rst && !underflow && startsUnseen(rec, ep, dataSeq, syn ? seq + 1 : seq)) {
    const pp = <usize>load<u32>(TRACKER.pk + P_PAYPTR), pc = load<u32>(TRACKER.pk + P_PAYCAP);
    if (pp != 0 && pc != 0) scanHttp(pp, pc);
  }
  // Protocol detection reads the segment that starts this side's stream (relative sequence 1).
  if (len > 0 && !rst && !underflow && dataSeq == 1) {
    scanService(ep, ep == rec + <usize>FR_ORIG ? 0 : 1, <usize>load<u32>(TRACKER.pk + P_PAYPTR), load<u32>(TRACKER.pk + P_PAYCAP), len);
  }

  if (hasAck) {
    ackReceived(rec, peer, ep, relAck);
    checkEOF(rec, peer);
  }
  // Payload goes to the reassembler only when seen whole (Zeek skips snaplen-truncated payload).
  if (len > 0 && !rst && !underflow) deliverPayload(TRACKER.pk, rec, ep, dataSeq, len);
  checkEOF(rec, ep);
  if (FLOW_STATE.doClose) connectionClosed(rec, ep, peer, FLOW_STATE.genEvent);

  // CheckPIA_FirstPacket marks the side as seen, by the orientation the packet arrived with.
  setFlag(rec, isOrig ? FF_FPS_ORIG : FF_FPS_RESP);

  // ConnSize: packets and IP bytes, in the final orientation of this packet's sender.
  store<u32>(ep + EP_PKTS, load<u32>(ep + EP_PKTS) + 1);
  addWide(rec, ep, EP_IP_BYTES, X_IP_BYTES_HI, <u64>load<u32>(TRACKER.pk + P_IPLEN));
  noteHandshake(rec, flags, ep == o, ack, now);
}

/**
 * The fast path of the handshake (steady.ts's counterpart for its second segment): the responder's
 * first segment, a SYN-ACK without payload that acknowledges exactly what the originator sent while
 * the originator is SYN_SENT. process() would set the responder's sequence base from it (all of it
 * new, relative sequence 0), record its 'h', take its options, move the originator's ack_seq to the
 * ack and make both sides ESTABLISHED (UpdateInactiveState); no anomaly rule fires for it. This makes
 * those writes, in process()'s order, and returns true; it returns false, having written nothing,
 * for any other segment.
 */
@inline function synAckAnswer(rec: usize, isOrig: bool, now: i64): bool {
  const pk = TRACKER.pk;
  if (isOrig || load<u8>(pk + P_FLAGS) != <u8>(TH_SYN | TH_ACK) || load<u32>(pk + P_PAYLEN) != 0) return false;
  const o = rec + <usize>FR_ORIG, r = rec + <usize>FR_RESP;
  if (stateOf(o) != <u8>Half.SynSent || stateOf(r) != <u8>Half.Inactive) return false;
  // The responder's first packet and SYN (no partial status to set, no SYN retransmission, no wraps),
  // its 'h' not yet recorded and no earlier SYN sequence to compare with (updateHistory), a window
  // (no W), an originator that neither closed nor reset.
  if ((flagsOf(rec) & FF_FPS_RESP) != 0 || load<u8>(r + EP_FLAGS) != 0 || (load<u8>(o + EP_FLAGS) & ~EF_SYN_SEEN) != 0) return false;
  if (load<u16>(r + EP_SEQ_WRAPS) != 0 || (load<u32>(rec + FR_HIST_SEEN) & (HIST_SYN_PKT << 16)) != 0) return false;
  const lastSyn = extTailSideIfAny(rec, r, X_HIST_SYN);
  if ((lastSyn != 0 && load<u32>(lastSyn) != 0) || load<u16>(TRACKER.pk + P_WIN) == 0) return false;
  // The ack is the originator's last_seq, ahead of its ack_seq in the first lap and not before its
  // start: relativeSeq() gives last - start without underflow, so no ack_of_unseen_data, and it moves ack_seq.
  const ack = load<u32>(pk + P_ACK);
  const oStart = startSeq(o);
  if (ack != lastSeq(o) || ack <= ackSeq(o) || seqDelta(ack, ackSeq(o)) <= 0 || ack < oStart || seqDelta(ack, oStart) < 0 ||
      load<u16>(o + EP_SEQ_WRAPS) != 0) return false;
  const relAck = <u64>(ack - oStart);

  // ---- qualifies: the writes of process(), in its order ----
  setCurrent(rec, r, o);
  const seq = load<u32>(pk + P_SEQ);
  initAckSeq(r, seq); initStartSeq(r, seq); initLastSeq(r, seq + 1); // init_endpoint: the SYN takes one octet
  checkHistory(rec, r, HIST_SYN_PKT, 0x48); // 'h'
  store<u16>(r + EP_WIN, load<u16>(pk + P_WIN));
  setTimeAt(rec, FR_TS_LAST, now);
  noteOptions(r, TH_SYN | TH_ACK);
  updateAckSeq(rec, o, ack);
  SEQ.seqUnderflow = false;
  updateInactive(now, seq, 0, false, TH_SYN | TH_ACK); // the responder is INACTIVE (updateStateMachine)
  // checkWireAnomalies' bookkeeping (no anomaly fires): the greatest ack this side sent (its first),
  // liveness, the SYN count, a SYN-ACK after the handshake's ACK.
  noteSegmentSent(extTailOf(rec), rec, r, o, ack, true, false, true, false, now - load<i64>(rec + FR_TS_START));
  ackReceived(rec, o, r, relAck);
  checkEOF(rec, o);
  checkEOF(rec, r);
  setFlag(rec, FF_FPS_RESP);
  store<u32>(r + EP_PKTS, load<u32>(r + EP_PKTS) + 1);
  addWide(rec, r, EP_IP_BYTES, X_IP_BYTES_HI, <u64>load<u32>(pk + P_IPLEN));
  return true;
}

/**
 * The fast path of the handshake's first segment: the originator's SYN without payload that just
 * created its record (createFlow: no flip, the originator is the sender). process() would set its
 * sequence base (relative sequence 0), record 'S', take its options, make it SYN_SENT with the
 * attempt timer (UpdateInactiveState) and start the handshake RTT; no anomaly rule fires for it.
 * This makes those writes, in process()'s order, and returns true; false, having written nothing,
 * for any other segment.
 */
@inline function synOpen(rec: usize, now: i64): bool {
  const pk = TRACKER.pk;
  // SYN alone among the six classic flags (ECE and CWR play no part in process()), and a window (no W).
  if ((load<u8>(pk + P_FLAGS) & 0x3F) != <u8>TH_SYN || load<u32>(pk + P_PAYLEN) != 0 || load<u16>(pk + P_WIN) == 0) return false;
  const o = rec + <usize>FR_ORIG, r = rec + <usize>FR_RESP;
  const lastSyn = extTailSideIfAny(rec, o, X_HIST_SYN);
  if (lastSyn != 0 && load<u32>(lastSyn) != 0) return false;

  setCurrent(rec, o, r);
  clearFlag(rec, FF_PARTIAL); // SetPartialStatus: a pure SYN first
  const seq = load<u32>(pk + P_SEQ);
  initAckSeq(o, seq); initStartSeq(o, seq); initLastSeq(o, seq + 1); // init_endpoint: the SYN takes one octet
  checkHistory(rec, o, HIST_SYN_PKT, 0x53); // 'S'
  store<u16>(o + EP_WIN, load<u16>(pk + P_WIN));
  // FR_TS_LAST is `now` already (createFlow).
  noteOptions(o, TH_SYN);
  updateInactive(now, seq, 0, true, TH_SYN); // the originator is INACTIVE (updateStateMachine)
  // checkWireAnomalies' bookkeeping (no anomaly fires): liveness, the SYN count.
  noteSegmentSent(extTailOf(rec), rec, o, r, 0, true, false, false, true, now - load<i64>(rec + FR_TS_START));
  setFlag(rec, FF_FPS_ORIG);
  store<u32>(o + EP_PKTS, load<u32>(o + EP_PKTS) + 1);
  addWide(rec, o, EP_IP_BYTES, X_IP_BYTES_HI, <u64>load<u32>(pk + P_IPLEN));
  if (!epHas(r, EF_SYN_SEEN)) setSynTime(rec, now); // noteHandshake
  return true;
}

/**
 * The fast path of the close's pure ACKs: an ACK without payload or other flags, in order (at the
 * sender's last_seq), from an ESTABLISHED, PARTIAL or CLOSED side whose EOF is done (if it closed),
 * to a CLOSED peer that sent its FIN and whose EOF is done: the ACK of a FIN, and the last ACK of a
 * close. process() would record the side's 'A' the first time, take its window and options, move
 * the peer's ack_seq, find no anomaly (no duplicate ACK: that shape is left to it; no
 * ack_of_unseen_data: the ack is within what the peer sent), move the peer's trim point up to
 * (never past) its reassembly point, and nothing in the state machine, EOF or close. This makes
 * those writes, in process()'s order, and returns true; false, having written nothing, for any
 * other segment. The states and flags do not change, but FR_TS_LAST does: the caller refreshes the deadline.
 */
@inline function closeAck(rec: usize, isOrig: bool, now: i64): bool {
  const pk = TRACKER.pk;
  if (load<u8>(pk + P_FLAGS) != <u8>TH_ACK || load<u32>(pk + P_PAYLEN) != 0) return false;
  const o = rec + <usize>FR_ORIG, r = rec + <usize>FR_RESP;
  const ep = isOrig ? o : r, peer = isOrig ? r : o;
  // The peer: CLOSED by its FIN, EOF done (checkEOF(rec, peer) returns at once).
  const pf = load<u8>(peer + EP_FLAGS);
  if (stateOf(peer) != <u8>Half.Closed || (pf & (EF_FIN_SEEN | EF_DID_EOF)) != (EF_FIN_SEEN | EF_DID_EOF)) return false;
  // The sender: ESTABLISHED/PARTIAL (UpdateEstablishedState) or CLOSED (UpdateClosedState) do nothing
  // for a plain ACK; checkEOF(rec, ep) returns at once (no FIN, or EOF done).
  const es = stateOf(ep), ef = load<u8>(ep + EP_FLAGS);
  if (es != <u8>Half.Established && es != <u8>Half.Partial && es != <u8>Half.Closed) return false;
  if ((es == <u8>Half.Closed || (ef & EF_FIN_SEEN) != 0) && (ef & EF_DID_EOF) == 0) return false;
  // SetPartialStatus does nothing, no late flip of a lone 'H', a window (no W, no zero_window).
  if ((flagsOf(rec) & (isOrig ? FF_FPS_ORIG : FF_FPS_RESP)) == 0 || historyIsLoneH(rec)) return false;
  const win = <u32>load<u16>(pk + P_WIN);
  if (win == 0) return false;
  // In order: update_last_seq does nothing, no keep-alive shape.
  const seq = load<u32>(pk + P_SEQ);
  if (seq != lastSeq(ep)) return false;
  // Not the RFC 5681 duplicate-ACK shape (left to process()).
  const ack = load<u32>(pk + P_ACK);
  const ackSent = (load<u8>(ep + EP_FLAGS2) & EF2_ACK_SENT) != 0;
  const greatest = load<u32>(ep + EP_LAST_ACKVAL);
  if (ackSent && ack == greatest && win == <u32>load<u16>(ep + EP_WIN)) return false;
  // The ack in the peer's space (no underflow), not beyond what it sent (no ack_of_unseen_data).
  const peerAck = ackSeq(peer);
  let relAck = relativeSeq(peer, ack, peerAck, wrapsAt(rec, peer, EP_ACK_WRAPS));
  if (SEQ.seqUnderflow) return false;
  if (relAck > toRelative(peer, lastSeq(peer), wrapsAt(rec, peer, EP_SEQ_WRAPS))) return false;
  // ackReceived: the FIN octet is not data; no hole to report (the trim point stays at or below reassembly).
  const fin = relAt(rec, peer, EP_FIN_SEQ);
  if (relAck >= fin) relAck = fin - 1;
  const moveTrim = relAck > relAt(rec, peer, EP_TRIM);
  if (moveTrim && relAck > relAt(rec, peer, EP_REASM)) return false;

  // ---- qualifies: the writes of process(), in its order ----
  setCurrent(rec, ep, peer);
  if ((load<u32>(rec + FR_HIST_SEEN) & (isOrig ? HIST_ACK_PKT : HIST_ACK_PKT << 16)) == 0) checkHistory(rec, ep, HIST_ACK_PKT, 0x41); // 'A', the first time
  store<u16>(ep + EP_WIN, <u16>win);
  if ((ef & EF_DID_CLOSE) == 0 || (pf & EF_DID_CLOSE) == 0) setTimeAt(rec, FR_TS_LAST, now);
  store<u8>(ep + EP_OPTS, load<u8>(ep + EP_OPTS) | load<u8>(pk + P_OPTS)); // noteOptions
  const d = seqDelta(ack, peerAck);
  if (!(ack == 0 && d > TOO_LARGE_SEQ_DELTA) && d > 0) updateAckSeq(rec, peer, ack);
  FLOW_STATE.doClose = false; FLOW_STATE.genEvent = false; // updateStateMachine
  // checkWireAnomalies' bookkeeping (no anomaly fires): the greatest ack sent, liveness, "left SYN_SENT".
  noteSegmentSent(extTailOf(rec), rec, ep, peer, ack, false, false, true, isOrig, now - load<i64>(rec + FR_TS_START));
  if (moveTrim) setRelAt(rec, peer, EP_TRIM, relAck); // ackReceived
  store<u32>(ep + EP_PKTS, load<u32>(ep + EP_PKTS) + 1);
  addWide(rec, ep, EP_IP_BYTES, X_IP_BYTES_HI, <u64>load<u32>(pk + P_IPLEN));
  if (isOrig) noteHandshakeAck(rec, ack, now); // noteHandshake
  return true;
}

/**
 * The fast path of a close's FIN: a FIN+ACK (PSH or not: no SYN, RST, URG, ECE, CWR) in order (at
 * the sender's last_seq), with or without payload, from an ESTABLISHED or PARTIAL side that sent no
 * FIN and no RST before (no FIN retransmission, data_after_fin, close or EOF yet), to a peer that
 * is open (ESTABLISHED or PARTIAL, no FIN) or CLOSED by its own FIN, which this one acknowledges (a
 * passive close; a FIN that does not is a simultaneous_close, left to process()), and that sent no
 * RST. process() would record the side's first 'F' (its case) and hist_last_FIN, take the window and
 * options, set the FIN's sequence mark (and, for a passive close, "FIN after the peer's"), move the
 * peer's ack_seq and the side's last_seq, make the side CLOSED (UpdateEstablishedState, do_close),
 * find no anomaly (no SimultaneousClose, no ack_of_unseen_data; the other rules do not fire on an
 * in-order FIN with a window), scan the payload, then acknowledge, deliver, check both EOFs and close
 * (ConnectionClosed), through the same functions as process(). This makes those writes, in
 * process()'s order, and returns true; false, having written nothing, for any other segment.
 */
@inline function finAck(rec: usize, isOrig: bool, now: i64): bool {
  const pk = TRACKER.pk;
  if ((<u32>load<u8>(pk + P_FLAGS) & ~TH_PSH) != (TH_FIN | TH_ACK)) return false;
  const o = rec + <usize>FR_ORIG, r = rec + <usize>FR_RESP;
  const ep = isOrig ? o : r, peer = isOrig ? r : o;
  // The sender: ESTABLISHED or PARTIAL, nothing of a close yet.
  const es = stateOf(ep);
  if ((es != <u8>Half.Established && es != <u8>Half.Partial) ||
      (load<u8>(ep + EP_FLAGS) & (EF_FIN_SEEN | EF_RST_SEEN | EF_DID_CLOSE | EF_DID_EOF)) != 0) return false;
  // The peer: open, or CLOSED by its FIN; no RST (UpdateEstablishedState's FIN-then-RST rule), not INACTIVE (init_peer).
  const ps = stateOf(peer), pf = load<u8>(peer + EP_FLAGS);
  const peerFin = (pf & EF_FIN_SEEN) != 0;
  if ((pf & EF_RST_SEEN) != 0) return false;
  if (peerFin ? ps != <u8>Half.Closed : (ps != <u8>Half.Established && ps != <u8>Half.Partial)) return false;
  // SetPartialStatus does nothing, no lone 'H'; the side's first 'F' (hist_seen is not swapped by a
  // flip: a bit already set takes process()'s hist_last_FIN comparison); a window (no W).
  if ((flagsOf(rec) & (isOrig ? FF_FPS_ORIG : FF_FPS_RESP)) == 0 || historyIsLoneH(rec)) return false;
  if ((load<u32>(rec + FR_HIST_SEEN) & (isOrig ? HIST_FIN_PKT : HIST_FIN_PKT << 16)) != 0) return false;
  const win = <u32>load<u16>(pk + P_WIN);
  if (win == 0) return false;
  // In order: update_last_seq moves last_seq past the FIN, nothing is retransmitted, the payload is new.
  const seq = load<u32>(pk + P_SEQ);
  if (seq != lastSeq(ep)) return false;
  const relSeq = relativeSeq(ep, seq, seq, wrapsAt(rec, ep, EP_SEQ_WRAPS));
  if (SEQ.seqUnderflow) return false;
  // The ack in the peer's space (no underflow), not beyond what it sent (no ack_of_unseen_data), at
  // or past the peer's FIN if it sent one (no simultaneous_close).
  const ack = load<u32>(pk + P_ACK);
  const peerAck = ackSeq(peer);
  const relAck = relativeSeq(peer, ack, peerAck, wrapsAt(rec, peer, EP_ACK_WRAPS));
  if (SEQ.seqUnderflow) return false;
  if (relAck > toRelative(peer, lastSeq(peer), wrapsAt(rec, peer, EP_SEQ_WRAPS))) return false;
  if (peerFin && relAck < relAt(rec, peer, EP_FIN_SEQ)) return false;

  // ---- qualifies: the writes of process(), in its order ----
  setCurrent(rec, ep, peer);
  const len = load<u32>(pk + P_PAYLEN);
  checkHistory(rec, ep, HIST_FIN_PKT, 0x46); // updateHistory: 'F', the first time (checked above)
  setHistLastFinAtFin(ep);
  store<u16>(ep + EP_WIN, <u16>win);
  setTimeAt(rec, FR_TS_LAST, now); // the sender did not close
  store<u8>(ep + EP_OPTS, load<u8>(ep + EP_OPTS) | load<u8>(pk + P_OPTS)); // noteOptions
  if (peerFin && seqDelta(ack, startSeq(peer) + <u32>relAt(rec, peer, EP_FIN_SEQ)) >= 0) epSet(ep, EF_FIN_AFTER_PEER);
  epSet(ep, EF_FIN_SEEN);
  setRelAt(rec, ep, EP_FIN_SEQ, relSeq + <u64>len + 1);
  const d = seqDelta(ack, peerAck);
  if (!(ack == 0 && d > TOO_LARGE_SEQ_DELTA) && d > 0) updateAckSeq(rec, peer, ack);
  updateLastSeq(rec, ep, seq + len + 1); // updateLast
  setState(rec, ep, Half.Closed); // updateStateMachine: UpdateEstablishedState
  FLOW_STATE.doClose = true; FLOW_STATE.genEvent = true;
  // checkWireAnomalies' bookkeeping (no anomaly fires): the greatest ack sent, liveness, "left SYN_SENT".
  noteSegmentSent(extTailOf(rec), rec, ep, peer, ack, false, false, true, isOrig, now - load<i64>(rec + FR_TS_START));
  const pp = <usize>load<u32>(pk + P_PAYPTR), pc = load<u32>(pk + P_PAYCAP);
  if (len != 0) {
    if (pp != 0 && pc != 0) scanHttp(pp, pc); // in order: startsUnseen
    if (relSeq == 1) scanService(ep, isOrig ? 0 : 1, pp, pc, len);
  }
  ackReceived(rec, peer, ep, relAck);
  checkEOF(rec, peer);
  if (len != 0) deliverPayload(pk, rec, ep, relSeq, len);
  checkEOF(rec, ep);
  connectionClosed(rec, ep, peer, true);
  store<u32>(ep + EP_PKTS, load<u32>(ep + EP_PKTS) + 1);
  addWide(rec, ep, EP_IP_BYTES, X_IP_BYTES_HI, <u64>load<u32>(pk + P_IPLEN));
  if (isOrig) noteHandshakeAck(rec, ack, now); // noteHandshake
  return true;
}

/** A descriptor whose TCP header was unusable past its ports (layers/tcp.ts): it only keys a connection. */

/**
 * Processes the descriptor at `pk` (a batch slot, TRACKER.pk), whose key hash and family are `hf`
 * (table.ts keyHashFamily); `fast` and `vlanKey` are OPTIONS.fastPath and OPTIONS.vlanInKey, read
 * once a batch. Returns FAST, HEADER_ONLY or 0, for the batch's counters. Inlined
 * into flushBatch's loop, its one caller: the packet's fields, the record's address and start and
 * the clock stay in locals (V8 loads linear memory again after any store to it).
 */
@inline function trackOne(pk: usize, hf: u64, fast: bool, vlanKey: bool): u32 {
  let clock = TRACKER.clock;
  const now = load<i64>(pk + P_TS);
  if (now > clock) clock = now;
  const recordTime = load<i64>(pk + P_CLOCK);
  if (recordTime > clock) clock = recordTime;
  TRACKER.clock = clock;
  const h = <u32>hf;
  const sport = <u32>load<u16>(pk + P_SPORT), dport = <u32>load<u16>(pk + P_DPORT);
  const vlan = vlanKey ? load<u32>(pk + P_VLAN) : 0;
  const src = pk + P_SRC, dst = pk + P_DST;
  const flags = <u32>load<u8>(pk + P_FLAGS);

  const f = lookup(h, <u32>(hf >>> 32), src, sport, dst, dport, vlan, vlanKey);
  let id: u32 = 0, rec: usize = 0, isOrig = false, sinceStart: i64 = 0;
  let reused = false, created = false;
  if (f != 0) {
    id = foundId(f);
    rec = foundRec(f);
    isOrig = foundIsOrig(f);
    const start = load<i64>(rec + FR_TS_START);
    sinceStart = now - start;
    // Timers fire before the packet that reaches their time (Zeek advances timers first):
    // removedByRefreshing(rec, now), with the record's start at hand.
    if (deadlineFloorAt(rec, start) <= now) {
      const at = removalTime(rec);
      if (at <= now) { emit(id, TIMERS.removalReason); rec = 0; }
      else setDeadlineFloor(rec, at);
    }
    if (rec != 0 && isReuse(rec, flags, load<u32>(pk + P_SEQ), isOrig)) { emit(id, EndReason.Reused); rec = 0; reused = true; }
  }
  if (rec == 0) {
    id = createFlow(h, flags, sport, dport, now);
    created = true;
    rec = recPtr(id);
    sinceStart = 0; // FR_TS_START is now
    isOrig = <u32>load<u16>(rec + FR_ORIG_PORT) == sport && addrMatches(rec, false, src);
    if (reused) noteAnomaly(rec, Anomaly.PortReuse, isOrig, now);
  }
  setCurrentFlow(id, now);
  setTimeSince(rec, FR_TS_ACTIVE, now, sinceStart);

  const csum = load<u8>(pk + P_CSUM);
  let steady = false, counts: u32 = 0;
  if (csum == <u8>Csum.Bad) {
    // Zeek: bad checksum -> C/c (logarithmic), and the segment is otherwise ignored.
    const ep = rec + <usize>(isOrig ? FR_ORIG : FR_RESP);
    scaledHistoryAt(rec, ep, extSide(rec, ep, X_CNT_C), 0x43);
  } else if (isHeaderOnly(csum)) {
    // Zeek: the connection was created (or found) on the ports, then ExtractTCP_Header refused
    // the header (bad_TCP_header_len / truncated_header): nothing is counted, no history letter.
    counts = HEADER_ONLY;
  } else if (fast && steadySegment(pk, rec, isOrig, now, sinceStart)) {
    counts = FAST;
    steady = true;
  } else if (fast && (created ? isOrig && synOpen(rec, now) : synAckAnswer(rec, isOrig, now) || closeAck(rec, isOrig, now) || finAck(rec, isOrig, now))) {
    counts = FAST; // the fast path's counter (Stat.SteadySegments); the states changed: the deadline is refreshed
  } else {
    process(rec, isOrig, now);
  }
  // A steady segment (steady.ts) changes none of the states, flags and close times removalTime()
  // reads, only FR_TS_LAST, to `now`: at the latest time seen (now == clock) that cannot move the
  // removal time earlier, so the cached bound stays a bound (removedByRefreshing raises it when reached).
  if (!steady || now < clock) refreshDeadline(rec);
  // Trace hook (trace.ts): the segment's event, after the record took it. Every path that tracks a
  // segment must pass here, a fast path for steady-state segments included: a traced connection's
  // segments must not skip it (gate such a path on !traceArmed). Untraced work pays this one branch.
  if (TRACE.traceArmed) traceSegment(id, pk);
  sweepNext(tableHighWater(), clock); // one pool slot a segment (the table holds this segment's record)
  return counts;
}

/** trackOne()'s answer: the segment took a fast path (Stat.SteadySegments). */
const FAST: u32 = 1;
/** trackOne()'s answer: the segment's TCP header was unusable (not in Stat.Segments); a batch holds fewer than 2^16. */
const HEADER_ONLY: u32 = 1 << 16;

// ---- batching ------------------------------------------------------------------------------------
// Segments are queued in batches of BATCH. Before a batch is processed in order, the index slots
// and then the records of all its segments are touched in tight loops, so their cache and TLB
// misses overlap instead of being paid one after the other (wasm has no prefetch instruction; a
// load whose value is unused still brings the line in). The record lines are loaded in a loop of
// their own over addresses found before, with no branch on a loaded value: ~4 lines a record, 32
// records, more misses than the core keeps in flight, so a loop that also followed each record's
// flags (to its IPv6 key block) held fewer of them at once (3-5% of the engine's time on the 10M
// capture, README "Other figures"). Processing order and semantics are
// unchanged: the real lookup happens in order, the touches are only hints.

export const BATCH: i32 = PKT_RING_SLOTS;
/** Each queued segment's keyHashFamily (table.ts): the key hash, then the family lookup() takes. */
const BATCH_HASH: usize = memory.data(BATCH * 8, 16);
/** Each queued segment's record as the cache hints found it (table.ts recordHinted). */
const BATCH_REC: usize = memory.data(BATCH * 4, 16);
@inline function batchRec(i: i32): usize { return load<usize>(BATCH_REC + (<usize>i << 2)); }
TRACKER.queued = 0;
TRACKER.flushes = 0;
TRACKER.sink = 0; // keeps the touch loads observable to the optimizer

/** Queues the segment the decoders described at PKT (a ring slot) and moves PKT to the next slot (inlined: once a segment). */
@inline export function trackPacket(): void {
  // The count in a local: V8 loads it again after a store to linear memory.
  const queued = TRACKER.queued + 1;
  TRACKER.queued = queued;
  if (queued == BATCH) flushBatch();
  else usePktSlot(queued);
}

/** The key hash of queued segment i (BATCH_HASH). */
@inline function batchHash(i: i32): u32 { return load<u32>(BATCH_HASH + (<usize>i << 3)); }

/**
 * Tracks every queued segment, in order. Called when the batch is full and before any return to the host.
 * The keys are hashed, then the index slots, the records' lines, their key blocks and the sweep's
 * pool slots are touched, each in a tight loop of its own: a loop body of a few instructions that
 * branches on nothing it loads lets the core keep many misses in flight at once, where a touch
 * between two packets' decoding would be paid alone.
 */
export function flushBatch(): void {
  TRACKER.flushes++;
  const n = TRACKER.queued;
  if (n == 0) {
    if (TRACKER.recordClock > TRACKER.clock) TRACKER.clock = TRACKER.recordClock;
    return;
  }
  // The options, read once a batch (the loops below store to linear memory, after which V8 loads again).
  const fast = OPTIONS.fastPath, vlanKey = OPTIONS.vlanInKey;
  const vlanMask: u32 = vlanKey ? 0xFFFFFFFF : 0; // the VLAN ids are part of the key only with vlan_fivetuple
  for (let i = 0; i < n; i++) {
    const slot = PKT_RING + <usize>i * PKT_SIZE;
    store<u64>(BATCH_HASH + (<usize>i << 3), keyHashFamily(slot + P_SRC, <u32>load<u16>(slot + P_SPORT), slot + P_DST,
      <u32>load<u16>(slot + P_DPORT), load<u32>(slot + P_VLAN) & vlanMask));
  }
  let s: u32 = 0;
  for (let i = 0; i < n; i++) s ^= touchIndex(batchHash(i));
  // The records: their addresses first, then their lines in a loop that branches on nothing it
  // loads (so the misses of many segments overlap), then what hangs off them.
  for (let i = 0; i < n; i++) store<usize>(BATCH_REC + (<usize>i << 2), recordHinted(batchHash(i)));
  for (let i = 0; i < n; i++) s ^= touchRecordLines(batchRec(i));
  // Segments whose key has no record yet will take records off the free list: touch those too.
  let free = freeListHead();
  for (let i = 0; i < n; i++) {
    const r = batchRec(i);
    if (r != NO_RECORD_BLOCK) s ^= touchKeyBlock(r);
    else if (!isNoRecord(free)) free = touchFreeRecord(free);
  }
  // trackOne() sweeps one pool slot per segment, from the sweep cursor on: touch those slots too.
  const hw = tableHighWater();
  if (hw != 0) {
    let c = TRACKER.sweepCursor;
    for (let i = 0; i < n; i++) {
      if (c >= hw) c = 0;
      s ^= touchSweepSlot(c++);
    }
  }
  TRACKER.sink ^= s;
  let counts: u32 = 0;
  for (let i = 0; i < n; i++) {
    const pk = PKT_RING + <usize>i * PKT_SIZE;
    TRACKER.pk = pk;
    counts += trackOne(pk, load<u64>(BATCH_HASH + (<usize>i << 3)), fast, vlanKey);
  }
  copyBlock(LAST_PKT, PKT_RING + <usize>(n - 1) * PKT_SIZE, PKT_SIZE);
  statAdd(Stat.Segments, <f64>(n - <i32>(counts >>> 16)));
  statAdd(Stat.SteadySegments, <f64>(counts & 0xFFFF));
  TRACKER.queued = 0;
  usePktSlot(0);
  if (TRACKER.recordClock > TRACKER.clock) TRACKER.clock = TRACKER.recordClock;
}

/** A copy of the descriptor of the last segment tracked (the ring slots are reused). */
const LAST_PKT: usize = memory.data(<i32>PKT_SIZE, 16);
export function lastPacketPtr(): usize { return LAST_PKT; }

