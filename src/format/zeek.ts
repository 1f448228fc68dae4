/**
 * @module
 * Zeek ASCII log (TSV) with Zeek's header, so `zeek-cut`, Zeek log readers and conn.log parsers
 * take it as a conn.log: `#separator \x09`, `#set_separator`, `#empty_field`, `#unset_field`,
 * `#path conn`, `#open`, `#fields`, `#types`, one row per flow, `#close`.
 *
 * Columns: the Zeek view of the engine's column table (assembly/format/fields.ts), read from the
 * engine (src/format/engine-lines.ts zeekFieldTable): conn.log's columns in Zeek's order, then
 * flowrecon's own. Nested records are flattened with dots, as Zeek flattens `id`. Unset values
 * are `-`, empty sets `(empty)`; times and intervals have six decimals (zeek-semantics.md §8.13).
 */

import type { Flow } from "../flow.js";
import type { MemoryViews } from "../wasm/engine.js";
import type { Layout } from "../wasm/layout.js";
import type { AsciiWriter } from "./ascii.js";
import { recordLines, zeekFieldTable, zeekLogTime, type RecordLineOptions, type RecordLines } from "./engine-lines.js";
import { fixed6, type Formatter, type RunSummary } from "./formatter.js";

export { zeekLogTime, zeekHeaderText } from "./engine-lines.js";

const UNSET = "-";

/**
 * The Zeek-view columns that are not at their own path in a nested {@link Flow}: the engine writes
 * them from the same record facts as the nested view's `anomalies` objects and `http` object
 * (assembly/format/fields.ts Col.AnomalyNames, Col.HttpRequests, Col.HttpResponses). `nested` is
 * the Flow key that holds them.
 */
export const ZEEK_FROM_NESTED: Readonly<Record<string, { nested: keyof Flow; value: (f: Flow) => unknown }>> = {
  anomalies: {
    nested: "anomalies",
    value: (f) => (f.anomalies.length === 0 ? [] : [...new Set(f.anomalies.map((a) => a.type))]),
  },
  http_requests: { nested: "http", value: (f) => f.http?.requests },
  http_responses: { nested: "http", value: (f) => f.http?.responses },
};

/** The value of a Zeek-view column in a decoded flow: at its name, or inside the object its dotted name names. */
function flowValue(f: Flow, name: string): unknown {
  const derived = ZEEK_FROM_NESTED[name];
  if (derived !== undefined) return derived.value(f);
  const o = f as unknown as Record<string, unknown>;
  if (name in o) return o[name];
  const dot = name.indexOf(".");
  const group = dot < 0 ? undefined : (o[name.slice(0, dot)] as Record<string, unknown> | undefined);
  return group?.[name.slice(dot + 1)];
}

/** A value in Zeek's ASCII form for its Zeek type. */
function zeekText(type: string, v: unknown): string {
  if (v === undefined || v === null) return UNSET;
  switch (type) {
    case "time":
    case "interval":
      return fixed6(v as number);
    case "bool":
      return v ? "T" : "F";
    case "set[string]":
      return (v as string[]).length === 0 ? "(empty)" : (v as string[]).join(",");
    default:
      return String(v);
  }
}

/** One TSV row of a decoded flow (no newline): the row the engine writes from its record. */
export function zeekRow(f: Flow): string {
  const { names, types } = zeekFieldTable();
  return names.map((name, i) => zeekText(types[i], flowValue(f, name))).join("\t");
}

export class ZeekFormatter implements Formatter {
  readonly #now: () => Date;
  readonly #lines: RecordLines;

  /** @param now clock for #open/#close (tests pass a fixed one). */
  constructor(layout: Layout, now: () => Date = () => new Date(), options: RecordLineOptions = {}) {
    this.#now = now;
    this.#lines = recordLines("zeek", "nested", layout.constants.FR_SIZE, options);
  }

  /** The header's `#fields` and `#types` are the engine's column table's (src/format/engine-lines.ts). */
  begin(out: AsciiWriter): void {
    const header = this.#lines.zeekHeader(this.#now());
    out.reserve(header.length);
    out.ascii(header);
  }

  /** One row written by the engine, byte-identical to `zeekRow(decode(record)) + "\n"`. */
  record(v: MemoryViews, p: number, out: AsciiWriter): void {
    this.#lines.write(v, p, out);
  }

  end(_summary: RunSummary, out: AsciiWriter): void {
    const close = `#close\t${zeekLogTime(this.#now())}\n`;
    out.reserve(close.length);
    out.ascii(close);
  }
}
