/**
 * @module
 * Connections sharded across N engines on N threads (issue 13): the reading thread frames the
 * capture and routes each frame to one of N shards. Shard 0 is the reading thread's own engine,
 * which tracks its share inline; shards 1..N-1 are worker threads, each with its own engine. Every
 * engine formats its finished flows; the reading thread writes the output. N threads are N engines
 * (not a reader plus N): on a machine with N cores no engine waits for a core behind the reader.
 *
 * - Routing is the engine's own (assembly/shard/route.ts): the reading thread's engine walks the
 *   container in route mode, tracks the frames of shard 0 and appends every other frame, as a frame
 *   record, to its shard's staging area, keyed by a keyed symmetric hash of the outermost IP address
 *   pair (why that key: route.ts).
 * - Batches travel through one SharedArrayBuffer ring per worker (ring.ts), a staging area (~1 MiB)
 *   per message; a full ring blocks the reading thread (backpressure) while it keeps handing on the
 *   workers' output, so neither side waits on the other for ever.
 * - One capture clock: every frame record carries the clock as of its record, and every message the
 *   reading thread's clock, so each shard's timers fire as one engine's would; at the end each shard
 *   is told the whole capture's clock before it ends its live flows.
 * - Counters add up: the reading thread's engine counts the container (records, bytes, blocks) and
 *   what it decodes and tracks of shard 0, the workers what they decode and track; their sum is one
 *   engine's counters.
 * - A damaged record stops the reading thread's engine at its byte offset: every frame before it
 *   has been routed or tracked, so every shard ends its flows and the run reports the same error as
 *   one engine.
 * - The flow cap holds for the process: each shard gets cap / N (at least the engine's minimum, 16).
 * - Output order differs from one engine's; the flow set does not (`--sort ts` gives one order).
 * - The shard threads are the process's own (the CLI's: shard-threads.ts, started as the process
 *   starts or here), or lent by the caller and joined by links (protocol.ts: the API's engine pool
 *   lends its free threads to one large upload); either way each gets its ShardStart on its link.
 */

import { receiveMessageOnPort, type MessagePort, type Worker } from "node:worker_threads";
import { Reconstructor, type ReconstructorOptions, type RecordSink } from "../reconstructor.js";
import { makeViews, type Engine } from "../wasm/engine.js";
import { processHashKey } from "../hash-key.js";
import type { CaptureError } from "../wasm/errors.js";
import type { Stats } from "../stats.js";
import type { PrintSpec } from "../output/printer.js";
import type { InsightContext } from "../anomalies/index.js";
import type { FlowCounts } from "../http/flow-counts.js";
import { AsciiWriter } from "../format/ascii.js";
import { MSG_CLOCK, MSG_END, MSG_FRAMES, RingWriter } from "./ring.js";
import { shardPrinter, type ShardPrinter } from "./shard-print.js";
import { startShardThread, type ShardThread } from "./shard-threads.js";
import { MAX_THREADS } from "./thread-plan.js";
import {
  MAX_LENT_SPARES,
  MAX_OUT_PENDING,
  OUT_BYTES,
  abandonLink,
  giveCredit,
  shardMemory,
  type FromShard,
  type ShardAnswer,
  type ShardLink,
  type ShardStart,
  type ToShard,
} from "./protocol.js";
/**
 * Output buffers the reading thread keeps for its own writer's next pieces and its shards' (see
 * ShardedRun.#keep): at most this many wait there, ~17 MiB, counted in {@link ShardedRun.memoryBytes}.
 * Sized by the pieces an API upload has in flight at once (issue 10, cap10m.pcap over 2 pool
 * threads: up to ~11 of the reading thread's own and ~14 of its shard's, moved to the main thread
 * and not yet written): with 8 the reading thread still started 48-63 new buffers, with 16 15-19,
 * with 24 no fewer.
 */
