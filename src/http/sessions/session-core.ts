/**
 * @module
 * A session's engine side: its Reconstructor, its finished flows and its session file. It runs on
 * the engine thread that holds the session (src/http/engine-worker.ts, through {@link SessionHost}),
 * or on the main thread when the API has no engine threads (`FLOWRECON_THREADS=0`): the same code
 * either way. The main thread's {@link Session} keeps the request side (lock, limits seen early,
 * TTL) and a {@link SessionView} of this state, sent back with every answer.
 *
 * "A batch that fails validation is rejected whole and leaves the session exactly as it was":
 * - segment records are parsed and validated in JS (on the main thread) before the engine sees any;
 * - a capture batch's container framing is checked first by the engine itself, on a copy of its
 *   reader state, delivering no frame (Reconstructor.checkCapture); only a batch that passes is fed.
 * If the engine nevertheless reports damage the check missed (a flowrecon bug), the session is
 * marked failed and refuses further batches.
 *
 * The flow limit (`maxFlowsPerSession`, finished plus live flows) can only be known by decoding, so
 * a batch that could cross it runs as a transaction: a snapshot of the Reconstructor (its engine's
 * memory and the host state, Reconstructor.snapshot) is taken first, the count is checked after
 * every slice, and a batch that crosses the limit is stopped there and rolled back (the snapshot
 * restored into a fresh engine, finished flows, flow tallies). A batch too small to cross it (at
 * most one new flow per capture record of >= 16 bytes, or per segment record) runs without the copy.
 *
 * Durability: an accepted batch is written to the session's file (session-file.ts: write, fsync,
 * rename) here, on the engine's thread, before the answer goes back: the main thread acknowledges
 * a batch only once it is durable.
 *
 * Metrics live on the main thread: the work's counter deltas travel back as a {@link SessionDelta}.
 */

import {
  Reconstructor,
  type ReconstructorOptions,
  type ReconstructorSnapshot,
  type RecordSink,
} from "../../reconstructor.js";
import type { Stats } from "../../stats.js";
import { captureError, type CaptureError } from "../../wasm/errors.js";
import { EngineFault } from "../../wasm/engine.js";
import { ApiError } from "../errors.js";
import { feedCapture, feedSegments, finishEngine, YIELD_AFTER_MS, type WorkOptions } from "../engine-work.js";
import { setImmediate as nextMacrotask } from "node:timers/promises";
import { FlowCounter, type FlowCounts } from "../flow-counts.js";
import { FlowWriter, RecordFilter } from "../flow-writer.js";
import type { OutputFormat } from "../negotiate.js";
import { NO_FILTER, type FlowFilter, type ListParams } from "../params.js";
import { captureErrorBody } from "../routes/analyze.js";
import { RecordStore } from "./record-store.js";
import { readSessionFile, writeSessionFile } from "./session-file.js";

export type InputKind = "capture" | "segments";

/**
 * The smallest capture record: a pcap record header, or a pcapng Simple Packet Block (16 bytes
 * each). A record is one packet, and one packet creates at most one flow.
 */
export const MIN_RECORD_BYTES = 16;

export interface BatchSummary {
  batch: number;
  input: InputKind;
  /** Capture bytes or segment records in this batch. */
  bytes?: number;
  segments?: number;
  flows_finished: number;
  flows_live: number;
}

/** What a session file holds besides the options (src/http/sessions/session-file.ts). */
export interface SavedSession {
  readonly id: string;
  readonly createdAt: number;
  readonly lastUsed: number;
  readonly input: InputKind | null;
  readonly batches: number;
  readonly snapshot: ReconstructorSnapshot;
  /** The finished flows' records, FR_SIZE bytes each. */
  readonly finished: Uint8Array;
}

/** What identifies a session and fixes its engine (the session file's header). */
export interface SessionIdentity {
  readonly id: string;
  readonly tenant: string | undefined;
  readonly options: ReconstructorOptions;
  readonly createdAt: number;
  /** Finished plus live flows it may hold (maxFlowsPerSession). */
  readonly maxFlows: number;
}

/** The session's state as the main thread sees it, after each answer. */
export interface SessionView {
  readonly input: InputKind | null;
  readonly batches: number;
  readonly failed: string | null;
  readonly stats: Stats;
  readonly error: CaptureError | null;
  readonly finishedCount: number;
  readonly liveFlows: number;
  /** Engine memory plus stored flows. */
  readonly memoryBytes: number;
  /** The engine's memory alone (what a rollback snapshot would copy). */
  readonly engineBytes: number;
  /** Capture bytes held in the engine's window (the start of an unfinished record). */
  readonly fill: number;
}

