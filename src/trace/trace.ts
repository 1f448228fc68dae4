/**
 * @module
 * Traces one connection of a capture file: two passes over the file.
 *
 * 1. The flows are reconstructed as usual and the one asked for is found (by uid, Community ID, or
 *    endpoints; uids and Community IDs are computed on the host, so the engine cannot select by them).
 * 2. A fresh engine reads the file again with the trace armed for that record's endpoints and start
 *    time (assembly/flow/trace.ts): every segment the tracker gave to that record comes back as an
 *    event, in order, and the record itself is emitted as a flow again (the same flow: same input,
 *    same engine).
 *
 * Memory is bounded by the engine's trace ring, not by the connection: events are decoded and
 * handed to the caller as each ring is drained.
 */

import { closeSync, openSync } from "node:fs";
import { Reconstructor, type ReconstructorOptions, type RecordSink } from "../reconstructor.js";
import { FlowDecoder, type Flow } from "../flow.js";
import { parseAddress } from "../net/address.js";
import { createEngine, makeViews } from "../wasm/engine.js";
import { InsightReader, LINUX_THRESHOLDS, type TcpStateName } from "../anomalies/index.js";
import type { CaptureError } from "../wasm/errors.js";
import { readTraceLayout, swapSides, TraceDecoder, type TraceEvent } from "./events.js";

/** Which connection: exactly one way of naming it. `start` (flow ts, s) picks one of several matches. */
export type Selector =
  | { uid: string }
  | { communityId: string; start?: number }
  | { a: string; pa: number; b: string; pb: number; start?: number };

/** The endpoints of `--flow "a:p > b:q"` (IPv6 as `[addr]:port`). */
export function parseFlowSpec(text: string): { a: string; pa: number; b: string; pb: number } {
  const parts = text.split(">").map((s) => s.trim());
  if (parts.length !== 2) throw new SyntaxError(`--flow needs "addr:port > addr:port", got '${text}'`);
  const [a, pa] = endpoint(parts[0]);
  const [b, pb] = endpoint(parts[1]);
  return { a, pa, b, pb };
}

function endpoint(text: string): [string, number] {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (m === null) throw new SyntaxError(`not an endpoint (addr:port, or [v6addr]:port): '${text}'`);
  const port = Number(m[2]);
  if (port > 65535) throw new SyntaxError(`port out of range in '${text}'`);
  parseAddress(m[1]); // throws on a bad address
  return [m[1], port];
}

function sameAddress(x: string, y: string): boolean {
  const p = parseAddress(x),
    q = parseAddress(y);
  return p.every((b, i) => b === q[i]);
}

function matches(f: Flow, s: Selector): boolean {
  if ("uid" in s) return f.uid === s.uid;
  if (s.start !== undefined && Math.abs(f.ts - s.start) > 5e-7) return false;
  if ("communityId" in s) return f.community_id === s.communityId;
  const o = f["id.orig_h"],
    op = f["id.orig_p"],
    r = f["id.resp_h"],
    rp = f["id.resp_p"];
  return (
    (op === s.pa && rp === s.pb && sameAddress(o, s.a) && sameAddress(r, s.b)) ||
    (op === s.pb && rp === s.pa && sameAddress(o, s.b) && sameAddress(r, s.a))
  );
}

/** Reads a whole file through a Reconstructor, records to `sink`; returns the capture error, if any. */
function readAll(path: string, rec: Reconstructor, sink: RecordSink): CaptureError | null {
  const fd = openSync(path, "r");
  try {
    while (rec.readRecordsFrom(fd, sink));
  } finally {
    closeSync(fd);
  }
  rec.finishRecords(sink);
  return rec.error;
}

/** Every flow of the capture that the selector names, in the order they finished. */
export function findFlows(path: string, selector: Selector, options: ReconstructorOptions = {}): Flow[] {
  const rec = new Reconstructor(options);
  const decoder = new FlowDecoder(rec.layout, { communityIdSeed: options.communityIdSeed, insight: rec.insight });
  const found: Flow[] = [];
  readAll(path, rec, (v, p) => {
    const f = decoder.decode(v, p);
    if (matches(f, selector)) found.push(f);
  });
  return found;
}