const MAX_KEPT_SPARES = 16;
/** A shard that used a lent buffer gets a kept one in its place while it holds fewer than this. */
const TOP_UP_BELOW = MAX_LENT_SPARES >> 1;
/** Sweep steps of the reading thread's engine per read, as a shard's per message (shard-engine.ts). */
const SWEEP_PER_READ = 64;
/** The engine's default flow cap (assembly/options.ts flowCap), split when no cap is given. */
const ENGINE_FLOW_CAP = 2_000_000;
/** The engine's smallest flow cap (assembly/options.ts setOption). */
const ENGINE_MIN_FLOW_CAP = 16;
/**
 * What routing a frame costs the reading thread (reading, framing, the outer-header decode and hash,
 * the copies into a ring), as a share of what tracking and formatting it costs a shard. Measured on
 * the header-only cap2m (bench/), where it is the largest: perf samples per thread with 2 engines,
 * FLOWRECON_READER_SHARE=0 (the reader only routes): reader 0.3-0.4 of the worker that tracks all.
 * Set below that: the shard thread also starts later (its own Node and module start-up) and ends its
 * flows after the reading thread; with 2 engines the CPU time of each thread (/proc task stat, both
 * captures of the main bench suites) came closest at a reader share of 0.37-0.39, and the reading
 * thread waited on a full ring at 0.35 (the 0.3 here). Re-measured once the routing pass had become
 * 0.76x cheaper (its hash from the flow table's SipHash state, the pair hashed from the header) and
 * the shard threads started with the process (shard-threads.ts): reader shares 0.30 / 0.375 / 0.42
 * / 0.46 (FLOWRECON_READER_SHARE) took 2.91 / 2.62 / 2.49 / 2.59 s on the 10M capture (medians of
 * 6 interleaved CLI runs, AMD EPYC 2 vCPU, load 1.5-1.9), and 8 alternated pairs 0.42 against
 * 0.375 gave time ratios 0.986 (quartiles 0.94-1.00) on it and 1.000 (0.98-1.01) on cap2m: 0.42
 * with 2 engines, which this cost gives. Only 2 engines were measured.
 */
const ROUTE_COST = 0.16;
/** For measurements: FLOWRECON_READER_SHARE=x makes the reading thread track share x of the connections. */
const READER_SHARE_ENV = "FLOWRECON_READER_SHARE";

/**
 * The share of the connections the reading thread's engine tracks itself among `engines`: every
 * engine should be as busy, and the reading thread also routes every frame, so it takes less than
 * 1/N, none once the routing alone is as much work as one shard's share.
 */
export function readerShare(engines: number): number {
  const env = process.env[READER_SHARE_ENV];
  if (env !== undefined && env !== "") {
    const x = Number(env);
    if (Number.isFinite(x) && x >= 0 && x <= 1) return x;
  }
  return Math.max(0, (1 - ROUTE_COST * (engines - 1)) / engines);
}

function hex(n: bigint): string {
  return n.toString(16).padStart(16, "0");
}

/**
 * A shard's engine options: the run's, with its share of the flow cap (so the cap holds for the
 * process) and the process's hash key (so FLOWRECON_HASH_KEY reproduces a run's timing).
 */
export function shardOptions(options: ReconstructorOptions, shards: number): ReconstructorOptions {
  const { key0, key1 } = processHashKey();
  return {
    ...options,
    hashKey: options.hashKey ?? hex(key0) + hex(key1),
    flowCap: Math.max(ENGINE_MIN_FLOW_CAP, Math.floor((options.flowCap ?? ENGINE_FLOW_CAP) / shards)),
  };
}

export interface ShardedRunOptions {
  /** Engines, the reading thread's included (>= 2; one engine needs no shards). */
  threads: number;
  /**
   * Shards on threads the caller lends, one link each (protocol.ts; the shard's end runs
   * serveShard): then `threads` is their count + 1 and no thread is started here.
   */
  links?: ShardLink[];
  /** Shard threads of this process started ahead (shard-threads.ts), taken before any is started here. */
  started?: ShardThread[];
  options: ReconstructorOptions;
  /** The reading thread's engine (default: a new one; the API's threads pass one on their spare memory). */
  engine?: Engine;
  /**
   * The formats the engine writes (ndjson, zeek) are printed by every shard's engine: the spec
   * without its layout. null: the shards send raw records to {@link onRecord}.
   */
  print: Omit<PrintSpec, "layout"> | null;
  /** Instead of `print`: every engine prints an API answer's lines and tallies its flows (protocol.ts). */
  answer?: ShardAnswer;
  /** The flow tallies of an {@link answer}, as each engine sends them. */
  onCounts?(counts: FlowCounts): void;
  /** The flows an engine printed, where an {@link answer} counts them (msgpack maps: its array header). */
  onPrinted?(flows: number): void;
  /**
   * Bytes printed by a shard (whole lines); `done` once the stream no longer needs them, with the
   * buffer when it was moved to another thread and came back (`bytes` is then detached).
   */
  onBytes(bytes: Uint8Array, done: (back?: ArrayBuffer) => void): void;
  /** A raw flow record (when `print` is null), judged against `insight` (its endUs is set per batch). */
  onRecord: RecordSink;
  insight: InsightContext;
}

