// The live record's narrow fields (live.ts): times kept as i32 offsets from the record's start
// time, u64 endpoint counters kept as their low 32 bits, and u64 relative sequence numbers kept in
// 32 bits while they fit. Every value keeps its full range: one that does not fit is kept whole
// in the extension block's live-only tail (live.ts X_TAIL, allocated then; the slots below take its
// tail base, table.ts extTailOf), so what the record reads back is always the exact value the wide
// field held, never a wrapped one.

import { FR_FLAGS, FF_ATTEMPT_AT_START, FF_SYN_AT_START, FF_SYN_SET, X_TS_ATTEMPT, X_TS_SYN, FR_TS_START, FR_TIMES, FR_ORIG, FR_DEADLINE, X_TIMES, EP_REASM, EP_TRIM, X_REASM, X_TRIM, X_FIN_SEQ, EP_SEQ_WRAPS, X_SEQ_WRAPS, X_ACK_WRAPS, EP_CNT_G, X_CNT_G, EP_SYNS, X_SYNS } from "./live";
import { extTailOf, extTailAttachOf } from "./table";

/** A narrow time field holding this keeps its value in its X_TIMES slot. */
const IN_EXT: i32 = i32.MIN_VALUE;

/** Address of the X_TIMES slot of narrow time field `f` at tail base x (table.ts extTailOf). */
@inline function timeSlot(x: usize, f: i32): usize { return x + <usize>X_TIMES + (<usize>(f - FR_TIMES) << 1); }

/**
 * The time (µs) in narrow time field `f` of the live record r. Encoding: 0 is the time 0 (a field
 * never set), d > 0 is FR_TS_START + d - 1, d < 0 (but not IN_EXT) is FR_TS_START + d.
 */
@inline export function timeAt(r: usize, f: i32): i64 {
  const d = load<i32>(r + <usize>f);
  if (d == 0) return 0;
  if (d == IN_EXT) return load<i64>(timeSlot(extTailOf(r), f));
  return load<i64>(r + FR_TS_START) + <i64>(d > 0 ? d - 1 : d);
}

/** Sets narrow time field `f` of the live record r to time t (µs); FR_TS_START must be set first. */
@inline export function setTimeAt(r: usize, f: i32, t: i64): void { setTimeSince(r, f, t, t - load<i64>(r + FR_TS_START)); }

/** setTimeAt() for a caller that has `off`, t - FR_TS_START (wrapping as an i64 subtraction does), at hand. */
@inline export function setTimeSince(r: usize, f: i32, t: i64, off: i64): void {
  // The common case (per packet): t at or up to 35.8 minutes after the start.
  if (t != 0 && off >= 0 && off < <i64>i32.MAX_VALUE) store<i32>(r + <usize>f, <i32>off + 1);
  else setTimeSlow(r, f, t, off);
}

function setTimeSlow(r: usize, f: i32, t: i64, off: i64): void {
  let d: i32 = 0;
  if (t != 0) {
    if (off >= 0 && off < <i64>i32.MAX_VALUE) d = <i32>off + 1;
    else if (off < 0 && off > <i64>IN_EXT) d = <i32>off;
    else {
      store<i64>(timeSlot(extTailAttachOf(r), f), t);
      d = IN_EXT;
    }
  }
  store<i32>(r + <usize>f, d);
}

/** The duration (µs) in narrow field `f` of the live record r (FR_HS_RTT): kept as is when it fits. */
@inline export function durationAt(r: usize, f: i32): i64 {
  const d = load<i32>(r + <usize>f);
  return d == IN_EXT ? load<i64>(timeSlot(extTailOf(r), f)) : <i64>d;
}

/** Sets narrow duration field `f` of the live record r to v (µs). */
export function setDurationAt(r: usize, f: i32, v: i64): void {
  let d: i32 = <i32>v;
  if (v <= <i64>IN_EXT || v > <i64>i32.MAX_VALUE) {
    store<i64>(timeSlot(extTailAttachOf(r), f), v);
    d = IN_EXT;
  }
  store<i32>(r + <usize>f, d);
}

