/**
 * @module
 * An engine thread of the API's pool (src/http/engine-pool.ts): runs one request's engine at a time
 * and prints its finished flows with this engine's own formatter ({@link EngineFlowsJob}, as the
 * CLI prints), sending the bytes back after each step (a msgpack document's at its end: its head
 * counts the flows). The message protocol is defined in engine-pool.ts.
 *
 * A step is one batch of input (capture bytes or encoded segment records, fed in `sliceBytes`
 * slices as on the main thread), or one part of the end of the input: `finish` runs
 * `finishSome` until about {@link STEP_OUTPUT_BYTES} were printed, so the main thread can check
 * the memory budget and the response's backpressure between parts.
 *
 * A large upload may be sharded (issue 10, src/shards/): the run's `open` brings links to shards on
 * other pool threads, lent for it; this thread's engine routes the frames and tracks its own share
 * ({@link ShardedRun}). The answer is printed by every engine of the run (as one engine prints it)
 * and gathered here ({@link GatheredLines}: a large piece moves on in its engine's buffer, which
 * comes back once written). A lent thread runs its shard between its session calls (`shard`:
 * serveShard) and says `shard-done` when its shard ended, so the pool can lend it again.
 */

import { parentPort } from "node:worker_threads";
import { AsciiWriter } from "../format/ascii.js";
import { MIN_WINDOW_BYTES, Reconstructor, type RecordSink } from "../reconstructor.js";
import { EngineFlowsJob, GatheredLines, type EngineThreadJob } from "./flow-job.js";
import { ApiError } from "./errors.js";
import { ShardedRun } from "../shards/sharded-run.js";
import { serveShard } from "../shards/shard-loop.js";
import type { Engine } from "../wasm/engine.js";
import { engineOnSpareMemory, keepSpareMemory } from "../wasm/spare-memory.js";
import { useAnswerPrinter } from "../shards/shard-print.js";
import {
  OUTPUT_SPARE_MIN_BYTES,
  type FromEngineThread,
  type MovedPiece,
  type RunState,
  type ToEngineThread,
} from "./engine-pool.js";
import { OUT_BYTES, type ShardLink } from "../shards/protocol.js";
import { type BodyResult, type FromSessionHost, SessionHost, type ToSessionHost } from "./sessions/session-host.js";

/** Output printed in one `finish` step before the main thread gets it. */
const STEP_OUTPUT_BYTES = 1 << 20;
// NDJSON answers sharded over pool threads are printed by every engine, this thread's included.
useAnswerPrinter(EngineFlowsJob);

interface Run {
  id: number;
  rec: Reconstructor;
  job: EngineThreadJob;
  out: AsciiWriter;
  sink: RecordSink;
  sliceBytes: number;
  /** The connections sharded over lent threads; `rec` is then its reading engine. */
  sharded: ShardedRun | null;
  /** The engine `rec` runs on: its memory becomes this thread's spare once the run has ended (spare-memory.ts). */
  engine: Engine;
}

let run: Run | null = null;
/** The run the messages being handled belong to (kept after a failure, to answer its later steps). */
let runId = 0;

function post(m: FromEngineThread | FromSessionHost, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(m, transfer);
}

function state(r: Run): RunState {
  const stats = r.sharded?.stats ?? r.rec.stats;
  return {
    stats,
    error: r.rec.error === null ? null : { ...r.rec.error },
    memoryBytes: r.sharded?.memoryBytes ?? r.rec.memoryBytes,
    segmentsIn: r.rec.segmentsIn,
    held: r.job.held(),
  };
}

/**
 * Output buffers the main thread gave back once it wrote them (op `spare`): the writer goes on in
 * one when a step's output moves out, instead of a new buffer per step. At most MAX_SPARES are kept
 * (two steps in flight, each with one in the stream).
 */
const spares: ArrayBuffer[] = [];
const MAX_SPARES = 4;
/**
 * A sharded answer's pieces of at least this size go to the main thread in the buffer their engine
 * printed them in (GatheredLines.move), which comes back to that engine once written; smaller ones
 * are copied into the step's output (one piece, not many small writes) and their buffer goes back
 * at once.
 */
