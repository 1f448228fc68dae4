/**
 * @module
 * The API's engine threads (issue 13: `/v1/analyze` uses a bounded pool, `FLOWRECON_THREADS`): a
 * fixed number of worker threads (src/http/engine-worker.ts), each running one request's engine at
 * a time, so a long upload's analysis takes a thread, not the server's event loop. A request that
 * finds every thread busy waits in a queue of at most `FLOWRECON_ENGINE_QUEUE` requests; beyond it
 * it gets 503 `engines_busy` with Retry-After, as the other limits report overload (errors.ts).
 *
 * Protocol: the main thread posts `open` (the engine options and the response's {@link FlowsJobSpec}
 * less what the thread fills in), then steps: `capture` (a batch of body bytes, transferred: one
 * message per {@link INPUT_BATCH_BYTES} or so, never one per packet), `segments` (encoded segment
 * records), `finish` (part of the end of the input) and `end` (the response's closing members).
 * The thread answers every step with one `step` message (the bytes printed by it, the flow tallies
 * and the run's {@link RunState}) or `failed`. At most {@link MAX_IN_FLIGHT} steps are in flight, so
 * a run holds a bounded amount of input and output whatever the body's size.
 *
 * A thread that dies (exit, uncaught error, out of memory) fails its request with 500
 * `engine_thread_failed` naming the cause and is replaced; one whose engine faulted (a trap) is
 * replaced too, after its request got its 500 `engine_fault`.
 *
 * A large upload is sharded over the threads free at its start (issue 10, src/shards/,
 * {@link EnginePool.lendShards}): its own thread routes the frames and tracks a share, each lent
 * thread runs one shard (`shard`, answered `shard-done` once it ended) and counts as busy, taking no
 * other request, until then. A lent thread that dies fails the upload as its own thread would.
 */

import { Worker, type Transferable } from "node:worker_threads";
import { EngineFault } from "../wasm/engine.js";
import type { CaptureError } from "../wasm/errors.js";
import { DEFAULT_WINDOW_BYTES, type ReconstructorOptions } from "../reconstructor.js";
import type { SegmentLayout } from "../ingest/segment-layout.js";
import type { Stats } from "../stats.js";
import { ApiError, type ErrorBody } from "./errors.js";
import type { FlowCounts } from "./flow-counts.js";
import type { FlowsJobSpec } from "./flow-job.js";
import type { Logger } from "./log.js";
import type { FromSessionHost, SessionOp, ToSessionHost } from "./sessions/session-host.js";
import { abandonLink, createLink, type ShardLink } from "../shards/protocol.js";

/** Body bytes collected into one `capture` step. */
export const INPUT_BATCH_BYTES = 1 << 20;
/**
 * Body bytes of one `capture` step of a sharded upload: its engine reads each batch in one go and
 * hands every shard its frames and the clock once per batch (ShardedRun.push), so a batch is what
 * the CLI's reading thread reads at a time (its engine's input window, DEFAULT_WINDOW_BYTES).
 */
export const SHARDED_BATCH_BYTES = DEFAULT_WINDOW_BYTES;
/** Steps of one run sent and not yet answered. */
export const MAX_IN_FLIGHT = 2;
/**
 * Output buffers of at least this size go back to their thread once written (op `spare`); a
 * smaller one is a copy of a step's few lines (engine-worker.ts takeOutput), left to the GC.
 */
export const OUTPUT_SPARE_MIN_BYTES = 256 << 10;
/** A capture buffer holds a batch and at most one body chunk (64 KiB) more. */
const SPARE_EXTRA_BYTES = 256 << 10;

/** What the response prints, as the main thread knows it (the thread adds its engine's layout and clock). */
export type PoolJobSpec = Omit<FlowsJobSpec, "kind" | "layout" | "insight">;

