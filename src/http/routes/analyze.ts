/**
 * @module
 * `POST /v1/analyze`: one capture (or one batch of segment records) in, its flows and input
 * statistics out, over a fresh engine per request.
 *
 * The body streams into the engine chunk by chunk (a 1 GB capture runs in the engine's fixed
 * window), with the size limit enforced while streaming. JSON and msgpack answers are built as the
 * flows finish and sent at the end, so a damaged capture can still get its 422; NDJSON answers
 * start with the first finished flow and end with a trailer line (`{"stats": ...}`, plus `"error"`
 * when the capture turned out damaged after the response had started).
 *
 * The engine runs on a thread of the app's engine pool (src/http/engine-pool.ts, FLOWRECON_THREADS),
 * which also prints the body and tallies the flow metrics and sends both back in record order; a
 * request waits for a free thread, or gets 503 when the queue is full. With no pool (threads 0) the
 * engine runs on this thread and the finished records go in batches to the app's format threads
 * (src/output/format-threads.ts, one job per request), which print the body the same way.
 *
 * Under Node's server a capture for a pool thread is read past its first MiB straight from the
 * request stream into the batches the thread is sent (body.ts NodeBodyReader, {@link feedDirect}):
 * one copy and no promise per body chunk.
 *
 * A capture of `FLOWRECON_UPLOAD_SHARD_MIN_BYTES` or more is sharded (issue 10): its thread routes
 * the frames over itself and up to `FLOWRECON_UPLOAD_SHARDS` - 1 more pool threads free at its
 * start (src/shards/, as the CLI's `--threads`), with the same flows, counters and errors.
 *
 * @example
 * ```sh
 * curl --data-binary @trace.pcap -H 'content-type: application/vnd.tcpdump.pcap' \
 *   'http://127.0.0.1:8080/v1/analyze?ignore_checksums=true&conn_state=SF,S0'
 * ```
 */

import { Hono } from "hono";
import { DEFAULT_WINDOW_BYTES, MIN_WINDOW_BYTES, Reconstructor } from "../../reconstructor.js";
import { captureFormat } from "../../ingest/capture-format.js";
import type { CaptureError } from "../../wasm/errors.js";
import { ApiError } from "../errors.js";
import { bodyChunks, gather, NodeBodyReader, type ApiContext, type ApiEnv } from "../body.js";
import { bodyKind, outputFormat, OUTPUT_CONTENT_TYPES } from "../negotiate.js";
import { analyzeParams } from "../params.js";
import { ENGINE_ESTIMATE_BYTES } from "../memory.js";
import { addFlowCounts } from "../flow-counts.js";
import { countInput, feedCapture, feedSegments, finishEngine } from "../engine-work.js";
import { readSegmentBody } from "../segment-body.js";
import { piecesBody, ResponseStream, writtenPieces } from "../response-stream.js";
import { slowReaderGuard } from "../slow-readers.js";
import { LONG_TAIL_FLOWS } from "../../output/format-threads.js";
import type { AppContext } from "../context.js";
import { INPUT_BATCH_BYTES, type EnginePool, type EngineRun } from "../engine-pool.js";
import { MAX_THREADS } from "../../shards/thread-plan.js";
import type { AnalyzeParams } from "../params.js";
import type { OutputFormat } from "../negotiate.js";
import type { SegmentEncoding } from "../../ingest/segments.js";
import type { Stats } from "../../stats.js";

/**
 * A fill of a larger batch than {@link INPUT_BATCH_BYTES} (a sharded upload's, read straight from
 * Node's stream) ends once it holds INPUT_BATCH_BYTES and waited this long: a body slower than
 * INPUT_BATCH_BYTES per this time goes to the engine as it did in 1 MiB batches, a fast one in
 * the larger ones.
 */
const BATCH_WAIT_MS = 50;

/** JSON/msgpack answers check the memory budget each time they grow by this much. */
const BUDGET_CHECK_BYTES = 4 << 20;

/**
 * Body bytes held (and reserved) before an engine is made for them: a client commits the server
 * to an engine (ENGINE_ESTIMATE_BYTES) only by sending this much, or its whole body.
 */
const ENGINE_START_BYTES = 1 << 20;

/**
 * The engine's input window for a body of the declared length: no record can be larger than the
 * whole body, so a small upload gets a small window (the window is zeroed up front, which is most
 * of an engine's start-up time); unknown lengths get the default 8 MiB, the engine's record limit.
 */
