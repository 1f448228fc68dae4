/**
 * @module
 * What the server does with a client that stops taking its answer (response-stream.ts): the
 * settings that bound it, and once it is given up a warn line `response_timeout`, the metric
 * flowrecon_rejected_total{reason="response_timeout"}, and the connection reset (not closed: the
 * kernel would keep the unread bytes for a peer that takes none of them). Every route that sends
 * a large answer paces it through this one guard.
 */
import type { ApiContext } from "./body.js";
import type { AppContext } from "./context.js";
import type { ResponseStreamOptions } from "./response-stream.js";

export function slowReaderGuard(
  ctx: Pick<AppContext, "config" | "metrics" | "log">,
  c: ApiContext,
): ResponseStreamOptions {
  const outgoing = c.env?.outgoing;
  return {
    timeouts: ctx.config,
    socket: outgoing?.socket,
    onStall: (e) => {
      ctx.metrics.rejected.inc({ reason: "response_timeout" });
      ctx.log.warn({ code: "response_timeout", ...e.details, bytes_out: e.bytesOut }, e.message);
      const socket = outgoing?.socket;
      if (socket) socket.resetAndDestroy();
      else outgoing?.destroy();
    },
  };
}