/** A run's state after a step: what the main thread reads instead of the Reconstructor's getters. */
export interface RunState {
  stats: Stats;
  error: CaptureError | null;
  memoryBytes: number;
  segmentsIn: number;
  /** Output printed and kept on the thread until the end (a msgpack body). */
  held: number;
}

export type ToEngineThread =
  /** `run`: a number the thread echoes in its answers, so those of a dropped run are told apart. */
  | {
      op: "open";
      run: number;
      options: ReconstructorOptions;
      windowBytes: number;
      spec: PoolJobSpec;
      sliceBytes: number;
      /** Links to the shards lent to this run (its engine then routes; capture input only). */
      shards?: ShardLink[];
    }
  /** Run a shard of another thread's run (`run`: this lent thread's own run number). */
  | { op: "shard"; run: number; link: ShardLink }
  /** `length`: the batch's bytes at the start of `bytes` (a reused buffer may be larger); all of it when absent. */
  | { op: "capture"; seq: number; bytes: ArrayBuffer; length?: number }
  /** `step`: bytes of records per engine call. */
  | { op: "segments"; seq: number; bytes: ArrayBuffer; step: number }
  | { op: "finish"; seq: number }
  | { op: "end"; seq: number; meta: Record<string, unknown> }
  | { op: "close" }
  /**
   * An output buffer of a `step` answer, given back once the main thread wrote its bytes to the
   * socket: the thread takes a later step's output in it instead of a new buffer (any run's).
   */
  | {
      op: "spare";
      buffer: ArrayBuffer;
      /** A {@link MovedPiece}'s id: the buffer goes back to the engine that printed it. */
      piece?: number;
    };

/** Lines of a sharded answer moved to the main thread in the buffer an engine printed them in. */
export interface MovedPiece {
  id: number;
  bytes: ArrayBuffer;
  offset: number;
  length: number;
}

export interface ThreadError {
  name: string;
  message: string;
  stack?: string;
  /** An ApiError's status, body and headers. */
  status?: number;
  body?: ErrorBody;
  headers?: Record<string, string>;
}

export type FromEngineThread =
  | { kind: "ready"; segmentLayout: SegmentLayout }
  | {
      kind: "step";
      run: number;
      seq: number;
      bytes: ArrayBuffer | null;
      /** The printed bytes at the start of `bytes` (the writer's whole buffer moves); all of it when absent. */
      length?: number;
      counts: FlowCounts | null;
      state: RunState;
      /** `finish`: the input is ended and every flow printed. */
      done: boolean;
      /** `bytes` is a buffer the main thread gave back (op `spare`), printed into again. */
      reused?: boolean;
      /** More output after `bytes`, each in its engine's buffer, given back with its id once written. */
      pieces?: MovedPiece[];
      /** A `capture` step's buffer, given back to carry a later batch (no fresh memory per MiB). */
      input?: ArrayBuffer;
    }
  | { kind: "failed"; run: number; seq: number; error: ThreadError }
  /** The shard of a lent thread ended (finished, failed or abandoned): the thread is free. */
  | { kind: "shard-done"; run: number };

/**
 * The built worker: beside this file in dist/; run from the sources (vitest), the built one in
 * dist/ (the test setup builds it), as src/output/format-threads.ts does.
 */
function workerUrl(): URL {
  const here = import.meta.url;
  return here.endsWith(".ts") ? new URL("../../dist/http/engine-worker.js", here) : new URL("./engine-worker.js", here);
}

/** The error a request gets for an error its thread reported. */
export function threadError(e: ThreadError): Error {
  if (e.status !== undefined && e.body !== undefined) {
    const { code, message, offset, ...details } = e.body;
    return new ApiError(e.status as 400, code, message, { offset, details, headers: e.headers });
  }
  const err = e.name === "EngineFault" ? new EngineFault(e.message) : new Error(`engine thread: ${e.message}`);
  if (e.stack !== undefined) err.stack = e.stack;
  return err;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  /** Resolves when the thread listens; rejects when it died before. */
  started: Promise<void>;
  run: EngineRun | null;
  /** It exited before it listened: started again when a request takes it. */
  dead: boolean;
}

