/**
 * @module
 * Formatting off the main thread: the main thread runs the engine and copies finished flow records
 * out in batches; format threads (node:worker_threads, src/output/format-worker.ts) print them and
 * send the bytes back, and the main thread hands them on in record order.
 *
 * Why threads, and when two: formatting is ~40% of a CLI run (uid, Community ID, insight, JSON
 * text). Where flows finish while the capture is read, one thread overlaps it with the engine.
 * But the engine often finishes most flows at the end of the input (every flow of the 5M-segment,
 * 100k-concurrent benchmark capture: its flows outlive the capture), and then there is nothing to
 * overlap with; a long tail like that is formatted faster by two threads at once while the main
 * thread only collects ({@link FormatJob.widen}). A second thread is not free: it starts in
 * ~40 ms and runs its first few thousand records several times slower while V8 compiles the
 * formatting code for it (~0.2 s of CPU), so it pays off only for a tail of ~100k flows or more.
 *
 * A job starts on one thread, its lead (header, footer). Formats whose records print independently
 * (ndjson, zeek: {@link recordsIndependent}) may widen to more threads; then each batch goes to the
 * least busy ready thread, the lead on a tie. The others (json's separators, table's column
 * widths) keep one printer on one thread.
 *
 * Protocol: one {@link MessageChannel} per thread. The main thread posts `open` (a
 * {@link JobSpec}), `batch` (a {@link RecordBatch}, its buffer transferred) and `end` (the run
 * summary the footer needs). A thread answers every batch and every end with one `output` message
 * (the bytes printed, possibly none, and the batch buffer to refill) or `failed`, echoing the
 * sequence number; the job puts answers back in sequence order. Each answer also bumps a shared
 * counter, which lets a main thread that is inside an engine call (where it cannot await) block
 * until a thread catches up: a job never has more than {@link MAX_PENDING} batches in flight, so
 * memory stays bounded however many flows one engine call finishes.
 */

import { availableParallelism } from "node:os";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import type { InsightContext } from "../anomalies/index.js";
import type { AsciiWriter } from "../format/ascii.js";
import type { RecordSink } from "../reconstructor.js";
import type { MemoryViews } from "../wasm/engine.js";
import type { Layout } from "../wasm/layout.js";
import type { FlowCounts } from "../http/flow-counts.js";
import type { FlowsJobSpec } from "../http/flow-job.js";
import { recordsIndependent, type PrintSpec } from "./printer.js";
import { RecordBatcher, type RecordBatch } from "./record-batch.js";
import { forwardStdio, OWN_STDIO } from "../worker-stdio.js";

/** A CLI run: what it prints, and the insight context (final, thresholds) its records are judged in. */
export interface PrintJobSpec {
  kind: "print";
  print: PrintSpec;
  insight: InsightContext;
}

/** What a job prints: the CLI's formats, or an API response body (src/http/flow-job.ts). Plain data. */
export type JobSpec = PrintJobSpec | FlowsJobSpec;

function jobLayout(spec: JobSpec): Layout {
  return spec.kind === "print" ? spec.print.layout : spec.layout;
}

/** Whether the job's records print independently, so that its batches may go to several threads. */
function jobIndependent(spec: JobSpec): boolean {
  return spec.kind === "print" ? recordsIndependent(spec.print.format) : spec.format === "ndjson";
}

/** A job as a format thread runs it (src/output/format-worker.ts). */
export interface ThreadJob {
  readonly recordSize: number;
  /** The capture clock, set for each run of records of a batch. */
  readonly clock: { endUs: number };
  record(v: MemoryViews, p: number): void;
  /** The writer holding what was printed since it was last emptied. */
  output(): AsciiWriter;
  /** Prints the footer (the lead only); returns the writer as {@link output}. */
  end(summary: unknown): AsciiWriter;
  /** Metric tallies since the last call, or null. */
  counts(): FlowCounts | null;
  /** Bytes printed and kept back until the end (a msgpack body). */
  held(): number;
}

