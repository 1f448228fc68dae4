// Output ring: finished flow records are copied here (FR_SIZE bytes each) for the host to read.
// The host drains it after every engine call; the engine stops consuming input while it is
// nearly full, so one call never has to hold more than OUT_CAP records.

import * as O from "./record";
import * as L from "./live";
import { FR_SIZE, FR_EXT, EXT_SIZE } from "./record";
import { copyBlock, copy16, zeroBlock, alloc } from "../mem";
import { traceNearlyFull } from "./trace";
import { OUTPUT } from "../state";
import { recordHash, keyAddr, extTailIn, extHoleOf } from "./table";
import { timeAt, durationAt, wideAt, relAt, wrapsAt, attemptTime, synTime, gapsAt, synsAt } from "./narrow";
import { removalTime } from "./timers";
import { inlineLetter, histLastFin, histLen } from "./history";
import { storeMidstream } from "./anomaly";

// expandRecord() writes the history bytes as 12 (u64 + u32) for the inline letters, 20 (v128 + u32) for the rest.
if (L.HIST_INLINE != 12 || O.HIST_CAP - L.HIST_INLINE != 20) ERROR("expandRecord() writes 12 inline and 20 more history bytes");
// expandRecord() copies a hole block's ranges (X_BLOCKS, both sides) and its 16 bytes from X_HOLE_TSVAL.
if (L.X_BLOCKS != L.X_HOLE_AT || L.X_HOLE_TSVAL + 16 > L.X_HOLE_AT + L.HOLE_SIZE || ((2 * L.X_BLOCKS_SIDE) & 15) != 0) ERROR("expandRecord() copies the hole block as live.ts lays it out");

export const OUT_CAP: i32 = 4096;
/**
 * Room kept free for the segments still queued in the tracker's batch (32): each can emit a
 * timed-out or reused record, an evicted one and two swept ones.
 */
export const OUT_MARGIN: i32 = 160;

OUTPUT.outBase = 0;
OUTPUT.outCount = 0;

export function outInit(): void {
  if (OUTPUT.outBase == 0) OUTPUT.outBase = alloc(<usize>OUT_CAP * <usize>FR_SIZE);
  OUTPUT.outCount = 0;
}
export function outPtr(): usize { return OUTPUT.outBase; }
export function outLen(): i32 { return OUTPUT.outCount; }
export function outClear(): void { OUTPUT.outCount = 0; }
/** True when the engine must return to let the host drain the ring (or the trace ring, trace.ts). */
@inline export function outNearlyFull(): bool { return OUTPUT.outCount >= OUT_CAP - OUT_MARGIN || traceNearlyFull(); }

/**
 * One endpoint block, live layout (live.ts) at `src` (in the live record `rec`) to output layout
 * (record.ts) at `dst`; `tail` is the tail base of the live extension block (table.ts extTailIn,
 * 0 when none) and `side` 0 for the originator, 4 for the responder (its half of the tail's u32 pairs).
 */
@inline function expandEndpoint(dst: usize, rec: usize, src: usize, tail: usize, side: usize): void {
  // The first 8 bytes (EP_STATE .. EP_MSS) keep their offsets.
  store<u64>(dst + O.EP_STATE, load<u64>(src + L.EP_STATE));
  store<u32>(dst + O.EP_PKTS, load<u32>(src + L.EP_PKTS));
  store<u32>(dst + O.EP_CNT_T, tail != 0 ? load<u32>(tail + <usize>L.X_CNT_T + side) : 0);
  store<u32>(dst + O.EP_CNT_W, tail != 0 ? load<u32>(tail + <usize>L.X_CNT_W + side) : 0);
  store<u32>(dst + O.EP_CNT_G, gapsAt(rec, src));
  store<u16>(dst + O.EP_WIN, load<u16>(src + L.EP_WIN));
  store<u16>(dst + O.EP_RTX_QUIET, tail != 0 ? load<u16>(tail + <usize>L.X_RTX_QUIET + (side >> 1)) : 0);
  store<u32>(dst + O.EP_SEEN, load<u32>(src + L.EP_SEEN));
  store<u64>(dst + O.EP_IP_BYTES, wideAt(src, L.EP_IP_BYTES, tail, L.X_IP_BYTES_HI, side));
  store<u64>(dst + O.EP_START, <u64>load<u32>(src + L.EP_START)); // zero extension (live.ts)
  store<u32>(dst + O.EP_LAST_SEQ, load<u32>(src + L.EP_LAST_SEQ));
  store<u32>(dst + O.EP_SEQ_WRAPS, wrapsAt(rec, src, L.EP_SEQ_WRAPS));
  store<u32>(dst + O.EP_ACK_SEQ, load<u32>(src + L.EP_ACK_SEQ));
  store<u32>(dst + O.EP_ACK_WRAPS, wrapsAt(rec, src, L.EP_ACK_WRAPS));
  store<u64>(dst + O.EP_FIN_SEQ, relAt(rec, src, L.EP_FIN_SEQ));
  store<u32>(dst + O.EP_HIST_SYN, tail != 0 ? load<u32>(tail + <usize>L.X_HIST_SYN + side) : 0);
  store<u32>(dst + O.EP_HIST_FIN, histLastFin(rec, src));
  store<u32>(dst + O.EP_LAST_ACKVAL, load<u32>(src + L.EP_LAST_ACKVAL));
  store<u8>(dst + O.EP_FLAGS2, load<u8>(src + L.EP_FLAGS2) & ~L.EF2_HIST_FIN_AT_FIN);
  store<u8>(dst + O.EP_DUPACKS, tail != 0 ? load<u8>(tail + <usize>L.X_DUPACKS + (side >> 2)) : 0);
  store<u16>(dst + O.EP_SYNS, <u16>synsAt(rec, src));
  store<u64>(dst + O.EP_REASM, relAt(rec, src, L.EP_REASM));
  store<u64>(dst + O.EP_TRIM, relAt(rec, src, L.EP_TRIM));
  store<u64>(dst + O.EP_MISSED, wideAt(src, L.EP_MISSED, tail, L.X_MISSED_HI, side));
}

