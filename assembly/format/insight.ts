// A finished record's insight for the output formatter (fields.ts): each endpoint's RFC 9293
// state as the wire shows it at the end, the anomalies (wire ones from the record's slots, end
// ones derived from the endpoint states), sorted, and the HTTP counters.
//
// The rules are those of src/anomalies/derive.ts, facts.ts and endpoint-state.ts (which the host
// keeps for Flow objects; test/host/engine-lines.test.ts runs every capture through both and
// demands identical bytes). Times are doubles computed with the host's operations in the host's
// order, so rounding, thresholds and idle times agree to the bit.

import {
  FR_TS_START, FR_TS_ACTIVE, FR_FLAGS, FR_DEADLINE, FR_TS_END, FR_ORIG, FR_RESP, FR_EXT,
  FF_ENDED, FF_SYNACK_AFTER_ACK, FF_RESP_NONSYN,
  EP_FLAGS, EP_FLAGS2, EP_START, EP_ACK_SEQ, EP_ACK_WRAPS, EP_FIN_SEQ, EP_PKTS, EP_SYNS, EP_SEEN, EP_RTX_QUIET,
  EF_SYN_SEEN, EF_FIN_SEEN, EF_RST_SEEN, EF_FIN_AFTER_PEER, EF_FIN_RETX, EF2_BEYOND_SYN,
  X_ANOM, ANOM_SLOTS, X_ANOM_LOST,
} from "../flow/record";
import { Anomaly } from "../flow/anomaly";
import { captureClock } from "../flow/tracker";
import { i64f, u64f } from "./text";
import {
  fmtState, nameSlot, NameKind, S_INSIGHT, S_FINAL, S_ALONE, S_CLOCK, ClockFrom, S_T_SYN, S_T_SYNACK, S_T_FIN_WAIT2, S_T_TIME_WAIT, S_T_VANISHED,
} from "./state";

/** RFC 9293 state names a flow reports (src/anomalies/endpoint-state.ts TCP_STATES, same order). */
export enum TcpState { SYN_SENT = 0, SYN_RECEIVED, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT, CLOSED, UNKNOWN }

/** Why an anomaly entry has a detail text (fields.ts writes it). */
export enum Detail {
  None = 0, AfterData, BeforeData, SlotsFull, SynsRetransmitted, OneSyn, SynAckRepeated, NoAckOfSynAck,
  SilentResponder, SilentOriginator, FinNeverAcked, FinAckedRespOpen, FinAckedOrigOpen, LastFinNeverAcked,
}

// Insight layout (at the state block's S_INSIGHT address).
export const I_ORIG_STATE: usize = 0;   // u8 TcpState
export const I_RESP_STATE: usize = 1;   // u8 TcpState
export const I_COUNT: usize = 4;        // u32 anomaly entries
export const I_ENTRIES: usize = 8;      // I_MAX entries of E_SIZE bytes, sorted
export const E_TYPE: usize = 0;         // u8 Anomaly
export const E_SIDE: usize = 1;         // u8 0 originator, 1 responder
export const E_DETAIL: usize = 2;       // u8 Detail
export const E_HAS_IDLE: usize = 3;     // u8 1 = idle_s is set
export const E_COUNT: usize = 8;        // f64
export const E_TS: usize = 16;          // f64 seconds (rounded to µs)
export const E_IDLE: usize = 24;        // f64 seconds (rounded to µs)
export const E_ARG: usize = 32;         // f64 the number a detail text carries
export const E_SIZE: usize = 40;
/** Slots, lost kinds (one per code) and end anomalies fit well below this. */
export const I_MAX: usize = 64;
export const INSIGHT_BYTES: usize = I_ENTRIES + I_MAX * E_SIZE;

const NEVER_HALF: f64 = 4611686018427387904.0; // 2^63 / 2, FactsReader's "armed" bound

@inline function round6(x: f64): f64 { return Math.round(x * 1e6) / 1e6; }

