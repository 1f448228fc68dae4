// Sequence-number bookkeeping of one endpoint, mirroring Zeek's TCP_Endpoint (TCP_Endpoint.h/.cc)
// and the helpers in TCPSessionAdapter.cc, because conn.log's byte counts are derived from them:
// start_seq (64-bit), last_seq and ack_seq (32-bit, each with a wrap counter), and the
// "relative" sequence space that makes flows over 4 GiB count right (zeek-semantics.md §5).
//
// 32-bit comparisons always use serial arithmetic (RFC 1982): seqDelta(a, b) < 0 means a is before b.

import { EP_START, EP_LAST_SEQ, EP_SEQ_WRAPS, EP_ACK_SEQ, EP_ACK_WRAPS, EP_STATE, EP_PREV_STATE, EP_FLAGS, EF_FIN_SEEN, Half } from "./live";
import { SEQ } from "../state";
import { wrapsAt, bumpWraps } from "./narrow";

/** Zeek TOO_LARGE_SEQ_DELTA: SYN/RST sequence jumps beyond 1 MiB are not trusted. */
export const TOO_LARGE_SEQ_DELTA: i32 = 1048576;

@inline export function seqDelta(a: u32, b: u32): i32 { return <i32>(a - b); }

@inline export function startSeq(ep: usize): u32 { return load<u32>(ep + EP_START); }
@inline export function startSeq64(ep: usize): i64 { return <i64><u64>load<u32>(ep + EP_START); }
@inline export function lastSeq(ep: usize): u32 { return load<u32>(ep + EP_LAST_SEQ); }
@inline export function ackSeq(ep: usize): u32 { return load<u32>(ep + EP_ACK_SEQ); }

// The Init* setters take the 32-bit wire value. Zeek's InitStartSeq(int64_t) is only ever given a
// uint32_t, so the live record keeps start_seq in 32 bits and startSeq64() zero-extends it.
@inline export function initStartSeq(ep: usize, s: u32): void { store<u32>(ep + EP_START, s); }
@inline export function initLastSeq(ep: usize, s: u32): void { store<u32>(ep + EP_LAST_SEQ, s); }
@inline export function initAckSeq(ep: usize, s: u32): void { store<u32>(ep + EP_ACK_SEQ, s); }

/** UpdateLastSeq: a numerically smaller value after a forward move means the space wrapped. */
@inline export function updateLastSeq(rec: usize, ep: usize, s: u32): void {
  if (s < lastSeq(ep)) bumpWraps(rec, ep, EP_SEQ_WRAPS);
  store<u32>(ep + EP_LAST_SEQ, s);
}
@inline export function updateAckSeq(rec: usize, ep: usize, s: u32): void {
  if (s < ackSeq(ep)) bumpWraps(rec, ep, EP_ACK_WRAPS);
  store<u32>(ep + EP_ACK_SEQ, s);
}

@inline export function fullSeq(s: u32, wraps: u32): u64 { return (<u64>wraps << 32) | <u64>s; }
@inline export function toRelative(ep: usize, s: u32, wraps: u32): u64 { return fullSeq(s, wraps) - <u64>startSeq64(ep); }
// The functions below take the live record `rec` of the endpoint block `ep` (a wrap count past 254 is in its extension block).
@inline export function lastFull(rec: usize, ep: usize): u64 { return fullSeq(lastSeq(ep), wrapsAt(rec, ep, EP_SEQ_WRAPS)); }
@inline export function ackFull(rec: usize, ep: usize): u64 { return fullSeq(ackSeq(ep), wrapsAt(rec, ep, EP_ACK_WRAPS)); }
/** The endpoint's acknowledged point in relative sequence space. */
@inline export function relAckOf(rec: usize, ep: usize): u64 { return toRelative(ep, ackSeq(ep), wrapsAt(rec, ep, EP_ACK_WRAPS)); }

/** Set by relativeSeq() when the value lies before start_seq (Zeek's seq/ack underflow weirds). */
SEQ.seqUnderflow = false;

/**
 * Zeek get_relative_seq: the 64-bit offset of `cur` from start_seq, using `last`/`wraps` to decide
 * which 32-bit lap `cur` belongs to. Before start_seq (first lap only) the result is the negative
 * 32-bit delta widened to u64, and seqUnderflow is set.
 */
export function relativeSeq(ep: usize, cur: u32, last: u32, wraps: u32): u64 {
  SEQ.seqUnderflow = false;
  let delta = seqDelta(cur, last);
  if (delta < 0) {
    if (wraps != 0 && cur > last) wraps--;     // part of the previous 32-bit lap
  } else if (delta > 0) {
    if (cur < last) wraps++;                   // the space wrapped around
  }
  if (wraps == 0) {
    delta = seqDelta(cur, startSeq(ep));
    if (delta < 0) SEQ.seqUnderflow = true;
    return <u64><i64>delta;
  }
  return toRelative(ep, cur, wraps);
}

/** Zeek NoDataAcked: the peer has acknowledged nothing beyond the SYN. */
export function noDataAcked(rec: usize, ep: usize): bool {
  const a = ackFull(rec, ep), s = <u64>startSeq64(ep);
  return a == s || a == s + 1;
}

/**
 * Zeek TCP_Endpoint::Size: the sequence-space extent of what this side sent (or was acknowledged
 * for), minus the SYN and FIN octets. peerState is the other endpoint's state.
 */
export function endpointSize(rec: usize, ep: usize, peerState: u8): u64 {
  // A half-open connection discovered and aborted: the sequence numbers say nothing about data.
  if (load<u8>(ep + EP_PREV_STATE) == <u8>Half.SynSent && load<u8>(ep + EP_STATE) == <u8>Half.Reset &&
      peerState == <u8>Half.Inactive && !noDataAcked(rec, ep)) return 0;
  const last = lastFull(rec, ep), ack = ackFull(rec, ep);
  let size: u64 = (last > ack ? last : ack) - <u64>startSeq64(ep);
  if (size != 0) size--;                                              // SYN octet
  if ((load<u8>(ep + EP_FLAGS) & EF_FIN_SEEN) != 0 && size != 0) size--; // FIN octet
  return size;
}