function windowFor(contentLength: string | number | undefined): number {
  const n = Number(contentLength);
  if (contentLength === undefined || !Number.isFinite(n) || n >= DEFAULT_WINDOW_BYTES) return DEFAULT_WINDOW_BYTES;
  let w = MIN_WINDOW_BYTES;
  while (w < n) w *= 2;
  return w;
}

/**
 * How many engines a body should run on: a capture whose size (the whole body once read, else its
 * Content-Length; unknown counts as large) reaches the sharding threshold gets up to the setting
 * (and the most one sharded run takes, as the CLI's --threads).
 */
function uploadEngines(
  config: Pick<AppContext["config"], "uploadShards" | "uploadShardMinBytes">,
  opening: { ended: boolean; bytes: number },
  contentLength: string | undefined,
): number {
  const declared = contentLength === undefined || contentLength === "" ? Number.NaN : Number(contentLength);
  const size = opening.ended ? opening.bytes : Number.isFinite(declared) ? declared : Number.POSITIVE_INFINITY;
  return size >= config.uploadShardMinBytes ? Math.max(1, Math.min(MAX_THREADS, Math.floor(config.uploadShards))) : 1;
}

/**
 * One analysis as the handler drives it, wherever its engine runs: on this thread (the engine here,
 * its records printed on the app's format threads) or on a thread of the engine pool.
 */
interface Analysis {
  /** The input statistics (after {@link work}). */
  readonly stats: Stats;
  readonly error: CaptureError | null;
  /** Engine memory and input in flight (memory budget). */
  engineBytes(): number;
  /** Printed output not yet handed to `onOutput` (memory budget, response size). */
  outputBytes(): number;
  /**
   * Feeds the body and ends the input, awaiting `guard` between slices; a capture for an engine
   * thread comes as `direct` instead of `chunks` when the request is Node's.
   */
  work(
    chunks: AsyncIterable<Uint8Array>,
    kind: "capture" | SegmentEncoding,
    guard: () => Promise<void>,
    direct?: DirectBody,
  ): Promise<void>;
  /** Between slices, before the guard's checks (hands on the output so far). */
  step(): Promise<void>;
  /** Resolves once the output of the input fed so far was handed on. */
  settle(): Promise<void>;
  /**
   * Whether the output handed on so far always goes with the {@link error} as of it (an engine
   * thread answers each step with both), so the status can be decided without {@link settle}.
   */
  readonly outputWithState: boolean;
  /** Prints the closing members; resolves once the last output was handed on. */
  end(meta: Record<string, unknown>): Promise<void>;
  /** Abandons the analysis (an error, a client that left). */
  drop(): void;
}

/** A capture read straight from Node's request stream: the chunks {@link gather} held, then the reader. */
interface DirectBody {
  held: readonly Uint8Array[];
  bytes: number;
  reader: NodeBodyReader;
}

/**
 * Sends a {@link DirectBody} to the engine thread: the rest of the body is filled by the reader
 * straight into the batch buffers the thread is sent (a body chunk costs one copy, no promise);
 * each batch is one message and one `guard`.
 */
async function feedDirect(run: EngineRun, body: DirectBody, guard: () => Promise<void>): Promise<void> {
  const { reader } = body;
  try {
    if (body.bytes > 0) {
      await run.capture(body.held, body.bytes);
      await guard();
    }
    while (run.error === null && !reader.ended) {
      const buffer = run.batchBuffer();
      // A thread that dies while the client is still sending fails the request at once.
      const n = await run.unlessFailed(
        reader.fill(new Uint8Array(buffer), run.batchBytes, { bytes: INPUT_BATCH_BYTES, afterMs: BATCH_WAIT_MS }),
      );
      if (n === 0) break;
      await run.send(buffer, n);
      await guard();
    }
  } finally {
    reader.release();
  }
}