export interface PoolOptions {
  threads: number;
  /** Requests that may wait for a thread; more get 503. */
  queue: number;
  log: Logger;
  /** Called for each request refused with 503 (metrics). */
  onReject?: () => void;
}

/** The thread a session lives on: a slot, and the thread in it when the session got there. */
export interface SessionHome {
  readonly index: number;
  readonly worker: Worker;
}

export class EnginePool {
  readonly size: number;
  readonly queueLimit: number;
  readonly #slots: Slot[] = [];
  readonly #waiting: { resolve: (run: EngineRun) => void; reject: (e: Error) => void }[] = [];
  readonly #log: Logger;
  readonly #onReject: (() => void) | undefined;
  #segmentLayout: SegmentLayout | null = null;
  #closing = false;
  #nextRun = 1;

  constructor(options: PoolOptions) {
    this.size = Math.max(1, Math.floor(options.threads));
    this.queueLimit = Math.max(0, Math.floor(options.queue));
    this.#log = options.log;
    this.#onReject = options.onReject;
    for (let i = 0; i < this.size; i++) this.#slots.push(this.#start(i));
  }

  /** Threads running a request now (an analysis, or a call to a session they hold). */
  get busy(): number {
    return this.#slots.filter((s) => s.run !== null || (this.#calls.get(s.worker)?.size ?? 0) > 0).length;
  }

  /** Requests waiting for a thread (analyses, and session calls behind other work on their thread). */
  get queued(): number {
    return this.#waiting.length + this.#sessionsWaiting();
  }

  /** @internal The threads running a request (tests end one to check that it fails only its request). */
  busyWorkers(): Worker[] {
    return this.#slots.filter((s) => s.run !== null).map((s) => s.worker);
  }

  /** Threads that have started and take requests (server.ts listens once all have; tests). */
  get startedThreads(): number {
    return this.#slots.filter((s) => s.ready && !s.dead).length;
  }