export interface TraceResult {
  /** The traced flow, as the second pass emitted it. */
  flow: Flow;
  /** Segments traced (events handed to the callback). */
  segments: number;
  /** The states before the first segment and after the input ended, from the last event's record. */
  end: { orig_state: TcpStateName; resp_state: TcpStateName };
  error: CaptureError | null;
}

/**
 * Traces the connection `flow` (found by {@link findFlows}) in the capture at `path`; `onEvent`
 * gets each segment's event in capture order.
 */
export function traceFlow(
  path: string,
  flow: Flow,
  onEvent: (e: TraceEvent) => void,
  options: ReconstructorOptions = {},
): TraceResult {
  const t = prepareTrace(path, flow, onEvent, options);
  return t.finish(readAll(path, t.rec, t.sink));
}

/**
 * {@link traceFlow} that awaits `between()` after each window of input: a writer of the events
 * waits there for its stream to drain, so memory stays bounded however many events there are.
 */
export async function traceFlowPaced(
  path: string,
  flow: Flow,
  onEvent: (e: TraceEvent) => void,
  between: () => Promise<void>,
  options: ReconstructorOptions = {},
): Promise<TraceResult> {
  const t = prepareTrace(path, flow, onEvent, options);
  const fd = openSync(path, "r");
  try {
    while (t.rec.readRecordsFrom(fd, t.sink)) await between();
  } finally {
    closeSync(fd);
  }
  t.rec.finishRecords(t.sink);
  return t.finish(t.rec.error);
}

function prepareTrace(
  path: string,
  flow: Flow,
  onEvent: (e: TraceEvent) => void,
  options: ReconstructorOptions,
): {
  rec: Reconstructor;
  sink: RecordSink;
  finish: (error: CaptureError | null) => TraceResult;
} {
  const engine = createEngine();
  const thresholds = { ...LINUX_THRESHOLDS, ...options.stateThresholds };
  const decoder = new TraceDecoder(
    engine.exports as unknown as WebAssembly.Exports,
    engine.layout,
    flow["id.orig_h"],
    flow["id.orig_p"],
    thresholds,
  );
  const recordSize = engine.layout.constants.FR_SIZE;
  // The last event's record, kept to judge the end states as the flow summary does.
  const last = makeViews(new ArrayBuffer(recordSize));
  let segments = 0;
  const startUs = Math.round(flow.ts * 1e6);
  const rec = new Reconstructor(
    {
      ...options,
      trace: {
        a: parseAddress(flow["id.orig_h"]),
        pa: flow["id.orig_p"],
        b: parseAddress(flow["id.resp_h"]),
        pb: flow["id.resp_p"],
        startUs,
        sink: (v, p) => {
          onEvent(decoder.decode(v, p));
          const r = decoder.recordAt(p);
          last.u8.set(v.u8.subarray(r, r + recordSize));
          segments++;
        },
      },
    },
    engine,
  );
  const flowDecoder = new FlowDecoder(rec.layout, { communityIdSeed: options.communityIdSeed, insight: rec.insight });
  let again: Flow | undefined;
  let endUs = 0;
  const sink: RecordSink = (v, p) => {
    const f = flowDecoder.decode(v, p);
    if (f.uid === flow.uid && again === undefined) {
      again = f;
      endUs = rec.insight.endUs;
    }
  };
  const finish = (error: CaptureError | null): TraceResult => {
    if (again === undefined) throw new Error(`flow ${flow.uid} did not come back on the second pass over ${path}`);
    const insight = new InsightReader(rec.layout).read(last, 0, { endUs, final: true, thresholds });
    return { flow: again, segments, end: { orig_state: insight.orig_state, resp_state: insight.resp_state }, error };
  };
  return { rec, sink, finish };
}

