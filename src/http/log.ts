/**
 * @module
 * The server's log: one JSON object per line on stdout (pino), the form log shippers (Vector,
 * Fluent Bit, Promtail) and `jq` read without configuration. `level` is a word (`"info"`), `time`
 * ISO 8601 UTC, `msg` a short fixed phrase, the facts in their own members:
 * - `"request"`: one per request, when its response has been sent (src/http/middleware/access-log.ts);
 * - `"listening"`, `"draining"`, `"stopped"`: the server's life (src/server.ts);
 * - `"internal error"`, `"engine fault"`: a flowrecon bug, with `code` and the stack.
 */

import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A logger at `level` writing to `destination` (default: stdout). */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: "flowrecon" },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
