/**
 * @module
 * The open sessions: creation under the session-count and memory limits, lookup (404 when
 * unknown), and the idle-TTL sweep.
 */

import type { ReconstructorOptions } from "../../reconstructor.js";
import type { ApiConfig } from "../config.js";
import { ApiError } from "../errors.js";
import { ENGINE_ESTIMATE_BYTES, type MemoryBudget } from "../memory.js";
import type { ApiMetrics } from "../metrics.js";
import { Session } from "./session.js";

export class SessionStore {
  readonly #sessions = new Map<string, Session>();
  readonly #config: ApiConfig;
  readonly #metrics: ApiMetrics;
  readonly #budget: MemoryBudget;
  readonly #release: () => void;
  #timer: NodeJS.Timeout | undefined;

  constructor(config: ApiConfig, metrics: ApiMetrics, budget: MemoryBudget) {
    this.#config = config;
    this.#metrics = metrics;
    this.#budget = budget;
    this.#release = budget.hold(() => {
      let total = 0;
      for (const s of this.#sessions.values()) total += s.memoryBytes;
      return total;
    });
    const every = Math.max(1000, Math.min(config.sessionTtlMs / 2, 30_000));
    this.#timer = setInterval(() => this.sweep(), every);
    this.#timer.unref();
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** A new session of `tenant` (undefined when the server has no tokens). */
  create(options: ReconstructorOptions, tenant: string | undefined): Session {
    if (this.#sessions.size >= this.#config.maxSessions) {
      this.#metrics.rejected.inc({ reason: "sessions" });
      throw new ApiError(429, "too_many_sessions", `${this.#sessions.size} sessions are open, the limit is ${this.#config.maxSessions}: finish or delete one, or retry later`, {
        headers: { "retry-after": "10" },
      });
    }
    this.#budget.admit(ENGINE_ESTIMATE_BYTES, "a new session");
    const flowCap = Math.min(options.flowCap ?? this.#config.maxFlowsPerSession, this.#config.maxFlowsPerSession);
    const session = new Session({ ...options, flowCap }, this.#metrics, this.#config.maxFlowsPerSession, tenant);
    this.#sessions.set(session.id, session);
    this.#metrics.sessionsCreated.inc();
    return session;
  }

  /** The session `id` of `tenant`; another tenant's session is as unknown as a missing one (404). */
  get(id: string, tenant: string | undefined): Session {
    const session = this.#sessions.get(id);
    if (session === undefined || session.tenant !== tenant) throw new ApiError(404, "session_not_found", `no session ${id} (it may have expired after ${this.#config.sessionTtlMs / 1000} s idle)`);
    return session;
  }

  delete(id: string): boolean {
    const session = this.#sessions.get(id);
    if (session === undefined) return false;
    session.closed = true;
    return this.#sessions.delete(id);
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

  /** Stops the sweep and drops every session. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const id of [...this.#sessions.keys()]) this.delete(id);
    this.#release();
  }
}