const MOVE_MIN_BYTES = OUT_BYTES >> 2;
/** Pieces moved to the main thread and not given back yet, by id (op `spare` with `piece`). */
const movedPieces = new Map<number, (back: ArrayBuffer) => void>();
let nextPiece = 1;

/**
 * The bytes printed since the last answer, moved out of the writer: the writer's buffer itself
 * when a spare takes its place or a large part of it is printed (the main thread gives it back),
 * else (a few lines) a copy, which costs less than a new buffer.
 */
function takeOutput(out: AsciiWriter): { bytes: ArrayBuffer; length: number; reused: boolean } | null {
  const length = out.length;
  if (length === 0) return null;
  const spare = spares.pop();
  if (spare !== undefined)
    return { bytes: out.take(new Uint8Array(spare)).buffer as ArrayBuffer, length, reused: true };
  if (length >= OUTPUT_SPARE_MIN_BYTES) return { bytes: out.take().buffer as ArrayBuffer, length, reused: false };
  const bytes = out.buf.slice(0, length).buffer as ArrayBuffer;
  out.pos = 0;
  return { bytes, length, reused: false };
}

/** `input`: the capture buffer of the step, given back. */
function answer(seq: number, r: Run, out: AsciiWriter, done: boolean, input?: ArrayBuffer): void {
  const taken = takeOutput(out);
  const transfer = taken === null ? [] : [taken.bytes];
  let pieces: MovedPiece[] | undefined;
  if (r.job.moved !== undefined) {
    for (const { bytes, done: back } of r.job.moved()) {
      const id = nextPiece++;
      movedPieces.set(id, back);
      const buffer = bytes.buffer as ArrayBuffer;
      (pieces ??= []).push({ id, bytes: buffer, offset: bytes.byteOffset, length: bytes.length });
      transfer.push(buffer);
    }
  }
  if (input !== undefined) transfer.push(input);
  post(
    {
      kind: "step",
      run: r.id,
      seq,
      bytes: taken?.bytes ?? null,
      ...(taken !== null && taken.length !== taken.bytes.byteLength ? { length: taken.length } : {}),
      ...(taken?.reused === true ? { reused: true } : {}),
      ...(pieces !== undefined ? { pieces } : {}),
      counts: r.job.counts(),
      state: state(r),
      done,
      input,
    },
    transfer,
  );
}

/** Opens a run whose connections are sharded over the threads at the other end of `links`. */
function openSharded(m: Extract<ToEngineThread, { op: "open" }>, links: ShardLink[]): Run {
  const engine = engineOnSpareMemory();
  const out = new AsciiWriter(STEP_OUTPUT_BYTES);
  // Every engine prints its own flows, as one engine prints them (EngineFlowsJob), gathered here.
  const lines = new GatheredLines(out, m.spec.format);
  const sharded = new ShardedRun({
    threads: links.length + 1,
    links,
    options: { ...m.options, windowBytes: m.windowBytes },
    engine,
    print: null,
    answer: m.spec,
    insight: lines.clock,
    onBytes: (bytes, done) => {
      if (bytes.length >= MOVE_MIN_BYTES) lines.move({ bytes, done });
      else {
        lines.add(bytes);
        done();
      }
    },
    onCounts: (counts) => lines.addCounts(counts),
    onPrinted: (flows) => lines.addPrinted(flows),
    onRecord: () => lines.record(),
  });
  return {
    id: m.run,
    rec: sharded.reader,
    job: lines,
    out,
    sink: () => {},
    sliceBytes: m.sliceBytes,
    sharded,
    engine,
  };
}

/**
 * Ends the run on this thread (its sharded run's lent threads are freed). `ended`: the run reached
 * its end (not dropped, not failed), so its engine's memory is kept for the next run here.
 */
function closeRun(ended = false): void {
  if (run?.sharded) void run.sharded.close();
  if (ended && run !== null) keepSpareMemory(run.engine);
  // Pieces given back after this are plain spares (the shard that printed them has ended).
  movedPieces.clear();
  run = null;
}

