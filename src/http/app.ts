/**
 * @module
 * The HTTP API as a Hono app, without a listener: `src/server.ts` serves it on a port,
 * tests call `app.request()` in-process. One folder per concern: `routes/` (analyze, sessions,
 * ops), `middleware/` (auth, request metrics, draining), `sessions/` (engine per session).
 *
 * @example
 * ```ts
 * const api = createApp({ maxSessions: 8 });
 * const res = await api.app.request("/v1/analyze", { method: "POST", body: capture, headers: { "content-type": "application/vnd.tcpdump.pcap" } });
 * api.close();
 * ```
 */

import { Hono } from "hono";
import { DEFAULT_CONFIG, DEFAULT_TENANT, type ApiConfig } from "./config.js";
import { errorHandler, notFound } from "./errors.js";
import { createLogger, type Logger } from "./log.js";
import { accessLog } from "./middleware/access-log.js";
import { ApiMetrics } from "./metrics.js";
import { MemoryBudget } from "./memory.js";
import { SessionStore } from "./sessions/store.js";
import type { AppContext } from "./context.js";
import type { ApiEnv } from "./body.js";
import { bearerAuth } from "./middleware/auth.js";
import { requestMetrics } from "./middleware/request-metrics.js";
import { draining } from "./middleware/draining.js";
import { uploadsPerClient } from "./middleware/uploads.js";
import { analyzeRoutes } from "./routes/analyze.js";
import { sessionRoutes } from "./routes/sessions.js";
import { opsRoutes } from "./routes/ops.js";
import { captureRoutes } from "./routes/captures.js";
import { CaptureStore } from "./captures/store.js";
import { webRoutes } from "./routes/web.js";
import { FormatThreads } from "../output/format-threads.js";
import { EnginePool } from "./engine-pool.js";

export interface Api {
  readonly app: Hono<ApiEnv>;
  readonly context: AppContext;
  /** Stops the session sweep, drops every session and stops the format and engine threads. */
  close(): void;
}

/** @param options.logger where the log goes (default: JSON lines on stdout at `logLevel`). */
export function createApp(settings: Partial<ApiConfig> = {}, options: { logger?: Logger } = {}): Api {
  const config: ApiConfig = { ...DEFAULT_CONFIG, ...settings };
  const log = options.logger ?? createLogger(config.logLevel);
  const metrics = new ApiMetrics();
  const budget = new MemoryBudget(config.maxMemoryBytes, () => metrics.rejected.inc({ reason: "memory" }));
  // Shared by all requests, each its own job; unref'd, so an idle pool never keeps the process up.
  // A pool whose thread died is replaced (its jobs have failed with it).
  let threads: FormatThreads | null = null;
  const formatThreads = (): FormatThreads => {
    if (threads === null || threads.failure !== null) {
      threads = new FormatThreads();
      threads.unref();
    }
    return threads;
  };
  const enginePool =
    config.threads >= 1
      ? new EnginePool({
          threads: config.threads,
          queue: config.engineQueue,
          log,
          onReject: () => metrics.rejected.inc({ reason: "engines_busy" }),
        })
      : null;
  // Sessions' engines live on the same threads (one thread per session, many sessions per thread).
  const sessions = new SessionStore(config, metrics, budget, log, enginePool);
  const context: AppContext = { config, metrics, budget, sessions, log, formatThreads, enginePool, draining: false };
  metrics.gauge("flowrecon_sessions", "Open sessions.", () => sessions.size);
  metrics.gauge(
    "flowrecon_memory_bytes",
    "Memory the API holds (engines, batches, stored flows, buffered responses).",
    () => budget.used(),
  );
  metrics.gauge(
    "flowrecon_engine_threads_busy",
    "Engine threads running an analysis or a session call (of FLOWRECON_THREADS).",
    () => enginePool?.busy ?? 0,
  );
  metrics.gauge(
    "flowrecon_engine_queue_length",
    "Analyses and session calls waiting for an engine thread (at most FLOWRECON_ENGINE_QUEUE).",
    () => enginePool?.queued ?? 0,
  );
  metrics.gauge("flowrecon_memory_limit_bytes", "The memory limit (FLOWRECON_MAX_MEMORY_BYTES).", () => budget.limit);

  const app = new Hono<ApiEnv>();
  app.onError(errorHandler(log));
  app.notFound(notFound(() => app.routes));
  app.use("*", accessLog(log));
  app.use("*", requestMetrics(metrics));
  app.use(
    "*",
    draining(() => context.draining),
  );
  const auth = bearerAuth({
    ...(config.token !== undefined ? { [DEFAULT_TENANT]: config.token } : {}),
    ...config.tenants,
  });
  app.use("/v1/*", auth);
  app.use("/metrics", auth);
  const uploads = uploadsPerClient(config.maxUploadsPerClient, () =>
    metrics.rejected.inc({ reason: "uploads_per_client" }),
  );
  app.on("POST", ["/v1/analyze", "/v1/sessions/:id/batches"], uploads);
  app.route("/", opsRoutes(context));
  app.route("/", analyzeRoutes(context));
  app.route("/", sessionRoutes(context));
  app.route("/", captureRoutes(context, new CaptureStore(config.dataDir, config.maxStoredBytes, config.storedTtlMs)));
  app.route("/", webRoutes()); // the page at / (web/)

  const close = (): void => {
    sessions.close();
    void threads?.close();
    threads = null;
    void enginePool?.close();
  };
  return { app, context, close };
}
