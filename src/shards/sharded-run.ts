/**
 * @module
 * Connections sharded across worker threads (issue 13): the reading thread frames the capture and
 * routes each frame to one of N shard threads; each shard runs its own engine over its share of
 * the connections and formats its finished flows; the reading thread writes the output.
 *
 * - Routing is the engine's own (assembly/shard/route.ts): the reading thread's engine walks the
 *   container in route mode and appends each frame, as a frame record, to its shard's staging area,
 *   keyed by a keyed symmetric hash of the outermost IP address pair (why that key: route.ts).
 * - Batches travel through one SharedArrayBuffer ring per shard (ring.ts), a staging area (~1 MiB)
 *   per message; a full ring blocks the reading thread (backpressure) while it keeps handing on the
 *   shards' output, so neither side waits on the other for ever.
 * - One capture clock: every frame record carries the clock as of its record, and every message the
 *   reading thread's clock, so each shard's timers fire as one engine's would; at the end each shard
 *   is told the whole capture's clock before it ends its live flows.
 * - Counters add up: the reading thread's engine counts the container (records, bytes, blocks), the
 *   shards count what they decode and track; their sum is one engine's counters.
 * - A damaged record stops the reading thread's engine at its byte offset: every frame before it
 *   has been routed, so every shard ends its flows and the run reports the same error as one engine.
 * - The flow cap holds for the process: each shard gets cap / N (at least the engine's minimum, 16).
 * - Output order differs from one engine's; the flow set does not (`--sort ts` gives one order).
 */

