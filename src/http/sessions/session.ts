/**
 * @module
 * One session as the request handlers see it: a FIFO lock so batches, listings and the finish never
 * interleave, the limits checked before a body is read, the TTL clock, and a {@link SessionView} of
 * its engine's state. The engine itself (Reconstructor, finished flows, session file: every rule
 * of a batch, session-core.ts) lives on one of the API's engine threads (issue 13: sessions use
 * the bounded pool, `FLOWRECON_THREADS`), or on this thread when there are none (threads 0); the
 * two speak the messages of session-host.ts either way.
 *
 * A thread that stops (a crash, out of memory, or replaced after an analysis's engine fault) takes
 * the engines of its sessions with it. The call in flight gets 500 `engine_thread_failed`; the
 * session itself is not lost: its next request reloads it on a live thread from its session file,
 * which holds every batch that was acknowledged (a batch that failed with the thread may be in it
 * too if the thread died after the file was written: `batches` says). A session whose file cannot
 * be loaded then is marked failed (409 `session_failed`, the reason in its description).
 */

import { randomUUID } from "node:crypto";
import type { ReconstructorOptions } from "../../reconstructor.js";
import type { Stats } from "../../stats.js";
import type { CaptureError } from "../../wasm/errors.js";
import { ApiError } from "../errors.js";
import type { ApiMetrics } from "../metrics.js";
import { type EnginePool, type SessionHome, threadError } from "../engine-pool.js";
import type { WorkOptions } from "../engine-work.js";
import { addFlowCounts } from "../flow-counts.js";
import type { Logger } from "../log.js";
import type { OutputFormat } from "../negotiate.js";
import type { FlowFilter, ListParams } from "../params.js";
import {
  type BatchSummary,
  type InputKind,
  MIN_RECORD_BYTES,
  type SavedSession,
  type SessionIdentity,
  type SessionView,
} from "./session-core.js";
import type { BodyResult, FromSessionHost, SessionHost, SessionOp, ToSessionHost } from "./session-host.js";

export type { BatchSummary, InputKind, SavedSession } from "./session-core.js";

type Call = SessionOp;
type Answer = FromSessionHost & { rawError?: unknown };

/** Where a session's engine runs. */
export interface SessionLink {
  /**
   * Sends a call; rejects only when the thread stopped, or when the pool refused it (503; only
   * `bounded` calls, the requests', wait in the pool's queue bound).
   */
  call(m: Call & { sid: string }, transfer: ArrayBuffer[], bounded?: boolean): Promise<Answer>;
  /** Whether the engine is still where it was put (false: its thread stopped). */
  alive(): boolean;
  /** Moves the session to a live thread (after {@link alive} turned false). */
  rehome(): void;
  /** The session ended: its engine is dropped. */
  leave(sid: string): void;
  /** Calls cross threads: their buffers are copied into transferable ones. */
  readonly transfers: boolean;
}

/** A session on a thread of the engine pool (session affinity: one thread until it ends). */
export class PoolLink implements SessionLink {
  readonly transfers = true;
  readonly #pool: EnginePool;
  #home: SessionHome;
  #sid = "";

  constructor(pool: EnginePool) {
    this.#pool = pool;
    this.#home = pool.sessionHome();
  }

  call(m: Call & { sid: string }, transfer: ArrayBuffer[], bounded = true): Promise<Answer> {
    this.#sid = m.sid;
    return this.#pool.sessionCall(this.#home, m, transfer, bounded);
  }

  alive(): boolean {
    return this.#pool.sessionAlive(this.#home);
  }

  rehome(): void {
    this.#pool.sessionLeft(this.#home, this.#sid);
    this.#home = this.#pool.sessionHome();
  }

  leave(sid: string): void {
    this.#pool.sessionLeft(this.#home, sid);
  }

  /** @internal The thread it lives on (tests). */
  get home(): SessionHome {
    return this.#home;
  }
}

/** A session on this thread (`FLOWRECON_THREADS=0`): the same host, called directly. */
export class LocalLink implements SessionLink {
  readonly transfers = false;
  readonly #host: SessionHost;

  constructor(host: SessionHost) {
    this.#host = host;
  }

  call(m: Call & { sid: string }): Promise<Answer> {
    return this.#host.handle({ ...m, call: 0 } as ToSessionHost, true);
  }

  alive(): boolean {
    return true;
  }

  rehome(): void {}

  leave(sid: string): void {
    void this.#host.handle({ sop: "close", call: 0, sid });
  }
}

export interface SessionSettings {
  /** Finished plus live flows a session may hold (maxFlowsPerSession). */
  maxFlows: number;
  /** Where session files live (`<dataDir>/sessions`). */
  dir: string;
  metrics: ApiMetrics;
  log?: Logger;
}

/** What a session is assumed to hold before its engine first answered. */
const FRESH_ENGINE_BYTES = 24 << 20;