/**
 * Traces every connection of the capture in one pass (the engine's every-record trace): `onFlow`
 * gets each flow with its events once the flow is finished. Events are held until their flow ends,
 * so memory grows with the live connections' segments: for tests and bounded bulk work (extract).
 */
export function traceEveryFlow(
  path: string,
  onFlow: (flow: Flow, events: TraceEvent[], end: TraceResult["end"]) => void,
  options: ReconstructorOptions = {},
): CaptureError | null {
  const engine = createEngine();
  const layout = engine.layout;
  const exports = engine.exports as unknown as WebAssembly.Exports;
  const t = readTraceLayout(exports);
  const thresholds = { ...LINUX_THRESHOLDS, ...options.stateThresholds };
  const c = layout.constants;
  const recordSize = c.FR_SIZE;
  interface Live {
    decoder: TraceDecoder;
    orig: string;
    port: number;
    events: TraceEvent[];
    last: Uint8Array;
  }
  const live = new Map<string, Live>();
  const keyOf = (u8: Uint8Array, r: number, tsUs: number): string => {
    const a = Buffer.from(u8.subarray(r + c.FR_ORIG_ADDR, r + c.FR_ORIG_ADDR + 16)).toString("hex");
    const b = Buffer.from(u8.subarray(r + c.FR_RESP_ADDR, r + c.FR_RESP_ADDR + 16)).toString("hex");
    const pa = u8[r + c.FR_ORIG_PORT] | (u8[r + c.FR_ORIG_PORT + 1] << 8),
      pb = u8[r + c.FR_RESP_PORT] | (u8[r + c.FR_RESP_PORT + 1] << 8);
    const x = `${a}.${pa}`,
      y = `${b}.${pb}`;
    return `${tsUs}|${x < y ? x + "|" + y : y + "|" + x}`;
  };
  const tsOf = (v: { u32: Uint32Array; i32: Int32Array }, r: number) =>
    v.i32[(r + c.FR_TS_START + 4) >>> 2] * 2 ** 32 + v.u32[(r + c.FR_TS_START) >>> 2];
  const rec = new Reconstructor(
    {
      ...options,
      trace: {
        a: new Uint8Array(16),
        pa: 0,
        b: new Uint8Array(16),
        pb: 0,
        startUs: 0,
        every: true,
        sink: (v, p) => {
          const r = p + t.rec;
          const key = keyOf(v.u8, r, tsOf(v, r));
          let l = live.get(key);
          if (l === undefined) {
            const o = TraceDecoder.recordOrig(v, layout, t, p);
            l = {
              decoder: new TraceDecoder(exports, layout, o.addr, o.port, thresholds),
              orig: o.addr,
              port: o.port,
              events: [],
              last: new Uint8Array(recordSize),
            };
            live.set(key, l);
          }
          l.events.push(l.decoder.decode(v, p));
          l.last.set(v.u8.subarray(r, r + recordSize));
        },
      },
    },
    engine,
  );
  const flowDecoder = new FlowDecoder(layout, { communityIdSeed: options.communityIdSeed, insight: rec.insight });
  const insight = new InsightReader(layout);
  return readAll(path, rec, (v, p) => {
    const flow = flowDecoder.decode(v, p);
    const key = keyOf(v.u8, p, tsOf(v, p));
    const l = live.get(key);
    live.delete(key);
    if (l === undefined) {
      onFlow(flow, [], { orig_state: flow.orig_state, resp_state: flow.resp_state });
      return;
    }
    const same = l.orig === flow["id.orig_h"] && l.port === flow["id.orig_p"];
    const events = same ? l.events : l.events.map(swapSides);
    const ins = insight.read(makeViews(l.last.buffer as ArrayBuffer), 0, {
      endUs: rec.insight.endUs,
      final: true,
      thresholds,
    });
    onFlow(flow, events, { orig_state: ins.orig_state, resp_state: ins.resp_state });
  });
}
