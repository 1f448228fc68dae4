/**
 * @module
 * Trace events (engine trace mode, assembly/flow/trace.ts) decoded into one {@link TraceEvent} per
 * segment of the traced connection.
 *
 * An engine event is the segment descriptor plus a copy of the connection's record after the
 * segment. Everything a ladder shows is read from those two with the readers the flow summary uses,
 * so the diagram and the summary cannot disagree:
 * - both endpoints' RFC 9293 states: {@link endpointState} over the record's facts at the segment's time;
 * - the history letters the segment added: the record's history after it minus the one before;
 * - the anomalies it raised: the record's anomaly slots whose count it increased.
 * Sequence and acknowledgment numbers are Wireshark's relative ones (the SYN is seq 0; a side
 * first seen without a SYN starts at 1), and the window is scaled as Wireshark scales it
 * (`tcp.window_size`: by the shift of the sender's SYN unless the peer's SYN had none; never on a SYN).
 */

import type { MemoryViews } from "../wasm/engine.js";
import { AbiMismatchError, type Layout } from "../wasm/layout.js";
import { formatAddress } from "../net/address.js";
import { FactsReader } from "../anomalies/facts.js";
import {
  ANOMALY_BY_CODE,
  endpointState,
  LINUX_THRESHOLDS,
  type StateThresholds,
  type TcpStateName,
} from "../anomalies/index.js";

const TWO32 = 2 ** 32;

/** A state in a ladder: the RFC 9293 names flows report, plus LISTEN for a server not heard from yet. */
export type LadderState = TcpStateName | "LISTEN";

export interface SegmentOptions {
  mss?: number;
  wscale?: number;
  sack_permitted?: true;
  /** SACK blocks as relative [left, right) pairs of the peer's numbering. */
  sack?: [number, number][];
  tsval?: number;
  tsecr?: number;
}

/** One segment of a traced connection, as the engine saw it. Directions follow the flow's final roles. */
export interface TraceEvent {
  /** 1-based number of the capture record (tshark's frame.number). */
  frame: number;
  /** Capture time, seconds (µs precision). */
  ts: number;
  /** Sender: "orig" (client, the flow's originator) or "resp". */
  dir: "orig" | "resp";
  /** TCP flags byte (FIN 0x01 ... CWR 0x80). */
  flags: number;
  /** Flag names, Wireshark's order: SYN, FIN, RST, PSH, ACK, URG, ECE, CWR. */
  flag_names: string[];
  seq: number;
  /** Relative ack; absent when the ACK flag is off. */
  ack?: number;
  raw_seq: number;
  raw_ack: number;
  len: number;
  /** Window as Wireshark's tcp.window_size (scaled when the scale is known). */
  win: number;
  raw_win: number;
  options: SegmentOptions;
  /** The Zeek history letters this segment added (often none: letters are recorded once or logarithmically). */
  history: string;
  /** Anomalies this segment raised, with the side they were charged to. */
  anomalies: { type: string; side: "orig" | "resp" }[];
  orig_state: LadderState;
  resp_state: LadderState;
  /** States an endpoint passed through within this segment, before `*_state` (see {@link VIA}). */
  orig_via?: LadderState[];
  resp_via?: LadderState[];
  /** The segment failed its checksum: Zeek counts it (C/c) and otherwise ignores it. */
  bad_checksum?: true;
}

/**
 * One segment can move an endpoint through two transitions of RFC 9293 §3.10.7.4, which processes a
 * segment's ACK before its FIN: a FIN that also acknowledges our FIN takes FIN_WAIT_1 to
 * FIN_WAIT_2, then TIME_WAIT; an ACK of our SYN-ACK that carries a FIN takes SYN_RECEIVED to
 * ESTABLISHED, then CLOSE_WAIT. The ladder writes the state passed through as well.
 */
const VIA: Readonly<Record<string, LadderState[]>> = {
  "FIN_WAIT_1>TIME_WAIT": ["FIN_WAIT_2"],
  "SYN_RECEIVED>CLOSE_WAIT": ["ESTABLISHED"],
  "SYN_SENT>CLOSE_WAIT": ["ESTABLISHED"],
};