/**
 * Writes the output record (record.ts layout, FR_SIZE bytes) of the live record `rec` (live.ts
 * layout) and its extension block `ext` (zeros when 0) at `dst`. Every byte of the output record is
 * written: what the live record does not hold is the key hash (recomputed), and zero for the end
 * reason and conn_state, which emission fills in.
 */
export function expandRecord(dst: usize, rec: usize, ext: usize): void {
  copy16(dst + O.FR_ORIG_ADDR, keyAddr(rec, false));
  copy16(dst + O.FR_RESP_ADDR, keyAddr(rec, true));
  store<u64>(dst + O.FR_ORIG_PORT, load<u64>(rec + L.FR_ORIG_PORT));
  store<u32>(dst + O.FR_HASH, recordHash(rec));
  store<u32>(dst + O.FR_FLAGS, load<u32>(rec + L.FR_FLAGS) & ~L.FF_LIVE_ONLY);
  store<i64>(dst + O.FR_TS_START, load<i64>(rec + L.FR_TS_START));
  store<i64>(dst + O.FR_TS_LAST, timeAt(rec, L.FR_TS_LAST));
  store<i64>(dst + O.FR_TS_ACTIVE, timeAt(rec, L.FR_TS_ACTIVE));
  store<i64>(dst + O.FR_TS_ATTEMPT, attemptTime(rec));
  store<i64>(dst + O.FR_TS_SYN, synTime(rec));
  store<i64>(dst + O.FR_HS_RTT, durationAt(rec, L.FR_HS_RTT));
  store<i64>(dst + O.FR_CLOSE_AT, timeAt(rec, L.FR_CLOSE_AT));
  store<i64>(dst + O.FR_EXPIRE2, timeAt(rec, L.FR_EXPIRE2));
  store<u32>(dst + O.FR_HIST_SEEN, load<u32>(rec + L.FR_HIST_SEEN));
  store<u8>(dst + O.FR_HIST_LEN, <u8>histLen(rec));
  store<u8>(dst + O.FR_END_REASON, 0);
  store<u8>(dst + O.FR_TUNNEL, <u8>((load<u32>(rec + L.FR_FLAGS) & L.FF_TUNNEL) >> L.FF_TUNNEL_SHIFT));
  store<u8>(dst + O.FR_CONN_STATE, 0);
  // History: the letters in the record, then those in the extension block's live tail (live.ts).
  // Code 0 is no letter and reads as byte 0: the bytes are zeroed, then written up to the last
  // letter the packed word holds (a flow's history is mostly shorter than HIST_INLINE).
  const hist = dst + O.FR_HISTORY;
  store<u64>(hist, 0);
  store<u32>(hist + 8, 0);
  let h = load<u64>(rec + L.FR_HISTORY);
  for (let i = 0; i < L.HIST_INLINE && h != 0; i++, h >>= 5) store<u8>(hist + <usize>i, <u8>inlineLetter(h, 0));
  const more = hist + <usize>L.HIST_INLINE;
  const tail = extTailIn(ext);
  if (tail != 0) {
    copy16(more, tail + L.X_HIST_MORE);
    store<u32>(more + 16, load<u32>(tail + L.X_HIST_MORE + 16));
  } else {
    v128.store(more, i64x2.splat(0));
    store<u32>(more + 16, 0);
  }
  store<i64>(dst + O.FR_DEADLINE, removalTime(rec)); // exact (live.ts FR_DEADLINE is a bound)
  expandEndpoint(dst + O.FR_ORIG, rec, rec + L.FR_ORIG, tail, 0);
  expandEndpoint(dst + O.FR_RESP, rec, rec + L.FR_RESP, tail, 4);
  if (ext != 0) copyBlock(dst + <usize>FR_EXT, ext, <usize>EXT_SIZE);
  else {
    zeroBlock(dst + <usize>FR_EXT, <usize>EXT_SIZE);
    // A midstream anomaly the record kept in its flags (live.ts FF_MIDSTREAM).
    const f = load<u32>(rec + L.FR_FLAGS);
    if ((f & L.FF_MIDSTREAM) != 0) storeMidstream(dst + <usize>FR_EXT, (f & L.FF_MIDSTREAM_RESP) != 0);
  }
  // The out-of-order ranges and hole clocks, from the hole block (the extension block's bytes there are zero).
  const hole = extHoleOf(rec);
  if (hole != 0) {
    copyBlock(dst + <usize>FR_EXT + <usize>L.X_BLOCKS, hole + <usize>L.X_BLOCKS, <usize>(2 * L.X_BLOCKS_SIDE));
    copy16(dst + <usize>FR_EXT + <usize>L.X_HOLE_TSVAL, hole + <usize>L.X_HOLE_TSVAL);
  }
}

/**
 * Writes a finished record (expandRecord) into the ring and returns where, for emission to fill in
 * the fields only a finished record has. Callers keep outNearlyFull() false, so it always fits.
 */
export function outPush(rec: usize, ext: usize): usize {
  // SAFETY: callers stop before OUT_CAP - OUT_MARGIN records, so the slot is inside the ring.
  const slot = OUTPUT.outBase + <usize>OUTPUT.outCount * <usize>FR_SIZE;
  expandRecord(slot, rec, ext);
  OUTPUT.outCount++;
  return slot;
}
