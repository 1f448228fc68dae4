// When Zeek would remove a connection, given its state since its last packet.
//
// Zeek keeps timers per connection and fires them as packet time advances (zeek-semantics.md §7).
// Between two packets of one connection its state cannot change, so the earliest timer that would
// remove it is a pure function of the record; we evaluate it lazily when the next packet of the
// same 5-tuple arrives (a packet at or after that time starts a new record) and in an incremental
// sweep that emits idle records. Timers (TCPSessionAdapter.cc, Conn.cc):
//   - ConnDeleteTimer: last_time + tcp_close_delay after a complete close;
//   - AttemptTimer: first SYN + tcp_attempt_delay while the SYN is unanswered;
//   - ExpireTimer: every tcp_session_timer from creation + tcp_SYN_timeout (and from a half close),
//     removing a connection idle for more than tcp_connection_linger that is closed on one side and
//     closed, reset or silent on the other, or silent on both;
//   - InactivityTimer: last_time + the inactivity timeout (1 min in the handshake, 5 min after,
//     1 h for interactive ports).

import {
  FR_FLAGS, FF_ATTEMPT, FF_TIMERS_OFF, FF_NOT_ACTIVE, FF_INACT_TCP, FF_INACT_LONG, FR_TS_LAST,
  FR_TS_START, FR_CLOSE_AT, FR_EXPIRE2, FR_ORIG, FR_RESP, EP_STATE, EP_FLAGS, EF_DID_CLOSE, Half, EndReason,
} from "./live";
import {
  SYN_TIMEOUT_US, SESSION_TIMER_US,
  CONNECTION_LINGER_US,
} from "../options";
import { OPTIONS, TIMERS } from "../state";
import { timeAt, attemptTime } from "./narrow";

export const NEVER: i64 = i64.MAX_VALUE;

/** Set by removalTime(): why the record goes at that time. */
TIMERS.removalReason = EndReason.EndOfInput;

/** First tick of the chain (base, base + period, ...) strictly after x. */
@inline function nextTickAfter(base: i64, period: i64, x: i64): i64 {
  if (x < base) return base;
  return base + ((x - base) / period + 1) * period;
}

/** The inactivity timeout that applies to a record with flags f (µs; 0: none). */
@inline function inactivityTimeout(f: u32): i64 {
  return (f & FF_INACT_LONG) != 0 ? OPTIONS.inactivityInteractiveUs : (f & FF_INACT_TCP) != 0 ? OPTIONS.inactivityUs : OPTIONS.handshakeInactivityUs;
}

/** The time at which Zeek would remove this record if no further packet arrives, or NEVER. */
export function removalTime(rec: usize): i64 {
  const f = load<u32>(rec + FR_FLAGS);
  // The common case, an open connection: no close time, neither side closed, the responder not
  // INACTIVE (no attempt timer, not silent). Only the inactivity timer can remove it, as below.
  if (load<i32>(rec + FR_CLOSE_AT) == 0 && load<u8>(rec + FR_RESP + EP_STATE) != <u8>Half.Inactive &&
      ((load<u8>(rec + FR_ORIG + EP_FLAGS) | load<u8>(rec + FR_RESP + EP_FLAGS)) & EF_DID_CLOSE) == 0) {
    TIMERS.removalReason = EndReason.Inactivity;
    const timeout = inactivityTimeout(f);
    if (timeout > 0) {
      const t = timeAt(rec, FR_TS_LAST) + timeout;
      if (t < NEVER) return t;
    }
    return NEVER;
  }
  const last = timeAt(rec, FR_TS_LAST);
  const closeAt = timeAt(rec, FR_CLOSE_AT);
  let best = NEVER;
  TIMERS.removalReason = EndReason.Inactivity;
  if (closeAt != 0) { best = closeAt; TIMERS.removalReason = EndReason.Closed; }

  const os = load<u8>(rec + FR_ORIG + EP_STATE), rs = load<u8>(rec + FR_RESP + EP_STATE);
  const analyzerTimers = (f & (FF_TIMERS_OFF | FF_NOT_ACTIVE)) == 0;

  if (analyzerTimers && (f & FF_ATTEMPT) != 0 && (os == <u8>Half.SynSent || os == <u8>Half.SynAckSent) && rs == <u8>Half.Inactive) {
    const t = attemptTime(rec) + OPTIONS.attemptDelayUs;
    if (t < best) { best = t; TIMERS.removalReason = EndReason.AttemptTimeout; }
  }

  if (analyzerTimers) {
    const oc = (load<u8>(rec + FR_ORIG + EP_FLAGS) & EF_DID_CLOSE) != 0;
    const rc = (load<u8>(rec + FR_RESP + EP_FLAGS) & EF_DID_CLOSE) != 0;
    const closedEnough = (oc || rc) && ((oc && rc) || os == <u8>Half.Reset || rs == <u8>Half.Reset ||
      os == <u8>Half.Inactive || rs == <u8>Half.Inactive);
    const silent = os == <u8>Half.Inactive && rs == <u8>Half.Inactive;
    if (closedEnough || silent) {
      const idleAfter = last + CONNECTION_LINGER_US; // a tick must come strictly later
      let t = nextTickAfter(load<i64>(rec + FR_TS_START) + SYN_TIMEOUT_US, SESSION_TIMER_US, idleAfter);
      const e2 = timeAt(rec, FR_EXPIRE2);
      if (e2 != 0) {
        const t2 = nextTickAfter(e2, SESSION_TIMER_US, idleAfter);
        if (t2 < t) t = t2;
      }
      if (t < best) { best = t; TIMERS.removalReason = closedEnough ? EndReason.Linger : EndReason.Inactivity; }
    }
  }

  const timeout = inactivityTimeout(f);
  if (timeout > 0) {
    const t = last + timeout;
    if (t < best) { best = t; TIMERS.removalReason = EndReason.Inactivity; }
  }
  return best;
}
