/**
 * @module
 * `Reconstructor`: capture bytes in, finished TCP flows out, in bounded memory.
 *
 * Input goes through one fixed staging window inside the engine's memory (default 8 MiB): each
 * chunk is copied in after the unconsumed tail of the previous one, and `feed()` consumes whole
 * capture records only. The tail (a partial record, at most one record long) is moved to the window
 * start, so the input is never held whole and a chunk of any size is taken in window-sized pieces
 * (assemblyscript-performance.md §3). Finished flows are copied out of the engine's output ring
 * after every engine call, so the ring never overflows.
 *
 * Two ways out: `push`/`readFrom`/`finish` return decoded {@link Flow} objects; `pushRecords`/
 * `readRecordsFrom`/`finishRecords` hand each finished record, in engine memory, to a
 * {@link RecordSink} (the output formats write from there without building objects).
 *
 * Two ways in: capture bytes (`push*`, `read*`), or pre-parsed segment records
 * (`pushSegments`, SEG_* layout of assembly/capture/segments.ts, encoded by src/ingest/segments.ts).
 * One instance takes one of them; both go through the same tracker, draining and error handling.
 * `finishSome` ends the input in steps of at most one output ring of flows, so a server can yield
 * between steps (assemblyscript-performance.md §4).
 *
 * Errors are data, not exceptions: a damaged capture sets {@link Reconstructor.error}, input after
 * the damage is ignored, and {@link Reconstructor.finish} still reports every flow decoded before
 * it (house style, "bad container"). Only engine faults (traps, flowrecon bugs) throw.
 *
 * @example
 * ```ts
 * const rec = new Reconstructor({ ignoreChecksums: true });
 * for await (const chunk of fs.createReadStream("trace.pcap")) for (const f of rec.push(chunk)) print(f);
 * for (const f of rec.finish()) print(f);
 * if (rec.error) console.error(rec.error.message);
 * ```
 */

import { readSync } from "node:fs";
import {
  createEngine,
  type Engine,
  EngineFault,
  type MemoryViews,
  restoreEngine,
  snapshotEngine,
} from "./wasm/engine.js";
import { AbiMismatchError, type Layout } from "./wasm/layout.js";
import { captureError, magicHint, type CaptureError } from "./wasm/errors.js";
import { FlowDecoder, type Flow } from "./flow.js";
import { LocalNets } from "./net/local-nets.js";
import { StatsReader, type Stats } from "./stats.js";
// From their own modules, not anomalies/index.ts: a run that prints in the engine loads no insight reader (derive.ts).
import { LINUX_THRESHOLDS, type StateThresholds } from "./anomalies/endpoint-state.js";
import type { InsightContext } from "./anomalies/derive.js";
import { readSegmentLayout, type SegmentLayout } from "./ingest/segment-layout.js";
import { parseHashKey, processHashKey } from "./hash-key.js";
import { EngineLines, type EngineLineOptions } from "./format/engine-lines.js";

export interface ReconstructorOptions {
  /** Do not validate TCP/IPv4 checksums (Zeek `-C`). Default false: bad segments are counted and skipped. */
  ignoreChecksums?: boolean;
  /**
   * Make the VLAN ids part of the connection key (Zeek's policy/frameworks/conn_key/vlan_fivetuple).
   * Default false: the plain 5-tuple, Zeek's default key, so a connection whose two directions
   * carry different VLAN ids (a router on a stick) is one connection.
   */
  vlanInKey?: boolean;
  /** Maximum live flows; past it the least recently active one is evicted. Engine default 2,000,000. */
  flowCap?: number;
  /** Seconds an unanswered SYN waits before the attempt is reported (Zeek tcp_attempt_delay, 5). */
  attemptTimeout?: number;
  /** Seconds a closed or reset connection lingers (Zeek tcp_close_delay, 5). */
  closeTimeout?: number;
  /** Seconds without packets before a flow is reported (Zeek tcp_inactivity_timeout, 300). */
  inactivityTimeout?: number;
  /** Inactivity timeout for ports 21, 22, 23, 513 (Zeek conn/inactivity.zeek, 3600). */
  interactiveInactivityTimeout?: number;
  /**
   * Zeek's likely_server_ports, which decide who is the originator of a connection seen without its
   * SYN: true (default) = the set Zeek's default scripts register; false = empty (`zeek -b`);
   * a list = exactly these ports (e.g. bare mode plus the ports of the scripts a Zeek run loaded).
   */
  likelyServerPorts?: boolean | readonly number[];
  /** Report content gaps on partial connections too (Zeek report_gaps_for_partial). Default false. */
  reportGapsForPartial?: boolean;
  /** Inactivity timeout while both sides are still in the handshake (Zeek udp_inactivity_timeout, 60 s). */
  handshakeInactivityTimeout?: number;
  /** Zeek tcp_max_above_hole_without_any_acks in bytes (0 = no limit; default 16384). */
  maxAboveHoleWithoutAcks?: number;
  /** Zeek tcp_excessive_data_without_further_acks in bytes (0 = no limit; default 10 MiB). */
  excessiveDataWithoutAcks?: number;
  /**
   * Key of the engine's flow-table hash, 32 hex digits (default: FLOWRECON_HASH_KEY, else a random
   * key per process). Set it only to reproduce a run's timing: no output depends on it.
   */
  hashKey?: string;
  /**
   * Steady-state segments (in-order ACK/PSH on an established connection) take the tracker's fast
   * path (assembly/flow/steady.ts). Default true; false sends every segment through the full path.
   * Does not change any output (test/host/fast-path.test.ts checks both ways agree).
   */
  fastPath?: boolean;
  /** Size of the staging window in bytes (default 8 MiB, minimum 1 MiB); bounds a single capture record. */
  windowBytes?: number;
  /** Community ID seed (default 0). */
  communityIdSeed?: number;
  /**
   * Zeek's Site::local_nets for local_orig/local_resp: comma-separated CIDR networks added to the
   * private address space (Zeek's default); a `-` entry leaves the private space out, `-` alone
   * leaves the columns unset (src/net/local-nets.ts).
   */
  localNets?: string;
  /** When endpoint states run out and live flows count as stuck (seconds; defaults from Linux, see LINUX_THRESHOLDS). */
  stateThresholds?: Partial<StateThresholds>;
  /** Trace one connection's segments (engine trace mode, src/trace): events go to the request's sink. */
  trace?: TraceRequest;
}

