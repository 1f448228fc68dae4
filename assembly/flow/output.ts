// Output ring: finished flow records are copied here (FR_SIZE bytes each) for the host to read.
// The host drains it after every engine call; the engine stops consuming input while it is
// nearly full, so one call never has to hold more than OUT_CAP records.

import { FR_SIZE, REC_LIVE, FR_EXT, EXT_SIZE } from "./record";
import { copyBlock, zeroBlock, alloc } from "../mem";
import { traceNearlyFull } from "./trace";
import { OUTPUT } from "../state";

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

/** Copies a finished record (live part, and extension or zeros when `ext` is 0) into the ring. Callers keep outNearlyFull() false, so it always fits. */
export function outPush(rec: usize, ext: usize): usize {
  // SAFETY: callers stop before OUT_CAP - OUT_MARGIN records, so the slot is inside the ring.
  const slot = OUTPUT.outBase + <usize>OUTPUT.outCount * <usize>FR_SIZE;
  copyBlock(slot, rec, <usize>REC_LIVE);
  if (ext != 0) copyBlock(slot + <usize>FR_EXT, ext, <usize>EXT_SIZE);
  else zeroBlock(slot + <usize>FR_EXT, <usize>EXT_SIZE);
  OUTPUT.outCount++;
  return slot;
}
