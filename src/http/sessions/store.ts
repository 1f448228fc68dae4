/**
 * @module
 * The open sessions: creation under the session-count and memory limits, lookup (404 when
 * unknown), the idle-TTL sweep, and durability: each session's file (session-file.ts) in
 * `<dataDir>/sessions` is written at creation and after every accepted batch, removed when the
 * session ends (finish, delete, expiry), and every file is reloaded when the store starts, under the
 * same limits (session count, memory budget). A file that cannot be loaded is logged and skipped.
 *
 * Each session's engine lives on a thread of the API's engine pool (the one holding the fewest
 * sessions when it is created or reloaded; session.ts), or on this thread without a pool (threads 0).
 */

import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { ReconstructorOptions } from "../../reconstructor.js";
import { createEngine } from "../../wasm/engine.js";
import type { Logger } from "../log.js";
import type { ApiConfig } from "../config.js";
import { ApiError } from "../errors.js";
import { ENGINE_ESTIMATE_BYTES, type MemoryBudget } from "../memory.js";
import type { ApiMetrics } from "../metrics.js";
import type { EnginePool } from "../engine-pool.js";
import type { SegmentLayout } from "../../ingest/segment-layout.js";
import { MIN_WINDOW_BYTES, Reconstructor } from "../../reconstructor.js";
import { LocalLink, PoolLink, Session, type SessionLink, type SessionSettings } from "./session.js";
import { SessionHost } from "./session-host.js";
import { readSessionFile, SESSION_FILE_SUFFIX, sessionPath } from "./session-file.js";

export class SessionStore {
  readonly #sessions = new Map<string, Session>();
  readonly #config: ApiConfig;
  readonly #metrics: ApiMetrics;
  readonly #budget: MemoryBudget;
  readonly #release: () => void;
  readonly #log: Logger | undefined;
  /** Where the session files live: `<dataDir>/sessions`. */
  readonly dir: string;
  #recordSize = 0;
  #timer: NodeJS.Timeout | undefined;
  /** The engine threads sessions live on, or null: on this thread, in {@link #host}. */
  readonly #pool: EnginePool | null;
  #host: SessionHost | null = null;
  #segmentLayout: SegmentLayout | null = null;
  readonly #settings: SessionSettings;