/** The engine on this thread (`threads` 0), its records printed on the format threads. */
function localAnalysis(
  ctx: AppContext,
  params: AnalyzeParams,
  format: OutputFormat,
  windowBytes: number,
  onOutput: (bytes: Buffer) => void,
): Analysis {
  const { config, metrics, budget } = ctx;
  const rec = new Reconstructor({ ...params.options, windowBytes });
  const job = ctx.formatThreads().open(
    {
      kind: "flows",
      format,
      layout: rec.layout,
      communityIdSeed: params.options.communityIdSeed,
      localNets: params.options.localNets,
      jsonStyle: params.jsonStyle,
      filter: params.filter,
      count: true,
      insight: rec.insight,
    },
    { clock: rec.insight, blocking: false, onOutput, onCounts: (counts) => addFlowCounts(metrics, counts) },
  );
  let widened = false;
  return {
    get stats() {
      return rec.stats;
    },
    get error() {
      return rec.error;
    },
    engineBytes: () => rec.memoryBytes,
    outputBytes: () => job.bufferedBytes,
    async work(chunks, kind, guard) {
      const counted = { segments: 0, bytes: 0, records: 0 };
      const options = { sliceBytes: config.sliceBytes, pause: guard };
      const sink = job.sink;
      try {
        if (kind === "capture") {
          await feedCapture(rec, chunks, sink, options);
        } else {
          const reservation = budget.reservation("a segment batch");
          try {
            const records = await readSegmentBody(chunks, kind, rec.segmentLayout, reservation);
            await feedSegments(rec, records.bytes, sink, options);
          } finally {
            reservation.release();
          }
        }
        await finishEngine(rec, sink, options);
      } finally {
        countInput(metrics, rec, counted);
      }
    },
    async step() {
      if (!widened) {
        const { flows_created, flows_emitted } = rec.stats;
        if (flows_created - flows_emitted >= LONG_TAIL_FLOWS) {
          job.widen();
          widened = true;
        }
      }
      await job.flush();
    },
    settle: () => job.settle(),
    outputWithState: false,
    end: (meta) => job.end(meta),
    drop: () => job.drop(),
  };
}

/**
 * The engine on a pool thread, which also prints the records (engine-worker.ts): the body goes to
 * it in batches of about {@link INPUT_BATCH_BYTES} as it arrives. Waits for a thread (503 when the
 * queue is full).
 */
async function pooledAnalysis(
  ctx: AppContext,
  pool: EnginePool,
  params: AnalyzeParams,
  format: OutputFormat,
  windowBytes: number,
  onOutput: (bytes: Buffer, written?: () => void) => void,
  engines: number,
): Promise<Analysis> {
  const { config, metrics, budget } = ctx;
  const run = await pool.acquire();
  run.onOutput = onOutput;
  run.onCounts = (counts) => addFlowCounts(metrics, counts);
  run.onReused = () => metrics.outputReused.inc();
  try {
    const shards = engines > 1 ? pool.lendShards(run, engines - 1) : [];
    metrics.uploadShards.inc({}, shards.length);
    run.open(
      params.options,
      windowBytes,
      {
        format,
        communityIdSeed: params.options.communityIdSeed,
        localNets: params.options.localNets,
        jsonStyle: params.jsonStyle,
        filter: params.filter,
        count: true,
      },
      config.sliceBytes,
      shards,
    );
  } catch (e) {
    run.drop();
    throw e;
  }
  const counted = { segments: 0, bytes: 0, records: 0 };
  const count = (): void => {
    const state = run.state;
    if (state !== null) countInput(metrics, state, counted);
  };
  return {
    get stats() {
      return run.state!.stats;
    },
    get error() {
      return run.error;
    },
    engineBytes: () => run.engineBytes,
    outputBytes: () => run.heldBytes,
    async work(chunks, kind, guard, direct) {
      try {
        if (kind === "capture" && direct !== undefined) {
          await feedDirect(run, direct, guard);
        } else if (kind === "capture") {
          let batch: Uint8Array[] = [];
          let bytes = 0;
          const it = chunks[Symbol.asyncIterator]();
          let reading = false;
          try {
            for (;;) {
              // A thread that dies while the client is still sending fails the request at once.
              const next = it.next();
              reading = true;
              const r = await run.unlessFailed(next);
              reading = false;
              if (r.done) break;
              batch.push(r.value);
              bytes += r.value.length;
              if (bytes < INPUT_BATCH_BYTES) continue;
              await run.capture(batch, bytes);
              batch = [];
              bytes = 0;
              await guard();
              if (run.error !== null) break;
            }
          } finally {
            // As a for-await loop leaves its iterator (the body reader is released); a read still
            // pending (the run failed meanwhile) is left to end with the connection.
            if (!reading) await it.return?.();
          }
          if (bytes > 0 && run.error === null) {
            await run.capture(batch, bytes);
            await guard();
          }
        } else {
          const reservation = budget.reservation("a segment batch");
          try {
            const layout = await pool.segmentLayout();
            const records = await readSegmentBody(chunks, kind, layout, reservation);
            // Engine calls of the size feedSegments makes on this thread, in batches of about INPUT_BATCH_BYTES.
            const step = Math.max(1, Math.floor(config.sliceBytes / 16 / layout.size)) * layout.size;
            const batchBytes = Math.max(1, Math.floor(INPUT_BATCH_BYTES / step)) * step;
            for (let off = 0; off < records.bytes.length && run.error === null; off += batchBytes) {
              await run.segments(records.bytes.subarray(off, off + batchBytes), step);
              await guard();
            }
          } finally {
            reservation.release();
          }
        }
        while (!(await run.finishSome())) await guard();
        // A part sent after the last one is answered before the analysis counts as worked.
        await run.settle();
        await guard();
      } finally {
        count();
      }
    },
    step: async () => {},
    settle: () => run.settle(),
    outputWithState: true,
    end: (meta) => run.end(meta),
    drop: () => run.drop(),
  };
}

