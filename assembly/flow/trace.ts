// Trace mode: one event per segment of one selected connection, written by the tracker itself, so a
// ladder diagram shows the engine's own view of that connection (issue 14).
//
// Selection is exact and needs no host-side key logic in the engine: the host arms the trace with a
// record's identity as a first pass reported it, the two endpoints (either order: a role flip swaps
// them) and the record's start time (FR_TS_START, which tells a reused port pair's connections apart).
//
// An event is TE_SIZE bytes: the segment descriptor as tracked (PKT_SIZE bytes, P_* layout, with the
// frame number in P_FRAME) followed by a copy of the whole record after the segment (FR_SIZE bytes:
// live part, then the extension or zeros, the output-ring layout). The host derives everything else
// from these two with the readers it already has (relative numbers, the history letters and
// anomalies a segment added, both endpoints' RFC 9293 states), so no rule is written twice.
//
// Cost: untraced work pays one predictable branch on `traceArmed` in the tracker (false unless a
// trace was armed) and nothing else; matching and copying happen only while a trace is armed.
// Bounded: events go to a ring of TRACE_CAP events; the decoders stop consuming input while it is
// nearly full (outNearlyFull), the host drains it with traceClear() after every call.

import { PKT_SIZE, PKT_RING_SLOTS } from "../packet";
import { FR_ORIG_PORT, FR_RESP_PORT, FR_TS_START } from "./live";
import { FR_SIZE } from "./record";
import { recPtr, extPtr, addrMatches } from "./table";
import { expandRecord } from "./output";
import { copyBlock, alloc } from "../mem";
import { TRACE } from "../state";

/** Bytes of one trace event: the descriptor, then the record. */
export const TE_PKT: i32 = 0;
export const TE_REC: i32 = <i32>PKT_SIZE;
export const TE_SIZE: i32 = <i32>PKT_SIZE + FR_SIZE;
/** Events the ring holds. A batch of the tracker adds at most PKT_RING_SLOTS events, hence the margin. */
export const TRACE_CAP: i32 = 1024;
const TRACE_MARGIN: i32 = PKT_RING_SLOTS * 2;

/** True while a trace is armed; the tracker's hook tests only this. */
TRACE.traceArmed = false;
/** The selection: two endpoints (16-byte addresses, ports) and the record's start time (µs). */
const KEY_A: usize = memory.data(16, 16);
const KEY_B: usize = memory.data(16, 16);
TRACE.portA = 0;
TRACE.portB = 0;
TRACE.startUs = 0;
/** Trace every record (tests and bulk extraction; the host tells the records apart). */
TRACE.everyRecord = false;

TRACE.ring = 0;
TRACE.count = 0;
/** Events of the traced connection that did not fit (never expected: the decoders stop first). */
TRACE.lost = 0;

/** Where the host writes the two 16-byte addresses (A then B) before traceArm(). */
export function traceKeyPtr(): usize { return KEY_A; }

/** Arms the trace for the record between A:portA and B:portB (either orientation) created at tsUs. */
export function traceArm(pa: u32, pb: u32, tsUs: i64): void {
  if (TRACE.ring == 0) TRACE.ring = alloc(<usize>TRACE_CAP * <usize>TE_SIZE);
  TRACE.portA = pa; TRACE.portB = pb; TRACE.startUs = tsUs;
  TRACE.count = 0; TRACE.lost = 0;
  TRACE.everyRecord = false;
  TRACE.traceArmed = true;
}

/** Arms the trace for every record: one event per tracked segment. */
export function traceArmAll(): void {
  traceArm(0, 0, 0);
  TRACE.everyRecord = true;
}

export function traceDisarm(): void { TRACE.traceArmed = false; TRACE.everyRecord = false; TRACE.count = 0; }
export function tracePtr(): usize { return TRACE.ring; }
export function traceLen(): i32 { return TRACE.count; }
export function traceLost(): u32 { return TRACE.lost; }
export function traceClear(): void { TRACE.count = 0; }
/** True when the engine must return so the host can drain the trace ring. */
@inline export function traceNearlyFull(): bool { return TRACE.count >= TRACE_CAP - TRACE_MARGIN; }

/** Does record `rec` carry the selected connection? */
function selected(rec: usize): bool {
  if (TRACE.everyRecord) return true;
  if (load<i64>(rec + FR_TS_START) != TRACE.startUs) return false;
  const op = <u32>load<u16>(rec + FR_ORIG_PORT), rp = <u32>load<u16>(rec + FR_RESP_PORT);
  if (op == TRACE.portA && rp == TRACE.portB && addrMatches(rec, false, KEY_A) && addrMatches(rec, true, KEY_B)) return true;
  return op == TRACE.portB && rp == TRACE.portA && addrMatches(rec, false, KEY_B) && addrMatches(rec, true, KEY_A);
}

/**
 * The tracker's hook: called after record `id` took the segment described at `pkt` (only while a
 * trace is armed). Records the event when the record is the selected one.
 */
export function traceSegment(id: u32, pkt: usize): void {
  const rec = recPtr(id);
  if (!selected(rec)) return;
  if (TRACE.count >= TRACE_CAP) { TRACE.lost++; return; }
  // SAFETY: count < TRACE_CAP, so the event lies inside the ring allocated by traceArm().
  const ev = TRACE.ring + <usize>TRACE.count * <usize>TE_SIZE;
  copyBlock(ev + <usize>TE_PKT, pkt, PKT_SIZE);
  expandRecord(ev + <usize>TE_REC, rec, extPtr(id));
  TRACE.count++;
}
