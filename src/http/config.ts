/**
 * @module
 * API settings: every limit has a default that works without configuration, and each can be set
 * from the environment (`npm start`) or passed to `createApp()` (tests, embedding).
 */

import { tmpdir } from "node:os";
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
  /** When set, `/v1/*` and `/metrics` need `Authorization: Bearer <token>`. */
  token: string | undefined;
  /** Engine work between two yields to the event loop (capture bytes per slice). */
  sliceBytes: number;
  /** Where stored captures live (`/v1/captures`, src/http/captures/store.ts); default `<os tmpdir>/flowrecon-data`. */
  dataDir: string;
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
  sliceBytes: 256 * 1024,
  dataDir: join(tmpdir(), "flowrecon-data"),
  maxStoredBytes: 4096 * MiB,
  storedTtlMs: 7 * 24 * 3600_000,
};

/** Environment variable -> setting; sizes in bytes, times in seconds. */
const ENV: readonly [name: string, key: keyof ApiConfig | "port" | "shutdownGraceMs", scale: number][] = [
  ["FLOWRECON_MAX_BODY_BYTES", "maxBodyBytes", 1],
  ["FLOWRECON_MAX_BATCH_BYTES", "maxBatchBytes", 1],
  ["FLOWRECON_MAX_SESSIONS", "maxSessions", 1],
  ["FLOWRECON_MAX_FLOWS_PER_SESSION", "maxFlowsPerSession", 1],
  ["FLOWRECON_MAX_MEMORY_BYTES", "maxMemoryBytes", 1],
  ["FLOWRECON_SESSION_TTL", "sessionTtlMs", 1000],
  ["FLOWRECON_SHUTDOWN_GRACE", "shutdownGraceMs", 1000],
  ["PORT", "port", 1],
  ["FLOWRECON_MAX_STORED_BYTES", "maxStoredBytes", 1],
  ["FLOWRECON_STORED_TTL", "storedTtlMs", 1000],
];

/** Settings from the environment over the defaults; throws on a value that is not a number >= 0. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const config: ServerConfig = { ...DEFAULT_CONFIG, port: 8080, host: env.HOST ?? "127.0.0.1", shutdownGraceMs: 30_000 };
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
  return config;
}
