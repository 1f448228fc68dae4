/**
 * @module
 * A format thread (node:worker_threads): turns batches of finished flow records into output bytes
 * while the main thread runs the engine. Started by {@link FormatThreads}; the message protocol is
 * defined there.
 *
 * One thread serves any number of jobs (a CLI run, API requests), each with its own printer, clock
 * and output buffer; only a job's lead prints its header and footer. Every answer to a batch or an
 * end echoes its sequence number and bumps the shared progress counter (waking a main thread
 * blocked on it).
 */

import { parentPort, workerData } from "node:worker_threads";
import type { MessagePort } from "node:worker_threads";
import { AsciiWriter } from "../format/ascii.js";
import type { Formatter, RunSummary } from "../format/index.js";
import type { InsightContext } from "../anomalies/index.js";
import type { MemoryViews } from "../wasm/engine.js";
import { FlowsJob } from "../http/flow-job.js";
import { createPrinter } from "./printer.js";
import { forEachRecord } from "./record-batch.js";
import type { FromThread, JobSpec, PrintJobSpec, ThreadData, ThreadJob, ToThread } from "./format-threads.js";

/** Output buffers start at this size (a 1 MiB batch of records prints to ~1.2 MB of NDJSON). */
const OUTPUT_BYTES = 2 << 20;
/** Output buffers kept for reuse; they come back once the main thread has written them. */
const SPARE_OUTPUTS = 8;

/** A CLI run: one of the CLI's formats, with its filter, straight into the output buffer. */
class PrintJob implements ThreadJob {
  readonly recordSize: number;
  readonly clock: InsightContext;
  readonly #printer: Formatter;
  readonly #out: AsciiWriter;

  constructor(spec: PrintJobSpec, lead: boolean, out: AsciiWriter) {
    this.recordSize = spec.print.layout.constants.FR_SIZE;
    this.clock = { ...spec.insight };
    this.#printer = createPrinter(spec.print, this.clock);
    this.#out = out;
    if (lead) this.#printer.begin(out);
  }

  record(v: MemoryViews, p: number): void {
    this.#printer.record(v, p, this.#out);
  }

  output(): AsciiWriter {
    return this.#out;
  }

  end(summary: unknown): AsciiWriter {
    this.#printer.end(summary as RunSummary, this.#out);
    return this.#out;
  }

  counts(): null {
    return null;
  }

  held(): number {
    return 0;
  }
}

const { port, progress } = workerData as ThreadData;
const done = new Int32Array(progress);
const jobs = new Map<number, ThreadJob>();
const spare: ArrayBuffer[] = [];

function open(spec: JobSpec, lead: boolean): ThreadJob {
  const out = new AsciiWriter(OUTPUT_BYTES);
  return spec.kind === "print" ? new PrintJob(spec, lead, out) : new FlowsJob(spec, out);
}

function send(message: FromThread, transfer: ArrayBuffer[]): void {
  (port as MessagePort).postMessage(message, transfer);
  Atomics.add(done, 0, 1);
  Atomics.notify(done, 0);
}

/** Hands over what was printed (possibly nothing), the job's tallies and the batch buffer to refill. */
function answer(
  id: number,
  seq: number,
  job: ThreadJob | undefined,
  out: AsciiWriter | null,
  batch: ArrayBuffer | null,
): void {
  const length = out?.length ?? 0;
  let bytes: ArrayBuffer | null = null;
  if (length > 0) {
    const next = spare.pop();
    if (next !== undefined) {
      bytes = out!.take(new Uint8Array(next)).buffer as ArrayBuffer;
    } else {
      // No buffer came back to swap in (an API response keeps what it is given): hand over an
      // exact-size copy and keep printing into this one. A fresh 2 MiB buffer per answer cost more
      // (zero-filled, and counted as external memory by the receiver's GC) than copying the bytes.
      bytes = out!.buf.slice(0, length).buffer;
      out!.pos = 0;
    }
  }
  const transfer = [bytes, batch].filter((b): b is ArrayBuffer => b !== null);
  send(
    { kind: "output", job: id, seq, bytes, length, batch, counts: job?.counts() ?? null, held: job?.held() ?? 0 },
    transfer,
  );
}

function handle(m: ToThread): void {
  if (m.op === "open") {
    jobs.set(m.job, open(m.spec, m.lead));
    return;
  }
  if (m.op === "drop") {
    jobs.delete(m.job);
    return;
  }
  if (m.op === "spare") {
    if (spare.length < SPARE_OUTPUTS) spare.push(m.buffer);
    return;
  }
  const job = jobs.get(m.job);
  if (job === undefined) {
    // A job that failed or was dropped: answer anyway, so the count of messages in flight stays exact.
    answer(m.job, m.seq, undefined, null, m.op === "batch" ? m.batch.buffer : null);
  } else if (m.op === "batch") {
    forEachRecord(m.batch, job.recordSize, job.clock, (v, p) => job.record(v, p));
    answer(m.job, m.seq, job, job.output(), m.batch.buffer);
  } else {
    const out = job.end(m.summary);
    jobs.delete(m.job);
    answer(m.job, m.seq, job, out, null);
  }
}

parentPort!.on("message", (m: ToThread) => {
  try {
    handle(m);
  } catch (e) {
    // A formatting bug: this job is over, the thread serves the others.
    if (m.op === "spare") throw e;
    jobs.delete(m.job);
    if (m.op === "batch" || m.op === "end")
      send({ kind: "failed", job: m.job, seq: m.seq, message: (e as Error)?.message ?? String(e) }, []);
  }
});
send({ kind: "ready" }, []);
