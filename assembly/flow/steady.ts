// The steady-state fast path of the tracker: most segments of an established connection change
// nothing but counters and sequence marks. steadySegment() decides in a few comparisons whether
// the segment is one of them and, if so, applies exactly the writes that tracker.ts process()
// would make for it; otherwise it changes nothing and the caller takes process().
//
// A segment qualifies when (every condition names the rule of process() it keeps from firing):
//   - its flags are ACK or ACK+PSH: no SYN/FIN/RST (history S/H/F/R/I/Q, state changes, close,
//     reset, simultaneous open/close, SYN/FIN retransmission, invalid flags), no URG/ECE/CWR;
//   - both endpoints are ESTABLISHED or PARTIAL (a connection seen from its middle) and neither
//     has sent a FIN or closed (UpdateEstablishedState does nothing without SYN/FIN/RST,
//     data_after_fin cannot fire, FR_TS_LAST moves, checkEOF returns at once, the FIN octet plays
//     no part in acks, removal timers stay those of an open connection);
//   - the side's first packet was seen (SetPartialStatus does nothing) and the history is not the
//     lone "H" of a late flip (no role flip): update_history then writes at most the side's D
//     (payload) or A (no payload) letter the first time (CheckHistory), which is written here too;
//   - its window and, for a 1-byte segment, the peer's last window are non-zero (W/w,
//     zero_window, zero_window_probe);
//   - it starts exactly at the side's last_seq (in order: no T/t, retransmission, out_of_order,
//     keep-alive shape), so payload is new data and reaches the HTTP scan as in process();
//   - the segment that starts a side's stream (relative sequence 1) goes to the service scan
//     (service.ts) as in process();
//   - its ack lies in the peer's sequence space (no underflow), not beyond what the peer sent
//     (ack_of_unseen_data), and, without payload, does not repeat the greatest ack this side sent
//     with its previous window (the RFC 5681 duplicate-ACK rule decides those on the full path);
//   - an originator ACK while the handshake RTT is still open takes it as process() does
//     (noteHandshakeAck);
//   - an ack that moves past the peer's reassembly point is taken only where Zeek reports the
//     hole as a gap and nothing else: no out-of-order ranges, and the peer's payload was cut by the
//     snaplen (G/g scaled letter and missed_bytes, but no content_gap anomaly), or a side is
//     PARTIAL (no G/g; missed_bytes and content_gap only with report_gaps_for_partial, then the
//     payload must have been cut too); or reassembly was given up (no gap at all).
// Payload handed to the reassembler goes through the same function as on the full path (deliverPayload).
//
// The switch: Option.FastPath (engine option `fastPath: false`) sends every segment the full path;
// test/host/fast-path.test.ts runs every capture of the suite both ways and demands identical records.

import {
  P_FLAGS, P_PAYLEN, P_SEQ, P_ACK, P_WIN, P_OPTS, P_IPLEN, P_PAYPTR, P_PAYCAP, TH_ACK, TH_PSH,
} from "../packet";
import {
  FR_ORIG, FR_RESP, FR_FLAGS, FR_TS_LAST, FR_TS_START, FR_HS_RTT, FR_HIST_SEEN,
  FF_FPS_ORIG, FF_FPS_RESP, FF_PARTIAL,
  EP_STATE, EP_FLAGS, EP_FLAGS2, EF2_TRUNCATED, EF2_ACK_SENT, EP_OPTS, EP_WIN, EP_PKTS, EP_IP_BYTES,
  EP_LAST_ACKVAL, EP_LAST_SEQ, EP_SEQ_WRAPS, EP_ACK_SEQ, EP_ACK_WRAPS, EP_REASM, EP_TRIM,
  EP_MISSED, EP_NBLOCKS, EF_DID_CLOSE, EF_FIN_SEEN, EF_SKIP, EF_SYN_SEEN, Half, HIST_DATA_PKT, HIST_ACK_PKT, X_MISSED_HI,
  X_IP_BYTES_HI,
} from "./live";
import { setTimeSince, durationAt, setDurationAt, addWide, relAt, setRelAt, wrapsAt, hasSynTime, synTime } from "./narrow";
import { TOO_LARGE_SEQ_DELTA, seqDelta, updateLastSeq, updateAckSeq, toRelative, startSeq } from "./seq";
import { gapHistory, historyIsLoneH, checkHistory } from "./history";
import { noteSegmentSent, deliverPayload } from "./wire-anomalies";
import { extTailOf } from "./table";
import { scanHttp } from "./http";
import { scanService } from "./service";
import { OPTIONS } from "../state";

