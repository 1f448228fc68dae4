/**
 * @module
 * A format thread (node:worker_threads): turns batches of finished flow records into output bytes
 * while the main thread runs the engine. Started by {@link FormatThreads}; the message protocol is
 * defined there.
 *
 * One thread serves any number of jobs (one per CLI run or API request), each with its own
 * printer, clock and output buffer; only a job's lead prints its header and footer. Every answer
 * to a batch or an end echoes its sequence number and bumps the shared progress counter (waking a
 * main thread blocked on it).
 */

import { parentPort, workerData } from "node:worker_threads";
import type { MessagePort } from "node:worker_threads";
import { AsciiWriter } from "../format/ascii.js";
import type { Formatter } from "../format/index.js";
import type { InsightContext } from "../anomalies/index.js";
import { createPrinter } from "./printer.js";
import { forEachRecord } from "./record-batch.js";
import type { FromThread, JobSpec, ThreadData, ToThread } from "./format-threads.js";

/** Output buffers start at this size (a 1 MiB batch of records prints to ~1.2 MB of NDJSON). */
const OUTPUT_BYTES = 2 << 20;
/** Output buffers kept for reuse; they come back once the main thread has written them. */
const SPARE_OUTPUTS = 8;

interface Job {
  printer: Formatter;
  recordSize: number;
  clock: InsightContext;
  out: AsciiWriter;
}

const { port, progress } = workerData as ThreadData;
const done = new Int32Array(progress);
const jobs = new Map<number, Job>();
const spare: ArrayBuffer[] = [];

function open(spec: JobSpec, lead: boolean): Job {
  const clock: InsightContext = { ...spec.insight };
  const job: Job = {
    printer: createPrinter(spec.print, clock),
    recordSize: spec.print.layout.constants.FR_SIZE,
    clock,
    out: new AsciiWriter(OUTPUT_BYTES),
  };
  if (lead) job.printer.begin(job.out);
  return job;
}

function send(message: FromThread, transfer: ArrayBuffer[]): void {
  (port as MessagePort).postMessage(message, transfer);
  Atomics.add(done, 0, 1);
  Atomics.notify(done, 0);
}

/** Hands over what was printed (possibly nothing) and the batch buffer to refill. */
function answer(id: number, seq: number, out: AsciiWriter | null, batch: ArrayBuffer | null): void {
  const length = out?.length ?? 0;
  const next = spare.pop();
  const bytes = length > 0 ? (out!.take(next && new Uint8Array(next)).buffer as ArrayBuffer) : null;
  if (bytes === null && next !== undefined) spare.push(next);
  const transfer = [bytes, batch].filter((b): b is ArrayBuffer => b !== null);
  send({ kind: "output", job: id, seq, bytes, length, batch }, transfer);
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
    answer(m.job, m.seq, null, m.op === "batch" ? m.batch.buffer : null);
  } else if (m.op === "batch") {
    forEachRecord(m.batch, job.recordSize, job.clock, (v, p) => job.printer.record(v, p, job.out));
    answer(m.job, m.seq, job.out, m.batch.buffer);
  } else {
    job.printer.end(m.summary, job.out);
    jobs.delete(m.job);
    answer(m.job, m.seq, job.out, null);
  }
}

parentPort!.on("message", (m: ToThread) => {
  try {
    handle(m);
  } catch (e) {
    // A formatting bug: this job is over, the thread serves the others.
    if (m.op === "spare") throw e;
    jobs.delete(m.job);
    if (m.op === "batch" || m.op === "end") send({ kind: "failed", job: m.job, seq: m.seq, message: (e as Error)?.message ?? String(e) }, []);
  }
});
send({ kind: "ready" }, []);
