/**
 * @module
 * Operations: `GET /healthz` (liveness; 503 while draining), `GET /metrics` (Prometheus text) and
 * `GET /openapi.json` (the OpenAPI 3.1 description of these routes).
 */

import { Hono } from "hono";
import type { ApiEnv } from "../body.js";
import type { AppContext } from "../context.js";
import { openApiDocument } from "../openapi.js";
import { VERSION } from "../../version.js";

export function opsRoutes(ctx: AppContext): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  app.get("/healthz", function healthz(c) {
    const body = {
      status: ctx.draining ? "draining" : "ok",
      version: VERSION,
      sessions: ctx.sessions.size,
      memory_bytes: ctx.budget.used(),
    };
    return c.json(body, ctx.draining ? 503 : 200);
  });

  app.get("/metrics", async function metrics(c) {
    return c.body(await ctx.metrics.render(), 200, { "content-type": ctx.metrics.contentType });
  });

  const document = JSON.stringify(openApiDocument(ctx.config));
  app.get("/openapi.json", function openapi(c) {
    return c.body(document, 200, { "content-type": "application/json; charset=utf-8" });
  });

  return app;
}
