/**
 * @module
 * `npm start`: serves the HTTP API (src/http/app.ts) with `@hono/node-server` on `PORT` (default
 * 8080) and `HOST` (default 127.0.0.1; set HOST=0.0.0.0 in a container), with the limits of
 * src/http/config.ts from the environment. No external service is needed.
 *
 * Graceful shutdown (SIGTERM, SIGINT): stop accepting connections, answer new requests on open
 * connections with 503 + `Connection: close`, let in-flight requests finish, close idle
 * connections, and after `FLOWRECON_SHUTDOWN_GRACE` seconds (30) close whatever is left.
 */

import { serve } from "@hono/node-server";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createApp, type Api } from "./http/app.js";
import { configFromEnv, type ServerConfig } from "./http/config.js";
import { processHashKey } from "./hash-key.js";

export interface RunningServer {
  readonly api: Api;
  readonly server: Server;
  readonly port: number;
  readonly host: string;
  /** Graceful shutdown; resolves when every connection is closed. */
  close(graceMs?: number): Promise<void>;
}

export function startServer(config: Partial<ServerConfig> = {}): Promise<RunningServer> {
  const settings = { ...configFromEnv({}), ...config };
  const api = createApp(settings);
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: api.app.fetch, port: settings.port, hostname: settings.host }) as Server;
    server.once("error", reject);
    server.once("listening", () => {
      const { port } = server.address() as AddressInfo;
      let closing: Promise<void> | undefined;
      const close = (graceMs = settings.shutdownGraceMs): Promise<void> =>
        (closing ??= new Promise<void>((done) => {
          api.context.draining = true;
          const force = setTimeout(() => server.closeAllConnections(), graceMs);
          force.unref();
          server.close(() => {
            clearTimeout(force);
            api.close();
            done();
          });
          server.closeIdleConnections();
        }));
      resolve({ api, server, port, host: settings.host, close });
    });
  });
}

/** `npm start` and `flowrecon serve`: settings from the environment, listen, shut down on SIGTERM/SIGINT. */
export async function main(): Promise<void> {
  let config: ServerConfig;
  try {
    config = configFromEnv();
    processHashKey(); // a malformed FLOWRECON_HASH_KEY stops the start, not every request
  } catch (e) {
    console.error(`flowrecon: ${(e as Error).message}`);
    process.exitCode = 2;
    return;
  }
  const running = await startServer(config);
  console.log(`flowrecon API listening on http://${running.host.includes(":") ? `[${running.host}]` : running.host}:${running.port}${config.token ? " (bearer token required)" : ""}`);
  const shutdown = (signal: string): void => {
    console.log(`flowrecon: ${signal}: finishing in-flight requests (at most ${config.shutdownGraceMs / 1000} s)`);
    void running.close().then(() => process.exit(0));
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}

const invoked = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invoked) void main();