/**
 * One connection to trace: its two endpoints (16-byte addresses, IPv4 v4-mapped; either order) and
 * the start time of its record (µs, the flow's `ts`). Each event (assembly/flow/trace.ts layout) is
 * handed to `sink` before any flow drained with it, valid only during the call.
 */
export interface TraceRequest {
  a: Uint8Array;
  pa: number;
  b: Uint8Array;
  pb: number;
  startUs: number;
  sink: RecordSink;
  /** Trace every connection instead (the events' records tell them apart); a, pa, b, pb, startUs are ignored. */
  every?: boolean;
}

/**
 * Receives each finished flow record: byte offset `p` in the views' memory, valid only during the
 * call. A sink must not call into the engine. Read it with RecordReader (src/wasm/record.ts),
 * FlowDecoder, or a Formatter.
 */
export type RecordSink = ((views: MemoryViews, p: number) => void) & {
  /**
   * Optional whole-drain form: receives the `n` records from `p`, `size` bytes apart, in one call,
   * where the per-record form would be called for each (the engine's formatter then hashes several
   * Community IDs side by side, src/format/engine-lines.ts recordsInto). Same contract otherwise.
   */
  readonly batch?: (views: MemoryViews, p: number, n: number, size: number) => void;
};

export const DEFAULT_WINDOW_BYTES = 8 << 20;
export const MIN_WINDOW_BYTES = 1 << 20;
const MAX_WINDOW_BYTES = 1 << 30;

/**
 * The first feeds are small and grow to the full window: V8 starts wasm in Liftoff and cannot
 * switch a running call to TurboFan, so a single 8 MiB first call would run at baseline speed
 * (assemblyscript-performance.md §4). Small early calls let the optimized code take over.
 */
const FIRST_FEED_BYTES = 64 << 10;

/**
 * The most one read from a file descriptor asks for (readRecordsFrom), however large the window: a
 * piece the CPU caches hold while the engine decodes it. One 8 MiB read (the window) cost the CLI
 * ~2x the read() time and ~1.5x pcapRunEthernet's own time on the 188 MB cap2m against 0.25-2 MiB
 * reads (the copy and the decode both went to DRAM; `node --cpu-prof`, 3 runs each size).
 */
export const READ_BYTES = 1 << 20;

type BoolOption = "ignoreChecksums" | "vlanInKey" | "reportGapsForPartial" | "fastPath";
type NumberOption =
  | "flowCap"
  | "attemptTimeout"
  | "closeTimeout"
  | "inactivityTimeout"
  | "interactiveInactivityTimeout"
  | "handshakeInactivityTimeout"
  | "maxAboveHoleWithoutAcks"
  | "excessiveDataWithoutAcks";

/** Option name -> engine `Option.*` member and the factor to its unit (times are µs in the engine). */
const ENGINE_OPTIONS: readonly [BoolOption | NumberOption, string, number][] = [
  ["ignoreChecksums", "IgnoreChecksums", 1],
  ["vlanInKey", "VlanInKey", 1],
  ["flowCap", "FlowCap", 1],
  ["attemptTimeout", "AttemptDelayUs", 1e6],
  ["closeTimeout", "CloseDelayUs", 1e6],
  ["inactivityTimeout", "InactivityUs", 1e6],
  ["interactiveInactivityTimeout", "InactivityInteractiveUs", 1e6],
  ["reportGapsForPartial", "ReportGapsForPartial", 1],
  ["handshakeInactivityTimeout", "HandshakeInactivityUs", 1e6],
  ["maxAboveHoleWithoutAcks", "MaxAboveHoleWithoutAcks", 1],
  ["excessiveDataWithoutAcks", "ExcessiveDataWithoutAcks", 1],
  ["fastPath", "FastPath", 1],
];
const BOOL_OPTIONS = new Set<string>(["ignoreChecksums", "vlanInKey", "reportGapsForPartial", "fastPath"]);