/**
 * Caches in FR_DEADLINE a lower bound of time t (µs): floor((t - FR_TS_START) / 1024), or i32.MAX
 * when that is larger (t is then at least 25 days after the start, or NEVER), or i32.MIN when it is
 * smaller (read back as no bound at all).
 */
@inline export function setDeadlineFloor(r: usize, t: i64): void {
  const d = (t - load<i64>(r + FR_TS_START)) >> 10;
  store<i32>(r + FR_DEADLINE, d > <i64>i32.MAX_VALUE ? i32.MAX_VALUE : d <= <i64>i32.MIN_VALUE ? i32.MIN_VALUE : <i32>d);
}

/** The lower bound setDeadlineFloor() cached: the record is not removed before this time (µs). */
@inline export function deadlineFloor(r: usize): i64 { return deadlineFloorAt(r, load<i64>(r + FR_TS_START)); }

/** deadlineFloor() for a caller that has loaded the record's FR_TS_START (`start`). */
@inline export function deadlineFloorAt(r: usize, start: i64): i64 {
  const d = load<i32>(r + FR_DEADLINE);
  return d == i32.MIN_VALUE ? i64.MIN_VALUE : start + (<i64>d << 10);
}

/**
 * Adds n to the u64 endpoint counter whose low 32 bits are at ep + `lo` of the live record r and
 * whose high 32 bits are the side's half of the extension block's u32 pair at `hi` (live.ts).
 */
@inline export function addWide(r: usize, ep: usize, lo: i32, hi: i32, n: u64): void {
  const s = <u64>load<u32>(ep + <usize>lo) + n;
  store<u32>(ep + <usize>lo, <u32>s);
  if (s > 0xFFFFFFFF) carryWide(r, ep, hi, <u32>(s >> 32));
}

function carryWide(r: usize, ep: usize, hi: i32, c: u32): void {
  const p = extTailAttachOf(r) + <usize>hi + (ep == r + <usize>FR_ORIG ? 0 : 4);
  store<u32>(p, load<u32>(p) + c);
}

/**
 * The u64 value of the counter addWide() keeps (`side` 0 for the originator, 4 for the responder);
 * `tail` is the record's extTailOf() (0 without a tail).
 */
@inline export function wideAt(ep: usize, lo: i32, tail: usize, hi: i32, side: usize): u64 {
  const h: u64 = tail != 0 ? <u64>load<u32>(tail + <usize>hi + side) : 0;
  return (h << 32) | <u64>load<u32>(ep + <usize>lo);
}

/** A narrow relative sequence field holding this keeps its value in its extension slot. */
const REL_IN_EXT: u32 = 0xFFFFFFFF;

/** Address of the extension slot (X_REASM, X_TRIM, X_FIN_SEQ: a u64 pair) of field `f` of endpoint ep at tail base x. */
@inline function relSlot(x: usize, r: usize, ep: usize, f: i32): usize {
  const pair = f == EP_REASM ? X_REASM : f == EP_TRIM ? X_TRIM : X_FIN_SEQ;
  return x + <usize>pair + (ep == r + <usize>FR_ORIG ? 0 : 8);
}

/**
 * The u64 relative sequence number in narrow field `f` (EP_REASM, EP_TRIM, EP_FIN_SEQ) of endpoint
 * ep of the live record r. Encoding: a u32 below REL_IN_EXT is the value, REL_IN_EXT says it is in
 * its extension slot (a side that moved more than 4 GiB).
 */
@inline export function relAt(r: usize, ep: usize, f: i32): u64 {
  const v = load<u32>(ep + <usize>f);
  if (v != REL_IN_EXT) return <u64>v;
  return load<u64>(relSlot(extTailOf(r), r, ep, f));
}