  constructor(
    config: ApiConfig,
    metrics: ApiMetrics,
    budget: MemoryBudget,
    log?: Logger,
    pool: EnginePool | null = null,
  ) {
    this.#config = config;
    this.#pool = pool;
    this.#metrics = metrics;
    this.#budget = budget;
    this.#log = log;
    this.dir = join(config.dataDir, "sessions");
    this.#settings = { maxFlows: config.maxFlowsPerSession, dir: this.dir, metrics, log };
    this.#release = budget.hold(() => {
      let total = 0;
      for (const s of this.#sessions.values()) total += s.memoryBytes;
      return total;
    });
    mkdirSync(this.dir, { recursive: true });
    this.#reload();
    const every = Math.max(1000, Math.min(config.sessionTtlMs / 2, 30_000));
    this.#timer = setInterval(() => this.sweep(), every);
    this.#timer.unref();
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Where a new (or reloaded) session's engine goes. */
  #link(): SessionLink {
    if (this.#pool !== null) return new PoolLink(this.#pool);
    this.#host ??= new SessionHost();
    return new LocalLink(this.#host);
  }

  /** The segment-record layout (batches of segment records are parsed on this thread with it). */
  async segmentLayout(): Promise<SegmentLayout> {
    if (this.#segmentLayout !== null) return this.#segmentLayout;
    this.#segmentLayout =
      this.#pool !== null
        ? await this.#pool.segmentLayout()
        : new Reconstructor({ windowBytes: MIN_WINDOW_BYTES }).segmentLayout;
    return this.#segmentLayout;
  }

  /** A new session of `tenant` (undefined when the server has no tokens); resolves once its file is written. */
  async create(options: ReconstructorOptions, tenant: string | undefined): Promise<Session> {
    if (this.#sessions.size >= this.#config.maxSessions) {
      this.#metrics.rejected.inc({ reason: "sessions" });
      throw new ApiError(
        429,
        "too_many_sessions",
        `${this.#sessions.size} sessions are open, the limit is ${this.#config.maxSessions}: finish or delete one, or retry later`,
        {
          headers: { "retry-after": "10" },
        },
      );
    }
    this.#budget.admit(ENGINE_ESTIMATE_BYTES, "a new session");
    const flowCap = Math.min(options.flowCap ?? this.#config.maxFlowsPerSession, this.#config.maxFlowsPerSession);
    const session = new Session({ ...options, flowCap }, this.#link(), this.#settings, tenant);
    this.#sessions.set(session.id, session);
    try {
      await session.opened;
    } catch (e) {
      this.delete(session.id);
      throw e;
    }
    this.#metrics.sessionsCreated.inc();
    return session;
  }

  /** The session `id` of `tenant`; another tenant's session is as unknown as a missing one (404). */
  get(id: string, tenant: string | undefined): Session {
    const session = this.#sessions.get(id);
    if (session === undefined || session.tenant !== tenant)
      throw new ApiError(
        404,
        "session_not_found",
        `no session ${id} (it may have expired after ${this.#config.sessionTtlMs / 1000} s idle)`,
      );
    return session;
  }

  /** Ends session `id` for good: out of memory and off the disk. */
  delete(id: string): boolean {
    const session = this.#sessions.get(id);
    if (session === undefined) return false;
    session.closed = true;
    session.leave();
    rmSync(sessionPath(this.dir, id), { force: true });
    return this.#sessions.delete(id);
  }

  /** FR_SIZE: the record size of session files, read from the engine once. */
  #records(): number {
    if (this.#recordSize === 0) this.#recordSize = createEngine().layout.constants.FR_SIZE;
    return this.#recordSize;
  }

  /** Loads every session file of the data directory (at start), within the session and memory limits. */
  #reload(): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (e) {
      this.#log?.warn(
        { dir: this.dir, err: (e as Error).message },
        "session directory not readable; no session reloaded",
      );
      return;
    }
    for (const name of names) {
      const file = join(this.dir, name);
      if (name.endsWith(`${SESSION_FILE_SUFFIX}.tmp`)) {
        rmSync(file, { force: true }); // a write that never finished: the previous file is whole
        continue;
      }
      if (!name.endsWith(SESSION_FILE_SUFFIX)) continue;
      try {
        const saved = readSessionFile(file, this.#records());
        if (name !== saved.id + SESSION_FILE_SUFFIX) throw new Error(`the file holds session ${saved.id}`);
        if (Date.now() - saved.lastUsed > this.#config.sessionTtlMs) {
          rmSync(file, { force: true }); // expired while the server was down
          this.#metrics.sessionsExpired.inc();
          continue;
        }
        if (this.#sessions.size >= this.#config.maxSessions)
          throw new Error(`the session limit (${this.#config.maxSessions}) is reached`);
        this.#budget.admit(saved.snapshot.engine.length + saved.finished.length, "a saved session");
        const session = new Session(saved.options, this.#link(), this.#settings, saved.tenant, saved);
        this.#sessions.set(session.id, session);
        // Its engine opens on its thread meanwhile; the file says what it holds.
        this.#log?.info(
          { session: session.id, batches: saved.batches, flows_finished: saved.finished.length / this.#records() },
          "session reloaded",
        );
      } catch (e) {
        this.#log?.warn({ file, err: (e as Error).message }, "session file skipped: it cannot be loaded");
      }
    }
  }

  /** Deletes every session idle for longer than the TTL (not one that a request holds). */
  sweep(now = Date.now()): number {
    let expired = 0;
    for (const [id, session] of this.#sessions) {
      if (!session.busy && now - session.lastUsed > this.#config.sessionTtlMs) {
        this.delete(id);
        this.#metrics.sessionsExpired.inc();
        expired++;
      }
    }
    return expired;
  }

  /** Stops the sweep and drops every session from memory (their files stay, for the next start). */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const session of this.#sessions.values()) {
      session.closed = true;
      session.leave();
    }
    this.#sessions.clear();
    this.#release();
  }
}
