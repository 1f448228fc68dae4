/**
 * @module
 * What every route needs from the app: its settings, metrics, the memory budget and the sessions.
 */

import type { ApiConfig } from "./config.js";
import type { ApiMetrics } from "./metrics.js";
import type { MemoryBudget } from "./memory.js";
import type { SessionStore } from "./sessions/store.js";
import type { FormatThreads } from "../output/format-threads.js";
import type { Logger } from "./log.js";
import type { EnginePool } from "./engine-pool.js";

export interface AppContext {
  readonly config: ApiConfig;
  readonly metrics: ApiMetrics;
  readonly budget: MemoryBudget;
  readonly sessions: SessionStore;
  readonly log: Logger;
  /** The app's format threads, started on first use (one-shot analyses print their bodies there). */
  formatThreads(): FormatThreads;
  /** The engine threads `/v1/analyze` runs on, or null (`threads` 0: on this thread). */
  readonly enginePool: EnginePool | null;
  /** Set by graceful shutdown: new requests get 503 and every response closes its connection. */
  draining: boolean;
}
