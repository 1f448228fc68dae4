/**
 * @module
 * Graceful shutdown, request side: once the server is draining, a new request gets 503 and every
 * response asks the client to close its connection, while requests already running finish
 * normally (the server side is in src/server.ts). The health check is let through: it answers
 * 503 `{"status": "draining"}` itself (src/http/routes/ops.ts).
 */

import type { MiddlewareHandler } from "hono";
import { ApiError } from "../errors.js";

export function draining(isDraining: () => boolean): MiddlewareHandler {
  return async function draining(c, next) {
    if (isDraining() && c.req.path !== "/healthz") {
      throw new ApiError(503, "shutting_down", "the server is shutting down; retry on a new connection", {
        headers: { connection: "close", "retry-after": "1" },
      });
    }
    await next();
    if (isDraining()) c.res.headers.set("connection", "close");
  };
}