import { receiveMessageOnPort, MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import { availableParallelism } from "node:os";
import { Reconstructor, type ReconstructorOptions, type RecordSink } from "../reconstructor.js";
import { makeViews } from "../wasm/engine.js";
import { processHashKey } from "../hash-key.js";
import type { CaptureError } from "../wasm/errors.js";
import type { Stats } from "../stats.js";
import type { PrintSpec } from "../output/printer.js";
import type { InsightContext } from "../anomalies/index.js";
import { createRing, MSG_CLOCK, MSG_END, MSG_FRAMES, RingWriter } from "./ring.js";
import { giveCredit, type FromShard, type ShardData } from "./protocol.js";

/** Ring bytes per shard: four staging areas' worth in flight. */
const RING_BYTES = 4 << 20;
/** The engine's default flow cap (assembly/options.ts flowCap), split when no cap is given. */
const ENGINE_FLOW_CAP = 2_000_000;
/** The engine's smallest flow cap (assembly/options.ts setOption). */
const ENGINE_MIN_FLOW_CAP = 16;
/** Most shard threads one run starts. */
export const MAX_THREADS = 64;

/** The default thread count: the cores this process may use. */
export function availableThreads(): number {
  return Math.max(1, Math.min(MAX_THREADS, availableParallelism()));
}

function workerUrl(): URL {
  const here = import.meta.url;
  return here.endsWith(".ts") ? new URL("../../dist/shards/shard-worker.js", here) : new URL("./shard-worker.js", here);
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
  /** Shard threads (>= 2; one engine needs no shards). */
  threads: number;
  options: ReconstructorOptions;
  /**
   * Formats whose records print on their own (ndjson, zeek) are printed by the shards: the spec
   * without its layout. null: the shards send raw records to {@link onRecord}.
   */
  print: Omit<PrintSpec, "layout"> | null;
  /** Bytes printed by a shard; `done` once the stream no longer needs them. */
  onBytes(bytes: Uint8Array, done: () => void): void;
  /** A raw flow record (when `print` is null), judged against `insight` (its endUs is set per batch). */
  onRecord: RecordSink;
  insight: InsightContext;
}

interface Shard {
  worker: Worker;
  port: MessagePort;
  ring: RingWriter;
  credits: Int32Array;
  clockSent: number;
  stats: Stats | null;
}

export class ShardedRun {
  /** The reading thread's engine (route mode): its counters are the container's. */
  readonly reader: Reconstructor;
  readonly #shards: Shard[] = [];
  readonly #opts: ShardedRunOptions;
  #failure: Error | null = null;

  constructor(opts: ShardedRunOptions) {
    const n = Math.max(2, Math.min(MAX_THREADS, Math.floor(opts.threads)));
    this.#opts = opts;
    const options = shardOptions(opts.options, n);
    for (let i = 0; i < n; i++) {
      const ring = createRing(RING_BYTES);
      const credits = new SharedArrayBuffer(4);
      const { port1, port2 } = new MessageChannel();
      const data: ShardData = { port: port2, ring: ring.buffer, credits, options, print: opts.print };
      const worker = new Worker(workerUrl(), { workerData: data, transferList: [port2] });
      worker.on("error", (e) => {
        this.#failure ??= new Error(`shard thread ${i} failed: ${e.message}`, { cause: e });
      });
      const writer = new RingWriter(ring);
      writer.onFull = () => this.pump();
      this.#shards.push({
        worker,
        port: port1,
        ring: writer,
        credits: new Int32Array(credits),
        clockSent: 0,
        stats: null,
      });
    }
    this.reader = new Reconstructor({ ...opts.options, hashKey: options.hashKey });
    this.reader.routeTo(n, (v, shard, ptr, len) => {
      const s = this.#shards[shard]!;
      const clock = this.reader.clockUs;
      s.ring.send(MSG_FRAMES, clock, v.u8.subarray(ptr, ptr + len));
      s.clockSent = clock;
    });
  }

  get threads(): number {
    return this.#shards.length;
  }

  /** Takes the next piece of the capture (any boundary). */
  push(chunk: Uint8Array): void {
    this.reader.pushRecords(chunk, noFlows);
    this.#afterInput();
  }

  /** Reads the next piece from `fd`; false at end of file or once an error stopped decoding. */
  readFrom(fd: number): boolean {
    const more = this.reader.readRecordsFrom(fd, noFlows);
    this.#afterInput();
    return more;
  }

  /** Every shard hears the clock, also one that got no frame this time. */
  #afterInput(): void {
    const clock = this.reader.clockUs;
    for (const s of this.#shards) {
      if (s.clockSent === clock) continue;
      s.ring.send(MSG_CLOCK, clock);
      s.clockSent = clock;
    }
    this.pump();
  }

  /** Hands on what the shards sent so far; returns the pieces handled. Throws a shard's failure. */
  pump(): number {
    let handled = 0;
    for (const s of this.#shards) {
      for (let m = receiveMessageOnPort(s.port); m !== undefined; m = receiveMessageOnPort(s.port)) {
        this.#receive(s, m.message as FromShard);
        handled++;
      }
    }
    if (this.#failure !== null) throw this.#failure;
    return handled;
  }

  #receive(s: Shard, m: FromShard): void {
    if (m.kind === "out") {
      if (m.records) {
        const views = makeViews(m.bytes.buffer as ArrayBuffer);
        const size = this.reader.layout.constants.FR_SIZE;
        this.#opts.insight.endUs = m.endUs;
        for (let p = m.bytes.byteOffset; p < m.bytes.byteOffset + m.bytes.length; p += size)
          this.#opts.onRecord(views, p);
      } else {
        this.#opts.onBytes(m.bytes, () => {});
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
   * Ends the input: the reading thread decodes its tail (or reports the truncation), then every
   * shard ends its live flows at the capture's clock. `between` runs while waiting (output
   * backpressure). Resolves with the summed counters and the capture error, if any.
   */
  async finish(between: () => Promise<void>): Promise<{ stats: Stats; error: CaptureError | null }> {
    this.reader.finishRecords(noFlows);
    const clock = this.reader.clockUs;
    for (const s of this.#shards) s.ring.send(MSG_END, clock);
    while (this.#shards.some((s) => s.stats === null)) {
      if (this.pump() === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      await between();
    }
    const stats = { ...this.reader.stats };
    for (const s of this.#shards) {
      for (const [key, value] of Object.entries(s.stats!)) stats[key] = (stats[key] ?? 0) + value;
    }
    return { stats, error: this.reader.error };
  }

  /** Stops the threads (after finish, or to abandon the run). */
  async close(): Promise<void> {
    await Promise.all(this.#shards.map((s) => s.worker.terminate()));
  }
}

const noFlows: RecordSink = () => {
  throw new Error("a route-mode engine finished a flow");
};
