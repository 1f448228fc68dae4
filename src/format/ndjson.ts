/**
 * @module
 * NDJSON: one flow per line, written as flows finish, so `flowrecon analyze - | jq` streams.
 *
 * Each line is written straight from the flow record by the column table's JSON writer
 * (record-writers.ts): keys in Zeek's order, unset fields absent, as in Zeek's JSON logs. The
 * nested style (default) keeps TCP options and the insight as objects; the zeek style is Zeek's
 * JSON log shape (flat dotted keys, sets as arrays of strings).
 * {@link flowJson} turns a decoded {@link Flow} object into the same text as the nested style.
 */

import type { Flow } from "../flow.js";
import type { MemoryViews } from "../wasm/engine.js";
import type { Layout } from "../wasm/layout.js";
import type { AsciiWriter } from "./ascii.js";
import type { Formatter, RunSummary } from "./formatter.js";
import { JsonRecordWriter, type JsonStyle, type RecordWriterOptions } from "./record-writers.js";

export { JsonRecordWriter } from "./record-writers.js";

/**
 * The flow as one JSON object (no newline): the nested style's line for a decoded flow, whose keys
 * are already in column order (FlowObjectWriter).
 */
export function flowJson(f: Flow): string {
  return JSON.stringify(f);
}

export class NdjsonFormatter implements Formatter {
  readonly #json: JsonRecordWriter;

  constructor(layout: Layout, style: JsonStyle = "nested", options: RecordWriterOptions = {}) {
    this.#json = new JsonRecordWriter(layout, style, options);
  }
  begin(_out: AsciiWriter): void {}
  record(v: MemoryViews, p: number, out: AsciiWriter): void {
    this.#json.write(v, p, out);
    out.byte(0x0a);
  }
  end(_summary: RunSummary, _out: AsciiWriter): void {}
}