/** Counter deltas for the main thread's metrics since the last answer. */
export interface SessionDelta {
  segments: number;
  bytes: number;
  records: number;
  counts: FlowCounts | null;
  captureErrors: string[];
}

export class SessionCore {
  readonly identity: SessionIdentity;
  readonly #dir: string;
  readonly #recordSize: number;
  input: InputKind | null = null;
  batches = 0;
  failed: string | null = null;
  readonly finished: RecordStore;
  #rec: Reconstructor;
  readonly #sink: RecordSink;
  /** Flow tallies of the batch in progress, handed on once it is accepted. */
  readonly #counter: FlowCounter;
  #accepted: FlowCounts | null = null;
  #captureErrors: string[] = [];
  #counted = { segments: 0, bytes: 0, records: 0 };
  /** Input counted by a batch that was rolled back (decoded work, kept in the metrics). */
  #carried = { segments: 0, bytes: 0, records: 0 };
  #faulted = false;
  /** Bytes of the rollback snapshot held while a batch runs as a transaction. */
  #snapshotBytes = 0;
  /** When a request last used the session (the main thread's clock, written to its file). */
  #lastUsed = Date.now();

  /**
   * @param dir        where session files are written (`<dataDir>/sessions`).
   * @param recordSize FR_SIZE, as session files record it.
   */
  constructor(identity: SessionIdentity, dir: string, recordSize: number, saved?: SavedSession) {
    this.identity = identity;
    this.#dir = dir;
    this.#recordSize = recordSize;
    this.#rec = new Reconstructor(identity.options);
    this.finished = new RecordStore(this.#rec.layout.constants.FR_SIZE);
    this.#counter = new FlowCounter(this.#rec.layout);
    this.#sink = (v, p) => {
      this.finished.append(v, p);
      this.#counter.count(v, p, this.#rec.insight);
    };
    if (saved !== undefined) {
      this.#rec.restore(saved.snapshot);
      this.finished.appendBytes(saved.finished);
      this.input = saved.input;
      this.batches = saved.batches;
      // The input metrics counted this work before the restart.
      this.#counted = this.#inputCounters();
    }
  }

  /** A session reloaded from its file by the engine thread (after the thread that held it stopped). */
  static fromFile(path: string, maxFlows: number, dir: string, recordSize: number): SessionCore {
    const saved = readSessionFile(path, recordSize);
    return new SessionCore(
      { id: saved.id, tenant: saved.tenant, options: saved.options, createdAt: saved.createdAt, maxFlows },
      dir,
      recordSize,
      saved,
    );
  }

  get tenant(): string | undefined {
    return this.identity.tenant;
  }

  get options(): ReconstructorOptions {
    return this.identity.options;
  }

  /** Flows still in the engine's table (created and not yet reported). */
  get liveFlows(): number {
    const s = this.#rec.stats;
    return Math.max(0, s.flows_created - s.flows_emitted);
  }

  /** Finished plus live flows. */
  get flows(): number {
    return this.finished.count + this.liveFlows;
  }

  /** Engine memory plus stored flows (plus the snapshot a batch in progress may roll back to). */
  get memoryBytes(): number {
    return this.#rec.memoryBytes + this.finished.bytes + this.#snapshotBytes;
  }

  view(): SessionView {
    return {
      input: this.input,
      batches: this.batches,
      failed: this.failed,
      stats: this.#rec.stats,
      error: this.#rec.error === null ? null : { ...this.#rec.error },
      finishedCount: this.finished.count,
      liveFlows: this.liveFlows,
      memoryBytes: this.#rec.memoryBytes + this.finished.bytes,
      engineBytes: this.#rec.memoryBytes,
      fill: this.#rec.saveHostState().fill,
    };
  }

  /** The metric deltas since the last call. */
  delta(): SessionDelta {
    const now = this.#inputCounters();
    const delta: SessionDelta = {
      segments: now.segments - this.#counted.segments + this.#carried.segments,
      bytes: now.bytes - this.#counted.bytes + this.#carried.bytes,
      records: now.records - this.#counted.records + this.#carried.records,
      counts: this.#accepted,
      captureErrors: this.#captureErrors,
    };
    this.#counted = now;
    this.#carried = { segments: 0, bytes: 0, records: 0 };
    this.#accepted = null;
    this.#captureErrors = [];
    return delta;
  }

  #inputCounters(): { segments: number; bytes: number; records: number } {
    const stats = this.#rec.stats;
    return { segments: stats.segments, bytes: stats.bytes, records: this.#rec.segmentsIn };
  }

