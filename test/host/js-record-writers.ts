/**
 * @module
 * The two ways the test oracle's JavaScript column table (js-columns.ts) writes a flow record.
 * The outputs read the engine's column table (assembly/format/fields.ts,
 * src/format/engine-lines.ts); these writers are the oracle of the differential tests
 * (test/host/engine-lines*.test.ts):
 * - {@link JsonRecordWriter}: one JSON object per record, `nested` (flowrecon's shape: TCP options
 *   and insight as objects, the NDJSON/JSON/API output) or `zeek` (Zeek's JSON log shape: flat
 *   dotted keys, sets as arrays of strings, the columns of the Zeek TSV);
 * - {@link TsvRecordWriter}: one Zeek ASCII row (the columns of the Zeek view).
 * Unset columns are absent in JSON (as in Zeek's JSON logs) and `-` in TSV.
 */

import type { MemoryViews } from "../../src/wasm/engine.js";
import type { Layout } from "../../src/wasm/layout.js";
import type { InsightContext } from "../../src/anomalies/index.js";
import { Literal, ascii, type AsciiWriter } from "../../src/format/ascii.js";
import { MAX_FLOW_BYTES } from "../../src/format/formatter.js";
import type { JsonStyle } from "../../src/format/engine-lines.js";
import {
  COLUMNS,
  viewColumns,
  ColumnContext,
  RecordCursor,
  NESTED_VIEW,
  ZEEK_VIEW,
  type Column,
  type ColumnOptions,
  type ValueSink,
} from "./js-columns.js";

export interface RecordWriterOptions extends ColumnOptions {
  /** The capture clock endpoint states and idle times are judged against (`reconstructor.insight`). */
  insight?: InsightContext;
}

const QUOTE = 0x22;
const TAB = 0x09;
const DASH = 0x2d;
const EMPTY = ascii("(empty)");
const TRUE = ascii("true");
const FALSE = ascii("false");

/** The group a nested-view column belongs to (`orig_tcp_options`), or "" (`id.*` stays flat, as in Zeek). */
function groupOf(name: string): string {
  const dot = name.indexOf(".");
  return dot < 0 || name.startsWith("id.") ? "" : name.slice(0, dot);
}

interface JsonSlot {
  column: Column;
  /** `"key":` and `,"key":`. */
  key: Literal;
  keyComma: Literal;
  /** Nested style: the object this column opens (`"orig_tcp_options":{`), closes, or neither. */
  open: Literal | null;
  close: boolean;
}

/** Writes records as JSON objects (no newline). */
export class JsonRecordWriter implements ValueSink {
  readonly style: JsonStyle;
  readonly #slots: JsonSlot[];
  readonly #cursor: RecordCursor;
  readonly #ctx: ColumnContext;
  #out!: AsciiWriter;
  #pending: Literal | null = null;