/** Sets narrow relative sequence field `f` of endpoint ep of the live record r to v. */
@inline export function setRelAt(r: usize, ep: usize, f: i32, v: u64): void {
  if (v < <u64>REL_IN_EXT) store<u32>(ep + <usize>f, <u32>v);
  else setRelSlow(r, ep, f, v);
}

function setRelSlow(r: usize, ep: usize, f: i32, v: u64): void {
  store<u64>(relSlot(extTailAttachOf(r), r, ep, f), v);
  store<u32>(ep + <usize>f, REL_IN_EXT);
}

/** A wrap counter byte holding this keeps the count in its extension slot. */
const WRAPS_IN_EXT: u32 = 0xFF;

/** Address of the extension slot (X_SEQ_WRAPS, X_ACK_WRAPS: a u32 pair) of wrap counter `f` of endpoint ep at tail base x. */
@inline function wrapsSlot(x: usize, r: usize, ep: usize, f: i32): usize {
  return x + <usize>(f == EP_SEQ_WRAPS ? X_SEQ_WRAPS : X_ACK_WRAPS) + (ep == r + <usize>FR_ORIG ? 0 : 4);
}

/** The wrap count in byte `f` (EP_SEQ_WRAPS, EP_ACK_WRAPS) of endpoint ep of the live record r. */
@inline export function wrapsAt(r: usize, ep: usize, f: i32): u32 {
  const w = <u32>load<u8>(ep + <usize>f);
  return w != WRAPS_IN_EXT ? w : load<u32>(wrapsSlot(extTailOf(r), r, ep, f));
}

/** Adds one to wrap counter `f` of endpoint ep of the live record r. */
@inline export function bumpWraps(r: usize, ep: usize, f: i32): void {
  const w = <u32>load<u8>(ep + <usize>f);
  if (w < WRAPS_IN_EXT - 1) store<u8>(ep + <usize>f, <u8>(w + 1));
  else bumpWrapsSlow(r, ep, f);
}

function bumpWrapsSlow(r: usize, ep: usize, f: i32): void {
  const p = wrapsSlot(extTailAttachOf(r), r, ep, f);
  const w = <u32>load<u8>(ep + <usize>f);
  store<u32>(p, (w == WRAPS_IN_EXT ? load<u32>(p) : w) + 1);
  store<u8>(ep + <usize>f, <u8>WRAPS_IN_EXT);
}

// ---- the G counter and the SYN count (live.ts EP_CNT_G, EP_SYNS) --------------------------------------
// Kept in 16 bits and 8 bits while they fit; the largest value says the count is in its extension slot.

/** An EP_CNT_G holding this keeps the count in its X_CNT_G slot. */
const GAPS_IN_EXT: u32 = 0xFFFF;

/** Address of the X_CNT_G slot (a u32 pair) of endpoint ep at tail base x. */
@inline function gapsSlot(x: usize, r: usize, ep: usize): usize {
  return x + <usize>X_CNT_G + (ep == r + <usize>FR_ORIG ? 0 : 4);
}

/** The G letter's counter (the output record's EP_CNT_G) of endpoint ep of the live record r. */
@inline export function gapsAt(r: usize, ep: usize): u32 {
  const g = <u32>load<u16>(ep + EP_CNT_G);
  return g != GAPS_IN_EXT ? g : load<u32>(gapsSlot(extTailOf(r), r, ep));
}

/** Adds one to the G letter's counter of endpoint ep of the live record r (a u32: wraps as the output record's would); returns the new count. */
@inline export function bumpGaps(r: usize, ep: usize): u32 {
  const g = <u32>load<u16>(ep + EP_CNT_G) + 1;
  if (g < GAPS_IN_EXT) {
    store<u16>(ep + EP_CNT_G, <u16>g);
    return g;
  }
  return bumpGapsSlow(r, ep);
}

function bumpGapsSlow(r: usize, ep: usize): u32 {
  const p = gapsSlot(extTailAttachOf(r), r, ep);
  const g = <u32>load<u16>(ep + EP_CNT_G);
  const c = (g == GAPS_IN_EXT ? load<u32>(p) : g) + 1;
  store<u32>(p, c);
  store<u16>(ep + EP_CNT_G, <u16>GAPS_IN_EXT);
  return c;
}

