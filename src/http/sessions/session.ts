/**
 * @module
 * One session: an engine of its own fed batch after batch (capture chunks split at any byte, or
 * segment records), its finished flows, and a FIFO lock so batches, listings and the finish never
 * interleave.
 *
 * "A batch that fails validation is rejected whole and leaves the session exactly as it was":
 * - segment records are parsed and validated in JS before the engine sees any of them;
 * - a capture batch's container framing is checked first by the engine itself, on a copy of its
 *   reader state, delivering no frame (Reconstructor.checkCapture); only a batch that passes is fed.
 * The body is held until it is complete (at most `maxBatchBytes`), so a batch that breaks off or
 * runs over the limit is also rejected whole. If the engine nevertheless reports damage the check
 * missed (a flowrecon bug), the session is marked failed and refuses further batches.
 *
 * The flow limit (`maxFlowsPerSession`, finished plus live flows) can only be known by decoding, so
 * a batch that could cross it runs as a transaction: a snapshot of the Reconstructor (its engine's
 * memory and the host state, Reconstructor.snapshot) is taken first, the count is checked after every slice, and a batch that crosses the
 * limit is stopped there and rolled back (the snapshot restored into a fresh engine, finished flows,
 * flow metrics). A batch too small
 * to cross it (at most one new flow per capture record of >= 16 bytes, or per segment record) runs
 * without the copy.
 */

import { randomUUID } from "node:crypto";
import {
  Reconstructor,
  type ReconstructorOptions,
  type ReconstructorSnapshot,
  type RecordSink,
} from "../../reconstructor.js";
import { captureError } from "../../wasm/errors.js";
import { EngineFault } from "../../wasm/engine.js";
import { ApiError } from "../errors.js";
import type { ApiMetrics } from "../metrics.js";
import {
  countInput,
  feedCapture,
  feedSegments,
  finishEngine,
  YIELD_AFTER_MS,
  type WorkOptions,
} from "../engine-work.js";
import { setImmediate as nextMacrotask } from "node:timers/promises";
import { addFlowCounts, FlowCounter } from "../flow-counts.js";
import { RecordStore } from "./record-store.js";

export type InputKind = "capture" | "segments";

/**
 * The smallest capture record: a pcap record header, or a pcapng Simple Packet Block (16 bytes
 * each). A record is one packet, and one packet creates at most one flow.
 */
const MIN_RECORD_BYTES = 16;

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

export class Session {
  readonly id: string;
  readonly options: ReconstructorOptions;
  readonly createdAt: number;
  lastUsed = Date.now();
  input: InputKind | null = null;
  batches = 0;
  closed = false;
  /** Set when the engine reported damage the validation did not predict; the session takes no more batches. */
  failed: string | null = null;
  readonly finished: RecordStore;
  readonly #rec: Reconstructor;
  readonly #sink: RecordSink;
  readonly #metrics: ApiMetrics;
  readonly #maxFlows: number;
  /** Flow metrics of the batch in progress, added once it is accepted. */
  readonly #counter: FlowCounter;
  #counted = { segments: 0, bytes: 0, records: 0 };
  #tail: Promise<void> = Promise.resolve();
  #faulted = false;
  /** Bytes of the rollback snapshot held while a batch runs as a transaction. */
  #snapshotBytes = 0;
  #busy = 0;

  /**
   * @param maxFlows finished plus live flows this session may hold (maxFlowsPerSession).
   * @param tenant   the tenant that created it, the only one that sees it (undefined: no tokens).
   * @param saved    the state to continue from (a session reloaded at start), else a new session.
   */
  constructor(
    options: ReconstructorOptions,
    metrics: ApiMetrics,
    maxFlows: number,
    readonly tenant: string | undefined = undefined,
    saved?: SavedSession,
  ) {
    this.id = saved?.id ?? randomUUID();
    this.createdAt = saved?.createdAt ?? Date.now();
    this.options = options;
    this.#metrics = metrics;
    this.#maxFlows = maxFlows;
    this.#rec = new Reconstructor(options);
    this.finished = new RecordStore(this.#rec.layout.constants.FR_SIZE);
    this.#counter = new FlowCounter(this.#rec.layout);
    this.#sink = (v, p) => {
      this.finished.append(v, p);
      this.#counter.count(v, p, this.#rec.insight);
    };
    if (saved !== undefined) {
      this.#rec.restore(saved.snapshot);
      this.finished.appendBytes(saved.finished);
      this.lastUsed = saved.lastUsed;
      this.input = saved.input;
      this.batches = saved.batches;
      // The input metrics counted this work before the restart.
      const stats = this.#rec.stats;
      this.#counted = { segments: stats.segments, bytes: stats.bytes, records: this.#rec.segmentsIn };
    }
  }

