/**
 * @module
 * One JSON document: `{"flows": [...], "stats": {...}}`, plus `"error"` when the capture was
 * damaged. Flows are still written as they finish (one per line inside the array), so memory stays
 * bounded; the document is complete only after the last line. Each flow is the engine's NDJSON
 * line (src/format/engine-lines.ts) without its newline.
 */

import type { MemoryViews } from "../wasm/engine.js";
import type { Layout } from "../wasm/layout.js";
import type { AsciiWriter } from "./ascii.js";
import type { Formatter, RunSummary } from "./formatter.js";
import { recordLines, type JsonStyle, type RecordLineOptions, type RecordLines } from "./engine-lines.js";

/**
 * How the document opens: its flows follow, each as `,\n` and the flow's NDJSON line without its
 * newline, the first without the comma (the layout of the CLI's and the API's JSON answers).
 */
export const JSON_DOCUMENT_OPEN = '{"flows":[';

/**
 * How the document closes after its flows (`empty`: there were none): the array's end, then
 * `meta`'s members (`stats`, `error`, ...) after `flows`, and a newline.
 */
export function jsonDocumentClose(meta: Record<string, unknown>, empty: boolean): string {
  const rest = JSON.stringify(meta);
  return (empty ? "]" : "\n]") + (rest === "{}" ? "}" : "," + rest.slice(1)) + "\n";
}

export class JsonFormatter implements Formatter {
  readonly #lines: RecordLines;
  #first = true;

  constructor(layout: Layout, style: JsonStyle = "nested", options: RecordLineOptions = {}) {
    this.#lines = recordLines("ndjson", style, layout.constants.FR_SIZE, options);
  }

  begin(out: AsciiWriter): void {
    out.reserve(JSON_DOCUMENT_OPEN.length);
    out.ascii(JSON_DOCUMENT_OPEN);
  }

  record(v: MemoryViews, p: number, out: AsciiWriter): void {
    out.reserve(2);
    if (!this.#first) out.byte(0x2c);
    out.byte(0x0a);
    this.#first = false;
    this.#lines.write(v, p, out);
    out.pos--; // the line's newline
  }

  end({ stats, error }: RunSummary, out: AsciiWriter): void {
    const bytes = Buffer.from(jsonDocumentClose(error === null ? { stats } : { stats, error }, this.#first), "utf8");
    out.reserve(bytes.length);
    out.bytes(bytes);
  }
}