/** Endpoint flags that rule the fast path out on either side. */
const EF_NOT_STEADY: u8 = EF_FIN_SEEN | EF_DID_CLOSE;

/**
 * Applies the segment described at `pk` to record `rec` if it is a steady-state segment (header
 * comment); returns false, having written nothing, when it must take the full path. Inlined into
 * its one caller (tracker.ts trackOne), which most segments of a capture reach. `sinceStart` is
 * now - FR_TS_START, which the caller has at hand.
 */
@inline export function steadySegment(pk: usize, rec: usize, isOrig: bool, now: i64, sinceStart: i64): bool {
  const flags = <u32>load<u8>(pk + P_FLAGS);
  if ((flags & ~TH_PSH) != TH_ACK) return false;
  // The sender's block and the other one: one select (the responder's block follows the originator's).
  const respSide: usize = isOrig ? 0 : <usize>(FR_RESP - FR_ORIG);
  const ep = rec + <usize>FR_ORIG + respSide, peer = rec + <usize>FR_RESP - respSide;
  // ESTABLISHED or PARTIAL (adjacent in Half), each side: both take UpdateEstablishedState.
  const es = <u32>load<u8>(ep + EP_STATE), ps = <u32>load<u8>(peer + EP_STATE);
  if (((es - <u32>Half.Partial) | (ps - <u32>Half.Partial)) > 1) return false;
  if (((load<u8>(ep + EP_FLAGS) | load<u8>(peer + EP_FLAGS)) & EF_NOT_STEADY) != 0) return false;

  const len = load<u32>(pk + P_PAYLEN);
  const rf = load<u32>(rec + FR_FLAGS);
  if ((rf & (isOrig ? FF_FPS_ORIG : FF_FPS_RESP)) == 0) return false;
  const letter = len != 0 ? HIST_DATA_PKT : HIST_ACK_PKT;
  const newLetter = (load<u32>(rec + FR_HIST_SEEN) & (isOrig ? letter : letter << 16)) == 0;
  if (historyIsLoneH(rec)) return false; // lone 'H'

  const win = <u32>load<u16>(pk + P_WIN);
  if (win == 0) return false;
  if (len == 1 && load<u16>(peer + EP_WIN) == 0) return false;
  const seq = load<u32>(pk + P_SEQ);
  if (seq != load<u32>(ep + EP_LAST_SEQ)) return false;

  // RFC 5681 §2 duplicate ACK (wire-anomalies.ts): a pure ACK repeating the greatest ack this side
  // sent, with the window of its previous segment, is judged on the full path.
  const ack = load<u32>(pk + P_ACK);
  const ackSent = (load<u8>(ep + EP_FLAGS2) & EF2_ACK_SENT) != 0;
  const greatestAck = load<u32>(ep + EP_LAST_ACKVAL);
  if (len == 0 && ackSent && ack == greatestAck && win == <u32>load<u16>(ep + EP_WIN)) return false;
  const rttOpen = isOrig && durationAt(rec, FR_HS_RTT) < 0 && hasSynTime(rec);

  // seq.ts relativeSeq() of the payload's sequence (its `last` is seq itself: no lap to adjust)
  // and of the ack, each with its underflow in a local (SEQ.seqUnderflow is read only right after
  // a relativeSeq() call of process(), so this path need not write it).
  const seqWraps = wrapsAt(rec, ep, EP_SEQ_WRAPS);
  let relSeq: u64, dataUnderflow = false;
  if (seqWraps == 0) {
    const d = seqDelta(seq, startSeq(ep));
    dataUnderflow = d < 0;
    relSeq = <u64><i64>d;
  } else relSeq = toRelative(ep, seq, seqWraps);
  const peerAck = load<u32>(peer + EP_ACK_SEQ);
  let ackWraps = wrapsAt(rec, peer, EP_ACK_WRAPS);
  const ackDelta = seqDelta(ack, peerAck);
  if (ackDelta < 0) {
    if (ackWraps != 0 && ack > peerAck) ackWraps--; // part of the previous 32-bit lap
  } else if (ackDelta > 0) {
    if (ack < peerAck) ackWraps++;                  // the space wrapped around
  }
  let relAck: u64;
  if (ackWraps == 0) {
    const d = seqDelta(ack, startSeq(peer));
    if (d < 0) return false; // an ack before the peer's start (underflow)
    relAck = <u64><i64>d;
  } else relAck = toRelative(peer, ack, ackWraps);
  if (relAck > toRelative(peer, load<u32>(peer + EP_LAST_SEQ), wrapsAt(rec, peer, EP_SEQ_WRAPS))) return false;

  // AckReceived on the peer's stream (reassembly.ts): what it will do, decided before any write.
  const trim = relAt(rec, peer, EP_TRIM), reasm = relAt(rec, peer, EP_REASM);
  const advances = relAck > trim && relAck > reasm;
  const peerSkips = (load<u8>(peer + EP_FLAGS) & EF_SKIP) != 0;
  // Zeek's Gap(): G/g only between two ESTABLISHED sides (is_clean), missed_bytes then or with
  // report_gaps_for_partial, and the content_gap anomaly with missed_bytes where no payload was cut.
  const clean = (es & ps) == <u32>Half.Established;
  const missed = clean || OPTIONS.reportGapsForPartial;
  if (advances) {
    if (relAck <= 2 && (rf & FF_PARTIAL) != 0) return false; // a partial connection's faked ISN
    if (!peerSkips && (load<u8>(peer + EP_NBLOCKS) != 0 || (missed && (load<u8>(peer + EP_FLAGS2) & EF2_TRUNCATED) == 0))) return false;
  }

  // ---- qualifies: the writes of process(), in its order ----
  // (FLOW_STATE's current record and sides are not set: state.ts, their only reader, is not called.)
  // update_history: the side's first D or A (its case: no flip here, isOrig is the side).
  if (newLetter) checkHistory(rec, ep, letter, len != 0 ? 0x44 : 0x41); // 'D' / 'A'
  store<u16>(ep + EP_WIN, <u16>win);
  setTimeSince(rec, FR_TS_LAST, now, sinceStart);
  store<u8>(ep + EP_OPTS, load<u8>(ep + EP_OPTS) | load<u8>(pk + P_OPTS));
  const d = seqDelta(ack, peerAck);
  if (!(ack == 0 && d > TOO_LARGE_SEQ_DELTA) && d > 0) updateAckSeq(rec, peer, ack);
  if (len != 0) updateLastSeq(rec, ep, seq + len);
  // checkWireAnomalies' bookkeeping (no anomaly fires): the greatest ack sent, liveness, "left SYN_SENT".
  noteSegmentSent(extTailOf(rec), rec, ep, peer, ack, false, false, true, isOrig, sinceStart);
  // In order, so its first octet is new (startsUnseen): the HTTP scan sees it.
  if (len != 0 && !dataUnderflow) {
    const pp = <usize>load<u32>(pk + P_PAYPTR), pc = load<u32>(pk + P_PAYCAP);
    if (pp != 0 && pc != 0) scanHttp(pp, pc);
    // Protocol detection reads the segment that starts this side's stream (process()).
    if (relSeq == 1) scanService(ep, isOrig ? 0 : 1, pp, pc, len);
  }
  if (relAck > trim) {
    if (advances) {
      // Zeek TCP_Reassembler::Undelivered with no buffered ranges: the hole up to the ack is a gap
      // (Gap(): G/g when both sides are established, missed_bytes as above), then reassembly moves to the ack.
      if (!peerSkips) {
        if (clean) gapHistory(rec, peer);
        if (missed) addWide(rec, peer, EP_MISSED, X_MISSED_HI, relAck - reasm);
      }
      store<u8>(peer + EP_NBLOCKS, 0);
      setRelAt(rec, peer, EP_REASM, relAck);
    }
    setRelAt(rec, peer, EP_TRIM, relAck);
  }
  if (len != 0 && !dataUnderflow) deliverPayload(pk, rec, ep, relSeq, len);
  store<u32>(ep + EP_PKTS, load<u32>(ep + EP_PKTS) + 1);
  addWide(rec, ep, EP_IP_BYTES, X_IP_BYTES_HI, <u64>load<u32>(pk + P_IPLEN));
  if (rttOpen) noteHandshakeAck(rec, ack, now);
  return true;
}

/**
 * The end of the handshake RTT, as Wireshark's tcp.analysis.initial_rtt (tracker.ts noteHandshake):
 * an originator segment with ACK and neither SYN nor RST that acknowledges the responder's SYN
 * while the RTT is open takes the time since the originator SYN that was answered.
 */
@inline export function noteHandshakeAck(rec: usize, ack: u32, now: i64): void {
  const resp = rec + <usize>FR_RESP;
  if (durationAt(rec, FR_HS_RTT) < 0 && synTime(rec) != 0 && (load<u8>(resp + EP_FLAGS) & EF_SYN_SEEN) != 0 &&
      ack == startSeq(resp) + 1) {
    const rtt = now - synTime(rec);
    setDurationAt(rec, FR_HS_RTT, rtt < 0 ? 0 : rtt); // a capture out of time order must not read as "not seen" (-1)
  }
}