  /**
   * The state a session file stores (call inside {@link exclusive}, between batches): the engine's
   * memory and the finished records as views, no copy.
   */
  saved(): Omit<SavedSession, "snapshot" | "finished"> & {
    host: ReturnType<Reconstructor["saveHostState"]>;
    engine: Uint8Array;
    finished: Iterable<Uint8Array>;
  } {
    this.#rec.clearSpareWindow();
    return {
      id: this.id,
      createdAt: this.createdAt,
      lastUsed: this.lastUsed,
      input: this.input,
      batches: this.batches,
      host: this.#rec.saveHostState(),
      engine: this.#rec.engineMemory,
      finished: this.finished.byteChunks(),
    };
  }

  get layout(): Reconstructor["layout"] {
    return this.#rec.layout;
  }

  get segmentLayout(): Reconstructor["segmentLayout"] {
    return this.#rec.segmentLayout;
  }

  /** The capture clock its flows are judged against (see {@link Reconstructor.insight}). */
  get insight(): Reconstructor["insight"] {
    return this.#rec.insight;
  }

  get stats(): Reconstructor["stats"] {
    return this.#rec.stats;
  }

  get error(): Reconstructor["error"] {
    return this.#rec.error;
  }

  /** Engine memory plus stored flows (plus the snapshot a batch in progress may roll back to): what this session holds. */
  get memoryBytes(): number {
    return this.#rec.memoryBytes + this.finished.bytes + this.#snapshotBytes;
  }

  /** Flows still in the engine's table (created and not yet reported). */
  get liveFlows(): number {
    const s = this.#rec.stats;
    return Math.max(0, s.flows_created - s.flows_emitted);
  }

  /** True while a request holds or waits for the lock (the TTL sweep leaves it alone). */
  get busy(): boolean {
    return this.#busy > 0;
  }

  touch(): void {
    this.lastUsed = Date.now();
  }

