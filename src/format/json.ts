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
import { JSON_DOCUMENT_OPEN, jsonDocumentClose, summaryMembers } from "./json-document.js";

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

  end(summary: RunSummary, out: AsciiWriter): void {
    const bytes = Buffer.from(jsonDocumentClose(summaryMembers(summary), this.#first), "utf8");
    out.append(bytes);
  }
}
