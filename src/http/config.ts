/**
 * @module
 * API settings: every limit has a default that works without configuration, and each can be set
 * from the environment (`npm start`) or passed to `createApp()` (tests, embedding).
 */

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
};

/** Environment variable -> setting; sizes in bytes, times in seconds. */
export const ENV: readonly [name: string, key: keyof ApiConfig | "port" | "shutdownGraceMs", scale: number][] = [
  ["FLOWRECON_MAX_BODY_BYTES", "maxBodyBytes", 1],
  ["FLOWRECON_MAX_BATCH_BYTES", "maxBatchBytes", 1],
  ["FLOWRECON_MAX_SESSIONS", "maxSessions", 1],
  ["FLOWRECON_MAX_FLOWS_PER_SESSION", "maxFlowsPerSession", 1],
  ["FLOWRECON_MAX_MEMORY_BYTES", "maxMemoryBytes", 1],
  ["FLOWRECON_SESSION_TTL", "sessionTtlMs", 1000],
  ["FLOWRECON_SHUTDOWN_GRACE", "shutdownGraceMs", 1000],
  ["PORT", "port", 1],
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
  const token = env.FLOWRECON_TOKEN;
  if (token !== undefined && token !== "") config.token = token;
  return config;
}