  /**
   * The state a session file stores (between batches): the engine's memory and the finished
   * records as views, no copy.
   */
  saved(): Omit<SavedSession, "snapshot" | "finished"> & {
    host: ReturnType<Reconstructor["saveHostState"]>;
    engine: Uint8Array;
    finished: Iterable<Uint8Array>;
  } {
    this.#rec.clearSpareWindow();
    return {
      id: this.identity.id,
      createdAt: this.identity.createdAt,
      lastUsed: this.#lastUsed,
      input: this.input,
      batches: this.batches,
      host: this.#rec.saveHostState(),
      engine: this.#rec.engineMemory,
      finished: this.finished.byteChunks(),
    };
  }

  /**
   * Writes the session's file (atomically). A session whose state cannot be written is marked
   * failed: its acknowledged state would not survive a restart, so it takes no more batches (503
   * now, 409 after).
   */
  save(lastUsed: number): void {
    this.#lastUsed = lastUsed;
    try {
      writeSessionFile(this.#dir, this, this.#recordSize);
    } catch (e) {
      this.failed = `its state could not be saved to ${this.#dir} (${(e as Error).message}); delete it`;
      throw new ApiError(
        503,
        "session_not_saved",
        `session ${this.identity.id} could not be saved: ${(e as Error).message}`,
        { details: { dir: this.#dir } },
      );
    }
  }

  /**
   * Runs engine work; an engine fault (a trap: a flowrecon bug) leaves the engine half-updated, so
   * the session is marked failed for good (house style: drop the instance) and the fault rethrown.
   */
  async #engineWork(run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (e) {
      if (e instanceof EngineFault) {
        this.#faulted = true;
        this.failed = `the engine failed (${e.message}); delete this session`;
      }
      throw e;
    }
  }

  /** Validates the framing of a capture chunk, then feeds it, then saves the session. */
  async appendCapture(chunks: readonly Uint8Array[], work: WorkOptions, lastUsed: number): Promise<BatchSummary> {
    let bytes = 0;
    for (const chunk of chunks) bytes += chunk.length;
    const damage = this.#rec.checkCapture(chunks);
    if (damage !== null) {
      const error = captureError(damage.code, damage.offset, damage.record);
      this.#captureErrors.push(error.code);
      throw new ApiError(422, error.code, `${error.message}; the batch was rejected and the session is unchanged`, {
        offset: error.offset,
        details: { record: error.record, batch_offset: error.offset - this.#rec.saveHostState().bytesIn },
      });
    }
    const finishedBefore = this.finished.count;
    const bound = Math.floor((this.#rec.saveHostState().fill + bytes) / MIN_RECORD_BYTES);
    await this.#transaction(bound, work, (options) => feedCapture(this.#rec, chunks, this.#sink, options));
    const error = this.#rec.error;
    if (error !== null) {
      this.failed = `the engine found damage the validation missed (${error.code} at byte ${error.offset})`;
      this.#captureErrors.push(error.code);
      throw new ApiError(422, error.code, `${error.message}; the session takes no more batches`, {
        offset: error.offset,
        details: { record: error.record },
      });
    }
    return this.#accept("capture", { bytes }, finishedBefore, lastUsed);
  }

  /** Feeds validated segment records, then saves the session. */
  async appendSegments(records: Uint8Array, count: number, work: WorkOptions, lastUsed: number): Promise<BatchSummary> {
    const finishedBefore = this.finished.count;
    await this.#transaction(count, work, (options) => feedSegments(this.#rec, records, this.#sink, options));
    const error = this.#rec.error;
    if (error !== null) {
      this.failed = `the engine rejected a segment record the validation accepted (${error.message})`;
      throw new ApiError(422, error.code, error.message, { details: { record: error.record } });
    }
    return this.#accept("segments", { segments: count }, finishedBefore, lastUsed);
  }

  /**
   * Runs a batch that creates at most `bound` flows. When that could cross the flow limit, the
   * state is copied first and the batch is stopped and rolled back as soon as it crosses (429).
   */
  async #transaction(bound: number, work: WorkOptions, run: (options: WorkOptions) => Promise<void>): Promise<void> {
    const max = this.identity.maxFlows;
    const before = this.flows;
    if (before + bound <= max) {
      await this.#engineWork(() => run(work));
      return;
    }
    const snapshot = this.#rec.snapshot();
    this.#snapshotBytes = snapshot.engine.byteLength;
    const finished = this.finished.count;
    let crossed = false;
    const check = (): void => {
      if (this.flows > max) {
        crossed = true;
        throw new ApiError(
          429,
          "session_flow_limit",
          `this batch takes session ${this.identity.id} past its limit of ${max} flows (it holds ${before}); the batch was rejected and the session is unchanged`,
          {
            details: { limit: max, flows: before },
          },
        );
      }
    };
    try {
      await this.#engineWork(() => run({ ...work, pause: check }));
      check();
    } catch (e) {
      if (crossed) {
        // The input metrics keep the work done (it was decoded): deltas are taken before the
        // engine's counters go back, and counted from the restored ones after.
        const done = this.#inputCounters();
        for (const k of ["segments", "bytes", "records"] as const) this.#carried[k] += done[k] - this.#counted[k];
        this.#rec.restore(snapshot);
        this.finished.truncate(finished);
        this.#counter.take();
        this.#counted = this.#inputCounters();
      }
      throw e;
    } finally {
      this.#snapshotBytes = 0;
    }
  }

  #accept(
    kind: InputKind,
    size: { bytes?: number; segments?: number },
    finishedBefore: number,
    lastUsed: number,
  ): BatchSummary {
    const input = this.input;
    this.input = kind;
    this.batches++;
    try {
      this.save(lastUsed);
    } catch (e) {
      // Not durable, so not acknowledged: the engine went on, the session is failed (save()).
      this.batches--;
      this.input = input;
      throw e;
    }
    this.#accepted = this.#counter.take();
    return {
      batch: this.batches,
      input: kind,
      ...size,
      flows_finished: this.finished.count - finishedBefore,
      flows_live: this.liveFlows,
    };
  }

  /**
   * One page of the session's flows (finished, then live as finish would report them now, without
   * ending any: the engine's emitLive), printed in `format` with the page's members at the end.
   */
  async list(params: ListParams, format: OutputFormat): Promise<Buffer[]> {
    // Finished flows are judged against the session's clock as the CLI judges them; before the live
    // ones are listed, the context moves to the engine's clock and stops being final (the end-of-input
    // anomalies then wait for their thresholds). The writer and the filter read it per flow.
    const insight = { ...this.#rec.insight };
    const layout = this.#rec.layout;
    const writer = new FlowWriter(format, layout, {
      communityIdSeed: this.options.communityIdSeed,
      localNets: this.options.localNets,
      jsonStyle: params.jsonStyle,
      filter: NO_FILTER,
      insight,
    });
    const filter = new RecordFilter(params.filter, layout, insight);
    const end = params.offset + params.limit;
    let index = 0;
    const visit =
      (state: "finished" | "live") =>
      (v: Parameters<FlowWriter["add"]>[0], p: number): void => {
        if (filter.active && !filter.matches(v, p)) return;
        if (index >= params.offset && index < end) writer.add(v, p, state);
        index++;
      };
    if (params.states.has("finished")) this.finished.forEach(visit("finished"));
    if (params.states.has("live") && this.input !== null) {
      insight.endUs = this.#rec.clockUs;
      insight.final = false;
      await this.#listLive(visit("live"));
    }
    const page: Record<string, unknown> = { total: index, offset: params.offset, limit: params.limit };
    if (end < index) page.next_offset = end;
    writer.end(page);
    return writer.take(true);
  }

  /** Hands every live flow to `sink` as finish would report it now, yielding between output rings. */
  async #listLive(sink: RecordSink): Promise<void> {
    if (this.#faulted) throw new ApiError(409, "session_failed", `session ${this.identity.id}: ${this.failed}`);
    let last = performance.now();
    while (!this.#rec.liveSome(sink)) {
      if (performance.now() - last > YIELD_AFTER_MS) {
        await nextMacrotask();
        last = performance.now();
      }
    }
  }

  /**
   * Ends the input, moves every live flow to {@link finished} and prints them all in `format`
   * (passing `filter`), with the stats and any capture error at the end.
   */
  async finish(
    filter: FlowFilter,
    format: OutputFormat,
    work: WorkOptions,
  ): Promise<{ pieces: Buffer[]; error: CaptureError | null }> {
    // A session that never got a batch has no capture to end (the engine would call it empty).
    if (this.input !== null) {
      await this.#engineWork(() => finishEngine(this.#rec, this.#sink, work));
      this.#accepted = this.#counter.take();
      if (this.#rec.error !== null) this.#captureErrors.push(this.#rec.error.code);
    }
    const w = new FlowWriter(format, this.#rec.layout, {
      communityIdSeed: this.options.communityIdSeed,
      localNets: this.options.localNets,
      filter,
      insight: this.#rec.insight,
    });
    this.finished.forEach((v, p) => {
      w.add(v, p);
    });
    const meta: Record<string, unknown> = { stats: this.#rec.stats };
    const error = this.#rec.error === null ? null : { ...this.#rec.error };
    if (error !== null) meta.error = captureErrorBody(error);
    w.end(meta);
    return { pieces: w.take(true), error };
  }
}
