/**
 * @module
 * `npm start`: serves the HTTP API (src/http/app.ts) with `@hono/node-server` on `PORT` (default
 * 8080) and `HOST` (default 127.0.0.1; set HOST=0.0.0.0 in a container), with the limits of
 * src/http/config.ts from the environment. No external service is needed.
 *
 * Graceful shutdown (SIGTERM, SIGINT): answer new requests with 503 + `Connection: close`
 * (`/healthz` with `{"status": "draining"}`, so a load balancer sees the drain), let in-flight
 * requests finish, then stop listening and close idle connections; after
 * `FLOWRECON_SHUTDOWN_GRACE` seconds (30) close whatever is left. The listener stays open while
 * requests are in flight: a closed port would tell a health check nothing.
 */

import { serve } from "@hono/node-server";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createApp, type Api } from "./http/app.js";
import { configFromEnv, type ServerConfig } from "./http/config.js";
import type { Logger } from "./http/log.js";
import { processHashKey } from "./hash-key.js";
import { VERSION } from "./version.js";

export interface RunningServer {
  readonly api: Api;
  readonly server: Server;
  readonly port: number;
  readonly host: string;
  /** Graceful shutdown; resolves when every connection is closed. `reason` goes in the log (a signal name). */
  close(graceMs?: number, reason?: string): Promise<void>;
}

/**
 * The longest the server waits for its engine threads before it listens anyway (a thread that
 * cannot start fails its requests, engine-pool.ts).
 */
const ENGINE_START_WAIT_MS = 10_000;

/**
 * Listens once the engine threads have started (at most {@link ENGINE_START_WAIT_MS}): a request
 * that came in before would find them still starting, and a large upload, sharded over the threads
 * free at its start, would run on fewer (a fresh server, 5 uploads of a 35 MB capture right after
 * its port opened: 3 ran on one thread of two).
 * @param options.logger where the log goes (default: JSON lines on stdout at `logLevel`).
 */
export async function startServer(
  config: Partial<ServerConfig> = {},
  options: { logger?: Logger } = {},
): Promise<RunningServer> {
  const settings = { ...configFromEnv({}), ...config };
  const api = createApp(settings, options);
  const log = api.context.log;
  const pool = api.context.enginePool;
  if (pool !== null) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waited = await Promise.race([
      pool.ready().then(
        () => "started",
        () => "failed",
      ),
      new Promise<string>((done) => {
        timer = setTimeout(() => done("timed out"), ENGINE_START_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (waited === "timed out")
      log.warn({ wait_s: ENGINE_START_WAIT_MS / 1000 }, "engine threads still starting; listening");
  }
  return new Promise((resolve, reject) => {
    // Slow clients (issue 11): the request line and headers within headersTimeoutMs (checked every
    // second, not Node's 30 s); bodies are timed by the API itself (src/http/body.ts), so Node's
    // 300 s whole-request timeout, which would cut a large upload at a good rate, is off.
    const serverOptions = {
      headersTimeout: settings.headersTimeoutMs,
      requestTimeout: 0,
      connectionsCheckingInterval: Math.max(100, Math.min(1000, settings.headersTimeoutMs)),
    };
    const server = serve({
      fetch: api.app.fetch,
      port: settings.port,
      hostname: settings.host,
      serverOptions,
    }) as Server;
    server.once("error", reject);
    server.once("listening", () => {
      const { port } = server.address() as AddressInfo;
      // Requests that arrived before the drain began (the later ones get a quick 503).
      let inFlight = 0;
      let idle: (() => void) | undefined;
      server.on("request", (_req, res) => {
        if (api.context.draining) return;
        inFlight++;
        res.once("close", () => {
          if (--inFlight === 0) idle?.();
        });
      });
      let closing: Promise<void> | undefined;
      const close = (graceMs = settings.shutdownGraceMs, reason?: string): Promise<void> =>
        (closing ??= new Promise<void>((done) => {
          api.context.draining = true;
          log.info({ reason: reason ?? null, in_flight: inFlight, grace_s: graceMs / 1000 }, "draining");
          let listening = true;
          const stopListening = (): void => {
            if (!listening) return;
            listening = false;
            server.close(() => {
              clearTimeout(force);
              api.close();
              log.info({ forced }, "stopped");
              log.flush();
              done();
            });
            server.closeIdleConnections();
          };
          let forced = false;
          const force = setTimeout(() => {
            forced = true;
            stopListening();
            server.closeAllConnections();
          }, graceMs);
          force.unref();
          if (inFlight === 0) stopListening();
          else idle = stopListening;
        }));
      const auth = settings.token !== undefined || Object.keys(settings.tenants).length > 0;
      log.info(
        {
          host: settings.host,
          port,
          version: VERSION,
          auth,
          tenants: Object.keys(settings.tenants).length + (settings.token !== undefined ? 1 : 0),
        },
        "listening",
      );
      resolve({ api, server, port, host: settings.host, close });
    });
  });
}

/**
 * `npm start` and `flowrecon serve`: settings from the environment, listen, shut down on
 * SIGTERM/SIGINT. Resolves with the exit status once listening (0), or 2 when a setting is wrong
 * (the caller ends with it: `flowrecon serve` returns it from the CLI's main).
 */
export async function main(): Promise<number> {
  let config: ServerConfig;
  try {
    config = configFromEnv();
    processHashKey(); // a malformed FLOWRECON_HASH_KEY stops the start, not every request
  } catch (e) {
    console.error(`flowrecon: ${(e as Error).message}`);
    return 2;
  }
  const running = await startServer(config);
  const shutdown = (signal: string): void => {
    void running.close(config.shutdownGraceMs, signal).then(() => process.exit(0));
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
  return 0;
}

const invoked = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invoked)
  void main().then((code) => {
    process.exitCode = code;
  });