/** An EP_SYNS holding this keeps the count in its X_SYNS slot. */
const SYNS_IN_EXT: u32 = 0xFF;

/** Address of the X_SYNS slot (a u16 pair) of endpoint ep at tail base x. */
@inline function synsSlot(x: usize, r: usize, ep: usize): usize {
  return x + <usize>X_SYNS + (ep == r + <usize>FR_ORIG ? 0 : 2);
}

/** The SYNs endpoint ep of the live record r sent (the output record's u16 EP_SYNS: it stops at 65535). */
@inline export function synsAt(r: usize, ep: usize): u32 {
  const n = <u32>load<u8>(ep + EP_SYNS);
  return n != SYNS_IN_EXT ? n : <u32>load<u16>(synsSlot(extTailOf(r), r, ep));
}

/** Adds one SYN to endpoint ep of the live record r (the count stops at 65535). */
@inline export function bumpSyns(r: usize, ep: usize): void {
  const n = <u32>load<u8>(ep + EP_SYNS) + 1;
  if (n < SYNS_IN_EXT) store<u8>(ep + EP_SYNS, <u8>n);
  else bumpSynsSlow(r, ep);
}

function bumpSynsSlow(r: usize, ep: usize): void {
  const p = synsSlot(extTailAttachOf(r), r, ep);
  const n = <u32>load<u8>(ep + EP_SYNS);
  const c = n == SYNS_IN_EXT ? <u32>load<u16>(p) : n;
  if (c != 0xFFFF) store<u16>(p, <u16>(c + 1));
  store<u8>(ep + EP_SYNS, <u8>SYNS_IN_EXT);
}

// ---- the originator SYN times (live.ts X_TS_ATTEMPT, X_TS_SYN) ---------------------------------------
// Each is the record's start (its flag set), else whole in its extension slot (0 without a tail).

@inline function startOrExtTime(r: usize, atStart: u32, x: i32): i64 {
  if ((load<u32>(r + FR_FLAGS) & atStart) != 0) return load<i64>(r + FR_TS_START);
  const e = extTailOf(r);
  return e != 0 ? load<i64>(e + <usize>x) : 0;
}

function setStartOrExtTime(r: usize, atStart: u32, x: i32, t: i64): void {
  const f = load<u32>(r + FR_FLAGS);
  if (t == load<i64>(r + FR_TS_START)) {
    store<u32>(r + FR_FLAGS, f | atStart);
  } else {
    store<i64>(extTailAttachOf(r) + <usize>x, t);
    store<u32>(r + FR_FLAGS, f & ~atStart);
  }
}

/** The first originator SYN's time (µs; 0 = none): the attempt timer's base (the output record's FR_TS_ATTEMPT). */
export function attemptTime(r: usize): i64 { return startOrExtTime(r, FF_ATTEMPT_AT_START, X_TS_ATTEMPT); }
export function setAttemptTime(r: usize, t: i64): void { setStartOrExtTime(r, FF_ATTEMPT_AT_START, X_TS_ATTEMPT, t); }

/** The latest originator SYN's time before the SYN-ACK (µs; 0 = none): the handshake RTT's base (FR_TS_SYN). */
export function synTime(r: usize): i64 { return startOrExtTime(r, FF_SYN_AT_START, X_TS_SYN); }
export function setSynTime(r: usize, t: i64): void {
  setStartOrExtTime(r, FF_SYN_AT_START, X_TS_SYN, t);
  const f = load<u32>(r + FR_FLAGS);
  store<u32>(r + FR_FLAGS, t != 0 ? f | FF_SYN_SET : f & ~FF_SYN_SET);
}
/** Whether synTime(r) is not 0 (a flag: the steady path asks it). */
@inline export function hasSynTime(r: usize): bool { return (load<u32>(r + FR_FLAGS) & FF_SYN_SET) != 0; }
