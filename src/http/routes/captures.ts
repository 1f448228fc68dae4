/**
 * @module
 * Stored captures (src/http/captures/store.ts):
 *   POST   /v1/captures                          store and analyse an upload -> 201 {id, name, created, size, flows, stats}
 *   GET    /v1/captures                          the stored captures, newest first
 *   GET    /v1/captures/{id}                     one capture's meta
 *   DELETE /v1/captures/{id}
 *   GET    /v1/captures/{id}/flows               filtered, sorted, paged flows
 *   GET    /v1/captures/{id}/flows/{uid}         one flow
 *   GET    /v1/captures/{id}/flows/{uid}/ladder.svg | ladder.json | pcap
 * Uploads stream to disk under the body limit; the capture is then analysed from the file. Errors,
 * limits and auth are those of the other /v1 routes (415 not a capture, 413 too large, 422
 * damaged, 404 unknown id or uid, 507 when one capture is larger than the store's cap).
 *
 * @example
 * ```sh
 * curl --data-binary @trace.pcap -H 'content-type: application/vnd.tcpdump.pcap' 'http://127.0.0.1:8080/v1/captures?name=trace.pcap'
 * curl 'http://127.0.0.1:8080/v1/captures/<id>/flows?anomaly=reset&sort=-duration&limit=50'
 * ```
 */

import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { Hono } from "hono";
import type { ApiContext, ApiEnv } from "../body.js";
import { bodyChunks, gather } from "../body.js";
import type { AppContext } from "../context.js";
import { ApiError } from "../errors.js";
import { sessionOptions } from "../params.js";
import { ENGINE_ESTIMATE_BYTES } from "../memory.js";
import { captureFormat } from "../../ingest/capture-format.js";
import { analyzeFile } from "../../analyze.js";
import type { Flow } from "../../flow.js";
import { traceFlow } from "../../trace/trace.js";
import type { TraceEvent } from "../../trace/events.js";
import { LadderBuilder } from "../../ladder/model.js";
import { ladderSvg } from "../../ladder/svg.js";
import { extractFrames } from "../../extract/frames.js";
import { type CaptureStore, summarize, type CaptureMeta } from "../captures/store.js";
import { flowQuery, matches, sortFlows } from "../captures/query.js";

function notFound(what: string): ApiError {
  return new ApiError(404, "not_found", what);
}