function checkOptions(options: ReconstructorOptions): void {
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined || key === "trace") continue;
    if (key === "hashKey") {
      if (typeof value !== "string")
        throw new TypeError(`option hashKey must be a string of 32 hex digits, got ${typeof value}`);
      parseHashKey(value, "option hashKey");
    } else if (key === "localNets") {
      if (typeof value !== "string")
        throw new TypeError(`option localNets must be a string of CIDR networks, got ${typeof value}`);
    } else if (key === "likelyServerPorts") {
      const ok =
        typeof value === "boolean" ||
        (Array.isArray(value) && value.every((p) => Number.isInteger(p) && p >= 0 && p <= 65535));
      if (!ok) throw new TypeError("option likelyServerPorts must be a boolean or a list of ports (0-65535)");
    } else if (BOOL_OPTIONS.has(key)) {
      if (typeof value !== "boolean") throw new TypeError(`option ${key} must be a boolean, got ${typeof value}`);
    } else if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new RangeError(`option ${key} must be a finite number >= 0, got ${String(value)}`);
    }
  }
  if (options.flowCap !== undefined && (!Number.isInteger(options.flowCap) || options.flowCap < 1)) {
    throw new RangeError(`option flowCap must be a positive integer, got ${options.flowCap}`);
  }
  const w = options.windowBytes;
  if (w !== undefined && (!Number.isInteger(w) || w < MIN_WINDOW_BYTES || w > MAX_WINDOW_BYTES)) {
    throw new RangeError(
      `option windowBytes must be an integer in [${MIN_WINDOW_BYTES}, ${MAX_WINDOW_BYTES}], got ${w}`,
    );
  }
  const seed = options.communityIdSeed;
  if (seed !== undefined && (!Number.isInteger(seed) || seed > 0xffff)) {
    throw new RangeError(`option communityIdSeed must be an integer in [0, 65535], got ${seed}`);
  }
}

/** @internal See {@link Reconstructor.saveHostState}. */
export interface HostState {
  readonly fill: number;
  readonly bytesIn: number;
  readonly feedLimit: number;
  readonly error: CaptureError | null;
  readonly input: InputKind | null;
  readonly segmentsIn: number;
  readonly endUs: number;
}

/** @internal A Reconstructor's complete state: its engine's memory and the host half. */
export interface ReconstructorSnapshot {
  readonly engine: Uint8Array<ArrayBuffer>;
  readonly host: HostState;
}

/** What a Reconstructor is fed: capture bytes, segment records, or frame records (a shard's, src/shards/). */
type InputKind = "capture" | "segments" | "frames";

/**
 * @internal Takes the frames routed to each shard after every engine call: `ptr`/`len` of shard
 * `i`'s frame records in the engine memory (valid during the call only).
 */
export type RouteSink = (views: MemoryViews, shard: number, ptr: number, len: number) => void;

export class Reconstructor {
  #engine: Engine;
  readonly #decoder: FlowDecoder;
  /**
   * The capture clock the insight fields (endpoint states, anomalies' idle_s) are judged against:
   * updated before flows are handed out; `final` once the input has ended. Formatters that write
   * from records take it (createFormatter(..., { insight })).
   */
  readonly insight: InsightContext;
  readonly #stats: StatsReader;
  readonly #base: number;
  readonly #window: number;
  #fill = 0;
  #bytesIn = 0;
  #feedLimit = FIRST_FEED_BYTES;
  #error: CaptureError | null = null;
  #finished = false;
  #finishDone = false;
  #fault: EngineFault | null = null;
  /** What this instance is fed: capture bytes or segment records (null until the first push). */
  #input: InputKind | null = null;
  #route: { shards: number; sink: RouteSink } | null = null;
  #segmentsIn = 0;
  #segmentLayout: SegmentLayout | null = null;
  #trace: TraceRequest | null = null;
  #traceSize = 0;

