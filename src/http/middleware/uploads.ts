/**
 * @module
 * At most `max` uploads at once from one client address (issue 11: 130 slow uploads from one host
 * took the whole memory budget). The address is the TCP peer's (behind a proxy, the proxy's:
 * give the proxy its own limits). Requests without a socket (in-process `app.request()`) are not
 * counted. Beyond the limit: 429 `too_many_uploads`.
 */

import type { MiddlewareHandler } from "hono";
import { ApiError } from "../errors.js";
import type { ApiEnv } from "../body.js";

export function uploadsPerClient(max: number, onReject: () => void): MiddlewareHandler<ApiEnv> {
  const running = new Map<string, number>();
  return async function uploadsPerClient(c, next) {
    const incoming = c.env?.incoming;
    const address = incoming?.socket?.remoteAddress;
    if (incoming === undefined || address === undefined || max <= 0) return next();
    const n = running.get(address) ?? 0;
    if (n >= max) {
      onReject();
      throw new ApiError(
        429,
        "too_many_uploads",
        `${n} uploads from ${address} are running, the limit is ${max} per client: wait for one to finish`,
        {
          details: { limit: max },
          headers: { "retry-after": "1", connection: "close" },
        },
      );
    }
    running.set(address, n + 1);
    // An upload runs until its body is read or dropped (a streamed answer may start before).
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      const left = (running.get(address) ?? 1) - 1;
      if (left === 0) running.delete(address);
      else running.set(address, left);
    };
    if (incoming.closed) release();
    else incoming.once("close", release);
    await next();
  };
}