  constructor(layout: Layout, style: JsonStyle = "nested", options: RecordWriterOptions = {}) {
    this.style = style;
    const columns = viewColumns(COLUMNS, style === "zeek" ? ZEEK_VIEW : NESTED_VIEW);
    this.#cursor = new RecordCursor(layout, options.insight);
    this.#ctx = new ColumnContext(layout, options);
    this.#slots = columns.map((column, i) => {
      const group = style === "zeek" ? "" : groupOf(column.name);
      const key = group === "" ? column.name : column.name.slice(group.length + 1);
      const prev = i === 0 || style === "zeek" ? "" : groupOf(columns[i - 1].name);
      const next = i === columns.length - 1 || style === "zeek" ? "" : groupOf(columns[i + 1].name);
      return {
        column,
        key: new Literal(`"${key}":`),
        keyComma: new Literal(`,"${key}":`),
        open: group !== "" && group !== prev ? new Literal(`,"${group}":{`) : null,
        close: group !== "" && group !== next,
      };
    });
  }

  /** One JSON object, no newline. */
  write(v: MemoryViews, p: number, out: AsciiWriter): void {
    out.reserve(MAX_FLOW_BYTES);
    this.#out = out;
    const k = this.#cursor.at(v, p);
    out.byte(0x7b); // "{"
    let first = true;
    for (const slot of this.#slots) {
      if (slot.open !== null) {
        out.literal(slot.open);
        first = true;
      }
      this.#pending = first ? slot.key : slot.keyComma;
      slot.column.write(k, this, this.#ctx);
      if (this.#pending === null) first = false;
      if (slot.close) {
        out.byte(0x7d);
        first = false;
      }
    }
    this.#pending = null;
    out.byte(0x7d);
  }

  #key(): void {
    this.#out.literal(this.#pending!);
    this.#pending = null;
  }
  uint(n: number): void {
    this.#key();
    this.#out.uint(n);
  }
  seconds(us: number): void {
    this.#key();
    this.#out.seconds(us);
  }
  bool(b: boolean): void {
    this.#key();
    this.#out.bytes(b ? TRUE : FALSE);
  }
  name(bytes: Uint8Array): void {
    this.#key();
    const out = this.#out;
    out.byte(QUOTE);
    out.bytes(bytes);
    out.byte(QUOTE);
  }
  chars(buf: Uint8Array, len: number): void {
    this.#key();
    const out = this.#out;
    out.byte(QUOTE);
    out.bytes(buf.subarray(0, len));
    out.byte(QUOTE);
  }
  address(u8: Uint8Array, off: number): void {
    this.#key();
    const out = this.#out;
    out.byte(QUOTE);
    out.address(u8, off);
    out.byte(QUOTE);
  }
  set(items: readonly string[]): void {
    this.#key();
    const out = this.#out;
    if (items.length === 0) {
      out.byte(0x5b);
      out.byte(0x5d);
      return;
    }
    const text = '["' + items.join('","') + '"]';
    out.reserve(text.length);
    out.ascii(text);
  }
  json(value: unknown): void {
    this.#key();
    const out = this.#out;
    if (Array.isArray(value) && value.length === 0) {
      out.byte(0x5b);
      out.byte(0x5d);
      return;
    }
    const text = JSON.stringify(value);
    out.reserve(text.length);
    out.ascii(text);
  }
}

/** Writes records as Zeek ASCII rows (no newline): the Zeek view, tab-separated, `-` for unset. */
export class TsvRecordWriter implements ValueSink {
  readonly columns: readonly Column[] = viewColumns(COLUMNS, ZEEK_VIEW);
  readonly #cursor: RecordCursor;
  readonly #ctx: ColumnContext;
  #out!: AsciiWriter;

  constructor(layout: Layout, options: RecordWriterOptions = {}) {
    this.#cursor = new RecordCursor(layout, options.insight);
    this.#ctx = new ColumnContext(layout, options);
  }

  write(v: MemoryViews, p: number, out: AsciiWriter): void {
    out.reserve(MAX_FLOW_BYTES);
    this.#out = out;
    const k = this.#cursor.at(v, p);
    const columns = this.columns;
    for (let i = 0; i < columns.length; i++) {
      if (i > 0) out.byte(TAB);
      const at = out.pos;
      columns[i].write(k, this, this.#ctx);
      if (out.pos === at) out.byte(DASH);
    }
  }

  uint(n: number): void {
    this.#out.uint(n);
  }
  seconds(us: number): void {
    this.#out.fixed6(us);
  }
  bool(b: boolean): void {
    this.#out.byte(b ? 0x54 : 0x46); // T / F
  }
  name(bytes: Uint8Array): void {
    this.#out.bytes(bytes);
  }
  chars(buf: Uint8Array, len: number): void {
    this.#out.bytes(buf.subarray(0, len));
  }
  address(u8: Uint8Array, off: number): void {
    this.#out.address(u8, off);
  }
  set(items: readonly string[]): void {
    const out = this.#out;
    if (items.length === 0) return out.bytes(EMPTY);
    const text = items.join(",");
    out.reserve(text.length);
    out.ascii(text);
  }
  json(): void {
    throw new Error("a nested-view column in the Zeek view (js-columns.ts)");
  }
}