interface Shard {
  /** The thread started for it, or null on a lent thread. */
  worker: Worker | null;
  link: ShardLink;
  port: MessagePort;
  ring: RingWriter;
  credits: Int32Array;
  clockSent: number;
  stats: Stats | null;
  /** Output buffers given back to the shard and not yet printed into again (protocol.ts). */
  lent: number;
}

export class ShardedRun {
  /** The reading thread's engine (route mode, shard 0): its counters are the container's and its share's. */
  readonly reader: Reconstructor;
  /** Shards 1..N-1 (worker i is shard i + 1). */
  readonly #shards: Shard[] = [];
  readonly #opts: ShardedRunOptions;
  /** Where the reading thread's engine puts its finished flows. */
  readonly #own: RecordSink;
  /** Print mode: the reading thread's engine formats its flows here, handed on by {@link #handOwn}. */
  readonly #ownPrinter: ShardPrinter | null = null;
  readonly #ownWriter = new AsciiWriter(OUT_BYTES + (64 << 10));
  /** Output buffers the output is done with, kept for the next pieces ({@link #keep}). */
  readonly #kept: ArrayBuffer[] = [];
  #keptBytes = 0;
  #failure: Error | null = null;
  /** {@link finishSome}: the reading thread's engine began / ended its end of the input. */
  #ending = false;
  #readerDone = false;
  /** {@link close} ran: no buffer goes back to a shard. */
  #closed = false;
  /** Something to sleep on while waiting for the shards' last output. */
  readonly #nap = new Int32Array(new SharedArrayBuffer(4));

