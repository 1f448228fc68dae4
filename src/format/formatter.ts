/**
 * @module
 * What every output format implements, and the number formatting they share.
 *
 * A formatter is stateful and used once: `begin()`, then `flow()` per flow as flows finish, then
 * `end()`. Each returns text to write (possibly empty), so the caller batches writes and applies
 * backpressure; no formatter touches a stream itself.
 */

import type { Flow } from "../flow.js";
import type { Stats } from "../stats.js";
import type { CaptureError } from "../wasm/errors.js";

export interface RunSummary {
  stats: Stats;
  error: CaptureError | null;
}

export interface Formatter {
  /** Text before the first flow (headers). */
  begin(): string;
  /** Text for one flow; may be empty while a format buffers (table column widths). */
  flow(flow: Flow): string;
  /** Text after the last flow (footers, statistics). */
  end(summary: RunSummary): string;
}

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