export function captureErrorBody(error: CaptureError): {
  code: string;
  message: string;
  offset: number;
  record: number;
} {
  return { code: error.code, message: error.message, offset: error.offset, record: error.record };
}

export function analyzeRoutes(ctx: AppContext): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  app.post("/v1/analyze", async function analyze(c: ApiContext) {
    const { config, metrics, budget } = ctx;
    const params = analyzeParams(c.req.query());
    const format = outputFormat(c.req.header("accept"));
    let kind = bodyKind(c.req.header("content-type"));
    const streamed = kind === "capture" || kind === "sniff";
    const body = bodyChunks(
      c,
      streamed ? config.maxBodyBytes : config.maxBatchBytes,
      streamed ? "capture" : "segment body",
      config,
    );
    const opening = await gather(body, ENGINE_START_BYTES, budget.reservation("the start of an upload"));
    const chunks = opening.chunks;
    if (kind === "sniff") {
      const head = Buffer.concat(opening.held, Math.min(4, opening.bytes));
      if (head.length === 4 && captureFormat(head) === null) {
        await opening.drop();
        const found = Array.from(head, (b) => b.toString(16).padStart(2, "0")).join(" ");
        throw new ApiError(
          415,
          "unsupported_media_type",
          `the application/octet-stream body is not a pcap or pcapng capture (it starts ${found}); send segment records as application/json or application/msgpack`,
        );
      }
      kind = "capture";
    }

    // The printed body comes back (from a format thread or the engine thread) in pieces, in record order.
    const held: Buffer[] = [];
    let heldBytes = 0;
    /** A streaming answer's writer of output as it comes back (an engine thread's, see below). */
    let eager: (() => void) | null = null;
    // An engine thread's output buffer goes back to it once written to the socket (Node only).
    const outgoing = c.env?.outgoing;
    const watch = outgoing !== undefined && ctx.enginePool !== null ? writtenPieces(outgoing) : null;
    const onOutput = (bytes: Buffer, written?: () => void): void => {
      if (written !== undefined && watch !== null) watch(bytes, written);
      held.push(bytes);
      heldBytes += bytes.length;
      eager?.();
    };
    const take = (): Buffer[] => {
      heldBytes = 0;
      return held.splice(0);
    };
    let analysis: Analysis;
    try {
      budget.admit(ENGINE_ESTIMATE_BYTES, "a new analysis");
      // A body that ended within the first bytes has its exact size; else the declared one, if any.
      const windowBytes = windowFor(opening.ended ? opening.bytes : c.req.header("content-length"));
      analysis =
        ctx.enginePool === null
          ? localAnalysis(ctx, params, format, windowBytes, onOutput)
          : await pooledAnalysis(
              ctx,
              ctx.enginePool,
              params,
              format,
              windowBytes,
              onOutput,
              kind === "capture" ? uploadEngines(config, opening, c.req.header("content-length")) : 1,
            );
    } catch (e) {
      await opening.drop();
      throw e;
    }
    // A capture for an engine thread is read from Node's request stream straight into the batches
    // it is sent in (NodeBodyReader); in-process requests (no Node stream) and the other paths take
    // the body's chunks one by one.
    let direct: DirectBody | undefined;
    const incoming = c.env?.incoming;
    if (ctx.enginePool !== null && kind === "capture" && !opening.ended && incoming !== undefined) {
      const held = await opening.detach();
      const reader = new NodeBodyReader(incoming, c, config.maxBodyBytes, "capture", config, opening.bytes);
      direct = { held, bytes: opening.bytes, reader };
    }
    const unhold = budget.hold(() => analysis.engineBytes() + heldBytes + analysis.outputBytes());
    let nextCheck = BUDGET_CHECK_BYTES;

    const work = async (pause?: () => Promise<void>): Promise<void> => {
      // Between slices: the flow table may have grown (a capture with millions of connections),
      // so the budget is checked again; the records so far go to the format thread (waiting while
      // it is behind; an engine thread prints its own); then the response's own pause
      // (backpressure) runs.
      const guard = async (): Promise<void> => {
        budget.admit(0, "this analysis (its flow table grew past the memory limit)");
        await analysis.step();
        if (format !== "ndjson" && heldBytes + analysis.outputBytes() > nextCheck) {
          nextCheck = heldBytes + analysis.outputBytes() + BUDGET_CHECK_BYTES;
          budget.admit(0, "this response (ask for application/x-ndjson to stream it)");
        }
        await pause?.();
      };
      await analysis.work(chunks, kind === "capture" ? "capture" : kind === "json" ? "json" : "msgpack", guard, direct);
    };

    const meta = (): Record<string, unknown> => {
      const m: Record<string, unknown> = { stats: analysis.stats };
      if (analysis.error !== null) m.error = captureErrorBody(analysis.error);
      return m;
    };
    const damaged = (): ApiError => {
      const error = analysis.error!;
      metrics.captureErrors.inc({ code: error.code });
      return new ApiError(422, error.code, error.message, { offset: error.offset, details: { record: error.record } });
    };
    const respond = async (status: 200 | 422): Promise<Response> => {
      await analysis.end(meta());
      return new Response(piecesBody(take(), slowReaderGuard(ctx, c)), {
        status,
        headers: { "content-type": OUTPUT_CONTENT_TYPES[format] },
      });
    };
    /** The whole answer at once: 200, 422 with the flows (partial=true), or a 422 error. */
    const answer = async (): Promise<Response> => {
      if (analysis.error === null) return respond(200);
      if (params.partial) {
        damaged();
        return respond(422);
      }
      throw damaged();
    };

    if (format !== "ndjson") {
      try {
        await work();
        unhold();
        return await answer();
      } catch (e) {
        unhold();
        analysis.drop();
        throw e;
      }
    }

    // NDJSON: the response starts with the first flow; until then an error still gets its status.
    // A client that stops taking the response must not hold the analysis (slow-readers.ts).
    const stream = new ResponseStream(slowReaderGuard(ctx, c));
    let started!: () => void;
    const start = new Promise<"started">((resolve) => (started = () => resolve("started")));
    const pause = async (): Promise<void> => {
      // Once the damage is known and nothing was sent yet, hold the rest back: it gets its 422.
      if (analysis.error !== null && stream.written === 0) return;
      // Until the response starts, the flows of the slices so far are waited for, so that the
      // status is decided on the same flows as when they were printed on this thread. An engine
      // thread's answers carry the output and the error together: the steps answered so far decide
      // it, and the thread works on the next batch meanwhile (waiting here would make each batch a
      // round trip while the thread idles).
      if (stream.written === 0 && !analysis.outputWithState) await analysis.settle();
      const pieces = take();
      if (pieces.length > 0) {
        stream.write(pieces);
        started();
      }
      await stream.ready();
    };
    if (analysis.outputWithState) {
      // The output of each step is written as it comes back, not only between batches: while the
      // body read waits for the client (who may wait for these flows), the flows still go out.
      // Backpressure stays with `pause`, which sends the next step only once the stream has room.
      eager = () => {
        if (analysis.error !== null && stream.written === 0) return;
        const pieces = take();
        if (pieces.length > 0) {
          stream.write(pieces);
          started();
        }
      };
    }
    const running = work(pause).finally(unhold);
    const done = running.then(() => "done" as const);
    done.catch(() => {}); // handled below, whichever comes first
    let first: "started" | "done";
    try {
      first = await Promise.race([start, done]);
      if (first === "done") {
        // Nothing was written: the whole answer goes out at once, the closing members included.
        eager = null;
        return await answer();
      }
    } catch (e) {
      analysis.drop();
      throw e;
    }
    running
      .then(async () => {
        if (analysis.error !== null) damaged();
        await analysis.end(meta());
        stream.write(take());
        stream.close();
      })
      .catch((e: unknown) => {
        // The status is sent: the failure becomes the last line.
        analysis.drop();
        const body =
          e instanceof ApiError
            ? e.body
            : { code: "internal_error", message: "internal error (a flowrecon bug); see the server log" };
        if (!(e instanceof ApiError) && !stream.cancelled)
          ctx.log.error({ code: "internal_error", err: e }, "analyze failed after the response started");
        stream.write([Buffer.from(JSON.stringify({ error: body }) + "\n")]);
        stream.close();
      });
    return new Response(stream.readable, { status: 200, headers: { "content-type": OUTPUT_CONTENT_TYPES.ndjson } });
  });

  return app;
}