/** Byte offsets of the trace event and descriptor fields, read by export name from the engine. */
interface TraceLayout {
  size: number;
  pkt: number;
  rec: number;
  ts: number;
  src: number;
  sport: number;
  flags: number;
  csum: number;
  seq: number;
  ack: number;
  win: number;
  opts: number;
  wscale: number;
  mss: number;
  tsval: number;
  tsecr: number;
  paylen: number;
  sackn: number;
  sack: number;
  frame: number;
  optMss: number;
  optWscale: number;
  optSackPerm: number;
  optSack: number;
  optTs: number;
  csumBad: number;
}
const NAMES: Record<keyof TraceLayout, string> = {
  size: "TE_SIZE",
  pkt: "TE_PKT",
  rec: "TE_REC",
  ts: "P_TS",
  src: "P_SRC",
  sport: "P_SPORT",
  flags: "P_FLAGS",
  csum: "P_CSUM",
  seq: "P_SEQ",
  ack: "P_ACK",
  win: "P_WIN",
  opts: "P_OPTS",
  wscale: "P_WSCALE",
  mss: "P_MSS",
  tsval: "P_TSVAL",
  tsecr: "P_TSECR",
  paylen: "P_PAYLEN",
  sackn: "P_SACKN",
  sack: "P_SACK",
  frame: "P_FRAME",
  optMss: "OPT_MSS",
  optWscale: "OPT_WSCALE",
  optSackPerm: "OPT_SACK_PERM",
  optSack: "OPT_SACK",
  optTs: "OPT_TS",
  csumBad: "Csum.Bad",
};

export function readTraceLayout(exports: WebAssembly.Exports): TraceLayout {
  const out = {} as Record<keyof TraceLayout, number>;
  for (const [key, name] of Object.entries(NAMES) as [keyof TraceLayout, string][]) {
    const g = exports[name] as { value?: unknown } | undefined;
    if (g === undefined || typeof g.value !== "number") throw new AbiMismatchError(name);
    out[key] = g.value;
  }
  return out;
}

const FLAG_ORDER: [number, string][] = [
  [0x02, "SYN"],
  [0x01, "FIN"],
  [0x04, "RST"],
  [0x08, "PSH"],
  [0x10, "ACK"],
  [0x20, "URG"],
  [0x40, "ECE"],
  [0x80, "CWR"],
];

export function flagNames(flags: number): string[] {
  return FLAG_ORDER.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name);
}

/** Per-direction numbering state (Wireshark's base_seq and window scale). */
interface Side {
  base?: number;
  /** Window-scale shift from this side's SYN; -1 = SYN without the option; undefined = no SYN seen. */
  shift?: number;
}

/**
 * Decodes the events of one traced connection, in order. `origAddr`/`origPort` name the flow's
 * final originator (the client), which fixes every event's direction and state columns.
 */
export class TraceDecoder {
  readonly #t: TraceLayout;
  readonly #c: Layout["constants"];
  readonly #facts: FactsReader;
  readonly #thresholds: StateThresholds;
  readonly #origAddr: string;
  readonly #origPort: number;
  readonly #sides = { orig: {} as Side, resp: {} as Side };
  #history = "";
  #prev: { orig: LadderState; resp: LadderState } | undefined;
  #anoms = new Map<string, number>();

  constructor(
    exports: WebAssembly.Exports,
    layout: Layout,
    origAddr: string,
    origPort: number,
    thresholds: StateThresholds = LINUX_THRESHOLDS,
  ) {
    this.#t = readTraceLayout(exports);
    this.#c = layout.constants;
    this.#facts = new FactsReader(layout);
    this.#thresholds = thresholds;
    this.#origAddr = origAddr;
    this.#origPort = origPort;
  }

  /** The originator of the record in the event at `p` (before any later role flip). */
  static recordOrig(v: MemoryViews, layout: Layout, t: { rec: number }, p: number): { addr: string; port: number } {
    const c = layout.constants,
      r = p + t.rec;
    return { addr: formatAddress(v.u8, r + c.FR_ORIG_ADDR), port: v.u16[(r + c.FR_ORIG_PORT) >>> 1] };
  }

  /** The record part of the event at `p` (for readers of flow records). */
  recordAt(p: number): number {
    return p + this.#t.rec;
  }

