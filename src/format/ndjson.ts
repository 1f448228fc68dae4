/**
 * @module
 * NDJSON: one flow per line, written as flows finish, so `flowrecon analyze - | jq` streams.
 *
 * Each line is written straight from the flow record by the engine's formatter from its column
 * table (assembly/format/fields.ts, src/format/engine-lines.ts): keys in Zeek's order, unset fields absent, as in Zeek's JSON logs. The
 * nested style (default) keeps TCP options and the insight as objects; the zeek style is Zeek's
 * JSON log shape (flat dotted keys, sets as arrays of strings).
 * {@link flowJson} turns a decoded {@link Flow} object into the same text as the nested style.
 */

import type { Flow } from "../flow.js";
import type { MemoryViews } from "../wasm/engine.js";
import type { Layout } from "../wasm/layout.js";
import type { AsciiWriter } from "./ascii.js";
import type { Formatter, RunSummary } from "./formatter.js";
import { recordLines, type JsonStyle, type RecordLineOptions, type RecordLines } from "./engine-lines.js";

/**
 * The flow as one JSON object (no newline): the nested style's line for a decoded flow, whose keys
 * are already in column order (FlowDecoder parses the engine's nested line).
 */
export function flowJson(f: Flow): string {
  return JSON.stringify(f);
}

export class NdjsonFormatter implements Formatter {
  readonly #lines: RecordLines;

  constructor(layout: Layout, style: JsonStyle = "nested", options: RecordLineOptions = {}) {
    this.#lines = recordLines("ndjson", style, layout.constants.FR_SIZE, options);
  }
  begin(_out: AsciiWriter): void {}
  record(v: MemoryViews, p: number, out: AsciiWriter): void {
    this.#lines.write(v, p, out);
  }
  end(_summary: RunSummary, _out: AsciiWriter): void {}
}
