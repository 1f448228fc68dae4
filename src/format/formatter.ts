/**
 * @module
 * What every output format implements, and the number formatting they share.
 *
 * A formatter is stateful and used once: `begin()`, then `record()` per flow as flows finish, then
 * `end()`. It writes bytes into an {@link AsciiWriter}, reading each flow straight from its record
 * in engine memory; the caller decides when to hand the bytes to a stream (batching, backpressure).
 * No formatter touches a stream itself.
 */

import type { MemoryViews } from "../wasm/engine.js";
import type { Stats } from "../stats.js";
import type { CaptureError } from "../wasm/errors.js";
import type { AsciiWriter } from "./ascii.js";

export interface RunSummary {
  stats: Stats;
  error: CaptureError | null;
}

export interface Formatter {
  /** Headers, before the first flow. */
  begin(out: AsciiWriter): void;
  /** One flow, read from the record at byte offset `p` of `v` (may write nothing while buffering). */
  record(v: MemoryViews, p: number, out: AsciiWriter): void;
  /** Footers and statistics, after the last flow. */
  end(summary: RunSummary, out: AsciiWriter): void;
}

/** Upper bound of one flow's output in any format (two 39-character IPv6 addresses included). */
export const MAX_FLOW_BYTES = 2048;

const ZEROS = ["", "0", "00", "000", "0000", "00000", "000000"];

/**
 * Seconds with exactly six decimals, as Zeek prints `time` and `interval` (zeek-semantics.md §8.13).
 * Exact: every value came from integer microseconds, and doubles keep them within 0.5 µs.
 */
export function fixed6(seconds: number): string {
  let us = Math.round(seconds * 1e6);
  let sign = "";
  if (us < 0) {
    sign = "-";
    us = -us;
  }
  const whole = Math.floor(us / 1e6);
  const frac = String(us - whole * 1e6);
  return sign + whole + "." + ZEROS[6 - frac.length] + frac;
}
