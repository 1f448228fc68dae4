// Output ring: finished flow records are copied here (FR_SIZE bytes each) for the host to read.
// The host drains it after every engine call; the engine stops consuming input while it is
// nearly full, so one call never has to hold more than OUT_CAP records.

import { FR_SIZE, REC_LIVE, FR_EXT, EXT_SIZE } from "./record";
import { copyBlock, zeroBlock, alloc } from "../mem";
import { traceNearlyFull } from "./trace";

export const OUT_CAP: i32 = 4096;
/**
 * Room kept free for the segments still queued in the tracker's batch (32): each can emit a
 * timed-out or reused record, an evicted one and two swept ones.
 */
export const OUT_MARGIN: i32 = 160;

let outBase: usize = 0;
let outCount: i32 = 0;

export function outInit(): void {
  if (outBase == 0) outBase = alloc(<usize>OUT_CAP * <usize>FR_SIZE);
  outCount = 0;
}
export function outPtr(): usize { return outBase; }
export function outLen(): i32 { return outCount; }
export function outClear(): void { outCount = 0; }
/** True when the engine must return to let the host drain the ring (or the trace ring, trace.ts). */
@inline export function outNearlyFull(): bool { return outCount >= OUT_CAP - OUT_MARGIN || traceNearlyFull(); }

/** Copies a finished record (live part, and extension or zeros when `ext` is 0) into the ring. Callers keep outNearlyFull() false, so it always fits. */
export function outPush(rec: usize, ext: usize): void {
  // SAFETY: callers stop before OUT_CAP - OUT_MARGIN records, so the slot is inside the ring.
  const slot = outBase + <usize>outCount * <usize>FR_SIZE;
  copyBlock(slot, rec, <usize>REC_LIVE);
  if (ext != 0) copyBlock(slot + <usize>FR_EXT, ext, <usize>EXT_SIZE);
  else zeroBlock(slot + <usize>FR_EXT, <usize>EXT_SIZE);
  outCount++;
}