/** `workerData` of a format thread. */
export interface ThreadData {
  port: MessagePort;
  /** Int32 counter: bumped after every message a thread sends. */
  progress: SharedArrayBuffer;
}

export type ToThread =
  | { op: "open"; job: number; spec: JobSpec; lead: boolean }
  | { op: "batch"; job: number; seq: number; batch: RecordBatch }
  /** `summary`: the CLI's RunSummary, or an API response's closing members. */
  | { op: "end"; job: number; seq: number; summary: unknown }
  | { op: "drop"; job: number }
  /** An output buffer the main thread is done with, back to the thread that filled it. */
  | { op: "spare"; buffer: ArrayBuffer };

export type FromThread =
  | { kind: "ready" }
  | {
      kind: "output";
      job: number;
      seq: number;
      bytes: ArrayBuffer | null;
      length: number;
      batch: ArrayBuffer | null;
      counts: FlowCounts | null;
      held: number;
    }
  | { kind: "failed"; job: number; seq: number; message: string };

/** Size of one batch of records: ~1,640 records of 640 bytes (FR_SIZE), ~1.2 MB of NDJSON. */
export const BATCH_BYTES = 1 << 20;
/** Batches (and the end) a job may have in flight: sent and not yet answered. */
export const MAX_PENDING = 4;
/**
 * Live flows from which a job is worth widening to a second thread: they all come out at the end
 * of the input, and formatting 100k of them takes ~0.35 s on one thread, against ~0.2 s of CPU
 * for a second thread to get up to speed (measured on the 2-vCPU VM: a 104k-flow tail ran as fast
 * on two threads as on one, a 256k-flow tail 0.25-0.3 s faster).
 */
export const LONG_TAIL_FLOWS = 100_000;

/** How long a blocked main thread waits for any answer from the format threads before giving up. */
const SILENT_THREAD_MS = 60_000;

/** Up to two threads where there are two cores. */
export function defaultThreads(): number {
  return Math.min(2, Math.max(1, availableParallelism()));
}

/**
 * The built worker: beside this file in dist/. Run from the sources (vitest runs src/*.ts), there
 * is no .js beside it, so it is the built one in dist/ (the test setup builds it).
 */
function workerUrl(): URL {
  const here = import.meta.url;
  return here.endsWith(".ts")
    ? new URL("../../dist/output/format-worker.js", here)
    : new URL("./format-worker.js", here);
}

export interface JobOptions {
  /** The capture clock records are finished under, read at each record (`reconstructor.insight`). */
  clock: { readonly endUs: number };
  /**
   * Receives the printed bytes, in record order. The buffer is the receiver's to keep; calling
   * `done` once it is no longer needed (written) lets the thread fill it again.
   */
  onOutput: (bytes: Buffer, done: () => void) => void;
  /** Receives the metric tallies of each batch (jobs that count), in record order. */
  onCounts?: (counts: FlowCounts) => void;
  /**
   * When a batch fills while {@link MAX_PENDING} are in flight: true blocks the calling thread
   * until a format thread answers (the CLI, inside an engine call); false sends it anyway (a
   * server that must not block; its callers bound the work between two {@link FormatJob.flush}).
   */
  blocking: boolean;
}

interface Thread {
  worker: Worker;
  port: MessagePort;
  /** Messages sent to it and not yet answered, over all jobs. */
  pending: number;
  /** Loaded and listening. */
  ready: boolean;
}

export class FormatThreads {
  readonly #threads: Thread[] = [];
  readonly #max: number;
  readonly #progress: Int32Array;
  readonly #jobs = new Map<number, FormatJob>();
  #nextJob = 1;
  #unref = false;
  #closing = false;
  #failure: Error | null = null;
  #waiters: (() => void)[] = [];

  /** Starts one thread; jobs that widen start more, up to `maxThreads`. */
  constructor(maxThreads = defaultThreads()) {
    this.#max = Math.max(1, maxThreads);
    this.#progress = new Int32Array(new SharedArrayBuffer(4));
    this.#start();
  }

  /** The first failure of a thread itself (not of one job), or null. */
  get failure(): Error | null {
    return this.#failure;
  }

