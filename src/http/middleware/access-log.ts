/**
 * @module
 * One access-log line per request, written when the response has been sent (a streamed body: when
 * its last byte was taken, or the client went away): method, route pattern, status, request body
 * bytes read, response body bytes sent, duration, tenant, client address, and the error code of
 * an error response. `msg` is "request"; 5xx lines are at level error, 4xx at warn.
 */

import type { MiddlewareHandler } from "hono";
import type { ApiEnv } from "../body.js";
import type { Logger } from "../log.js";
import { routeOf } from "./request-metrics.js";

/** Passes `body` through unchanged, counting its bytes; `done` runs once when it ends or is cancelled. */
function counted(
  body: ReadableStream<Uint8Array>,
  done: (bytes: number, outcome: "complete" | "aborted") => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let bytes = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const r = await reader.read();
          if (r.done) {
            controller.close();
            done(bytes, "complete");
          } else {
            bytes += r.value.byteLength;
            controller.enqueue(r.value);
          }
        } catch (e) {
          controller.error(e);
          done(bytes, "aborted");
        }
      },
      cancel(reason) {
        done(bytes, "aborted");
        return reader.cancel(reason);
      },
    },
    // Pull only when the server reads: the source's own backpressure stays as it was.
    { highWaterMark: 0 },
  );
}

export function accessLog(log: Logger): MiddlewareHandler<ApiEnv> {
  return async function accessLog(c, next) {
    const start = performance.now();
    c.set("bytesIn", 0);
    await next();
    const res = c.res;
    let logged = false;
    const write = (bytesOut: number, outcome: "complete" | "aborted"): void => {
      if (logged) return;
      logged = true;
      const line = {
        method: c.req.method,
        route: routeOf(c),
        path: c.req.path,
        status: res.status,
        bytes_in: c.get("bytesIn"),
        bytes_out: bytesOut,
        duration_ms: Math.round((performance.now() - start) * 1000) / 1000,
        tenant: c.get("tenant") ?? null,
        remote: c.env?.incoming?.socket?.remoteAddress ?? null,
        ...(c.get("errorCode") !== undefined ? { error_code: c.get("errorCode") } : {}),
        ...(outcome === "aborted" ? { aborted: true } : {}),
      };
      if (res.status >= 500) log.error(line, "request");
      else if (res.status >= 400) log.warn(line, "request");
      else log.info(line, "request");
    };
    if (res.body === null) {
      write(0, "complete");
      return;
    }
    c.res = new Response(counted(res.body, write), res);
  };
}