// ---- one side's facts (src/anomalies/facts.ts SideFacts), read from its endpoint block ep ----
@inline function flags(ep: usize): u32 { return load<u8>(ep + <usize>EP_FLAGS); }
@inline function pkts(ep: usize): f64 { return <f64>load<u32>(ep + <usize>EP_PKTS); }
@inline function syn(ep: usize): bool { return (flags(ep) & EF_SYN_SEEN) != 0; }
@inline function fin(ep: usize): bool { return (flags(ep) & EF_FIN_SEEN) != 0; }
@inline function rst(ep: usize): bool { return (flags(ep) & EF_RST_SEEN) != 0; }
@inline function beyondSyn(ep: usize): bool { return (load<u8>(ep + <usize>EP_FLAGS2) & EF2_BEYOND_SYN) != 0; }
@inline function finAfterPeer(ep: usize): bool { return (flags(ep) & EF_FIN_AFTER_PEER) != 0; }
@inline function finRetransmitted(ep: usize): bool { return (flags(ep) & EF_FIN_RETX) != 0; }
@inline function rtxQuiet(ep: usize): f64 { return <f64>load<u16>(ep + <usize>EP_RTX_QUIET); }
/** Highest ack the peer sent for this side, relative to its ISN (start_seq is a zero-extended 32-bit value). */
@inline function ackedRel(ep: usize): f64 {
  const ackFull = <f64>load<u32>(ep + <usize>EP_ACK_WRAPS) * 4294967296.0 + <f64>load<u32>(ep + <usize>EP_ACK_SEQ);
  return ackFull - <f64>load<u32>(ep + <usize>EP_START);
}
@inline function finAcked(ep: usize): bool { return fin(ep) && ackedRel(ep) >= u64f(ep + <usize>EP_FIN_SEQ); }
/** Last packet time, µs; NaN when the side sent nothing (facts.ts: undefined). */
@inline function lastUs(ep: usize, startUs: f64): f64 {
  return load<u32>(ep + <usize>EP_PKTS) > 0 ? startUs + <f64>load<u32>(ep + <usize>EP_SEEN) : NaN;
}

/**
 * The state of `me` facing `peer` (src/anomalies/endpoint-state.ts endpointState), `idle` seconds
 * after the flow's last packet.
 */
@inline function endpointState(rec: usize, me: usize, peer: usize, meIsOrig: bool, idle: f64, s: usize): i32 {
  if (rst(me) || rst(peer)) return TcpState.CLOSED;
  const o = rec + <usize>FR_ORIG, r = rec + <usize>FR_RESP;
  if (pkts(me) == 0) {
    if (!meIsOrig && syn(o) && !syn(r)) return TcpState.CLOSED;
    return TcpState.UNKNOWN;
  }
  const synTimeout = load<f64>(s + S_T_SYN);
  if (meIsOrig && syn(me) && !beyondSyn(me) && !syn(peer) && !fin(peer) && pkts(peer) == 0) {
    return idle >= synTimeout ? TcpState.CLOSED : TcpState.SYN_SENT;
  }
  const recFlags = load<u32>(rec + <usize>FR_FLAGS);
  const respNonSyn = (recFlags & FF_RESP_NONSYN) != 0;
  if (!meIsOrig && syn(me)) {
    const acked = ackedRel(me) >= 1 && ((recFlags & FF_SYNACK_AFTER_ACK) == 0 || respNonSyn);
    if (!acked && !respNonSyn && !fin(me)) return idle >= load<f64>(s + S_T_SYNACK) ? TcpState.CLOSED : TcpState.SYN_RECEIVED;
  }
  if (meIsOrig && syn(me) && !beyondSyn(me) && !syn(peer) && pkts(peer) > 0) {
    return idle >= synTimeout ? TcpState.CLOSED : TcpState.SYN_SENT;
  }
  const meFin = fin(me), peerFin = fin(peer);
  if (!meFin && !peerFin) return TcpState.ESTABLISHED;
  if (!meFin && peerFin) return !finAcked(peer) && finRetransmitted(peer) ? TcpState.ESTABLISHED : TcpState.CLOSE_WAIT;
  if (meFin && !peerFin) return finAcked(me) ? TcpState.FIN_WAIT_2 : TcpState.FIN_WAIT_1;
  if (finAfterPeer(me) && !finAfterPeer(peer)) return finAcked(me) ? TcpState.CLOSED : TcpState.LAST_ACK;
  if (!finAcked(me)) return TcpState.CLOSING;
  return idle >= load<f64>(s + S_T_TIME_WAIT) ? TcpState.CLOSED : TcpState.TIME_WAIT;
}

/** Appends an entry. */
function add(ins: usize, type: i32, side: i32, tsSec: f64, count: f64, idle: f64, hasIdle: bool, detail: i32, arg: f64): void {
  const n = <usize>load<u32>(ins + I_COUNT);
  if (n >= I_MAX - 1) return; // cannot happen: 8 slots + 22 lost kinds + 6 end entries (the last slot is sort scratch)
  const e = ins + I_ENTRIES + n * E_SIZE;
  store<u8>(e + E_TYPE, type);
  store<u8>(e + E_SIDE, side);
  store<u8>(e + E_DETAIL, detail);
  store<u8>(e + E_HAS_IDLE, hasIdle ? 1 : 0);
  store<f64>(e + E_COUNT, count);
  store<f64>(e + E_TS, tsSec);
  store<f64>(e + E_IDLE, idle);
  store<f64>(e + E_ARG, arg);
  store<u32>(ins + I_COUNT, <u32>(n + 1));
}