  decode(v: MemoryViews, p: number): TraceEvent {
    const t = this.#t,
      c = this.#c;
    const k = p + t.pkt,
      r = p + t.rec;
    const u32 = (at: number) => v.u32[at >>> 2];
    const u16 = (at: number) => v.u16[at >>> 1];
    const tsUs = v.u32[(k + t.ts + 4) >>> 2] * TWO32 + u32(k + t.ts);
    const src = formatAddress(v.u8, k + t.src);
    const sport = u16(k + t.sport);
    const dir: "orig" | "resp" = src === this.#origAddr && sport === this.#origPort ? "orig" : "resp";
    const me = this.#sides[dir],
      peer = this.#sides[dir === "orig" ? "resp" : "orig"];
    const flags = v.u8[k + t.flags];
    const syn = (flags & 0x02) !== 0,
      hasAck = (flags & 0x10) !== 0;
    const rawSeq = u32(k + t.seq),
      rawAck = u32(k + t.ack),
      rawWin = u16(k + t.win);
    const opts = v.u8[k + t.opts];

    // Wireshark's numbering: a side's base is its SYN's seq, else the seq before its first segment.
    if (syn) {
      me.base = rawSeq;
      me.shift = (opts & t.optWscale) !== 0 ? Math.min(v.u8[k + t.wscale], 14) : -1;
    } else if (me.base === undefined) me.base = (rawSeq - 1) >>> 0;
    if (hasAck && peer.base === undefined) peer.base = (rawAck - 1) >>> 0;
    const rel = (x: number, base: number) => (x - base) >>> 0;

    // Scaled by the sender's shift from its SYN, unless the peer's SYN came without the option
    // (RFC 7323 §2.2: scaling needs both), and never on a SYN itself.
    let win = rawWin;
    if (!syn && me.shift !== undefined && me.shift >= 0 && (peer.shift === undefined || peer.shift >= 0))
      win = rawWin * 2 ** me.shift;

    const options: SegmentOptions = {};
    if ((opts & t.optMss) !== 0) options.mss = u16(k + t.mss);
    if ((opts & t.optWscale) !== 0) options.wscale = v.u8[k + t.wscale];
    if ((opts & t.optSackPerm) !== 0) options.sack_permitted = true;
    if ((opts & t.optTs) !== 0) {
      options.tsval = u32(k + t.tsval);
      options.tsecr = u32(k + t.tsecr);
    }
    const nsack = v.u8[k + t.sackn];
    if ((opts & t.optSack) !== 0 && nsack > 0 && peer.base !== undefined) {
      options.sack = [];
      for (let i = 0; i < nsack; i++) {
        const at = k + t.sack + i * 8;
        options.sack.push([rel(u32(at), peer.base), rel(u32(at + 4), peer.base)]);
      }
    }

    // The record after the segment: roles may have flipped since, so map its sides to the flow's.
    const recOrig =
      formatAddress(v.u8, r + c.FR_ORIG_ADDR) === this.#origAddr && u16(r + c.FR_ORIG_PORT) === this.#origPort;
    const history = this.#historyAdded(v, r);
    const anomalies = this.#anomaliesAdded(v, r, recOrig);
    const f = this.#facts.read(v, r);
    const th = this.#thresholds;
    const stateOf = (meIsOrig: boolean): LadderState => {
      const me = meIsOrig ? f.orig : f.resp,
        other = meIsOrig ? f.resp : f.orig;
      // A server that has not answered a SYN yet is listening (the flow summary calls it CLOSED only
      // once the input has ended without an answer).
      if (!meIsOrig && me.pkts === 0 && other.syn && !other.rst) return "LISTEN";
      return endpointState(f, me, other, meIsOrig, tsUs, th);
    };
    const recOrigState = stateOf(true),
      recRespState = stateOf(false);

    const ev: TraceEvent = {
      frame: v.f64[(k + t.frame) >>> 3],
      ts: tsUs / 1e6,
      dir,
      flags,
      flag_names: flagNames(flags),
      seq: rel(rawSeq, me.base),
      raw_seq: rawSeq,
      raw_ack: rawAck,
      len: u32(k + t.paylen),
      win,
      raw_win: rawWin,
      options,
      history,
      anomalies,
      orig_state: recOrig ? recOrigState : recRespState,
      resp_state: recOrig ? recRespState : recOrigState,
    };
    if (hasAck) ev.ack = rel(rawAck, peer.base!);
    const prev =
      this.#prev !== undefined ? { orig_state: this.#prev.orig, resp_state: this.#prev.resp } : initialStates(ev);
    const ov = VIA[`${prev.orig_state}>${ev.orig_state}`],
      rv = VIA[`${prev.resp_state}>${ev.resp_state}`];
    if (ov !== undefined) ev.orig_via = ov;
    if (rv !== undefined) ev.resp_via = rv;
    this.#prev = { orig: ev.orig_state, resp: ev.resp_state };
    if (v.u8[k + t.csum] === t.csumBad) ev.bad_checksum = true;
    return ev;
  }

