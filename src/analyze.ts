/**
 * @module
 * One-call helpers over {@link Reconstructor}: a whole stream or file in, one callback per flow.
 * Both resolve with the statistics and the capture error (if any) instead of rejecting on a damaged
 * capture, because the flows before the damage have already been delivered and are valid.
 */

import { closeSync, openSync } from "node:fs";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { Reconstructor, type ReconstructorOptions } from "./reconstructor.js";
import type { Flow } from "./flow.js";
import type { Stats } from "./stats.js";
import type { CaptureError } from "./wasm/errors.js";

export interface AnalysisResult {
  /** Flows delivered to the callback. */
  flows: number;
  stats: Stats;
  /** The damage that stopped decoding, or null when the whole capture was read. */
  error: CaptureError | null;
}

/** Called once per finished flow; a returned promise is awaited before the next flow (backpressure). */
export type FlowCallback = (flow: Flow) => void | Promise<void>;

async function deliver(flows: Flow[], onFlow: FlowCallback): Promise<void> {
  for (const flow of flows) {
    const pending = onFlow(flow);
    if (pending !== undefined && typeof (pending as Promise<void>).then === "function") await pending;
  }
}

/**
 * Reconstructs the flows of a capture arriving as chunks: a Node `Readable`, a web `ReadableStream`
 * (both are async iterables in Node 20), or any (async) iterable of `Uint8Array`.
 * Reading stops at the first capture error.
 *
 * @example
 * ```ts
 * const { stats, error } = await analyzeStream(process.stdin, { ignoreChecksums: true }, (f) => {
 *   console.log(f.uid, f["id.orig_h"], f.conn_state, f.history);
 * });
 * ```
 */
export async function analyzeStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: ReconstructorOptions,
  onFlow: FlowCallback,
): Promise<AnalysisResult> {
  const rec = new Reconstructor(options);
  let count = 0;
  for await (const chunk of source) {
    if (!(chunk instanceof Uint8Array)) {
      throw new TypeError(
        `analyzeStream expects Uint8Array chunks, got ${typeof chunk} (is an encoding set on the stream?)`,
      );
    }
    const flows = rec.push(chunk);
    count += flows.length;
    await deliver(flows, onFlow);
    if (rec.error !== null) break; // leaving the loop closes the source: the rest is not read
  }
  const flows = rec.finish();
  count += flows.length;
  await deliver(flows, onFlow);
  return { flows: count, stats: rec.stats, error: rec.error };
}

/**
 * Reconstructs the flows of a capture file, reading it straight into the engine's window
 * (no intermediate buffers). Yields to the event loop between windows, so a server stays responsive.
 */
export async function analyzeFile(
  path: string,
  options: ReconstructorOptions,
  onFlow: FlowCallback,
): Promise<AnalysisResult> {
  const fd = openSync(path, "r");
  try {
    const rec = new Reconstructor(options);
    let count = 0;
    for (let flows = rec.readFrom(fd); flows !== null; flows = rec.readFrom(fd)) {
      count += flows.length;
      await deliver(flows, onFlow);
      await yieldToEventLoop();
    }
    const flows = rec.finish();
    count += flows.length;
    await deliver(flows, onFlow);
    return { flows: count, stats: rec.stats, error: rec.error };
  } finally {
    closeSync(fd);
  }
}
