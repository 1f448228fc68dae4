/**
 * @module
 * Aligned columns for people at a terminal. Column widths come from the first rows (up to
 * {@link SAMPLE_ROWS}), which are held back until then; later rows reuse those widths, so output
 * still streams and memory stays bounded (a wider value later only shifts its own row).
 * Times are UTC; IPv6 endpoints are bracketed (`[2001:db8::1]:443`, RFC 5952 §6).
 */

import { FlowDecoder, type Flow, type FlowDecoderOptions } from "../flow.js";
import type { MemoryViews } from "../wasm/engine.js";
import type { Layout } from "../wasm/layout.js";
import type { AsciiWriter } from "./ascii.js";
import { fixed6, type Formatter, type RunSummary } from "./formatter.js";
import { utcDateTime } from "./utc.js";

export const SAMPLE_ROWS = 200;

interface Column {
  title: string;
  right: boolean;
}

const COLUMNS: readonly Column[] = [
  { title: "start (UTC)", right: false },
  { title: "duration", right: true },
  { title: "orig", right: false },
  { title: "resp", right: false },
  { title: "service", right: false },
  { title: "state", right: false },
  { title: "history", right: false },
  { title: "pkts o/r", right: true },
  { title: "bytes o/r", right: true },
  { title: "missed", right: true },
  { title: "rtt ms", right: true },
  { title: "end", right: false },
  { title: "states o/r", right: false },
  { title: "anomalies", right: false },
];

const GAP = "  ";

function endpoint(addr: string, port: number): string {
  return addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`;
}

function cells(f: Flow): string[] {
  return [
    utcDateTime(f.ts),
    f.duration === undefined ? "-" : fixed6(f.duration),
    endpoint(f["id.orig_h"], f["id.orig_p"]),
    endpoint(f["id.resp_h"], f["id.resp_p"]),
    f.service ?? "-",
    f.conn_state,
    f.history ?? "-",
    `${f.orig_pkts}/${f.resp_pkts}`,
    f.orig_bytes === undefined ? "-" : `${f.orig_bytes}/${f.resp_bytes}`,
    String(f.missed_bytes),
    f.handshake_rtt === undefined ? "-" : (f.handshake_rtt * 1000).toFixed(3),
    f.end_reason,
    `${f.orig_state}/${f.resp_state}`,
    f.anomalies.length === 0 ? "-" : [...new Set(f.anomalies.map((a) => a.type))].join(","),
  ];
}

export class TableFormatter implements Formatter {
  readonly #decoder: FlowDecoder;
  #pending: string[][] | null = [];
  #widths: number[] = COLUMNS.map((c) => c.title.length);

  constructor(layout: Layout, options: FlowDecoderOptions = {}) {
    this.#decoder = new FlowDecoder(layout, options);
  }

  begin(_out: AsciiWriter): void {}

  record(v: MemoryViews, p: number, out: AsciiWriter): void {
    this.flow(this.#decoder.decode(v, p), out);
  }

  /** One decoded flow (the table is for people: decoding first costs nothing that matters). */
  flow(flow: Flow, out: AsciiWriter): void {
    const row = cells(flow);
    if (this.#pending === null) return write(out, this.#line(row));
    this.#pending.push(row);
    if (this.#pending.length >= SAMPLE_ROWS) write(out, this.#release());
  }

  end(_summary: RunSummary, out: AsciiWriter): void {
    if (this.#pending !== null) write(out, this.#release());
  }

  /** Fixes the widths from the held rows and returns header plus rows. */
  #release(): string {
    const rows = this.#pending ?? [];
    this.#pending = null;
    for (const row of rows) {
      row.forEach((cell, i) => {
        this.#widths[i] = Math.max(this.#widths[i], cell.length);
      });
    }
    let text = this.#line(COLUMNS.map((c) => c.title));
    for (const row of rows) text += this.#line(row);
    return text;
  }

  #line(row: string[]): string {
    let s = "";
    for (let i = 0; i < row.length; i++) {
      const last = i === row.length - 1;
      const cell = COLUMNS[i].right ? row[i].padStart(this.#widths[i]) : last ? row[i] : row[i].padEnd(this.#widths[i]);
      s += (i === 0 ? "" : GAP) + cell;
    }
    return s + "\n";
  }
}

function write(out: AsciiWriter, text: string): void {
  out.reserve(text.length);
  out.ascii(text);
}