  /** Resolves once every thread listens. */
  async ready(): Promise<void> {
    await Promise.all(this.#slots.map((s) => s.started));
  }

  /**
   * A thread for one request: a free one now, else after the requests queued before it; 503
   * `engines_busy` when the queue is full. The run must be ended or dropped.
   */
  async acquire(): Promise<EngineRun> {
    if (this.#closing) throw new ApiError(503, "shutting_down", "the server is shutting down");
    const free = this.#slots.find((s) => s.run === null);
    if (free !== undefined) return this.#lease(free);
    if (this.queued >= this.queueLimit) {
      this.#onReject?.();
      throw new ApiError(
        503,
        "engines_busy",
        `all ${this.size} engine threads are busy and ${this.#waiting.length} requests wait for one (FLOWRECON_THREADS, FLOWRECON_ENGINE_QUEUE); retry later`,
        { details: { threads: this.size, queue: this.queueLimit }, headers: { "retry-after": "1" } },
      );
    }
    return new Promise<EngineRun>((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  /**
   * Up to `max` threads free now, lent to `primary`'s upload as its shards: each counts as busy,
   * and takes no other request, until its shard ended. Nothing waits: an upload gets the threads
   * nobody needs at its start (none when requests queue), and a thread with session calls pending
   * is left to them. Returns the links for `primary`'s open.
   */
  lendShards(primary: EngineRun, max: number): ShardLink[] {
    const links: ShardLink[] = [];
    if (this.#closing) return links;
    for (const slot of this.#slots) {
      if (links.length >= max) break;
      if (slot.run !== null || !slot.ready || slot.dead || (this.#calls.get(slot.worker)?.size ?? 0) > 0) continue;
      const lent = new EngineRun(this, slot.worker, this.#nextRun++);
      slot.run = lent;
      const { reader, shard } = createLink();
      lent.serveShard(shard, primary);
      links.push(reader);
    }
    return links;
  }

  /** Stops the threads; requests still running or waiting fail. */
  async close(): Promise<void> {
    this.#closing = true;
    for (const w of this.#waiting.splice(0))
      w.reject(new ApiError(503, "shutting_down", "the server is shutting down"));
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
  }

  /** @internal The segment-record layout (read by a thread from its engine), once a thread listens. */
  async segmentLayout(): Promise<SegmentLayout> {
    if (this.#segmentLayout === null) await Promise.any(this.#slots.map((s) => s.started));
    return this.#segmentLayout!;
  }

  /** @internal A run is over: its thread takes the next waiting request, or is replaced first. */
  release(run: EngineRun, replace: boolean): void {
    const i = this.#slots.findIndex((s) => s.run === run);
    if (i < 0) return;
    let slot = this.#slots[i];
    if (replace) {
      slot.run = null;
      void slot.worker.terminate();
      if (this.#closing) return;
      slot = this.#slots[i] = this.#start(i);
    } else {
      slot.worker.postMessage({ op: "close" } satisfies ToEngineThread);
      slot.run = null;
    }
    const next = this.#waiting.shift();
    if (next !== undefined) this.#lease(slot).then(next.resolve, next.reject);
  }

  async #lease(slot: Slot): Promise<EngineRun> {
    if (slot.dead) {
      const i = this.#slots.indexOf(slot);
      slot = this.#slots[i] = this.#start(i);
    }
    const run = new EngineRun(this, slot.worker, this.#nextRun++);
    slot.run = run;
    try {
      await slot.started;
    } catch (e) {
      slot.run = null;
      throw e;
    }
    return run;
  }

  #start(i: number): Slot {
    const worker = new Worker(workerUrl());
    worker.unref();
    this.#sessionListen(worker);
    let started!: () => void;
    let failed!: (e: Error) => void;
    const slot: Slot = {
      worker,
      ready: false,
      started: new Promise<void>((resolve, reject) => {
        started = resolve;
        failed = reject;
      }),
      run: null,
      dead: false,
    };
    slot.started.catch(() => {});
    worker.on("message", (m: FromEngineThread) => {
      if (m.kind === "ready") {
        slot.ready = true;
        this.#segmentLayout ??= m.segmentLayout;
        started();
      } else if (slot.run !== null && slot.run.id === m.run) {
        // Answers to the steps a dropped run left in flight come after it; they are not the next run's.
        slot.run.receive(m);
      }
    });
    let cause = "";
    worker.on("error", (e) => {
      cause = `${e.name}: ${e.message}`;
    });
    worker.on("exit", (code) => {
      if (this.#slots[i] !== slot || this.#closing) return;
      const why = cause !== "" ? cause : `exit code ${code}`;
      if (!slot.ready) {
        // It never started (a missing build, no memory): the request given to it fails, and the
        // next request that takes this slot starts a new thread (no restart loop).
        this.#log.error({ code: "engine_thread_failed", cause: why }, "engine thread could not start");
        slot.dead = true;
        failed(new ApiError(500, "engine_thread_failed", `an engine thread could not start (${why})`));
        return;
      }
      this.#log.error({ code: "engine_thread_failed", cause: why }, "engine thread stopped; replaced");
      const run = slot.run;
      slot.run = null;
      this.#slots[i] = this.#start(i);
      run?.fail(
        new ApiError(
          500,
          "engine_thread_failed",
          `the engine thread running this request stopped (${why}); it was replaced, the request can be retried`,
        ),
      );
      const next = this.#waiting.shift();
      if (next !== undefined) this.#lease(this.#slots[i]).then(next.resolve, next.reject);
    });
    return slot;
  }

  // Sessions (issue 13: sessions use the bounded pool too). A session's engine lives on one thread
  // from its creation to its end (its state stays there between batches; a thread holds many
  // sessions); the main thread calls it there (src/http/sessions/session-host.ts). Calls do not
  // lease the thread: the thread takes them between the steps of the analysis it may run (a step is
  // at most INPUT_BATCH_BYTES), so a long upload never blocks the sessions beside it. A call is
  // counted as waiting while its thread has an analysis or earlier session calls, in the same queue
  // bound as analyses (503 engines_busy). A thread that stops fails its calls with 500
  // engine_thread_failed; its sessions notice (sessionAlive) and are reloaded from their files.

  /** Session calls sent to each thread and not answered yet. */
  readonly #calls = new Map<
    Worker,
    Map<number, { resolve: (m: FromSessionHost) => void; reject: (e: Error) => void }>
  >();
  /** Sessions homed on each slot. */
  #homes: number[] = [];
  #nextCall = 1;

  /** A thread for a new (or reloaded) session: the one holding the fewest sessions. */
  sessionHome(): SessionHome {
    if (this.#closing) throw new ApiError(503, "shutting_down", "the server is shutting down");
    if (this.#homes.length !== this.size) this.#homes = this.#slots.map(() => 0);
    let index = 0;
    for (let i = 1; i < this.size; i++) if (this.#homes[i] < this.#homes[index]) index = i;
    this.#homes[index]++;
    return { index, worker: this.#sessionSlot(index).worker };
  }

  /** The session left its thread (ended, or its thread stopped): the thread forgets it. */
  sessionLeft(home: SessionHome, sid: string): void {
    if (this.#homes[home.index] > 0) this.#homes[home.index]--;
    if (this.sessionAlive(home)) home.worker.postMessage({ sop: "close", call: 0, sid } satisfies ToSessionHost);
  }

  /** Whether the thread the session lives on still runs (false: the session is gone with it). */
  sessionAlive(home: SessionHome): boolean {
    const slot = this.#slots[home.index];
    return !this.#closing && slot.worker === home.worker && !slot.dead;
  }

  /** @internal The thread in slot `index` now (tests end one to check what becomes of its sessions). */
  threadOf(index: number): Worker {
    return this.#slots[index].worker;
  }

  /** @internal Sessions homed on each thread (tests). */
  sessionHomes(): readonly number[] {
    return this.#homes;
  }

  /**
   * Sends a call to a session on its thread; resolves with the answer. 503 `engines_busy` when the
   * call would wait and the queue is full (`bounded`; false for the sessions reloaded at start, which
   * are no request); 500 `engine_thread_failed` when the thread stops first.
   */
  async sessionCall(
    home: SessionHome,
    m: SessionOp & { sid: string },
    transfer: ArrayBuffer[] = [],
    bounded = true,
  ): Promise<FromSessionHost> {
    if (this.#closing) throw new ApiError(503, "shutting_down", "the server is shutting down");
    if (!this.sessionAlive(home))
      throw new ApiError(500, "engine_thread_failed", "the engine thread holding this session stopped");
    const slot = this.#slots[home.index];
    let pending = this.#calls.get(home.worker);
    if (pending === undefined) this.#calls.set(home.worker, (pending = new Map()));
    if (bounded && (pending.size > 0 || slot.run !== null) && this.queued >= this.queueLimit) {
      this.#onReject?.();
      throw new ApiError(
        503,
        "engines_busy",
        `the engine thread holding this session is busy and ${this.queued} requests wait for a thread (FLOWRECON_THREADS, FLOWRECON_ENGINE_QUEUE); retry later`,
        { details: { threads: this.size, queue: this.queueLimit }, headers: { "retry-after": "1" } },
      );
    }
    const call = this.#nextCall++;
    const answer = new Promise<FromSessionHost>((resolve, reject) => pending.set(call, { resolve, reject }));
    home.worker.postMessage({ ...m, call } as ToSessionHost, transfer);
    return answer;
  }

  /** Session calls waiting behind other work on their thread. */
  #sessionsWaiting(): number {
    let waiting = 0;
    for (const slot of this.#slots) {
      const n = this.#calls.get(slot.worker)?.size ?? 0;
      waiting += Math.max(0, n - (slot.run === null ? 1 : 0));
    }
    return waiting;
  }

  /** Slot `i`, started again first when its thread never started (as a request taking it would). */
  #sessionSlot(i: number): Slot {
    if (this.#slots[i].dead) this.#slots[i] = this.#start(i);
    return this.#slots[i];
  }

  /** Session answers of a thread, and the failure of its open calls when it stops (any way: death, replacement, close). */
  #sessionListen(worker: Worker): void {
    let cause = "";
    worker.on("message", (m: FromSessionHost) => {
      if (m.kind !== "session") return;
      const pending = this.#calls.get(worker);
      const call = pending?.get(m.call);
      if (call === undefined) return;
      pending!.delete(m.call);
      call.resolve(m);
    });
    worker.on("error", (e) => {
      cause = `${e.name}: ${e.message}`;
    });
    worker.on("exit", (code) => {
      const pending = this.#calls.get(worker);
      this.#calls.delete(worker);
      if (pending === undefined) return;
      const why = cause !== "" ? cause : `exit code ${code}`;
      for (const call of pending.values())
        call.reject(
          this.#closing
            ? new ApiError(503, "shutting_down", "the server is shutting down")
            : new ApiError(
                500,
                "engine_thread_failed",
                `the engine thread holding this session stopped (${why}); the session goes on from its last acknowledged batch, this request can be retried`,
              ),
        );
    });
  }
}

/** One request's engine on a pool thread. */
export class EngineRun {
  readonly #pool: EnginePool;
  readonly #worker: Worker;
  #state: RunState | null = null;
  #nextSeq = 0;
  #answered = 0;
  #inFlightBytes = 0;
  #failure: Error | null = null;
  #faulted = false;
  #over = false;
  #done = false;
  #released = false;
  #waiters: (() => void)[] = [];
  /** Capture buffers the thread gave back, for the next batches. */
  readonly #spare: ArrayBuffer[] = [];
  /** The links to the shards lent to this run (abandoned when it ends or fails). */
  #links: ShardLink[] = [];
  /** A lent thread's run: the upload its shard belongs to (which fails with it). */
  #partOf: EngineRun | null = null;
  readonly #failListeners = new Set<(e: Error) => void>();
  /**
   * Receives the printed bytes of each step, in order; `written`, when given, hands the buffer back
   * to the thread for a later step's output: call it once the bytes are written out and nothing
   * reads them any more (the buffer is moved: `bytes` is empty after).
   */
  onOutput: (bytes: Buffer, written?: () => void) => void = () => {};
  /** Called for each step whose output came in a buffer given back (op `spare`). */
  onReused: () => void = () => {};
  /** Receives the flow tallies of each step. */
  onCounts: (counts: FlowCounts) => void = () => {};

  readonly id: number;

  /** @internal use {@link EnginePool.acquire} */
  constructor(pool: EnginePool, worker: Worker, id: number) {
    this.id = id;
    this.#pool = pool;
    this.#worker = worker;
  }

  /** The run's state after the last answered step (before the first: nothing fed, no error). */
  get state(): RunState | null {
    return this.#state;
  }

  get error(): CaptureError | null {
    return this.#state?.error ?? null;
  }

  /** Engine memory and input in flight (for the memory budget). */
  get engineBytes(): number {
    return (this.#state?.memoryBytes ?? 0) + this.#inFlightBytes;
  }

  /** Output kept on the thread until the end. */
  get heldBytes(): number {
    return this.#state?.held ?? 0;
  }

  /** Whether `finish` printed the last flow. */
  get finished(): boolean {
    return this.#done;
  }

  /** Body bytes of one `capture` step: {@link SHARDED_BATCH_BYTES} once the run is sharded, else {@link INPUT_BATCH_BYTES}. */
  get batchBytes(): number {
    return this.#links.length > 0 ? SHARDED_BATCH_BYTES : INPUT_BATCH_BYTES;
  }

  /** `shards`: links from {@link EnginePool.lendShards} (a capture upload sharded over them). */
  open(
    options: ReconstructorOptions,
    windowBytes: number,
    spec: PoolJobSpec,
    sliceBytes: number,
    shards: ShardLink[] = [],
  ): void {
    this.#links = shards;
    this.#post(
      { op: "open", run: this.id, options, windowBytes, spec, sliceBytes, ...(shards.length > 0 ? { shards } : {}) },
      shards.map((l) => l.port),
    );
  }

  /** @internal This lent thread runs a shard of `primary`'s upload. */
  serveShard(link: ShardLink, primary: EngineRun): void {
    this.#partOf = primary;
    this.#post({ op: "shard", run: this.id, link }, [link.port]);
  }

  /** Sends a batch of capture bytes (copied into one transferable buffer); waits while the thread is behind. */
  async capture(chunks: readonly Uint8Array[], bytes: number): Promise<void> {
    await this.#room();
    const spare = this.batchBuffer(bytes);
    const buf = new Uint8Array(spare, 0, bytes);
    let off = 0;
    for (const c of chunks) {
      buf.set(c, off);
      off += c.length;
    }
    this.#step({ op: "capture", seq: this.#nextSeq, bytes: spare, length: bytes }, bytes);
  }

  /**
   * A buffer of at least `bytes` (and at least a batch and a body chunk) for a capture batch to be
   * filled in place and {@link send}: one the thread gave back, else a new one.
   */
  batchBuffer(bytes = this.batchBytes + SPARE_EXTRA_BYTES): ArrayBuffer {
    const spare = this.#spare.pop();
    const size = Math.max(bytes, INPUT_BATCH_BYTES + SPARE_EXTRA_BYTES);
    return spare !== undefined && spare.byteLength >= bytes ? spare : new ArrayBuffer(size);
  }

  /** Sends the first `bytes` of `buffer` (a {@link batchBuffer}, filled) as a capture batch; waits while the thread is behind. */
  async send(buffer: ArrayBuffer, bytes: number): Promise<void> {
    await this.#room();
    this.#step({ op: "capture", seq: this.#nextSeq, bytes: buffer, length: bytes }, bytes);
  }

  /** Sends encoded segment records, `step` bytes per engine call. */
  async segments(records: Uint8Array, step: number): Promise<void> {
    await this.#room();
    const copy = records.slice();
    this.#step({ op: "segments", seq: this.#nextSeq, bytes: copy.buffer, step }, copy.length);
  }

  /**
   * Ends the input in part; resolves with true once every flow was printed. Up to
   * {@link MAX_IN_FLIGHT} parts are in flight, so the thread prints the next part while the
   * caller hands on the last one's output (a part sent after the last is answered empty).
   */
  async finishSome(): Promise<boolean> {
    await this.#wait(() => this.#done || this.#nextSeq - this.#answered < MAX_IN_FLIGHT);
    if (!this.#done) this.#step({ op: "finish", seq: this.#nextSeq }, 0);
    return this.#done;
  }

  /**
   * `wait`, or its rejection with the run's failure once the run fails first (the client's body,
   * read while the thread works). Each call listens only while it waits: racing every read
   * against one long-lived promise would keep a reaction, and the chunk it resolved with, per read.
   */
  async unlessFailed<T>(wait: Promise<T>): Promise<T> {
    this.#check();
    let stop!: () => void;
    const failed = new Promise<never>((_, reject) => {
      const listener = (e: Error): void => reject(e);
      this.#failListeners.add(listener);
      stop = () => this.#failListeners.delete(listener);
    });
    try {
      return await Promise.race([wait, failed]);
    } finally {
      stop();
    }
  }

  /** Resolves once every step sent was answered (its output handed on). */
  async settle(): Promise<void> {
    await this.#wait(() => this.#answered === this.#nextSeq);
  }

  /** Prints the closing members, hands on the last output and gives the thread back. */
  async end(meta: Record<string, unknown>): Promise<void> {
    await this.settle();
    this.#step({ op: "end", seq: this.#nextSeq, meta }, 0);
    await this.settle();
    this.#release();
  }

  /** Abandons the run (an error, a client that left); the thread takes the next request. */
  drop(): void {
    this.#release();
  }

  /** @internal An answer from the thread. */
  receive(m: FromEngineThread): void {
    if (m.kind === "ready") return;
    if (m.kind === "shard-done") {
      this.#release();
      return;
    }
    if (m.seq >= 0) this.#answered++; // -1: a failed open
    if (m.kind === "failed") {
      this.#faulted = true;
      this.fail(threadError(m.error));
      return;
    }
    if (m.input !== undefined && this.#spare.length < MAX_IN_FLIGHT) this.#spare.push(m.input);
    if (this.#over) return;
    this.#inFlightBytes = 0;
    this.#state = m.state;
    this.#done ||= m.done;
    if (m.counts !== null) this.onCounts(m.counts);
    if (m.reused === true) this.onReused();
    if (m.bytes !== null) {
      const buffer = m.bytes;
      const bytes = Buffer.from(buffer, 0, m.length ?? buffer.byteLength);
      this.onOutput(bytes, buffer.byteLength >= OUTPUT_SPARE_MIN_BYTES ? () => this.#giveBack(buffer) : undefined);
    }
    for (const p of m.pieces ?? [])
      this.onOutput(Buffer.from(p.bytes, p.offset, p.length), () => this.#giveBack(p.bytes, p.id));
    this.#wake();
  }

  /** @internal The run failed (its thread reported an error, or died). */
  fail(e: Error): void {
    this.#failure ??= e;
    this.#abandonShards();
    this.#partOf?.fail(e);
    for (const listener of this.#failListeners) listener(this.#failure);
    if (!this.#faulted) this.#over = true;
    this.#wake();
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#over = true;
    this.#abandonShards();
    this.#pool.release(this, this.#faulted);
    this.#wake();
  }

  /**
   * An output buffer goes back to the thread that printed it, also after the run ended (the
   * thread keeps a few for its next runs); not to a thread that stopped.
   */
  #giveBack(buffer: ArrayBuffer, piece?: number): void {
    if (this.#faulted) return;
    this.#worker.postMessage(
      { op: "spare", buffer, ...(piece !== undefined ? { piece } : {}) } satisfies ToEngineThread,
      [buffer],
    );
  }

  /** Its lent threads stop their shards, if they have not ended yet, and are free again. */
  #abandonShards(): void {
    for (const link of this.#links) abandonLink(link);
  }

  #step(m: Exclude<ToEngineThread, { op: "open" | "close" | "shard" }>, bytes: number): void {
    this.#check();
    this.#nextSeq++;
    this.#inFlightBytes += bytes;
    this.#post(m, "bytes" in m ? [m.bytes] : []);
  }

  #post(m: ToEngineThread, transfer: Transferable[] = []): void {
    this.#check();
    this.#worker.postMessage(m, transfer);
  }

  async #room(): Promise<void> {
    await this.#wait(() => this.#nextSeq - this.#answered < MAX_IN_FLIGHT);
  }

  async #wait(done: () => boolean): Promise<void> {
    for (;;) {
      this.#check();
      if (done()) return;
      await new Promise<void>((wake) => this.#waiters.push(wake));
    }
  }

  #check(): void {
    if (this.#failure !== null) throw this.#failure;
    if (this.#released) throw new Error("engine run used after it was ended or dropped");
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