function hasType(ins: usize, type: i32): bool {
  const n = <usize>load<u32>(ins + I_COUNT);
  for (let i: usize = 0; i < n; i++) if (<i32>load<u8>(ins + I_ENTRIES + i * E_SIZE + E_TYPE) == type) return true;
  return false;
}

/** JS `a.type < b.type` on the catalogue names (the host installed them, state.ts NameKind.Anomaly). */
function nameLess(s: usize, a: i32, b: i32): bool {
  const x = nameSlot(s, NameKind.Anomaly, <u32>a), y = nameSlot(s, NameKind.Anomaly, <u32>b);
  const nx = <usize>load<u8>(x), ny = <usize>load<u8>(y);
  for (let i: usize = 1; i <= nx && i <= ny; i++) {
    const cx = load<u8>(x + i), cy = load<u8>(y + i);
    if (cx != cy) return cx < cy;
  }
  return nx < ny;
}

/**
 * Sorts the entries as derive.ts does (`a.ts - b.ts || (a.type < b.type ? -1 : 1)`): V8 sorts
 * arrays this short by binary insertion, which places an element after every one it does not
 * compare below, so this stable insertion sort gives the same order.
 */
function sortEntries(ins: usize, s: usize): void {
  const n = <usize>load<u32>(ins + I_COUNT);
  const base = ins + I_ENTRIES;
  const tmp = base + I_MAX * E_SIZE - E_SIZE; // the last entry slot (never reached: n < I_MAX)
  for (let i: usize = 1; i < n; i++) {
    memory.copy(tmp, base + i * E_SIZE, E_SIZE);
    const ts = load<f64>(tmp + E_TS);
    const type = <i32>load<u8>(tmp + E_TYPE);
    let j = i;
    while (j > 0) {
      const prev = base + (j - 1) * E_SIZE;
      const pts = load<f64>(prev + E_TS);
      const below = ts < pts || (ts == pts && nameLess(s, type, <i32>load<u8>(prev + E_TYPE)));
      if (!below) break;
      j--;
    }
    if (j == i) continue;
    memory.copy(base + (j + 1) * E_SIZE, base + j * E_SIZE, (i - j) * E_SIZE);
    memory.copy(base + j * E_SIZE, tmp, E_SIZE);
  }
}