  /** Resolves once the threads started so far have loaded and listen (rejects if one could not start). */
  async ready(): Promise<void> {
    await this.waitFor(() => this.#threads.every((t) => t.ready));
  }

  /** Starts a job on the least busy ready thread; its output goes to `options.onOutput`. */
  open(spec: JobSpec, options: JobOptions): FormatJob {
    const id = this.#nextJob++;
    const ready = this.#threadIndexes().filter((t) => this.#threads[t].ready);
    const lead = this.#leastBusy(ready.length > 0 ? ready : [0]);
    const job = new FormatJob(this, id, lead, spec, options);
    this.#jobs.set(id, job);
    this.#post(lead, { op: "open", job: id, spec, lead: true });
    this.#keepAlive();
    return job;
  }

  /**
   * Lets the process exit while no job is open (a server's shared threads); while one is, the
   * threads keep it running, as the work they do for it is awaited.
   */
  unref(): void {
    this.#unref = true;
    this.#keepAlive();
  }

  /** Stops the threads; jobs still open fail. */
  async close(): Promise<void> {
    this.#closing = true;
    for (const t of this.#threads) t.port.close();
    await Promise.all(this.#threads.map((t) => t.worker.terminate()));
  }

  /** @internal Of `threads`, the ready one with the fewest messages in flight (the first on a tie). */
  leastBusy(threads: readonly number[]): number {
    const ready = threads.filter((t) => this.#threads[t].ready);
    return this.#leastBusy(ready.length > 0 ? ready : threads);
  }

  /**
   * @internal A thread for a job that widens, other than `used`: an existing one, else a new one
   * while below the maximum; null when there is none.
   */
  another(used: readonly number[]): number | null {
    const free = this.#threadIndexes().filter((t) => !used.includes(t));
    if (free.length > 0) return this.#leastBusy(free);
    return this.#threads.length < this.#max ? this.#start() : null;
  }

  /** @internal Posts to thread `t`; a message that expects an answer counts as in flight. */
  send(t: number, message: ToThread, transfer: ArrayBuffer[] = []): void {
    this.#post(t, message, transfer);
    if (message.op === "batch" || message.op === "end") this.#threads[t].pending++;
  }

  /** @internal Returns an output buffer to thread `t`, to be filled again. */
  spare(t: number, buffer: ArrayBuffer): void {
    if (this.#failure === null && !this.#closing && buffer.byteLength > 0)
      this.#post(t, { op: "spare", buffer }, [buffer]);
  }

  /** @internal Forgets a job (its late answers are dropped). */
  forget(id: number): void {
    this.#jobs.delete(id);
    this.#keepAlive();
  }

  /** @internal Takes the answers that have arrived, without waiting for the event loop. */
  poll(): void {
    for (let i = 0; i < this.#threads.length; i++) {
      const port = this.#threads[i].port;
      for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port))
        this.#receive(i, m.message as FromThread);
    }
  }

  /**
   * @internal Blocks the calling thread until `done()` (checked after each answer). Only once
   * {@link ready}: from then on the threads answer every message, even one that fails.
   */
  waitSync(done: () => boolean): void {
    if (!this.#threads[0].ready) throw new Error("FormatThreads.waitSync before the threads are ready");
    // Blocked here, this thread cannot see a format thread's 'exit' event: one that died hard (out
    // of memory) would leave it waiting forever. A batch takes milliseconds, so a long silence is
    // reported as a failure instead of a hang.
    let since = performance.now();
    for (;;) {
      const seen = Atomics.load(this.#progress, 0);
      this.poll();
      if (done() || this.#failure !== null) return;
      if (Atomics.wait(this.#progress, 0, seen, 1000) !== "timed-out") since = performance.now();
      else if (performance.now() - since > SILENT_THREAD_MS)
        throw new Error(`no format thread answered for ${SILENT_THREAD_MS / 1000} s`);
    }
  }

  /** @internal Resolves once `done()` (checked after each answer); rejects when a thread fails. */
  async waitFor(done: () => boolean): Promise<void> {
    for (;;) {
      this.poll();
      if (this.#failure !== null) throw this.#failure;
      if (done()) return;
      await new Promise<void>((wake) => this.#waiters.push(wake));
    }
  }

  #start(): number {
    const i = this.#threads.length;
    const { port1, port2 } = new MessageChannel();
    const data: ThreadData = { port: port2, progress: this.#progress.buffer as SharedArrayBuffer };
    const worker = new Worker(workerUrl(), { workerData: data, transferList: [port2], ...OWN_STDIO });
    forwardStdio(worker);
    this.#threads.push({ worker, port: port1, pending: 0, ready: false });
    port1.on("message", (m: FromThread) => this.#receive(i, m));
    worker.on("error", (e) => this.#fail(new Error(`format thread failed: ${e.message}`, { cause: e })));
    worker.on("exit", (code) => {
      if (!this.#closing) this.#fail(new Error(`format thread exited with code ${code}`));
    });
    this.#keepAlive();
    return i;
  }

  /** Refs the threads while jobs are open, unless unref() was never called (then they are always ref'd). */
  #keepAlive(): void {
    const ref = !this.#unref || this.#jobs.size > 0;
    for (const t of this.#threads) {
      if (ref) {
        t.worker.ref();
        t.port.ref();
      } else {
        t.worker.unref();
        t.port.unref();
      }
    }
  }

  #threadIndexes(): number[] {
    return this.#threads.map((_, i) => i);
  }

  #leastBusy(threads: readonly number[]): number {
    let best = threads[0];
    for (const t of threads) if (this.#threads[t].pending < this.#threads[best].pending) best = t;
    return best;
  }

  #post(t: number, message: ToThread, transfer: ArrayBuffer[] = []): void {
    if (this.#failure !== null) throw this.#failure;
    this.#threads[t].worker.postMessage(message, transfer);
  }

  #receive(t: number, m: FromThread): void {
    if (m.kind === "ready") {
      this.#threads[t].ready = true;
    } else {
      this.#threads[t].pending--;
      this.#jobs.get(m.job)?.receive(t, m);
    }
    this.#wake();
  }

  #fail(e: Error): void {
    this.#failure ??= e;
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

/** One output (a CLI run, an API request) on {@link FormatThreads}. */
export class FormatJob {
  readonly #pool: FormatThreads;
  readonly #id: number;
  readonly #spec: JobSpec;
  /** The threads this job prints on; the first is its lead (header, footer). */
  readonly #threads: number[];
  readonly #batcher: RecordBatcher;
  readonly #options: JobOptions;
  #nextSeq = 0;
  /** Answers that came back before an earlier one, by sequence number. */
  readonly #early = new Map<number, Extract<FromThread, { kind: "output" }>>();
  /** The thread that printed each early answer. */
  readonly #earlyFrom = new Map<number, number>();
  #nextOut = 0;
  /** Bytes the lead keeps back until the end, as of its last answer. */
  #held = 0;
  #endSeq = -1;
  #failure: Error | null = null;

  /** @internal use {@link FormatThreads.open} */
  constructor(pool: FormatThreads, id: number, lead: number, spec: JobSpec, options: JobOptions) {
    this.#pool = pool;
    this.#id = id;
    this.#spec = spec;
    this.#threads = [lead];
    this.#batcher = new RecordBatcher(jobLayout(spec).constants.FR_SIZE, BATCH_BYTES);
    this.#options = options;
  }

  /** Copies each finished record into the current batch; a full batch goes to a thread. */
  readonly sink: RecordSink = (v, p) => {
    this.#batcher.add(v, p, this.#options.clock.endUs);
    if (this.#batcher.full) this.#send(this.#options.blocking);
  };

  /**
   * Spreads the job's batches over one more thread (starting one, up to the pool's maximum), when
   * its format prints records independently. Returns whether it did.
   */
  widen(): boolean {
    if (!jobIndependent(this.#spec)) return false;
    const t = this.#pool.another(this.#threads);
    if (t === null) return false;
    this.#pool.send(t, { op: "open", job: this.#id, spec: this.#spec, lead: false });
    this.#threads.push(t);
    return true;
  }

  /** Batches (and the end) sent and not yet handed on. */
  get pending(): number {
    return this.#nextSeq - this.#nextOut;
  }

  /** Memory this job holds: records collected and in flight, and output kept back on a thread. */
  get bufferedBytes(): number {
    return (this.#batcher.count > 0 ? BATCH_BYTES : 0) + this.pending * BATCH_BYTES + this.#held;
  }

  /**
   * Sends the records collected so far and hands on the output that came back; waits while
   * {@link MAX_PENDING} batches are in flight. Call it between engine calls.
   */
  async flush(): Promise<void> {
    this.#pool.poll();
    await this.#wait(() => this.pending < MAX_PENDING);
    this.#send(false);
  }

  /** Sends the records collected so far and resolves once all their output was handed on. */
  async settle(): Promise<void> {
    await this.flush();
    await this.#wait(() => this.pending === 0);
  }

  /**
   * Sends the rest and the summary the footer needs (the CLI's RunSummary, an API response's
   * closing members); resolves once the last byte of output was handed on.
   */
  async end(summary: unknown): Promise<void> {
    await this.flush();
    const lead = this.#threads[0];
    this.#endSeq = this.#nextSeq++;
    this.#pool.send(lead, { op: "end", job: this.#id, seq: this.#endSeq, summary });
    for (const t of this.#threads.slice(1)) this.#pool.send(t, { op: "drop", job: this.#id });
    await this.#wait(() => this.#nextOut > this.#endSeq);
    this.#pool.forget(this.#id);
  }

  /** Abandons the job (a cancelled request): the threads drop it, late output is ignored. */
  drop(): void {
    this.#pool.forget(this.#id);
    if (this.#pool.failure !== null) return;
    for (const t of this.#threads) this.#pool.send(t, { op: "drop", job: this.#id });
  }

  /** @internal An answer from thread `t`. */
  receive(t: number, m: FromThread): void {
    if (m.kind === "ready") return;
    if (m.kind === "failed") {
      this.#failure ??= new Error(`format thread: ${m.message}`);
      return;
    }
    if (m.batch !== null) this.#batcher.recycle(m.batch);
    if (t === this.#threads[0]) this.#held = m.held;
    if (m.seq !== this.#nextOut) {
      this.#early.set(m.seq, m);
      this.#earlyFrom.set(m.seq, t);
      return;
    }
    this.#deliver(m, t);
    for (let next = this.#early.get(this.#nextOut); next !== undefined; next = this.#early.get(this.#nextOut)) {
      const from = this.#earlyFrom.get(this.#nextOut)!;
      this.#early.delete(this.#nextOut);
      this.#earlyFrom.delete(this.#nextOut);
      this.#deliver(next, from);
    }
  }

  #deliver(m: Extract<FromThread, { kind: "output" }>, t: number): void {
    this.#nextOut++;
    if (m.counts !== null) this.#options.onCounts?.(m.counts);
    if (m.bytes === null) return;
    const bytes = Buffer.from(m.bytes, 0, m.length);
    this.#options.onOutput(bytes, () => this.#pool.spare(t, bytes.buffer as ArrayBuffer));
  }

  #send(blocking: boolean): void {
    if (this.#batcher.count === 0) return;
    if (blocking && this.pending >= MAX_PENDING)
      this.#pool.waitSync(() => this.pending < MAX_PENDING || this.#failure !== null);
    this.#check();
    const batch = this.#batcher.take()!;
    const t = this.#pool.leastBusy(this.#threads);
    this.#pool.send(t, { op: "batch", job: this.#id, seq: this.#nextSeq++, batch }, [batch.buffer]);
  }

  async #wait(done: () => boolean): Promise<void> {
    await this.#pool.waitFor(() => done() || this.#failure !== null);
    this.#check();
  }

  #check(): void {
    if (this.#failure !== null) throw this.#failure;
    if (this.#pool.failure !== null) throw this.#pool.failure;
  }
}
