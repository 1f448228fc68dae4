/**
 * @module
 * API settings: every limit has a default that works without configuration, and each can be set
 * from the environment (`npm start`) or passed to `createApp()` (tests, embedding).
 */

import { LOG_LEVELS, type LogLevel } from "./log.js";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";

export interface ApiConfig {
  /** Largest streamed capture body (`/v1/analyze`); larger ones get 413 while streaming. */
  maxBodyBytes: number;
  /**
   * Largest body that is held before it reaches the engine: a session batch (validated whole
   * before the engine sees it) or a JSON/msgpack segment document (parsed whole). 413 beyond.
   */
  maxBatchBytes: number;
  /** Open sessions at once; creating one more gets 429. */
  maxSessions: number;
  /** Finished plus live flows a session may hold; a batch to a full session gets 429. */
  maxFlowsPerSession: number;
  /** Engine memory, held batches, stored flows and buffered responses, all requests together; 503 beyond. */
  maxMemoryBytes: number;
  /** A session nobody touched for this long is deleted. */
  sessionTtlMs: number;
  /** When set, `/v1/*` and `/metrics` need `Authorization: Bearer <token>` (tenant "default"). */
  token: string | undefined;
  /**
   * Tokens by tenant (`FLOWRECON_TOKENS=tenantA:token1,tenantB:token2`), beside {@link token}. A
   * session belongs to the tenant whose token created it; other tenants get 404 for it.
   */
  tenants: Readonly<Record<string, string>>;
  /** Engine work between two yields to the event loop (capture bytes per slice). */
  sliceBytes: number;
  /** A request body that brings no byte for this long gets 408 (0: no limit). */
  bodyIdleTimeoutMs: number;
  /**
   * Slowest accepted body, bytes per second, judged over each {@link bodyRateWindowMs} spent
   * waiting for the client; slower gets 408 (0: no limit).
   */
  minBodyRate: number;
  bodyRateWindowMs: number;
  /**
   * A streamed response (NDJSON) whose client takes no byte of it for this long, while the server
   * waits to write more, is given up: the analysis stops, its engines are freed and the
   * connection is closed (0: no limit). Only time spent waiting for the client counts.
   */
  responseIdleTimeoutMs: number;
  /**
   * Slowest accepted reader of a streamed response, bytes per second, judged over each
   * {@link responseRateWindowMs} spent waiting for the client to take more; slower is given up
   * as above (0: no limit).
   */
  minResponseRate: number;
  responseRateWindowMs: number;
  /** Uploads (`POST /v1/analyze`, session batches) one client address may run at once; 429 beyond. */
  maxUploadsPerClient: number;
  /** The least severe log lines written (JSON on stdout): trace, debug, info, warn, error, fatal or silent. */
  logLevel: LogLevel;
  /**
   * Where stored captures live (`/v1/captures`, src/http/captures/store.ts) and the session files
   * (`sessions/`, src/http/sessions/session-file.ts: sessions survive a restart); `FLOWRECON_DATA_DIR`,
   * default `<os tmpdir>/flowrecon-data`.
   */
  dataDir: string;
  /**
   * Engine threads for `/v1/analyze` (src/http/engine-pool.ts): each runs one request's engine at a
   * time; default the cores available. 0 runs every engine on the main thread (as before the pool).
   */
  threads: number;
  /** Analyses that may wait for a busy engine thread; more get 503 `engines_busy`. */
  engineQueue: number;
  /**
   * Most engine threads one capture upload runs on (issue 10): its connections are sharded over
   * its own thread and up to this many - 1 threads free at its start (src/shards/); 1 = one thread.
   */
  uploadShards: number;
  /** A capture upload is sharded from this size on (its Content-Length, or the whole body once read). */
  uploadShardMinBytes: number;
  /** Stored captures together (bytes on disk); the oldest are removed to make room. */
  maxStoredBytes: number;
  /** A stored capture is removed this long after its upload. */
  storedTtlMs: number;
}

export interface ServerConfig extends ApiConfig {
  port: number;
  host: string;
  /** On SIGTERM/SIGINT, in-flight requests get this long before connections are closed. */
  shutdownGraceMs: number;
  /** A client gets this long to send the request line and headers (Node's headersTimeout). */
  headersTimeoutMs: number;
}

const MiB = 1 << 20;

export const DEFAULT_CONFIG: Readonly<ApiConfig> = {
  maxBodyBytes: 4 * 1024 * MiB,
  maxBatchBytes: 64 * MiB,
  maxSessions: 64,
  maxFlowsPerSession: 100_000,
  maxMemoryBytes: 2048 * MiB,
  sessionTtlMs: 10 * 60_000,
  token: undefined,
  tenants: {},
  sliceBytes: 256 * 1024,
  bodyIdleTimeoutMs: 30_000,
  minBodyRate: 16 * 1024,
  bodyRateWindowMs: 10_000,
  responseIdleTimeoutMs: 30_000,
  minResponseRate: 16 * 1024,
  responseRateWindowMs: 10_000,
  maxUploadsPerClient: 8,
  logLevel: "info",
  dataDir: join(tmpdir(), "flowrecon-data"),
  threads: availableParallelism(),
  engineQueue: 64,
  uploadShards: availableParallelism(),
  uploadShardMinBytes: 16 * MiB,
  maxStoredBytes: 4096 * MiB,
  storedTtlMs: 7 * 24 * 3600_000,
};

