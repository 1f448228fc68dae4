/**
 * @module
 * Engine work for request handlers, cut into slices with a yield to the event loop between them,
 * so one big upload never freezes the server for other clients (assemblyscript-performance.md §4:
 * a wasm call cannot be interrupted; an 8 MiB window takes 50-200 ms). A slice is at most
 * `sliceBytes` of capture, `sliceBytes / 16` segment records, or one output ring of finished flows
 * (4096); the loop yields once the slices since the last yield took more than {@link YIELD_AFTER_MS}.
 *
 * `pause` is awaited after each slice: a streaming response uses it for backpressure, and it is
 * where a disconnected client stops the work (it throws).
 */

import { setImmediate as nextMacrotask } from "node:timers/promises";
import type { Reconstructor, RecordSink } from "../reconstructor.js";
import type { ApiMetrics } from "./metrics.js";

/** Longest run of engine work between two yields. */
export const YIELD_AFTER_MS = 4;

export interface WorkOptions {
  sliceBytes: number;
  /** Awaited between slices (backpressure, cancellation). */
  pause?: () => Promise<void> | void;
}

class Yielder {
  #last = performance.now();
  async maybe(): Promise<void> {
    if (performance.now() - this.#last < YIELD_AFTER_MS) return;
    await nextMacrotask();
    this.#last = performance.now();
  }
}

/** Pushes capture chunks into the engine slice by slice; stops at the first capture error. */
export async function feedCapture(
  rec: Reconstructor,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  sink: RecordSink,
  options: WorkOptions,
): Promise<void> {
  const y = new Yielder();
  for await (const chunk of chunks) {
    for (let off = 0; off < chunk.length; off += options.sliceBytes) {
      rec.pushRecords(chunk.subarray(off, off + options.sliceBytes), sink);
      await options.pause?.();
      if (rec.error !== null) return;
      await y.maybe();
    }
  }
}

/** Pushes encoded segment records slice by slice. */
export async function feedSegments(
  rec: Reconstructor,
  records: Uint8Array,
  sink: RecordSink,
  options: WorkOptions,
): Promise<void> {
  const y = new Yielder();
  const size = rec.segmentLayout.size;
  const step = Math.max(1, Math.floor(options.sliceBytes / 16 / size)) * size;
  for (let off = 0; off < records.length; off += step) {
    rec.pushSegments(records.subarray(off, off + step), sink);
    await options.pause?.();
    if (rec.error !== null) return;
    await y.maybe();
  }
}

/** Ends the input and emits every live flow, one output ring per step. */
export async function finishEngine(rec: Reconstructor, sink: RecordSink, options: WorkOptions): Promise<void> {
  const y = new Yielder();
  while (!rec.finishSome(sink)) {
    await options.pause?.();
    await y.maybe();
  }
  await options.pause?.();
}

/** Adds the engine's counter deltas (since `before`) to the metrics. */
export function countInput(
  metrics: ApiMetrics,
  rec: Pick<Reconstructor, "stats" | "segmentsIn">,
  before: { segments: number; bytes: number; records: number },
): { segments: number; bytes: number; records: number } {
  const stats = rec.stats;
  const now = { segments: stats.segments, bytes: stats.bytes, records: rec.segmentsIn };
  metrics.segments.inc({}, now.segments - before.segments);
  metrics.bytes.inc({}, now.bytes - before.bytes);
  metrics.records.inc({}, now.records - before.records);
  return now;
}
