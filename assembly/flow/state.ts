// Zeek's per-endpoint state machine (TCPSessionAdapter::UpdateStateMachine and the
// Update*State functions, TCPSessionAdapter.cc), plus connection close handling
// (ConnectionClosed, EndpointEOF). We observe both directions passively, so each side is tracked
// as a Zeek half-state (INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET)
// and conn_state is derived from the pair (conn-state.ts), never by driving an RFC 9293 host.
//
// `ep` is the sending endpoint's block and `peer` the other one; a role flip moves the blocks,
// so every function that may flip updates the module-level cur* pointers and callers re-read them.

import {
  EP_STATE, EP_PREV_STATE, EP_FLAGS, EF_DID_CLOSE, EF_FIN_SEEN, EF_DID_EOF, Half,
  FR_FLAGS, FF_PARTIAL, FF_FPS_ORIG, FF_FPS_RESP, FF_ATTEMPT, FF_TIMERS_OFF, FF_INACT_TCP, FF_INACT_LONG,
  FF_NOT_ACTIVE, FF_CLOSE_DEFERRED, FF_DEFERRED_GEN, FR_TS_LAST, FR_CLOSE_AT, FR_EXPIRE2,
  FR_ORIG, FR_RESP, FR_RESP_PORT,
} from "./live";
import { TH_SYN, TH_ACK, TH_FIN, TH_RST } from "../packet";
import { startSeq, lastFull, startSeq64 } from "./seq";
import { flipRoles } from "./history";
import { dataPending } from "./reassembly";
import { SESSION_TIMER_US } from "../options";
import { FLOW_STATE, OPTIONS } from "../state";
import { timeAt, setTimeAt, setAttemptTime } from "./narrow";

/** The record being processed and its two endpoint blocks (sender, other side). */
FLOW_STATE.curRec = 0;
FLOW_STATE.curEp = 0;
FLOW_STATE.curPeer = 0;
/** Outputs of updateStateMachine, as Zeek's do_close / gen_event. */
FLOW_STATE.doClose = false;
FLOW_STATE.genEvent = false;

export function setCurrent(rec: usize, ep: usize, peer: usize): void { FLOW_STATE.curRec = rec; FLOW_STATE.curEp = ep; FLOW_STATE.curPeer = peer; }

/** Flips roles and keeps curEp/curPeer pointing at the same logical endpoints. */
export function flipCurrent(): void {
  flipRoles(FLOW_STATE.curRec);
  const t = FLOW_STATE.curEp; FLOW_STATE.curEp = FLOW_STATE.curPeer; FLOW_STATE.curPeer = t;
}

@inline export function stateOf(ep: usize): u8 { return load<u8>(ep + EP_STATE); }
@inline function isHandshake(s: u8): bool { return s == <u8>Half.Inactive || s == <u8>Half.SynSent || s == <u8>Half.SynAckSent; }
@inline export function flagsOf(rec: usize): u32 { return load<u32>(rec + FR_FLAGS); }
@inline export function setFlag(rec: usize, f: u32): void { store<u32>(rec + FR_FLAGS, load<u32>(rec + FR_FLAGS) | f); }
@inline export function clearFlag(rec: usize, f: u32): void { store<u32>(rec + FR_FLAGS, load<u32>(rec + FR_FLAGS) & ~f); }
@inline export function epHas(ep: usize, f: u8): bool { return (load<u8>(ep + EP_FLAGS) & f) != 0; }
@inline export function epSet(ep: usize, f: u8): void { store<u8>(ep + EP_FLAGS, load<u8>(ep + EP_FLAGS) | f); }
@inline export function otherEp(rec: usize, ep: usize): usize { return ep == rec + <usize>FR_ORIG ? rec + <usize>FR_RESP : rec + <usize>FR_ORIG; }

/**
 * TCP_Endpoint::SetState. Leaving the handshake (both sides were in INACTIVE/SYN_SENT/SYN_ACK_SENT)
 * switches the inactivity timeout from udp_inactivity_timeout to tcp_inactivity_timeout.
 */
@inline export function setState(rec: usize, ep: usize, s: Half): void {
  const old = stateOf(ep);
  if (<u8>s == old) return;
  if (!isHandshake(<u8>s) && isHandshake(old) && isHandshake(stateOf(otherEp(rec, ep)))) setFlag(rec, FF_INACT_TCP);
  store<u8>(ep + EP_PREV_STATE, old);
  store<u8>(ep + EP_STATE, <u8>s);
}

/** TCPSessionAdapter::SetFirstPacketSeen. */
export function setFirstPacketSeen(rec: usize, isOrig: bool): void { setFlag(rec, isOrig ? FF_FPS_ORIG : FF_FPS_RESP); }

/** Zeek connection_established handler of conn/inactivity.zeek: interactive ports keep 1 h. */
function connectionEstablished(rec: usize): void {
  const p = <u32>load<u16>(rec + FR_RESP_PORT);
  if (p == 21 || p == 22 || p == 23 || p == 513) setFlag(rec, FF_INACT_LONG);
}

