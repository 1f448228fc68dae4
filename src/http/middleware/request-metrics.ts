/**
 * @module
 * Counts every request by route pattern, method and status, and records its latency (until the
 * handler returned its response: for a streamed body, until the first bytes are ready).
 */

import type { Context, MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { ApiMetrics } from "../metrics.js";

/** The route pattern a request matched (`/v1/sessions/:id`), or "unmatched". */
export function routeOf(c: Context): string {
  const path = routePath(c, -1);
  return path === "" || path.endsWith("*") ? "unmatched" : path;
}

export function requestMetrics(metrics: ApiMetrics): MiddlewareHandler {
  return async function requestMetrics(c, next) {
    const start = performance.now();
    try {
      await next();
    } finally {
      const route = routeOf(c);
      const status = String(c.res.status);
      metrics.requests.inc({ route, method: c.req.method, status });
      metrics.latency.observe({ route }, (performance.now() - start) / 1000);
      if (c.res.status === 413) metrics.rejected.inc({ reason: "body_size" });
      if (c.res.status === 408) metrics.rejected.inc({ reason: "body_timeout" });
    }
  };
}
