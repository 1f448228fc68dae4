/**
 * @module
 * A ladder diagram's rows, built from a connection's trace events as they stream in: the drawing
 * (svg.ts, text.ts) only lays these rows out.
 *
 * Readable and bounded however long the connection: runs of ordinary segments (no SYN/FIN/RST, no
 * anomaly, no state change) fold into one band ("412 segments, 1.2 MB, 0.8 s"); every control
 * segment, every anomalous one and every one that changed a state is kept, up to `maxRows` drawn
 * segments, past which everything folds (the band counts what it hides). Pauses of a second or more
 * become a compressed, labelled gap. `all` keeps every segment.
 */

import type { Flow } from "../flow.js";
import type { TcpStateName } from "../anomalies/index.js";
import { initialStates, type LadderState, type TraceEvent } from "../trace/events.js";

export interface SegmentRow {
  kind: "segment";
  event: TraceEvent;
  /** The arrow's label: `[SYN, ACK] seq=0 ack=1 win=65160 mss=1460`. */
  label: string;
  /** States written on each lifeline at this row (passed-through states first); absent when unchanged. */
  orig_states?: LadderState[];
  resp_states?: LadderState[];
}

export interface BandRow {
  kind: "band";
  segments: number;
  /** Payload bytes in the band. */
  bytes: number;
  orig_segments: number;
  resp_segments: number;
  t0: number;
  t1: number;
  /** Segments folded only because the row limit was reached (control or anomalous ones). */
  notable: number;
  label: string;
}

export interface GapRow {
  kind: "gap";
  seconds: number;
  label: string;
}

export type Row = SegmentRow | BandRow | GapRow;

export interface Ladder {
  flow: Flow;
  initial: { orig_state: LadderState; resp_state: LadderState };
  rows: Row[];
  /** Endpoint states at the end of the input (the flow's orig_state/resp_state). */
  end: { orig_state: TcpStateName; resp_state: TcpStateName };
  /** Segments traced. */
  segments: number;
}

export interface LadderOptions {
  /** Draw every segment (no folding). */
  all?: boolean;
  /** Most segments drawn one by one before everything folds (default 2000). */
  maxRows?: number;
  /** A pause at least this long (s) is drawn as a compressed gap (default 1). */
  gapSeconds?: number;
}

/** `[SYN, ACK] seq=0 ack=1 win=65160 mss=1460 ws=7 sack_perm`, `[PSH, ACK] seq=1 ack=1 len=16`. */
export function segmentLabel(e: TraceEvent): string {
  let s = `[${e.flag_names.join(", ")}] seq=${e.seq}`;
  if (e.ack !== undefined) s += ` ack=${e.ack}`;
  if (e.len > 0) s += ` len=${e.len}`;
  const syn = (e.flags & 0x02) !== 0;
  if (syn || (e.win === 0 && (e.flags & 0x04) === 0)) s += ` win=${e.win}`; // a zero window matters, not on a RST (Linux sends 0 there)
  if (e.options.mss !== undefined) s += ` mss=${e.options.mss}`;
  if (syn && e.options.wscale !== undefined) s += ` ws=${e.options.wscale}`;
  if (e.options.sack_permitted) s += " sack_perm";
  if (e.options.sack !== undefined) s += " sack=" + e.options.sack.map(([l, r]) => `${l}-${r}`).join(",");
  if (e.bad_checksum) s += " bad-checksum";
  return s;
}

/** 1234567 -> "1.2 MB" (decimal units, as Wireshark's conversation statistics). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n,
    i = -1;
  do {
    v /= 1000;
    i++;
  } while (v >= 1000 && i < units.length - 1);
  return `${v.toFixed(1)} ${units[i]}`;
}

export function formatSeconds(s: number): string {
  if (s < 1e-3) return `${Math.round(s * 1e6)} µs`;
  if (s < 1) return `${(s * 1e3).toFixed(1)} ms`;
  if (s < 120) return `${s.toFixed(1)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function bandLabel(b: BandRow): string {
  const n = `${b.segments} segments, ${formatBytes(b.bytes)}, ${formatSeconds(b.t1 - b.t0)}`;
  return b.notable > 0 ? `${n} (${b.notable} control or anomalous: row limit reached, use --all)` : n;
}

/** Streams events into rows. */
export class LadderBuilder {
  readonly #rows: Row[] = [];
  readonly #all: boolean;
  readonly #maxRows: number;
  readonly #gap: number;
  #drawn = 0;
  #segments = 0;
  #lastTs: number | undefined;
  #prev: { orig: LadderState; resp: LadderState } | undefined;
  #initial: { orig_state: LadderState; resp_state: LadderState } | undefined;
  /** The run of ordinary segments not yet closed: one held segment, or a band. */
  #held: SegmentRow | null = null;
  #band: BandRow | null = null;

