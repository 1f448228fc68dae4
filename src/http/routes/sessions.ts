/**
 * @module
 * Sessions: flows that span uploads.
 * - `POST   /v1/sessions`                creates one (options fixed at creation), 201
 * - `GET    /v1/sessions/{id}`           describes it
 * - `POST   /v1/sessions/{id}/batches`   appends a capture chunk or segment records, in order
 * - `GET    /v1/sessions/{id}/flows`     lists finished and live flows (filters, paging)
 * - `POST   /v1/sessions/{id}/finish`    ends the input, returns every flow, closes the session
 * - `DELETE /v1/sessions/{id}`           drops it, 204
 *
 * @example
 * ```sh
 * id=$(curl -s -X POST 'http://127.0.0.1:8080/v1/sessions?ignore_checksums=true' | jq -r .id)
 * split -b 1m trace.pcap part. && for p in part.*; do
 *   curl -s --data-binary @$p -H 'content-type: application/vnd.tcpdump.pcap' http://127.0.0.1:8080/v1/sessions/$id/batches
 * done
 * curl -s -X POST http://127.0.0.1:8080/v1/sessions/$id/finish
 * ```
 */

import { Hono } from "hono";
import { ApiError } from "../errors.js";
import { bodyChunks, readChunks, type ApiContext, type ApiEnv } from "../body.js";
import { bodyKind, outputFormat, OUTPUT_CONTENT_TYPES } from "../negotiate.js";
import { finishParams, listParams, sessionOptions, OPTION_PARAMETERS } from "../params.js";
import { readSegmentBody } from "../segment-body.js";
import { piecesBody } from "../response-stream.js";
import { slowReaderGuard } from "../slow-readers.js";
import type { ReconstructorOptions } from "../../reconstructor.js";
import type { AppContext } from "../context.js";

/** Options echoed back with their query names. */
function optionNames(options: ReconstructorOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, key] of OPTION_PARAMETERS) if (options[key] !== undefined) out[name] = options[key];
  return out;
}

export function sessionRoutes(ctx: AppContext): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const { config, sessions, budget } = ctx;
  const work = { sliceBytes: config.sliceBytes };

  app.post("/v1/sessions", async function createSession(c: ApiContext) {
    let body: unknown;
    const contentType = c.req.header("content-type");
    if (contentType !== undefined || Number(c.req.header("content-length") ?? 0) > 0) {
      const type = (contentType ?? "").split(";")[0].trim().toLowerCase();
      if (type !== "application/json")
        throw new ApiError(
          415,
          "unsupported_media_type",
          "session options are a JSON object (application/json), or query parameters",
        );
      const raw = Buffer.concat(await readChunks(bodyChunks(c, 64 * 1024, "session options", config)));
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw.toString("utf8"));
        } catch (e) {
          throw new ApiError(400, "malformed_body", `malformed JSON: ${(e as Error).message}`);
        }
      }
    }
    const options = sessionOptions(c.req.query(), body);
    const session = await sessions.create(options, c.get("tenant"));
    c.header("location", `/v1/sessions/${session.id}`);
    return c.json(
      {
        ...session.describe(config.sessionTtlMs),
        options: optionNames(session.options),
        ttl_seconds: config.sessionTtlMs / 1000,
      },
      201,
    );
  });

  app.get("/v1/sessions/:id", async function describeSession(c: ApiContext) {
    const session = sessions.get(c.req.param("id")!, c.get("tenant"));
    session.touch();
    await session.ready();
    return c.json({ ...session.describe(config.sessionTtlMs), options: optionNames(session.options) });
  });

  app.post("/v1/sessions/:id/batches", async function appendBatch(c: ApiContext) {
    const session = sessions.get(c.req.param("id")!, c.get("tenant"));
    session.touch();
    const kind = bodyKind(c.req.header("content-type"));
    const input = kind === "capture" || kind === "sniff" ? "capture" : "segments";
    // Refuse early what the session will refuse anyway, before reading the body.
    session.checkBatch(input);
    const reservation = budget.reservation("a session batch");
    try {
      const chunks = bodyChunks(c, config.maxBatchBytes, "session batch", config);
      if (input === "capture") {
        const held = await readChunks(chunks, reservation);
        const summary = await session.exclusive(async () => {
          session.checkBatch(input);
          // Resolves once the batch is durable (its session file written on the engine's thread).
          return session.appendCapture(held, work);
        });
        return c.json(summary);
      }
      const records = await readSegmentBody(
        chunks,
        kind === "json" ? "json" : "msgpack",
        await sessions.segmentLayout(),
        reservation,
      );
      const summary = await session.exclusive(async () => {
        session.checkBatch(input);
        return session.appendSegments(records.bytes, records.count, work);
      });
      return c.json(summary);
    } finally {
      reservation.release();
    }
  });

  app.get("/v1/sessions/:id/flows", async function listFlows(c: ApiContext) {
    const session = sessions.get(c.req.param("id")!, c.get("tenant"));
    const params = listParams(c.req.query());
    const format = outputFormat(c.req.header("accept"));
    // Printed on the session's engine thread (session-core.ts list): finished flows, then live ones
    // as finish would report them now, with the page's members at the end.
    const body = await session.exclusive(async () => {
      if (session.closed) throw new ApiError(404, "session_not_found", `session ${session.id} was finished or deleted`);
      return session.list(params, format);
    });
    return new Response(piecesBody([body], slowReaderGuard(ctx, c)), {
      headers: { "content-type": OUTPUT_CONTENT_TYPES[format] },
    });
  });

  app.post("/v1/sessions/:id/finish", async function finishSession(c: ApiContext) {
    const session = sessions.get(c.req.param("id")!, c.get("tenant"));
    const filter = finishParams(c.req.query());
    const format = outputFormat(c.req.header("accept"));
    const { body, error } = await session.exclusive(async () => {
      if (session.closed) throw new ApiError(404, "session_not_found", `session ${session.id} was finished or deleted`);
      try {
        return await session.finish(filter, format, work);
      } finally {
        sessions.delete(session.id);
      }
    });
    return new Response(piecesBody([body], slowReaderGuard(ctx, c)), {
      status: error === null ? 200 : 422,
      headers: { "content-type": OUTPUT_CONTENT_TYPES[format] },
    });
  });

  app.delete("/v1/sessions/:id", async function deleteSession(c: ApiContext) {
    const session = sessions.get(c.req.param("id")!, c.get("tenant"));
    await session.exclusive(() => {
      sessions.delete(session.id);
    });
    return c.body(null, 204);
  });

  return app;
}