/**
 * UpdateInactiveState: the first packet from this side that changes its state (the handshake's
 * fast paths, tracker.ts synOpen/synAckAnswer, call it directly: updateStateMachine stays inlined
 * into process()).
 */
export function updateInactive(now: i64, baseSeq: u32, len: u32, isOrig: bool, flags: u32): void {
  const rec = FLOW_STATE.curRec;
  if ((flags & TH_SYN) != 0) {
    if (isOrig) {
      // An originator SYN (SYN-ACK: weird connection_originator_SYN_ack) arms the attempt timer.
      setState(rec, FLOW_STATE.curEp, (flags & TH_ACK) != 0 ? Half.SynAckSent : Half.SynSent);
      if (OPTIONS.attemptDelayUs != 0) {
        setAttemptTime(rec, now);
        setFlag(rec, FF_ATTEMPT);
      }
    } else {
      if ((flags & TH_ACK) == 0 && stateOf(FLOW_STATE.curPeer) == <u8>Half.SynAckSent && baseSeq == startSeq(FLOW_STATE.curEp)) {
        // SYN/SYN-ACK reversal (e.g. two capture interfaces): flip and establish the connection.
        clearFlag(rec, FF_PARTIAL);
        flipCurrent();
        setState(rec, FLOW_STATE.curPeer, Half.Established);
        setFirstPacketSeen(rec, true);
      }
      // A SYN-ACK answering the originator's SYN establishes both sides at once: the final ACK
      // of the 3-way handshake is not needed (zeek-semantics.md §2).
      if (stateOf(FLOW_STATE.curPeer) == <u8>Half.SynSent) setState(rec, FLOW_STATE.curPeer, Half.Established);
      setState(rec, FLOW_STATE.curEp, Half.Established);
      if (stateOf(FLOW_STATE.curPeer) != <u8>Half.Partial) connectionEstablished(rec);
    }
  }
  if ((flags & TH_FIN) != 0) {
    setState(rec, FLOW_STATE.curEp, Half.Closed);
    FLOW_STATE.doClose = true; FLOW_STATE.genEvent = true;
  }
  if ((flags & TH_RST) != 0) {
    setState(rec, FLOW_STATE.curEp, Half.Reset);
    // An originator RST answering an unseen SYN's SYN-ACK, or a responder RST to a SYN: a reject.
    const ps = stateOf(FLOW_STATE.curPeer);
    const isReject = isOrig ? ps == <u8>Half.Established : (ps == <u8>Half.SynSent || ps == <u8>Half.SynAckSent);
    FLOW_STATE.doClose = true;
    FLOW_STATE.genEvent = !isReject;
  }
  if (stateOf(FLOW_STATE.curEp) == <u8>Half.Inactive) {
    if (!isOrig && len == 0 && stateOf(rec + <usize>FR_ORIG) == <u8>Half.SynSent) {
      // Some stacks ACK a SYN before answering it; not a partial connection.
    } else if ((flags & TH_ACK) != 0 && stateOf(FLOW_STATE.curPeer) == <u8>Half.Established) {
      // SYN-ACK seen, the SYN missed, and now the ACK: establish rather than call it partial.
      setState(rec, FLOW_STATE.curEp, Half.Established);
      clearFlag(rec, FF_PARTIAL);
      setFirstPacketSeen(rec, isOrig);
    } else {
      setState(rec, FLOW_STATE.curEp, Half.Partial);
    }
  }
}

/** TCPSessionAdapter::ConnectionReset / ConnectionFinished both end Zeek's is_active. */
@inline function analyzerDone(rec: usize): void { setFlag(rec, FF_NOT_ACTIVE); }

/** UpdateSYN_SentState: a side that sent SYN (or SYN-ACK) and was not yet answered. */
function updateSynSent(flags: u32): void {
  if ((flags & TH_FIN) != 0) {
    setState(FLOW_STATE.curRec, FLOW_STATE.curEp, Half.Closed);
    FLOW_STATE.doClose = true; FLOW_STATE.genEvent = true;
  }
  if ((flags & TH_RST) != 0) {
    setState(FLOW_STATE.curRec, FLOW_STATE.curEp, Half.Reset);
    analyzerDone(FLOW_STATE.curRec);
    FLOW_STATE.doClose = true;
  }
}

/** UpdateEstablishedState: ESTABLISHED or PARTIAL. */
function updateEstablished(flags: u32): void {
  const rec = FLOW_STATE.curRec;
  if ((flags & TH_SYN) != 0 && stateOf(FLOW_STATE.curEp) == <u8>Half.Partial && stateOf(FLOW_STATE.curPeer) == <u8>Half.Inactive && (flags & TH_ACK) == 0) {
    setState(rec, FLOW_STATE.curEp, Half.SynSent); // SYN after a partial start: this SYN may set the connection up
  }
  if ((flags & TH_FIN) != 0 && (flags & TH_RST) == 0) {
    setState(rec, FLOW_STATE.curEp, Half.Closed);
    // The peer sent FIN then RST: that was a normal termination after all.
    if (stateOf(FLOW_STATE.curPeer) == <u8>Half.Reset && load<u8>(FLOW_STATE.curPeer + EP_PREV_STATE) == <u8>Half.Closed) setState(rec, FLOW_STATE.curPeer, Half.Closed);
    FLOW_STATE.doClose = true; FLOW_STATE.genEvent = true;
  }
  if ((flags & TH_RST) != 0) {
    setState(rec, FLOW_STATE.curEp, Half.Reset);
    FLOW_STATE.doClose = true;
    if (stateOf(FLOW_STATE.curPeer) != <u8>Half.Reset || load<u8>(FLOW_STATE.curPeer + EP_PREV_STATE) != <u8>Half.Established) analyzerDone(rec);
  }
}