  /**
   * @param options engine and decoding options; unset ones keep the engine's Zeek defaults.
   * @param engine  @internal a prepared engine (tests pass one with fake exports); default: a new instance.
   */
  constructor(options: ReconstructorOptions = {}, engine?: Engine) {
    checkOptions(options);
    this.#engine = engine ?? createEngine();
    const { exports, layout } = this.#engine;
    // Every record the engine hands out is finished (closed, timed out, evicted or at the end of
    // the input), so its end anomalies are reported without waiting for a threshold.
    this.insight = { endUs: 0, final: true, thresholds: { ...LINUX_THRESHOLDS, ...options.stateThresholds } };
    this.#decoder = new FlowDecoder(layout, {
      communityIdSeed: options.communityIdSeed,
      insight: this.insight,
      localNets: new LocalNets(options.localNets),
    });
    this.#stats = new StatsReader(layout.stat);
    // Options first: the tracker may size its table from flowCap when init() runs.
    for (const [key, member, factor] of ENGINE_OPTIONS) {
      const value = options[key];
      if (value === undefined) continue;
      const option = layout.option.values[member];
      if (option === undefined) throw new AbiMismatchError(`Option.${member}`);
      exports.setOption(option, typeof value === "boolean" ? Number(value) : value * factor);
    }
    this.#setServerPorts(options.likelyServerPorts);
    const { key0, key1 } =
      options.hashKey !== undefined ? parseHashKey(options.hashKey, "option hashKey") : processHashKey();
    exports.setHashKey(key0, key1);
    exports.init(options.windowBytes ?? DEFAULT_WINDOW_BYTES);
    if (options.trace !== undefined) this.#armTrace(options.trace);
    this.#base = exports.inputPtr();
    this.#window = exports.inputSize();
    // The window is not touched here: its pages fault in as reads first fill them, so a small
    // capture (or a shard, whose pieces fill ~1 MiB of its window) pays only for what it uses.
    this.#feedLimit = Math.min(FIRST_FEED_BYTES, this.#window);
  }

  #armTrace(t: TraceRequest): void {
    const ex = this.#engine.exports;
    if (ex.traceArm === undefined || ex.traceKeyPtr === undefined) throw new AbiMismatchError("traceArm()");
    if (t.a.length !== 16 || t.b.length !== 16) throw new RangeError("trace addresses are 16 bytes (IPv4 v4-mapped)");
    const key = ex.traceKeyPtr();
    const u8 = this.#engine.views().u8;
    u8.set(t.a, key);
    u8.set(t.b, key + 16);
    const size = (ex as unknown as Record<string, { value?: unknown }>).TE_SIZE?.value;
    if (typeof size !== "number") throw new AbiMismatchError("TE_SIZE");
    if (t.every) {
      if (ex.traceArmAll === undefined) throw new AbiMismatchError("traceArmAll()");
      ex.traceArmAll();
    } else ex.traceArm(t.pa, t.pb, BigInt(t.startUs));
    this.#traceSize = size;
    this.#trace = t;
  }

  /** likely_server_ports: the engine's default set, an empty one, or the given ports (8 KiB bitmap). */
  #setServerPorts(ports: boolean | readonly number[] | undefined): void {
    if (ports === undefined) return;
    const { exports, layout } = this.#engine;
    const option = layout.option.values.LikelyServerPorts;
    if (option === undefined) throw new AbiMismatchError("Option.LikelyServerPorts");
    exports.setOption(option, ports === false || Array.isArray(ports) ? 0 : 1);
    if (!Array.isArray(ports)) return;
    if (exports.serverPortsPtr === undefined) throw new AbiMismatchError("serverPortsPtr()");
    const base = exports.serverPortsPtr();
    const u8 = this.#engine.views().u8;
    for (const port of ports) u8[base + (port >>> 3)] |= 1 << (port & 7);
  }

  /** The first fatal capture error, or null. Flows decoded before it are still reported. */
  get error(): CaptureError | null {
    return this.#error;
  }

  /** Counters so far (a fresh object on each read). */
  get stats(): Stats {
    return this.#stats.read(this.#engine.views(), this.#engine.exports.statsPtr());
  }

  /** Input bytes accepted so far (pushed or read). */
  get bytesIn(): number {
    return this.#bytesIn;
  }

  /** Size of the staging window: the largest capture record this instance can take. */
  get windowBytes(): number {
    return this.#window;
  }

  /** Segment records accepted so far by {@link pushSegments}. */
  get segmentsIn(): number {
    return this.#segmentsIn;
  }

  /**
   * @internal Zeroes the input window past the unconsumed tail (bytes already decoded), so a saved
   * state (src/http/sessions/session-file.ts leaves zero pages out) does not carry them.
   */
  clearSpareWindow(): void {
    this.#engine.views().u8.fill(0, this.#base + this.#fill, this.#base + this.#window);
  }

  /** @internal The engine's linear memory, a view (no copy): what {@link snapshot} copies. */
  get engineMemory(): Uint8Array {
    return new Uint8Array(this.#engine.exports.memory.buffer);
  }

  /** The capture clock: the latest packet time seen, µs since the epoch (0 before any packet). */
  get clockUs(): number {
    return Number(this.#engine.exports.clockUs());
  }

  /** Bytes of the engine's linear memory (it grows and never shrinks): what this instance holds. */
  get memoryBytes(): number {
    return this.#engine.exports.memory.buffer.byteLength;
  }

  /** The segment-record layout (SEG_* offsets and OPT_* bits), read by name from the engine. */
  get segmentLayout(): SegmentLayout {
    return (this.#segmentLayout ??= readSegmentLayout(this.#engine.exports as unknown as WebAssembly.Exports));
  }

  /**
   * A formatter inside this instance's engine (src/format/engine-lines.ts), configured once, for
   * NDJSON lines or Zeek TSV rows of the records a sink receives: `lines.record(p)` in the sink.
   * Endpoint states are judged against the capture clock with this instance's thresholds.
   */
  engineLines(options: EngineLineOptions): EngineLines {
    return new EngineLines(this.#engine, { thresholds: this.insight.thresholds, ...options });
  }

  /** The engine's record layout and enums (for formatters and RecordReader). */
  get layout(): Layout {
    return this.#engine.layout;
  }

  /**
   * Decodes the next piece of the capture. Returns the flows that finished while decoding it
   * (timeouts, closes, evictions); chunk boundaries may fall anywhere, even inside a record.
   * After an error it does nothing and returns [].
   */
  push(chunk: Uint8Array): Flow[] {
    const out: Flow[] = [];
    this.pushRecords(chunk, this.#collect(out));
    return out;
  }

  /**
   * Reads the next piece of the capture (at most {@link READ_BYTES}) from a file descriptor
   * straight into the engine's window (no intermediate buffer) and decodes it. Returns the flows
   * that finished, or null at end of file or once an error stopped decoding; then call {@link finish}.
   */
  readFrom(fd: number): Flow[] | null {
    const out: Flow[] = [];
    return this.readRecordsFrom(fd, this.#collect(out)) ? out : null;
  }

  /**
   * Ends the input: decodes what is left, reports a capture that ends inside a record, then returns
   * every flow still live. Also after an error, so the flows before the damage are not lost.
   */
  finish(): Flow[] {
    const out: Flow[] = [];
    this.finishRecords(this.#collect(out));
    return out;
  }

  /**
   * @internal The host half of this instance's state (window fill, counters, error, clock). With a
   * copy of the engine's memory and globals it is the whole state: a session batch rejected after
   * it was decoded rolls both back (src/http/sessions/session.ts).
   */
  saveHostState(): HostState {
    return {
      fill: this.#fill,
      bytesIn: this.#bytesIn,
      feedLimit: this.#feedLimit,
      error: this.#error,
      input: this.#input,
      segmentsIn: this.#segmentsIn,
      endUs: this.insight.endUs,
    };
  }

  /** @internal Puts back what {@link saveHostState} returned (the engine's state is the caller's). */
  restoreHostState(state: HostState): void {
    ({
      fill: this.#fill,
      bytesIn: this.#bytesIn,
      feedLimit: this.#feedLimit,
      error: this.#error,
      input: this.#input,
      segmentsIn: this.#segmentsIn,
    } = state);
    this.insight.endUs = state.endUs;
  }

  /**
   * @internal The whole state: a copy of the engine's memory and the host half. Restoring it
   * ({@link restore}) undoes everything fed since (src/http/sessions/session.ts rolls a rejected
   * batch back, and a session reloaded at start continues where it was).
   */
  snapshot(): ReconstructorSnapshot {
    this.#checkUsable();
    return { engine: snapshotEngine(this.#engine), host: this.saveHostState() };
  }

  /**
   * @internal Puts this instance in the state of `snapshot`, taken from a Reconstructor with the
   * same options (the host-side options are this instance's): a fresh engine instance with the
   * snapshot's memory. Throws a RangeError if the snapshot cannot be engine memory.
   */
  restore(snapshot: ReconstructorSnapshot): void {
    this.#engine = restoreEngine(snapshot.engine);
    this.restoreHostState(snapshot.host);
  }

  /**
   * One step of listing the live flows without ending them (the engine's emitLive): hands at most
   * one output ring of them to `sink`, as {@link finishRecords} would report them now. Returns true
   * once every live flow was listed; until then call again before feeding more input.
   */
  liveSome(sink: RecordSink): boolean {
    if (this.#fault !== null)
      throw new EngineFault(`this Reconstructor is unusable after an engine fault: ${this.#fault.message}`);
    let done = false;
    // The clock the finished flows are judged against stays where the input left it.
    const endUs = this.insight.endUs;
    this.#guard(() => {
      const more = this.#engine.exports.emitLive();
      let drained: number;
      try {
        drained = this.#drain(sink);
      } finally {
        this.insight.endUs = endUs;
      }
      if (more === 0) done = true;
      else if (drained === 0) throw new EngineFault("emitLive() asked to be called again without listing a flow");
    });
    return done;
  }

  /** {@link push}, handing finished records to `sink` instead of decoding them. */
  pushRecords(chunk: Uint8Array, sink: RecordSink): void {
    this.#checkUsable();
    this.#setInput("capture");
    let off = 0;
    while (off < chunk.length && this.#error === null) {
      const n = Math.min(this.#room(), chunk.length - off);
      this.#engine.views().u8.set(chunk.subarray(off, off + n), this.#base + this.#fill);
      off += n;
      this.#accept(n, sink);
    }
  }

  /**
   * The first container error that pushing `chunks` would hit, or null: the engine walks their
   * records and blocks on a copy of its reader state (its framing check) and delivers no frame, so
   * nothing is decoded or tracked and this instance is left exactly as it was. The error is what
   * {@link error} would then be (code, stream offset, record number); a capture that merely ends
   * inside a record is no error here (more bytes may follow).
   */
  checkCapture(chunks: readonly Uint8Array[]): CaptureError | null {
    this.#checkUsable();
    if (this.#input === "segments")
      throw new Error("this Reconstructor was fed segment records; it takes one kind of input");
    if (this.#error !== null) return this.#error;
    const host = this.saveHostState();
    const tail = this.#engine.views().u8.slice(this.#base, this.#base + this.#fill);
    const ex = this.#engine.exports;
    const noFlows: RecordSink = () => {
      throw new EngineFault("a framing check delivered a flow");
    };
    ex.checkBegin();
    let error: CaptureError | null;
    try {
      for (const chunk of chunks) {
        this.pushRecords(chunk, noFlows);
        if (this.#error !== null) break;
      }
      error = this.#error;
    } finally {
      ex.checkEnd();
      this.#engine.views().u8.set(tail, this.#base);
      this.restoreHostState(host);
    }
    return error;
  }

  /** {@link readFrom} with a sink: returns false at end of file or once an error stopped decoding. */
  readRecordsFrom(fd: number, sink: RecordSink): boolean {
    this.#checkUsable();
    this.#setInput("capture");
    if (this.#error !== null) return false;
    const room = Math.min(this.#room(), READ_BYTES);
    const dst = new Uint8Array(this.#engine.exports.memory.buffer, this.#base + this.#fill, room);
    const n = readSync(fd, dst, 0, room, null);
    if (n === 0) return false;
    this.#accept(n, sink);
    return true;
  }

  /**
   * Tracks pre-parsed segment records: `records` holds whole records of `segmentLayout.size` bytes
   * (SEG_* layout), in capture order. Finished flows go to `sink`. Records are copied through the
   * input window, a window's worth per engine call. A record the engine rejects sets
   * {@link error} (BadSegmentRecord, with its index among all records pushed) and stops the input,
   * as a damaged capture does; callers that validate first (src/ingest/segments.ts) never see it.
   */
  pushSegments(records: Uint8Array, sink: RecordSink): void {
    this.#checkUsable();
    this.#setInput("segments");
    const size = this.segmentLayout.size;
    if (records.length % size !== 0) {
      throw new RangeError(`segment records are ${size} bytes each; got ${records.length} bytes`);
    }
    const ex = this.#engine.exports;
    const feedSegments = ex.feedSegments;
    if (feedSegments === undefined) throw new AbiMismatchError("feedSegments()");
    const fit = Math.floor(this.#window / size);
    const total = records.length / size;
    let done = 0;
    this.#guard(() => {
      while (done < total && this.#error === null) {
        const n = Math.min(fit, total - done);
        this.#engine.views().u8.set(records.subarray(done * size, (done + n) * size), this.#base);
        const consumed = feedSegments.call(ex, n, this.#segmentsIn);
        if (!(consumed >= 0 && consumed <= n)) throw new EngineFault(`feedSegments(${n}) returned ${consumed}`);
        done += consumed;
        this.#segmentsIn += consumed;
        const drained = this.#drain(sink);
        if (this.#checkError()) return;
        if (consumed === 0 && drained === 0)
          throw new EngineFault("feedSegments() consumed nothing and emitted nothing");
      }
    });
  }

  /**
   * @internal Route mode (src/shards/): this engine frames the capture, tracks the frames of shard 0
   * itself (`ownShare` of the connections, by hash; default 1/shards) and hands every other frame,
   * as a frame record, to `sink` with its shard among 1..shards-1. Call before the first push.
   * Flows finish here (shard 0's) and in the other shards' engines; this one's counters are the
   * container's and shard 0's.
   */
  routeTo(shards: number, sink: RouteSink, ownShare = 1 / shards): void {
    const ex = this.#engine.exports;
    if (
      ex.routeInit === undefined ||
      ex.routeAreaLen === undefined ||
      ex.routeAreaPtr === undefined ||
      ex.routeClear === undefined
    ) {
      throw new AbiMismatchError("routeInit()");
    }
    if (this.#input !== null) throw new Error("routeTo() must come before the first input");
    ex.routeInit(shards, ownShare);
    this.#route = { shards, sink };
  }

  /**
   * @internal A shard's input (src/shards/): whole frame records written by a route-mode engine.
   * Decodes and tracks them; finished flows go to `sink`.
   */
  pushFrames(records: Uint8Array, sink: RecordSink): void {
    this.#checkUsable();
    this.#setInput("frames");
    const ex = this.#engine.exports;
    const feedFrames = ex.feedFrames;
    if (feedFrames === undefined) throw new AbiMismatchError("feedFrames()");
    let off = 0;
    this.#guard(() => {
      while (off < records.length) {
        const n = Math.min(this.#window - this.#fill, records.length - off);
        this.#engine.views().u8.set(records.subarray(off, off + n), this.#base + this.#fill);
        off += n;
        this.#fill += n;
        for (;;) {
          const consumed = feedFrames.call(ex, this.#fill);
          if (!(consumed >= 0 && consumed <= this.#fill))
            throw new EngineFault(`feedFrames(${this.#fill}) returned ${consumed}`);
          if (consumed > 0) {
            this.#engine.views().u8.copyWithin(this.#base, this.#base + consumed, this.#base + this.#fill);
            this.#fill -= consumed;
          }
          const drained = this.#drain(sink);
          if (this.#fill === 0 || (consumed === 0 && drained === 0)) break;
        }
        if (this.#fill >= this.#window)
          throw new EngineFault(`a frame record does not fit the ${this.#window} byte window`);
      }
    });
  }

  /**
   * @internal Moves a shard's capture clock to the reading thread's (µs) and sweeps `sweepSlots`
   * records, so its idle connections expire while its share of the packets pauses.
   */
  advanceClock(us: number, sweepSlots: number, sink: RecordSink): void {
    this.#checkUsable();
    const ex = this.#engine.exports;
    if (ex.advanceClock === undefined) throw new AbiMismatchError("advanceClock()");
    this.#guard(() => {
      ex.advanceClock!(us, sweepSlots);
      this.#drain(sink);
    });
  }

  /** {@link finish} with a sink. */
  finishRecords(sink: RecordSink): void {
    while (!this.finishSome(sink));
  }

  /**
   * One step of {@link finishRecords}: the first call ends the input (decodes what is left of a
   * capture, reports a capture that ends inside a record); each call then emits at most one output
   * ring of live flows (OUT_CAP) to `sink`. Returns true once every flow has been emitted. Lets a
   * server yield to its event loop between steps instead of flushing millions of flows in one go.
   */
  finishSome(sink: RecordSink): boolean {
    if (this.#finishDone) return true;
    if (!this.#finished) {
      this.#checkUsable();
      this.#finished = true;
      this.#guard(() => this.#endInput(sink));
    } else if (this.#fault !== null) {
      throw new EngineFault(`this Reconstructor is unusable after an engine fault: ${this.#fault.message}`);
    }
    const ex = this.#engine.exports;
    this.#guard(() => {
      const more = ex.finish();
      const drained = this.#drain(sink);
      if (more === 0) this.#finishDone = true;
      else if (drained === 0) throw new EngineFault("finish() asked to be called again without emitting a flow");
    });
    return this.#finishDone;
  }

  /** End of input: the capture's tail at eof, or the empty-input error. Segment input has no tail. */
  #endInput(sink: RecordSink): void {
    if (this.#error !== null || this.#input === "segments" || this.#input === "frames") return;
    if (this.#bytesIn === 0) {
      this.#error = captureError(
        "TruncatedInput",
        0,
        0,
        "",
        "capture is truncated at byte 0 (record 0): the input is empty, expected a pcap or pcapng file header",
      );
      return;
    }
    this.#pump(true, sink);
    if (this.#error === null && this.#fill > 0) {
      // The engine must flag a partial record at eof; if it did not, say so rather than drop it.
      this.#error = captureError("TruncatedInput", this.#bytesIn - this.#fill, this.#readStats().records);
    }
  }

  #setInput(kind: InputKind): void {
    if (this.#input === kind) return;
    if (this.#input !== null) {
      throw new Error(
        `this Reconstructor was fed ${this.#input === "capture" ? "capture bytes" : this.#input === "segments" ? "segment records" : "frame records"}; it takes one kind of input`,
      );
    }
    this.#input = kind;
  }

  #collect(out: Flow[]): RecordSink {
    const decoder = this.#decoder;
    return (v, p) => {
      out.push(decoder.decode(v, p));
    };
  }

  /** Bytes the next copy may add: the window, or less during the warm-up ramp. */
  #room(): number {
    const limit = this.#fill < this.#feedLimit ? this.#feedLimit : this.#window;
    return limit - this.#fill;
  }

  /** `n` new bytes sit after the tail in the window: decode, then check the window can still move. */
  #accept(n: number, sink: RecordSink): void {
    this.#fill += n;
    this.#bytesIn += n;
    this.#guard(() => this.#pump(false, sink));
    if (this.#feedLimit < this.#window) this.#feedLimit = Math.min(this.#window, this.#feedLimit * 2);
    if (this.#error === null && this.#fill >= this.#window) {
      // A full window that the engine could not consume: one record is larger than the window.
      const offset = this.#bytesIn - this.#fill;
      const record = this.#readStats().records;
      this.#error = captureError(
        "BadBlockLength",
        offset,
        record,
        "",
        `record too large at byte ${offset} (record ${record}): it does not fit the ${this.#window} byte input window (raise windowBytes)`,
      );
    }
  }

  /**
   * Calls feed() until the window holds only a partial record, draining the output ring after each
   * call. feed() also returns early when the ring is nearly full (or, routing, a staging area), so
   * "no bytes consumed and no flow emitted" is the only stop condition. Each call starts where the
   * last one stopped; the unconsumed tail moves to the window start once, when the pump stops (a
   * routing engine stops many times per window). #fill drops before the sink runs, so a throwing
   * sink cannot make bytes decode twice.
   */
  #pump(eof: boolean, sink: RecordSink): void {
    const ex = this.#engine.exports;
    let at = 0;
    try {
      for (;;) {
        const consumed = ex.feed(this.#fill, eof ? 1 : 0, at);
        if (!(consumed >= 0 && consumed <= this.#fill)) {
          throw new EngineFault(`feed(${this.#fill}) returned ${consumed}`);
        }
        at += consumed;
        this.#fill -= consumed;
        const drained = this.#drain(sink);
        if (ex.errCode() !== 0) break;
        if (this.#fill === 0 || (consumed === 0 && drained === 0)) break;
      }
    } finally {
      if (at > 0 && this.#fill > 0)
        this.#engine.views().u8.copyWithin(this.#base, this.#base + at, this.#base + at + this.#fill);
    }
    this.#checkError();
  }

  /** Hands every record in the output ring to the sink and clears the ring; returns the count (trace events included). */
  #drain(sink: RecordSink): number {
    const ex = this.#engine.exports;
    const traced =
      (this.#trace === null ? 0 : this.#drainTrace(this.#trace.sink)) + (this.#route === null ? 0 : this.#drainRoute());
    const n = ex.outLen();
    if (n === 0) return traced;
    this.insight.endUs = Number(ex.clockUs());
    const views = this.#engine.views();
    const size = this.#decoder.recordSize;
    let p = ex.outPtr();
    try {
      if (sink.batch !== undefined) sink.batch(views, p, n, size);
      else for (let i = 0; i < n; i++, p += size) sink(views, p);
    } finally {
      ex.outClear();
    }
    return n + traced;
  }

  /** Hands each shard's routed frames to the route sink and empties the areas; returns the bytes handed. */
  #drainRoute(): number {
    const ex = this.#engine.exports;
    const { shards, sink } = this.#route!;
    let total = 0;
    try {
      for (let i = 0; i < shards; i++) {
        const len = ex.routeAreaLen!(i);
        if (len === 0) continue;
        total += len;
        sink(this.#engine.views(), i, ex.routeAreaPtr!(i), len);
      }
    } finally {
      ex.routeClear!();
    }
    return total;
  }

  /** Hands every trace event to the trace sink and clears the trace ring (before the flows drained with it). */
  #drainTrace(sink: RecordSink): number {
    const ex = this.#engine.exports;
    const n = ex.traceLen!();
    if (n === 0) return 0;
    const views = this.#engine.views();
    const size = this.#traceSize;
    let p = ex.tracePtr!();
    try {
      for (let i = 0; i < n; i++, p += size) sink(views, p);
    } finally {
      ex.traceClear!();
    }
    return n;
  }

  #checkError(): boolean {
    const ex = this.#engine.exports;
    const code = ex.errCode();
    if (code === 0) return false;
    const name = this.#engine.layout.err.names[code] ?? `Err${code}`;
    const offset = ex.errOffset();
    const record = ex.errRecord();
    let hint = "";
    if (name === "BadMagic") {
      // The window still holds the bytes from absolute offset bytesIn - fill on.
      const start = this.#bytesIn - this.#fill;
      if (offset >= start && offset < this.#bytesIn) {
        const at = this.#base + (offset - start);
        hint = magicHint(this.#engine.views().u8.subarray(at, at + Math.min(8, this.#bytesIn - offset)));
      }
    }
    this.#error = captureError(name, offset, record, hint);
    return true;
  }

  #readStats(): Stats {
    return this.#stats.read(this.#engine.views(), this.#engine.exports.statsPtr());
  }

  /** Runs engine calls; a trap or abort poisons this instance (its state may be half-updated). */
  #guard(run: () => void): void {
    try {
      run();
    } catch (e) {
      const fault =
        e instanceof EngineFault
          ? e
          : e instanceof WebAssembly.RuntimeError
            ? new EngineFault(`engine trap: ${e.message}`, { cause: e })
            : undefined;
      if (fault === undefined) throw e;
      this.#fault = fault;
      throw fault;
    }
  }

  #checkUsable(): void {
    if (this.#fault !== null)
      throw new EngineFault(`this Reconstructor is unusable after an engine fault: ${this.#fault.message}`);
    if (this.#finished)
      throw new Error("Reconstructor.finish() was already called; create a new Reconstructor for new input");
  }
}