  constructor(opts: ShardedRunOptions) {
    const n =
      opts.links !== undefined ? opts.links.length + 1 : Math.max(2, Math.min(MAX_THREADS, Math.floor(opts.threads)));
    this.#opts = opts;
    const options = shardOptions(opts.options, n);
    const started = opts.started ?? [];
    for (let i = 1; i < n; i++) {
      let link: ShardLink;
      let worker: Worker | null = null;
      if (opts.links !== undefined) link = opts.links[i - 1]!;
      else {
        const thread = started.shift() ?? startShardThread(n);
        ({ link, worker } = thread);
        worker.ref();
        const failed = (e: Error): void => {
          this.#failure ??= new Error(`shard thread ${i} failed: ${e.message}`, { cause: e });
        };
        if (thread.failure !== null) failed(thread.failure);
        worker.on("error", failed);
      }
      link.port.postMessage({ options, print: opts.print, answer: opts.answer } satisfies ShardStart);
      const writer = new RingWriter({ buffer: link.ring });
      writer.onFull = () => this.pump();
      this.#shards.push({
        worker,
        link,
        port: link.port,
        ring: writer,
        credits: new Int32Array(link.credits),
        clockSent: 0,
        stats: null,
        lent: 0,
      });
    }
    const reader = new Reconstructor(options, opts.engine);
    this.reader = reader;
    if (opts.print !== null || opts.answer !== undefined) {
      const writer = this.#ownWriter;
      const printer = shardPrinter(reader, opts, writer, () => {
        if (writer.length >= OUT_BYTES) this.#handOwn();
      });
      this.#ownPrinter = printer;
      this.#own = printer.sink;
    } else {
      // The reading thread's records are judged against its own clock, as a shard's against its batch's.
      this.#own = (v, p) => {
        opts.insight.endUs = reader.insight.endUs;
        opts.onRecord(v, p);
      };
    }
    reader.routeTo(
      n,
      (v, shard, ptr, len) => {
        const s = this.#shards[shard - 1]!;
        const clock = reader.clockUs;
        s.ring.send(MSG_FRAMES, clock, v.u8.subarray(ptr, ptr + len));
        s.clockSent = clock;
        // The workers' output moves on (and their credits come back) with every batch, not once
        // per read: a read routes many batches while this engine also tracks its own share.
        this.pump();
      },
      readerShare(n),
    );
  }

  /** Engines, the reading thread's included. */
  get threads(): number {
    return this.#shards.length + 1;
  }

  /** Every engine's memory (the reading thread's, and each shard's as it last published it) and the kept output buffers. */
  get memoryBytes(): number {
    let bytes = this.reader.memoryBytes + this.#keptBytes;
    for (const s of this.#shards) bytes += shardMemory(s.credits);
    return bytes;
  }

  /** The counters so far: the reading thread's, plus each shard's once it ended (then one engine's). */
  get stats(): Stats {
    const stats = { ...this.reader.stats };
    for (const s of this.#shards) {
      if (s.stats === null) continue;
      for (const [key, value] of Object.entries(s.stats)) stats[key] = (stats[key] ?? 0) + value;
    }
    return stats;
  }

  /** Takes the next piece of the capture (any boundary). */
  push(chunk: Uint8Array): void {
    this.reader.pushRecords(chunk, this.#own);
    this.#afterInput();
  }

  /** Reads the next piece from `fd`; false at end of file or once an error stopped decoding. */
  readFrom(fd: number): boolean {
    const more = this.reader.readRecordsFrom(fd, this.#own);
    this.#afterInput();
    return more;
  }

  /** Every shard hears the clock, also one that got no frame this time. */
  #afterInput(): void {
    const clock = this.reader.clockUs;
    if (this.reader.error === null) this.reader.advanceClock(clock, SWEEP_PER_READ, this.#own);
    for (const s of this.#shards) {
      if (s.clockSent === clock) continue;
      s.ring.send(MSG_CLOCK, clock);
      s.clockSent = clock;
    }
    this.#handOwn();
    this.pump();
  }

  /** Hands on what the reading thread's engine printed so far. */
  #handOwn(): void {
    if (this.#ownPrinter === null) return;
    this.#ownPrinter.move();
    const counts = this.#ownPrinter.counts();
    if (counts !== null) this.#opts.onCounts?.(counts);
    const printed = this.#ownPrinter.printed();
    if (printed > 0) this.#opts.onPrinted?.(printed);
    const w = this.#ownWriter;
    if (w.length === 0) return;
    // The writer goes on in a buffer the output is done with, as a shard's does (protocol.ts).
    const next = this.#takeKept();
    const bytes = w.take(next === undefined ? undefined : new Uint8Array(next));
    this.#opts.onBytes(bytes, (back) => this.#keep(back ?? (bytes.buffer as ArrayBuffer)));
  }

  /**
   * Hands on what the shards sent so far, at most {@link MAX_OUT_PENDING} messages of each shard
   * per call; returns the messages handled. Throws a shard's failure.
   *
   * The bound is the output's backpressure: each piece handed on gives its shard a credit back, so
   * a shard ending its flows sends the next piece while this loop still drains its port, and an
   * unbounded loop kept taking pieces for as long as the shards printed them, into memory here
   * (an API answer's gathered lines) while the response waited for the client. Bounded, the caller
   * gets control back between rounds and checks its output against the stream (engine-worker.ts
   * ends a `finish` step once a step's worth is printed).
   */
  pump(): number {
    let handled = 0;
    for (const s of this.#shards) {
      if (s.ring.closed) this.#failure ??= new Error("the sharded run was abandoned");
      for (let n = 0; n < MAX_OUT_PENDING; n++) {
        const m = receiveMessageOnPort(s.port);
        if (m === undefined) break;
        this.#receive(s, m.message as FromShard);
        handled++;
      }
    }
    if (this.#failure !== null) throw this.#failure;
    return handled;
  }

  #receive(s: Shard, m: FromShard): void {
    if (m.kind === "out") {
      if (m.spare === true) {
        s.lent--;
        // A shard short of spares gets a kept one: it prints in bursts (the end of the input).
        if (s.lent < TOP_UP_BELOW && this.#kept.length > 0) this.#giveBack(s, this.#takeKept()!);
      }
      if (m.records) {
        const views = makeViews(m.bytes.buffer as ArrayBuffer);
        const size = this.reader.layout.constants.FR_SIZE;
        this.#opts.insight.endUs = m.endUs;
        for (let p = m.bytes.byteOffset; p < m.bytes.byteOffset + m.bytes.length; p += size)
          this.#opts.onRecord(views, p);
        this.#giveBack(s, m.bytes.buffer as ArrayBuffer);
      } else {
        if (m.counts !== undefined) this.#opts.onCounts?.(m.counts);
        if (m.printed !== undefined) this.#opts.onPrinted?.(m.printed);
        if (m.bytes.length > 0)
          this.#opts.onBytes(m.bytes, (back) => this.#giveBack(s, back ?? (m.bytes.buffer as ArrayBuffer)));
      }
      giveCredit(s.credits);
    } else if (m.kind === "done") {
      s.stats = m.stats;
    } else {
      this.#failure ??= new Error(
        `shard thread failed: ${m.message}${process.env.FLOWRECON_DEBUG ? `\n${m.stack ?? ""}` : ""}`,
      );
    }
  }

  /**
   * Gives a shard's output buffer back to it for its next piece (protocol.ts), unless it is a small
   * piece's copy (a spare must hold a piece) or the run is closed (then it is left to the GC); when
   * the shard holds its share of spares, or ended, the buffer is kept here ({@link #keep}).
   */
  #giveBack(s: Shard, buffer: ArrayBuffer): void {
    if (this.#closed || buffer.byteLength < OUT_BYTES >> 1) return;
    if (s.stats !== null || s.lent >= MAX_LENT_SPARES) {
      this.#keep(buffer);
      return;
    }
    s.port.postMessage({ kind: "spare", buffer } satisfies ToShard, [buffer]);
    s.lent++;
  }

  /**
   * Keeps an output buffer the output is done with (at most {@link MAX_KEPT_SPARES}) for the next
   * piece of the reading thread's writer or of a shard short of spares; a small piece's copy, one
   * more, or any once the run is closed is left to the GC. An API upload's pieces are in flight
   * (moved to the main thread, written to the socket, given back) for longer than a step, in
   * bursts: dropped on their way back while the shards held their share, they were new buffers
   * (and their page faults) later: 168 of them on a 943 MB upload, 22-30 kept (issue 10).
   */
  #keep(buffer: ArrayBuffer): void {
    if (this.#closed || buffer.byteLength < OUT_BYTES >> 1 || this.#kept.length >= MAX_KEPT_SPARES) return;
    this.#kept.push(buffer);
    this.#keptBytes += buffer.byteLength;
  }

  #takeKept(): ArrayBuffer | undefined {
    const buffer = this.#kept.pop();
    if (buffer !== undefined) this.#keptBytes -= buffer.byteLength;
    return buffer;
  }

  /**
   * Ends the input a part at a time: the reading thread decodes its tail (or reports the
   * truncation), then every shard ends its live flows at the capture's clock, the reading thread's
   * own (an output ring of them per call) while the workers end theirs; then waits (a ms at most per
   * call) for the shards' last output and counters. True once every engine ended; then
   * {@link stats} are one engine's.
   */
  finishSome(): boolean {
    if (!this.#ending) {
      // The first step decodes the tail (routing its frames) and so fixes the capture's clock.
      this.#ending = true;
      this.#readerDone = this.reader.finishSome(this.#own);
      const clock = this.reader.clockUs;
      for (const s of this.#shards) s.ring.send(MSG_END, clock);
    } else if (!this.#readerDone) {
      this.#readerDone = this.reader.finishSome(this.#own);
    } else if (this.pump() === 0 && this.#shards.some((s) => s.stats === null)) {
      Atomics.wait(this.#nap, 0, 0, 1);
    }
    this.#handOwn();
    this.pump();
    return this.#readerDone && this.#shards.every((s) => s.stats !== null);
  }

  /**
   * Ends the input ({@link finishSome} until done); `between` runs between the parts (output
   * backpressure). Resolves with the summed counters and the capture error, if any.
   */
  async finish(between: () => Promise<void>): Promise<{ stats: Stats; error: CaptureError | null }> {
    for (;;) {
      const done = this.finishSome();
      await between();
      if (done) break;
    }
    return { stats: this.stats, error: this.reader.error };
  }

  /**
   * Stops the threads started here (after finish, or to abandon the run); a lent thread's shard
   * ends (abandonLink) unless it had already, and its thread is the lender's again.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#kept.length = 0;
    this.#keptBytes = 0;
    for (const s of this.#shards) {
      abandonLink(s.link);
      s.port.close();
    }
    await Promise.all(this.#shards.map((s) => s.worker?.terminate()));
  }
}