/** UpdateClosedState: an RST after our FIN counts unless the peer closed too (then it was a normal close). */
function updateClosed(flags: u32): void {
  if ((flags & TH_RST) != 0 && stateOf(FLOW_STATE.curPeer) != <u8>Half.Closed) {
    setState(FLOW_STATE.curRec, FLOW_STATE.curEp, Half.Reset);
    if (!epHas(FLOW_STATE.curEp, EF_DID_CLOSE)) FLOW_STATE.doClose = true;
  }
}

/** TCPSessionAdapter::UpdateStateMachine: one function per current state of the sender. */
export function updateStateMachine(now: i64, baseSeq: u32, len: u32, isOrig: bool, flags: u32): void {
  FLOW_STATE.doClose = false;
  FLOW_STATE.genEvent = false;
  switch (<i32>stateOf(FLOW_STATE.curEp)) {
    case Half.Inactive: updateInactive(now, baseSeq, len, isOrig, flags); break;
    case Half.SynSent:
    case Half.SynAckSent: updateSynSent(flags); break;
    case Half.Established:
    case Half.Partial: updateEstablished(flags); break;
    case Half.Closed: updateClosed(flags); break;
    default: break; // RESET is terminal: later packets only cause weirds
  }
}

/**
 * TCPSessionAdapter::ConnectionClosed. A complete close (RST, both FINs, or a FIN facing a silent
 * peer) cancels the analyzer timers and schedules removal tcp_close_delay after last_time; a half
 * close arms another expire-timer chain.
 */
export function connectionClosed(rec: usize, ep: usize, peer: usize, gen: bool): void {
  if (dataPending(rec, ep, peer, lastFull(rec, ep), startSeq64(ep))) {
    // Data still to deliver: Zeek defers the close until this side's EOF.
    if ((flagsOf(rec) & FF_DEFERRED_GEN) == 0 && gen) setFlag(rec, FF_DEFERRED_GEN);
    setFlag(rec, FF_CLOSE_DEFERRED);
    return;
  }
  clearFlag(rec, FF_CLOSE_DEFERRED);
  if (epHas(ep, EF_DID_CLOSE)) return;
  epSet(ep, EF_DID_CLOSE);
  const complete = stateOf(ep) == <u8>Half.Reset || epHas(peer, EF_DID_CLOSE) || stateOf(peer) == <u8>Half.Inactive;
  if (complete) {
    if (load<u8>(ep + EP_PREV_STATE) != <u8>Half.Inactive || stateOf(peer) != <u8>Half.Inactive) {
      if ((flagsOf(rec) & FF_DEFERRED_GEN) != 0) { gen = true; clearFlag(rec, FF_DEFERRED_GEN); }
      if (gen) analyzerDone(rec);
    }
    setFlag(rec, FF_TIMERS_OFF);
    clearFlag(rec, FF_ATTEMPT);
    setTimeAt(rec, FR_CLOSE_AT, timeAt(rec, FR_TS_LAST) + OPTIONS.closeDelayUs);
  } else if (load<u8>(ep + EP_PREV_STATE) != <u8>Half.Inactive) {
    setTimeAt(rec, FR_EXPIRE2, timeAt(rec, FR_TS_LAST) + SESSION_TIMER_US);
  }
}

/**
 * TCP_Reassembler::CheckEOF + TCPSessionAdapter::EndpointEOF: a deferred close happens once the data is in.
 * The tests that end it for an open side inline (process() asks twice a segment), the rest out of line.
 */
@inline export function checkEOF(rec: usize, ep: usize): void {
  if (epHas(ep, EF_DID_EOF)) return;
  const s = stateOf(ep);
  if (!epHas(ep, EF_FIN_SEEN) && s != <u8>Half.Closed && s != <u8>Half.Reset) return;
  checkEOFClosing(rec, ep);
}

/** checkEOF() for a side that sent a FIN, closed or reset. */
function checkEOFClosing(rec: usize, ep: usize): void {
  const peer = otherEp(rec, ep);
  if (dataPending(rec, ep, peer, lastFull(rec, ep), startSeq64(ep))) return;
  epSet(ep, EF_DID_EOF);
  if ((flagsOf(rec) & FF_CLOSE_DEFERRED) != 0) {
    connectionClosed(rec, ep, peer, (flagsOf(rec) & FF_DEFERRED_GEN) != 0);
    clearFlag(rec, FF_CLOSE_DEFERRED);
  }
}