  #historyAdded(v: MemoryViews, r: number): string {
    const c = this.#c;
    const n = Math.min(v.u8[r + c.FR_HIST_LEN], c.HIST_CAP);
    let h = "";
    for (let i = 0; i < n; i++) h += String.fromCharCode(v.u8[r + c.FR_HISTORY + i]);
    const added = h.startsWith(this.#history) ? h.slice(this.#history.length) : h;
    this.#history = h;
    return added;
  }

  #anomaliesAdded(v: MemoryViews, r: number, recOrig: boolean): { type: string; side: "orig" | "resp" }[] {
    const c = this.#c;
    const out: { type: string; side: "orig" | "resp" }[] = [];
    const seen = new Map<string, number>();
    for (let i = 0; i < c.ANOM_SLOTS; i++) {
      const s = r + c.FR_EXT + c.X_ANOM + i * 8;
      const code = v.u8[s];
      const info = ANOMALY_BY_CODE[code];
      if (code === 0 || info === undefined) continue;
      const recSide = v.u8[s + 1] === 0;
      const side: "orig" | "resp" = recSide === recOrig ? "orig" : "resp";
      const key = `${info.name}:${side}`;
      const count = v.u16[(s + 2) >>> 1];
      seen.set(key, count);
      if (count > (this.#anoms.get(key) ?? 0)) out.push({ type: info.name, side });
    }
    this.#anoms = seen;
    return out;
  }
}

/** The states before the first segment: a client starts CLOSED, its server LISTEN when the first segment is a SYN. */
export function initialStates(first: TraceEvent | undefined): { orig_state: LadderState; resp_state: LadderState } {
  const synOpen = first !== undefined && first.dir === "orig" && (first.flags & 0x12) === 0x02;
  return synOpen ? { orig_state: "CLOSED", resp_state: "LISTEN" } : { orig_state: "UNKNOWN", resp_state: "UNKNOWN" };
}

/** The states each endpoint went through, from before the first segment to after the last (repeats merged). */
export function stateSequence(events: readonly TraceEvent[]): { orig: LadderState[]; resp: LadderState[] } {
  const init = initialStates(events[0]);
  const orig: LadderState[] = [init.orig_state],
    resp: LadderState[] = [init.resp_state];
  const push = (list: LadderState[], s: LadderState) => {
    if (list[list.length - 1] !== s) list.push(s);
  };
  for (const e of events) {
    for (const s of e.orig_via ?? []) push(orig, s);
    push(orig, e.orig_state);
    for (const s of e.resp_via ?? []) push(resp, s);
    push(resp, e.resp_state);
  }
  return { orig, resp };
}

/** The same event seen with the roles swapped (a connection whose roles flipped after it was traced). */
export function swapSides(e: TraceEvent): TraceEvent {
  const other = (d: "orig" | "resp"): "orig" | "resp" => (d === "orig" ? "resp" : "orig");
  const out: TraceEvent = {
    ...e,
    dir: other(e.dir),
    anomalies: e.anomalies.map((a) => ({ type: a.type, side: other(a.side) })),
    orig_state: e.resp_state,
    resp_state: e.orig_state,
  };
  delete out.orig_via;
  delete out.resp_via;
  if (e.resp_via !== undefined) out.orig_via = e.resp_via;
  if (e.orig_via !== undefined) out.resp_via = e.orig_via;
  return out;
}