export function captureRoutes(ctx: AppContext, store: CaptureStore): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  // A stored capture belongs to the tenant that uploaded it (as sessions do): another tenant's
  // capture is as unknown as a missing one.
  const meta = (id: string, tenant: string | undefined): CaptureMeta => {
    const m = store.get(id);
    if (m === undefined || m.tenant !== tenant) throw notFound(`no stored capture '${id}' (it may have expired)`);
    return m;
  };
  const flowOf = (id: string, uid: string, tenant: string | undefined): { m: CaptureMeta; flow: Flow } => {
    const m = meta(id, tenant);
    const flow = store.flows(id).find((f) => f.uid === uid);
    if (flow === undefined) throw notFound(`capture '${id}' has no flow '${uid}'`);
    return { m, flow };
  };

  app.post("/v1/captures", async function storeCapture(c: ApiContext) {
    const query = { ...c.req.query() };
    const name = (query.name ?? "capture").slice(0, 200);
    delete query.name;
    const options = sessionOptions(query, undefined);
    // The magic first (held and reserved as it arrives, src/http/body.ts), then the rest streams to disk.
    const peeked = await gather(
      bodyChunks(c, ctx.config.maxBodyBytes, "capture", ctx.config),
      4,
      ctx.budget.reservation("the start of a stored capture"),
    );
    const head = Buffer.concat(peeked.held).subarray(0, 4);
    if (head.length < 4 || captureFormat(head) === null) {
      await peeked.drop();
      const found = Array.from(head, (b: number) => b.toString(16).padStart(2, "0")).join(" ");
      throw new ApiError(
        415,
        "unsupported_media_type",
        `the body is not a pcap or pcapng capture (it starts '${found}')`,
      );
    }
    const declared = Number(c.req.header("content-length"));
    if (Number.isFinite(declared) && declared > store.maxBytes) {
      throw new ApiError(
        507,
        "insufficient_storage",
        `the capture (${declared} bytes) is larger than the store's ${store.maxBytes}-byte cap`,
      );
    }
    ctx.budget.admit(ENGINE_ESTIMATE_BYTES, "a stored capture's analysis");
    const id = store.begin();
    const path = store.capturePath(id);
    try {
      const fd = openSync(path, "w");
      let size = 0;
      try {
        for await (const chunk of peeked.chunks) {
          size += chunk.length;
          if (size > store.maxBytes)
            throw new ApiError(
              507,
              "insufficient_storage",
              `the capture is larger than the store's ${store.maxBytes}-byte cap`,
            );
          writeSync(fd, chunk);
        }
      } finally {
        closeSync(fd);
      }
      const flows: Flow[] = [];
      const { stats, error } = await analyzeFile(path, options, (f) => void flows.push(f));
      if (error !== null) {
        throw new ApiError(422, error.code, error.message, {
          offset: error.offset,
          details: { record: error.record },
          extra: { stats },
        });
      }
      const m: CaptureMeta = {
        id,
        tenant: c.get("tenant"),
        name,
        created: new Date().toISOString(),
        size,
        flows: flows.length,
        stats,
        options,
        summary: summarize(flows),
      };
      store.commit(m, flows);
      return c.json(m, 201, { location: `/v1/captures/${id}` });
    } catch (e) {
      store.remove(id);
      throw e;
    }
  });

  app.get("/v1/captures", function listCaptures(c) {
    const tenant = c.get("tenant");
    const captures = store.list().filter((m) => m.tenant === tenant);
    return c.json({ captures, used_bytes: store.usedBytes(), max_bytes: store.maxBytes, ttl_s: store.ttlMs / 1000 });
  });

  app.get("/v1/captures/:id", function getCapture(c) {
    return c.json(meta(c.req.param("id"), c.get("tenant")));
  });

  app.delete("/v1/captures/:id", function deleteCapture(c) {
    const id = c.req.param("id");
    meta(id, c.get("tenant"));
    store.remove(id);
    return c.body(null, 204);
  });

  app.get("/v1/captures/:id/flows", function listFlows(c) {
    const id = c.req.param("id");
    const q = flowQuery(c.req.query());
    meta(id, c.get("tenant"));
    const selected = store.flows(id).filter((f) => matches(f, q));
    sortFlows(selected, q);
    return c.json({
      total: selected.length,
      offset: q.offset,
      limit: q.limit,
      flows: selected.slice(q.offset, q.offset + q.limit),
    });
  });

  app.get("/v1/captures/:id/flows/:uid", function getFlow(c) {
    return c.json(flowOf(c.req.param("id"), c.req.param("uid"), c.get("tenant")).flow);
  });

  app.get("/v1/captures/:id/flows/:uid/ladder.svg", function ladderSvgRoute(c) {
    const id = c.req.param("id");
    const { m, flow } = flowOf(id, c.req.param("uid"), c.get("tenant"));
    const all = c.req.query("all");
    const builder = new LadderBuilder({ all: all === "" || all === "true" || all === "1" });
    const result = traceFlow(store.capturePath(id), flow, (e) => builder.add(e), m.options);
    return c.body(ladderSvg(builder.finish(result.flow, result.end)), 200, {
      "content-type": "image/svg+xml; charset=utf-8",
    });
  });

  app.get("/v1/captures/:id/flows/:uid/ladder.json", function ladderJsonRoute(c) {
    const id = c.req.param("id");
    const { m, flow } = flowOf(id, c.req.param("uid"), c.get("tenant"));
    const events: TraceEvent[] = [];
    const result = traceFlow(store.capturePath(id), flow, (e) => events.push(e), m.options);
    return c.json({ flow: result.flow, events, end: result.end, segments: result.segments });
  });

  app.get("/v1/captures/:id/flows/:uid/pcap", function flowPcap(c) {
    const id = c.req.param("id");
    const { m, flow } = flowOf(id, c.req.param("uid"), c.get("tenant"));
    const frames: number[] = [];
    traceFlow(store.capturePath(id), flow, (e) => frames.push(e.frame), m.options);
    const out = join(store.dir, id, `extract-${process.pid}-${Date.now()}.pcap`);
    try {
      extractFrames(store.capturePath(id), frames, out);
      const bytes = readFileSync(out);
      return c.body(bytes, 200, {
        "content-type": "application/vnd.tcpdump.pcap",
        "content-disposition": `attachment; filename="${flow.uid}.pcap"`,
        "content-length": String(statSync(out).size),
      });
    } finally {
      rmSync(out, { force: true });
    }
  });

  return app;
}