  /** Runs `fn` when every earlier request on this session is done (FIFO). */
  async exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    this.#busy++;
    const previous = this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((resolve) => (release = resolve));
    try {
      await previous;
      this.touch();
      return await fn();
    } finally {
      this.#busy--;
      this.touch();
      release();
    }
  }

  /** Throws unless the session can take a batch of this kind (call inside {@link exclusive}). */
  checkBatch(kind: InputKind): void {
    const maxFlows = this.#maxFlows;
    if (this.closed) throw new ApiError(404, "session_not_found", `session ${this.id} was finished or deleted`);
    if (this.failed !== null)
      throw new ApiError(409, "session_failed", `session ${this.id} takes no more batches: ${this.failed}`);
    if (this.input !== null && this.input !== kind) {
      throw new ApiError(
        409,
        "input_kind_conflict",
        `session ${this.id} is fed ${this.input === "capture" ? "a capture" : "segment records"}; a session takes one kind of input`,
      );
    }
    const flows = this.finished.count + this.liveFlows;
    if (flows >= maxFlows) {
      throw new ApiError(
        429,
        "session_flow_limit",
        `session ${this.id} holds ${flows} flows, the limit is ${maxFlows}: finish or delete it`,
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
    } finally {
      this.#counted = countInput(this.#metrics, this.#rec, this.#counted);
    }
  }

  /** Validates the framing of a capture chunk, then feeds it (call inside {@link exclusive}). */
  async appendCapture(chunks: readonly Uint8Array[], work: WorkOptions): Promise<BatchSummary> {
    let bytes = 0;
    for (const chunk of chunks) bytes += chunk.length;
    const damage = this.#rec.checkCapture(chunks);
    if (damage !== null) {
      const error = captureError(damage.code, damage.offset, damage.record);
      this.#metrics.captureErrors.inc({ code: error.code });
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
      this.#metrics.captureErrors.inc({ code: error.code });
      throw new ApiError(422, error.code, `${error.message}; the session takes no more batches`, {
        offset: error.offset,
        details: { record: error.record },
      });
    }
    return this.#accepted("capture", { bytes }, finishedBefore);
  }

  /** Feeds validated segment records (call inside {@link exclusive}). */
  async appendSegments(records: Uint8Array, count: number, work: WorkOptions): Promise<BatchSummary> {
    const finishedBefore = this.finished.count;
    await this.#transaction(count, work, (options) => feedSegments(this.#rec, records, this.#sink, options));
    const error = this.#rec.error;
    if (error !== null) {
      this.failed = `the engine rejected a segment record the validation accepted (${error.message})`;
      throw new ApiError(422, error.code, error.message, { details: { record: error.record } });
    }
    return this.#accepted("segments", { segments: count }, finishedBefore);
  }

  /** Finished plus live flows. */
  get flows(): number {
    return this.finished.count + this.liveFlows;
  }

  /**
   * Runs a batch that creates at most `bound` flows. When that could cross the flow limit, the
   * state is copied first and the batch is stopped and rolled back as soon as it crosses (429).
   */
  async #transaction(bound: number, work: WorkOptions, run: (options: WorkOptions) => Promise<void>): Promise<void> {
    const before = this.flows;
    if (before + bound <= this.#maxFlows) {
      await this.#engineWork(() => run(work));
      return;
    }
    const snapshot = this.#rec.snapshot();
    this.#snapshotBytes = snapshot.engine.byteLength;
    const finished = this.finished.count;
    const over = (): boolean => this.flows > this.#maxFlows;
    let crossed = false;
    const check = (): void => {
      if (over()) {
        crossed = true;
        throw new ApiError(
          429,
          "session_flow_limit",
          `this batch takes session ${this.id} past its limit of ${this.#maxFlows} flows (it holds ${before}); the batch was rejected and the session is unchanged`,
          {
            details: { limit: this.#maxFlows, flows: before },
          },
        );
      }
    };
    try {
      await this.#engineWork(() => run({ ...work, pause: check }));
      check();
    } catch (e) {
      if (crossed) {
        this.#rec.restore(snapshot);
        this.finished.truncate(finished);
        this.#counter.take();
        // The input metrics keep the work done (it was decoded); the engine's counters went back.
        const stats = this.#rec.stats;
        this.#counted = { segments: stats.segments, bytes: stats.bytes, records: this.#rec.segmentsIn };
      }
      throw e;
    } finally {
      this.#snapshotBytes = 0;
    }
  }

  #accepted(kind: InputKind, size: { bytes?: number; segments?: number }, finishedBefore: number): BatchSummary {
    const counts = this.#counter.take();
    if (counts !== null) addFlowCounts(this.#metrics, counts);
    this.input = kind;
    this.batches++;
    return {
      batch: this.batches,
      input: kind,
      ...size,
      flows_finished: this.finished.count - finishedBefore,
      flows_live: this.liveFlows,
    };
  }

  /** The capture clock: the latest packet time seen, µs. */
  get clockUs(): number {
    return this.#rec.clockUs;
  }

  /**
   * Hands every live flow to `sink` as finish would report it now, without ending any (the engine's
   * emitLive); yields to the event loop between output rings (call inside {@link exclusive}).
   */
  async listLive(sink: RecordSink): Promise<void> {
    if (this.#faulted) throw new ApiError(409, "session_failed", `session ${this.id}: ${this.failed}`);
    let last = performance.now();
    while (!this.#rec.liveSome(sink)) {
      if (performance.now() - last > YIELD_AFTER_MS) {
        await nextMacrotask();
        last = performance.now();
      }
    }
  }

  /** Ends the input and moves every live flow to {@link finished} (call inside {@link exclusive}). */
  async finish(work: WorkOptions): Promise<void> {
    this.closed = true;
    // A session that never got a batch has no capture to end (the engine would call it empty).
    if (this.input === null) return;
    await this.#engineWork(() => finishEngine(this.#rec, this.#sink, work));
    const counts = this.#counter.take();
    if (counts !== null) addFlowCounts(this.#metrics, counts);
    if (this.#rec.error !== null) this.#metrics.captureErrors.inc({ code: this.#rec.error.code });
  }

  /** What a client sees of the session. */
  describe(ttlMs: number): Record<string, unknown> {
    return {
      id: this.id,
      input: this.input,
      batches: this.batches,
      flows_finished: this.finished.count,
      flows_live: this.liveFlows,
      created_at: new Date(this.createdAt).toISOString(),
      expires_at: new Date(this.lastUsed + ttlMs).toISOString(),
      ...(this.failed !== null ? { failed: this.failed } : {}),
      stats: this.stats,
    };
  }
}
