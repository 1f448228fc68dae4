/**
 * @module
 * Zeek ASCII log (TSV) with Zeek's header, so `zeek-cut`, Zeek log readers and conn.log parsers
 * take it as a conn.log: `#separator \x09`, `#set_separator`, `#empty_field`, `#unset_field`,
 * `#path conn`, `#open`, `#fields`, `#types`, one row per flow, `#close`.
 *
 * Columns: the Zeek view of the engine's column table (assembly/format/fields.ts): conn.log's columns in Zeek's order
 * (`ts uid id.* proto service duration orig_bytes resp_bytes conn_state local_orig local_resp
 * missed_bytes history orig_pkts orig_ip_bytes resp_pkts resp_ip_bytes tunnel_parents ip_proto`),
 * then flowrecon's own. Nested records are flattened with dots, as Zeek flattens `id`. Unset values
 * are `-`, empty sets `(empty)`; times and intervals have six decimals (zeek-semantics.md §8.13).
 */

import type { Flow } from "../flow.js";
import type { MemoryViews } from "../wasm/engine.js";
import type { Layout } from "../wasm/layout.js";
import type { AsciiWriter } from "./ascii.js";
import { COLUMNS, viewColumns, ZEEK_VIEW, type Column } from "./columns.js";
import type { RecordWriterOptions } from "./record-writers.js";
import { recordLines, type RecordLines } from "./engine-lines.js";
import { fixed6, type Formatter, type RunSummary } from "./formatter.js";

export { ZEEK_FIELDS } from "./columns.js";

const ZEEK_COLUMNS: readonly Column[] = viewColumns(COLUMNS, ZEEK_VIEW);
const UNSET = "-";

/** Zeek's log timestamp format for #open/#close: local time, `%Y-%m-%d-%H-%M-%S`. */
export function zeekLogTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}-${p(d.getHours())}-${p(d.getMinutes())}-${p(d.getSeconds())}`;
}

/** Zeek's log header up to the column lines: `#separator` ... `#open`, `#fields`, `#types`. */
export function zeekHeaderText(fields: readonly string[], types: readonly string[], open: Date): string {
  return (
    "#separator \\x09\n" +
    "#set_separator\t,\n" +
    "#empty_field\t(empty)\n" +
    "#unset_field\t-\n" +
    "#path\tconn\n" +
    `#open\t${zeekLogTime(open)}\n` +
    `#fields\t${fields.join("\t")}\n` +
    `#types\t${types.join("\t")}\n`
  );
}

/** The value of a column in a decoded flow: at its name, or inside the object its dotted name names. */
function flowValue(f: Flow, c: Column): unknown {
  if (c.fromFlow !== undefined) return c.fromFlow(f);
  const o = f as unknown as Record<string, unknown>;
  if (c.name in o) return o[c.name];
  const dot = c.name.indexOf(".");
  const group = dot < 0 ? undefined : (o[c.name.slice(0, dot)] as Record<string, unknown> | undefined);
  return group?.[c.name.slice(dot + 1)];
}

/** A value in Zeek's ASCII form for its column type. */
function zeekText(c: Column, v: unknown): string {
  if (v === undefined || v === null) return UNSET;
  switch (c.type) {
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

/** One TSV row of a decoded flow (no newline): the row TsvRecordWriter writes from its record. */
export function zeekRow(f: Flow): string {
  return ZEEK_COLUMNS.map((c) => zeekText(c, flowValue(f, c))).join("\t");
}

export class ZeekFormatter implements Formatter {
  readonly #now: () => Date;
  readonly #lines: RecordLines;

  /** @param now clock for #open/#close (tests pass a fixed one). */
  constructor(layout: Layout, now: () => Date = () => new Date(), options: RecordWriterOptions = {}) {
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