function handle(m: ToEngineThread): void {
  if (m.op === "spare") {
    const back = m.piece === undefined ? undefined : movedPieces.get(m.piece);
    if (back !== undefined) {
      movedPieces.delete(m.piece!);
      back(m.buffer);
    } else if (spares.length < MAX_SPARES) spares.push(m.buffer);
    return;
  }
  if (m.op === "shard") {
    const id = m.run;
    void serveShard(m.link).then(() => post({ kind: "shard-done", run: id }));
    return;
  }
  if (m.op === "open") {
    runId = m.run;
    if (m.shards !== undefined && m.shards.length > 0) {
      run = openSharded(m, m.shards);
      return;
    }
    const engine = engineOnSpareMemory();
    const rec = new Reconstructor({ ...m.options, windowBytes: m.windowBytes }, engine);
    const out = new AsciiWriter(STEP_OUTPUT_BYTES);
    // Printed by this engine itself, as the CLI prints NDJSON.
    const job = new EngineFlowsJob(rec, m.spec, out);
    // Each record is judged against the capture clock of the moment it finished, as the format
    // threads judge a batch's records (RecordBatcher keeps the clock with each one).
    const sink: RecordSink = (v, p) => {
      job.clock.endUs = rec.insight.endUs;
      job.record(v, p);
    };
    run = { id: m.run, rec, job, out, sink, sliceBytes: m.sliceBytes, sharded: null, engine };
    return;
  }
  if (m.op === "close") {
    closeRun();
    return;
  }
  const r = run;
  if (r === null) throw new Error(`engine thread: '${m.op}' without an open run`);
  const { rec, sink, sharded } = r;
  if (m.op === "capture" || m.op === "segments") {
    const bytes = new Uint8Array(
      m.bytes,
      0,
      m.op === "capture" ? (m.length ?? m.bytes.byteLength) : m.bytes.byteLength,
    );
    // A sharded run takes the whole batch in one read, as the CLI's reading thread takes a read of
    // its file: each read ends with its frames handed to the shards and a clock message to each
    // (ShardedRun.push), so slices of it cost a ring message, a sweep and an output piece per shard
    // each.
    const step = m.op === "segments" ? m.step : sharded !== null ? bytes.length : r.sliceBytes;
    for (let off = 0; off < bytes.length && rec.error === null; off += step) {
      const slice = bytes.subarray(off, off + step);
      if (m.op === "segments") rec.pushSegments(slice, sink);
      else if (sharded !== null) sharded.push(slice);
      else rec.pushRecords(slice, sink);
    }
    answer(m.seq, r, r.job.output(), false, m.op === "capture" ? m.bytes : undefined);
  } else if (m.op === "finish") {
    // At least one output ring per step (a msgpack body keeps everything until the end).
    const finishSome = sharded !== null ? () => sharded.finishSome() : () => rec.finishSome(sink);
    let done = finishSome();
    while (!done && r.job.held() < STEP_OUTPUT_BYTES) done = finishSome();
    answer(m.seq, r, r.job.output(), done);
  } else {
    const out = r.job.end(m.meta);
    answer(m.seq, r, out, true);
    closeRun(true);
  }
}

/** The sessions this thread holds (src/http/sessions/session-host.ts). */
const sessions = new SessionHost();

parentPort!.on("message", (m: ToEngineThread | ToSessionHost) => {
  if ("sop" in m) {
    void sessions.handle(m).then((answer) => {
      const body = (answer.result as BodyResult | undefined)?.body;
      post(answer, body instanceof Uint8Array ? [body.buffer as ArrayBuffer] : []);
    });
    return;
  }
  try {
    handle(m);
  } catch (e) {
    // The run is over (an engine fault, a bug); the pool replaces this thread.
    closeRun();
    const err = e as Error;
    post({
      kind: "failed",
      run: runId,
      seq: "seq" in m ? m.seq : -1,
      error: {
        name: err?.name ?? "Error",
        message: err?.message ?? String(e),
        stack: err?.stack,
        ...(e instanceof ApiError ? { status: e.status, body: e.body, headers: e.headers } : {}),
      },
    });
  }
});
// The segment-record layout is the engine's (read by name): the main thread parses segment bodies with it.
post({ kind: "ready", segmentLayout: new Reconstructor({ windowBytes: MIN_WINDOW_BYTES }).segmentLayout });