export class Session {
  readonly id: string;
  readonly options: ReconstructorOptions;
  readonly createdAt: number;
  lastUsed = Date.now();
  closed = false;
  readonly #settings: SessionSettings;
  readonly #link: SessionLink;
  #view: SessionView | null = null;
  /** Memory assumed until the engine answers (a fresh engine, or the size of the file reloaded). */
  readonly #estimate: number;
  /** Set when the session cannot go on (its engine could not be opened again). */
  #broken: string | null = null;
  /** Its engine must be opened again: its thread stopped, or the reload was refused (503). */
  #reopen = false;
  /** The engine's opening: the first call waits for it. */
  #opened: Promise<void>;
  /** Bytes of the rollback snapshot a batch in flight may take (session-core.ts #transaction). */
  #snapshotBytes = 0;
  #tail: Promise<void> = Promise.resolve();
  #busy = 0;
  #left = false;

  /**
   * @param tenant the tenant that created it, the only one that sees it (undefined: no tokens).
   * @param saved  the state to continue from (a session reloaded at start), else a new session
   *               (its file is written before {@link opened} resolves).
   */
  constructor(
    options: ReconstructorOptions,
    link: SessionLink,
    settings: SessionSettings,
    readonly tenant: string | undefined = undefined,
    saved?: SavedSession,
  ) {
    this.id = saved?.id ?? randomUUID();
    this.createdAt = saved?.createdAt ?? Date.now();
    this.options = options;
    this.#settings = settings;
    this.#link = link;
    this.#estimate =
      saved === undefined ? FRESH_ENGINE_BYTES : saved.snapshot.engine.byteLength + saved.finished.byteLength;
    if (saved !== undefined) this.lastUsed = saved.lastUsed;
    const identity: SessionIdentity = {
      id: this.id,
      tenant,
      options,
      createdAt: this.createdAt,
      maxFlows: settings.maxFlows,
    };
    let transfer: ArrayBuffer[] = [];
    if (saved !== undefined && link.transfers) {
      const finished = saved.finished.slice();
      saved = { ...saved, finished };
      transfer = [saved.snapshot.engine.buffer, finished.buffer as ArrayBuffer];
    }
    this.#opened = this.#send(
      { sop: "open", identity, dir: settings.dir, lastUsed: this.lastUsed, ...(saved ? { saved } : {}) },
      transfer,
      saved === undefined,
    ).then(() => {});
    this.#opened.catch(() => {});
  }

  /** Resolves once the engine is open (a new session: its file written); rejects when it could not be. */
  get opened(): Promise<void> {
    return this.#opened;
  }

  /** Resolves once the session's state is known (its engine opened or not). */
  async ready(): Promise<void> {
    await this.#opened.catch(() => {});
  }

  get input(): InputKind | null {
    return this.#view?.input ?? null;
  }

  get batches(): number {
    return this.#view?.batches ?? 0;
  }

  /** Why the session takes no more batches (damage the validation missed, an engine fault, a file not saved or reloaded), else null. */
  get failed(): string | null {
    return this.#broken ?? this.#view?.failed ?? null;
  }

  get stats(): Stats | null {
    return this.#view?.stats ?? null;
  }

  get error(): CaptureError | null {
    return this.#view?.error ?? null;
  }

  /** Flows still in the engine's table (created and not yet reported). */
  get liveFlows(): number {
    return this.#view?.liveFlows ?? 0;
  }

  /** Finished flows stored. */
  get finishedFlows(): number {
    return this.#view?.finishedCount ?? 0;
  }

  /** Finished plus live flows. */
  get flows(): number {
    return this.finishedFlows + this.liveFlows;
  }

  /** Engine memory plus stored flows (plus the snapshot a batch in progress may roll back to): what this session holds. */
  get memoryBytes(): number {
    return (this.#view?.memoryBytes ?? this.#estimate) + this.#snapshotBytes;
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
    const maxFlows = this.#settings.maxFlows;
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
    const flows = this.flows;
    if (flows >= maxFlows) {
      throw new ApiError(
        429,
        "session_flow_limit",
        `session ${this.id} holds ${flows} flows, the limit is ${maxFlows}: finish or delete it`,
      );
    }
  }

  /**
   * Validates the framing of a capture chunk, feeds it and saves the session, on its engine's
   * thread (call inside {@link exclusive}); resolves once the batch is durable.
   */
  async appendCapture(chunks: readonly Uint8Array[], work: WorkOptions): Promise<BatchSummary> {
    let bytes = 0;
    for (const chunk of chunks) bytes += chunk.length;
    const bound = Math.floor(((this.#view?.fill ?? 0) + bytes) / MIN_RECORD_BYTES);
    let batch: Uint8Array[] = [...chunks];
    let transfer: ArrayBuffer[] = [];
    if (this.#link.transfers) {
      const one = new Uint8Array(bytes);
      let off = 0;
      for (const c of chunks) {
        one.set(c, off);
        off += c.length;
      }
      batch = [one];
      transfer = [one.buffer];
    }
    return this.#batch(bound, { sop: "capture", chunks: batch, work, lastUsed: this.lastUsed }, transfer);
  }

  /** Feeds validated segment records and saves the session (call inside {@link exclusive}). */
  async appendSegments(records: Uint8Array, count: number, work: WorkOptions): Promise<BatchSummary> {
    const bytes = this.#link.transfers ? records.slice() : records;
    const transfer = this.#link.transfers ? [bytes.buffer as ArrayBuffer] : [];
    return this.#batch(count, { sop: "segments", bytes, count, work, lastUsed: this.lastUsed }, transfer);
  }

  /** A batch that creates at most `bound` flows: the memory of its possible rollback snapshot is counted while it runs. */
  async #batch(bound: number, m: Call, transfer: ArrayBuffer[]): Promise<BatchSummary> {
    if (this.flows + bound > this.#settings.maxFlows) this.#snapshotBytes = this.#view?.engineBytes ?? 0;
    try {
      return (await this.#call(m, transfer)) as BatchSummary;
    } finally {
      this.#snapshotBytes = 0;
    }
  }

  /**
   * One page of finished and live flows (live ones as finish would report them now, none ended),
   * printed on the engine's thread (call inside {@link exclusive}).
   */
  async list(params: ListParams, format: OutputFormat): Promise<Buffer> {
    const { body } = (await this.#call({ sop: "list", params, format })) as BodyResult;
    return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  }

  /**
   * Ends the input and prints every flow with the stats (and the capture error, if any) at the end
   * (call inside {@link exclusive}); the session is closed.
   */
  async finish(
    filter: FlowFilter,
    format: OutputFormat,
    work: WorkOptions,
  ): Promise<{ body: Buffer; error: CaptureError | null }> {
    this.closed = true;
    const { body, error } = (await this.#call({ sop: "finish", filter, format, work })) as BodyResult;
    return { body: Buffer.from(body.buffer, body.byteOffset, body.byteLength), error: error ?? null };
  }

  /** The session ended (finish, delete, expiry): its engine is dropped from its thread. */
  leave(): void {
    if (this.#left) return;
    this.#left = true;
    this.#link.leave(this.id);
  }

  /** What a client sees of the session. */
  describe(ttlMs: number): Record<string, unknown> {
    return {
      id: this.id,
      input: this.input,
      batches: this.batches,
      flows_finished: this.finishedFlows,
      flows_live: this.liveFlows,
      created_at: new Date(this.createdAt).toISOString(),
      expires_at: new Date(this.lastUsed + ttlMs).toISOString(),
      ...(this.failed !== null ? { failed: this.failed } : {}),
      stats: this.stats,
    };
  }

  /** A call on the session's engine, reloading it first if its thread stopped. */
  async #call(m: Call, transfer: ArrayBuffer[] = []): Promise<unknown> {
    await this.#ensure();
    return this.#send(m, transfer);
  }

  async #send(m: Call, transfer: ArrayBuffer[], bounded = true): Promise<unknown> {
    const answer = await this.#link.call({ ...m, sid: this.id } as Call & { sid: string }, transfer, bounded);
    if (answer.view !== null) this.#view = answer.view;
    const delta = answer.delta;
    if (delta !== null) {
      const metrics = this.#settings.metrics;
      metrics.segments.inc({}, delta.segments);
      metrics.bytes.inc({}, delta.bytes);
      metrics.records.inc({}, delta.records);
      if (delta.counts !== null) addFlowCounts(metrics, delta.counts);
      for (const code of delta.captureErrors) metrics.captureErrors.inc({ code });
    }
    if (answer.error !== undefined) {
      if (answer.error.body?.code === "session_not_saved")
        this.#settings.log?.error(
          { session: this.id, dir: this.#settings.dir, err: answer.error.message },
          "session not saved",
        );
      throw answer.rawError ?? threadError(answer.error);
    }
    return answer.result;
  }

  /** The engine is open and usable: waits for its opening, reloads it from its file when its thread stopped. */
  async #ensure(): Promise<void> {
    try {
      await this.#opened;
    } catch (e) {
      if (this.#link.alive() && !this.#reopen && this.#broken === null)
        this.#broken = `its engine could not be opened (${(e as Error).message}); delete it`;
    }
    if (this.#broken !== null)
      throw new ApiError(409, "session_failed", `session ${this.id} takes no more requests: ${this.#broken}`);
    if (this.#link.alive() && !this.#reopen) return;
    if (!this.#link.alive()) this.#link.rehome();
    this.#reopen = false;
    this.#opened = this.#send({ sop: "reload", dir: this.#settings.dir, maxFlows: this.#settings.maxFlows }, []).then(
      () => {},
    );
    try {
      await this.#opened;
      this.#settings.log?.warn(
        { session: this.id, batches: this.batches },
        "session reloaded from its file after its engine thread stopped",
      );
    } catch (e) {
      this.#opened.catch(() => {});
      // The new thread stopped too, or the pool is full: the next request tries again.
      if (!this.#link.alive() || (e instanceof ApiError && e.status === 503)) {
        this.#reopen = true;
        throw e;
      }
      this.#broken = `its engine thread stopped and its saved state could not be reloaded (${(e as Error).message}); delete it`;
      this.#settings.log?.error({ session: this.id, err: (e as Error).message }, "session failed: not reloaded");
      throw new ApiError(409, "session_failed", `session ${this.id} takes no more requests: ${this.#broken}`);
    }
  }
}