  constructor(options: LadderOptions = {}) {
    this.#all = options.all ?? false;
    this.#maxRows = options.maxRows ?? 2000;
    this.#gap = options.gapSeconds ?? 1;
  }

  add(e: TraceEvent): void {
    this.#segments++;
    if (this.#initial === undefined) {
      this.#initial = initialStates(e);
      this.#prev = { orig: this.#initial.orig_state, resp: this.#initial.resp_state };
    }
    if (this.#lastTs !== undefined && e.ts - this.#lastTs >= this.#gap) {
      this.#closeRun();
      const seconds = e.ts - this.#lastTs;
      this.#rows.push({ kind: "gap", seconds, label: `${formatSeconds(seconds)} without segments` });
    }
    this.#lastTs = e.ts;
    const prev = this.#prev!;
    const row: SegmentRow = { kind: "segment", event: e, label: "" };
    const origChanged = e.orig_via !== undefined || e.orig_state !== prev.orig;
    const respChanged = e.resp_via !== undefined || e.resp_state !== prev.resp;
    if (origChanged) row.orig_states = [...(e.orig_via ?? []), e.orig_state];
    if (respChanged) row.resp_states = [...(e.resp_via ?? []), e.resp_state];
    this.#prev = { orig: e.orig_state, resp: e.resp_state };
    const notable =
      (e.flags & 0x07) !== 0 || e.anomalies.length > 0 || origChanged || respChanged || e.bad_checksum === true;
    if (this.#all || (notable && this.#drawn < this.#maxRows)) {
      this.#closeRun();
      this.#draw(row);
      return;
    }
    this.#fold(row, notable);
  }

  finish(flow: Flow, end: Ladder["end"]): Ladder {
    this.#closeRun();
    return {
      flow,
      initial: this.#initial ?? { orig_state: "UNKNOWN", resp_state: "UNKNOWN" },
      rows: this.#rows,
      end,
      segments: this.#segments,
    };
  }

  #draw(row: SegmentRow): void {
    row.label = segmentLabel(row.event);
    this.#rows.push(row);
    this.#drawn++;
  }

  #fold(row: SegmentRow, notable: boolean): void {
    const e = row.event;
    if (this.#band !== null) {
      const b = this.#band;
      b.segments++;
      b.bytes += e.len;
      if (e.dir === "orig") b.orig_segments++;
      else b.resp_segments++;
      b.t1 = e.ts;
      if (notable) b.notable++;
      return;
    }
    // A lone ordinary segment is drawn; the second one of a run opens a band (limit permitting).
    if (this.#held === null && !notable && this.#drawn < this.#maxRows) {
      this.#held = row;
      return;
    }
    const b: BandRow = {
      kind: "band",
      segments: 0,
      bytes: 0,
      orig_segments: 0,
      resp_segments: 0,
      t0: e.ts,
      t1: e.ts,
      notable: 0,
      label: "",
    };
    for (const r of this.#held === null ? [row] : [this.#held, row]) {
      b.segments++;
      b.bytes += r.event.len;
      if (r.event.dir === "orig") b.orig_segments++;
      else b.resp_segments++;
    }
    if (this.#held !== null) b.t0 = this.#held.event.ts;
    if (notable) b.notable++;
    this.#held = null;
    this.#band = b;
  }

  #closeRun(): void {
    if (this.#held !== null) this.#draw(this.#held);
    if (this.#band !== null) {
      this.#band.label = bandLabel(this.#band);
      this.#rows.push(this.#band);
    }
    this.#held = null;
    this.#band = null;
  }
}