/** Environment variable -> setting; sizes in bytes, times in seconds. */
export const ENV: readonly [
  name: string,
  key: keyof ApiConfig | "port" | "shutdownGraceMs" | "headersTimeoutMs",
  scale: number,
][] = [
  ["FLOWRECON_MAX_BODY_BYTES", "maxBodyBytes", 1],
  ["FLOWRECON_MAX_BATCH_BYTES", "maxBatchBytes", 1],
  ["FLOWRECON_MAX_SESSIONS", "maxSessions", 1],
  ["FLOWRECON_MAX_FLOWS_PER_SESSION", "maxFlowsPerSession", 1],
  ["FLOWRECON_MAX_MEMORY_BYTES", "maxMemoryBytes", 1],
  ["FLOWRECON_SESSION_TTL", "sessionTtlMs", 1000],
  ["FLOWRECON_SHUTDOWN_GRACE", "shutdownGraceMs", 1000],
  ["FLOWRECON_HEADERS_TIMEOUT", "headersTimeoutMs", 1000],
  ["FLOWRECON_BODY_IDLE_TIMEOUT", "bodyIdleTimeoutMs", 1000],
  ["FLOWRECON_MIN_BODY_RATE", "minBodyRate", 1],
  ["FLOWRECON_BODY_RATE_WINDOW", "bodyRateWindowMs", 1000],
  ["FLOWRECON_RESPONSE_IDLE_TIMEOUT", "responseIdleTimeoutMs", 1000],
  ["FLOWRECON_MIN_RESPONSE_RATE", "minResponseRate", 1],
  ["FLOWRECON_RESPONSE_RATE_WINDOW", "responseRateWindowMs", 1000],
  ["FLOWRECON_MAX_UPLOADS_PER_CLIENT", "maxUploadsPerClient", 1],
  ["PORT", "port", 1],
  ["FLOWRECON_MAX_STORED_BYTES", "maxStoredBytes", 1],
  ["FLOWRECON_STORED_TTL", "storedTtlMs", 1000],
  ["FLOWRECON_THREADS", "threads", 1],
  ["FLOWRECON_ENGINE_QUEUE", "engineQueue", 1],
  ["FLOWRECON_UPLOAD_SHARDS", "uploadShards", 1],
  ["FLOWRECON_UPLOAD_SHARD_MIN_BYTES", "uploadShardMinBytes", 1],
];

/** Settings from the environment over the defaults; throws on a value that is not a number >= 0. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const config: ServerConfig = {
    ...DEFAULT_CONFIG,
    port: 8080,
    host: env.HOST ?? "127.0.0.1",
    shutdownGraceMs: 30_000,
    headersTimeoutMs: 20_000,
  };
  for (const [name, key, scale] of ENV) {
    const text = env[name];
    if (text === undefined || text === "") continue;
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a number >= 0, got '${text}'`);
    (config as unknown as Record<string, number>)[key] = value * scale;
  }
  if (env.FLOWRECON_DATA_DIR) config.dataDir = env.FLOWRECON_DATA_DIR;
  const token = env.FLOWRECON_TOKEN;
  if (token !== undefined && token !== "") config.token = token;
  const level = env.FLOWRECON_LOG_LEVEL;
  if (level !== undefined && level !== "") {
    if (!(LOG_LEVELS as readonly string[]).includes(level))
      throw new RangeError(`FLOWRECON_LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got '${level}'`);
    config.logLevel = level as LogLevel;
  }
  const tokens = env.FLOWRECON_TOKENS;
  if (tokens !== undefined && tokens !== "") config.tenants = parseTenants(tokens);
  return config;
}

/** The tenant named by `FLOWRECON_TOKEN` alone. */
export const DEFAULT_TENANT = "default";

/** `tenantA:token1,tenantB:token2` -> { tenantA: "token1", tenantB: "token2" }; throws on a bad list. */
export function parseTenants(text: string): Record<string, string> {
  const tenants: Record<string, string> = {};
  const seen = new Set<string>();
  for (const [i, entry] of text.split(",").entries()) {
    const colon = entry.indexOf(":");
    const tenant = entry.slice(0, colon).trim();
    const token = entry.slice(colon + 1).trim();
    if (colon < 0 || !/^[A-Za-z0-9_.-]+$/.test(tenant) || token === "" || /\s/.test(token)) {
      throw new RangeError(
        `FLOWRECON_TOKENS entry ${i + 1} must be tenant:token (tenant of letters, digits, _ . -; token without spaces)`,
      );
    }
    if (tenant in tenants) throw new RangeError(`FLOWRECON_TOKENS names tenant '${tenant}' twice`);
    if (seen.has(token)) throw new RangeError(`FLOWRECON_TOKENS gives two tenants the same token (entry ${i + 1})`);
    seen.add(token);
    tenants[tenant] = token;
  }
  return tenants;
}