/** Derives the insight of the finished record at `rec` into the state block's insight area; returns it. */
export function deriveInsight(rec: usize): usize {
  const s = fmtState();
  const ins = <usize>load<u32>(s + S_INSIGHT);
  store<u32>(ins + I_COUNT, 0);
  const o = rec + <usize>FR_ORIG, r = rec + <usize>FR_RESP;
  const startUs = i64f(rec + <usize>FR_TS_START);
  const flowLastUs = i64f(rec + <usize>FR_TS_ACTIVE);
  const recFlags = load<u32>(rec + <usize>FR_FLAGS);
  // A record the engine's timers removed ended then; otherwise at the end of the input.
  let removedUs: f64 = NaN;
  if ((recFlags & FF_ENDED) != 0) removedUs = i64f(rec + <usize>FR_TS_END);
  else {
    const deadline = i64f(rec + <usize>FR_DEADLINE);
    if (deadline > 0 && deadline < NEVER_HALF) removedUs = deadline;
  }
  const from = <i32>load<u8>(s + S_ALONE);
  const inputEndUs = from == ClockFrom.Record ? flowLastUs : from == ClockFrom.Host ? load<f64>(s + S_CLOCK) : <f64>captureClock();
  const final = load<u8>(s + S_FINAL) != 0;
  const endUs = !isNaN(removedUs) && removedUs < inputEndUs ? removedUs : inputEndUs;
  const idle = (endUs - flowLastUs) / 1e6;
  const os = endpointState(rec, o, r, true, idle, s);
  const rs = endpointState(rec, r, o, false, idle, s);
  store<u8>(ins + I_ORIG_STATE, os);
  store<u8>(ins + I_RESP_STATE, rs);

  // Wire anomalies: the record's slots. Most records have none: with eight slots, their type
  // bytes (bytes 0 and 8 of each 16) are tested at once.
  const ext = rec + <usize>FR_EXT;
  const slots = ext + <usize>X_ANOM;
  const types = v128.and(
    v128.or(v128.or(v128.load(slots), v128.load(slots, 16)), v128.or(v128.load(slots, 32), v128.load(slots, 48))),
    i64x2.splat(0xff),
  );
  const used = ANOM_SLOTS != 8 || v128.any_true(types);
  for (let i: usize = 0; used && i < <usize>ANOM_SLOTS; i++) {
    const slot = ext + <usize>X_ANOM + i * 8;
    const code = <i32>load<u8>(slot);
    if (code == 0 || load<u8>(nameSlot(s, NameKind.Anomaly, <u32>code)) == 0) continue;
    let detail = Detail.None;
    if (code == Anomaly.Reset) detail = ackedRel(o) > 1 || ackedRel(r) > 1 ? Detail.AfterData : Detail.BeforeData;
    add(ins, code, load<u8>(slot, 1), round6((startUs + <f64>load<u32>(slot, 4)) / 1e6), <f64>load<u16>(slot, 2), 0, false, detail, 0);
  }
  const lost = load<u32>(ext + <usize>X_ANOM_LOST);
  if (lost != 0) {
    // More distinct kinds than slots: name the ones that were not counted.
    for (let code = 1; code < 32; code++) {
      if ((lost & (1 << code)) != 0 && load<u8>(nameSlot(s, NameKind.Anomaly, <u32>code)) != 0 && !hasType(ins, code)) {
        add(ins, code, 0, round6(flowLastUs / 1e6), 1, 0, false, Detail.SlotsFull, 0);
      }
    }
  }

  // End anomalies (derive.ts #end).
  const flowIdle = round6((endUs - flowLastUs) / 1e6);
  const refused = hasType(ins, Anomaly.Refused);
  const oLast = lastUs(o, startUs), rLast = lastUs(r, startUs);
  if (syn(o) && !beyondSyn(o) && !syn(r) && !rst(r) && !refused && pkts(r) == 0 && (final || flowIdle >= load<f64>(s + S_T_SYN))) {
    const n = <f64>load<u16>(o + <usize>EP_SYNS);
    add(ins, Anomaly.SynUnanswered, 0, round6(startUs / 1e6), n, flowIdle, true, n > 1 ? Detail.SynsRetransmitted : Detail.OneSyn, n);
  }
  if (rs == TcpState.SYN_RECEIVED && (final || flowIdle >= load<f64>(s + S_T_SYNACK))) {
    add(ins, Anomaly.HandshakeIncomplete, 1, round6((isNaN(rLast) ? flowLastUs : rLast) / 1e6), pkts(r), flowIdle, true,
      ackedRel(o) >= 1 || ackedRel(r) >= 1 ? Detail.SynAckRepeated : Detail.NoAckOfSynAck, 0);
  }
  // peer_vanished: one side retransmits into silence (orig talking first, as derive.ts loops).
  for (let k = 0; k < 2; k++) {
    const talker = k == 0 ? o : r, silent = k == 0 ? r : o;
    const talkerLast = k == 0 ? oLast : rLast, silentLast = k == 0 ? rLast : oLast;
    const rtx = rtxQuiet(talker);
    if (rtx < 2 || rst(silent) || pkts(silent) == 0 || isNaN(silentLast) || isNaN(talkerLast)) continue;
    if (talkerLast <= silentLast) continue;
    const quiet = round6((endUs - silentLast) / 1e6);
    if (rtx < 3 && quiet < load<f64>(s + S_T_VANISHED)) continue;
    add(ins, Anomaly.PeerVanished, k == 0 ? 1 : 0, round6(silentLast / 1e6), rtx, quiet, true,
      k == 0 ? Detail.SilentResponder : Detail.SilentOriginator, quiet);
  }
  if (final || flowIdle >= load<f64>(s + S_T_FIN_WAIT2)) {
    for (let side = 0; side < 2; side++) {
      const state = side == 0 ? os : rs;
      const meLast = side == 0 ? oLast : rLast;
      const at = round6((isNaN(meLast) ? flowLastUs : meLast) / 1e6);
      if (state == TcpState.FIN_WAIT_1) add(ins, Anomaly.StuckFinWait1, side, at, 1, flowIdle, true, Detail.FinNeverAcked, 0);
      else if (state == TcpState.FIN_WAIT_2) {
        add(ins, Anomaly.StuckFinWait2, side, at, 1, flowIdle, true, side == 0 ? Detail.FinAckedRespOpen : Detail.FinAckedOrigOpen, 0);
      } else if (state == TcpState.LAST_ACK) add(ins, Anomaly.StuckLastAck, side, at, 1, flowIdle, true, Detail.LastFinNeverAcked, 0);
    }
  }
  sortEntries(ins, s);
  return ins;
}
