/**
 * @module
 * Optional bearer-token auth (RFC 6750): when a token is configured, a request needs
 * `Authorization: Bearer <token>`; otherwise it gets 401 with a `WWW-Authenticate` challenge.
 * Tokens are compared in constant time.
 */

import type { MiddlewareHandler } from "hono";
import { createHash, timingSafeEqual } from "node:crypto";
import { ApiError } from "../errors.js";

const digest = (s: string): Buffer => createHash("sha256").update(s).digest();

/**
 * @param token the expected token; `undefined` turns the check off.
 * @example
 * ```ts
 * app.use("/v1/*", bearerAuth(process.env.FLOWRECON_TOKEN));
 * ```
 */
export function bearerAuth(token: string | undefined): MiddlewareHandler {
  const expected = token === undefined ? undefined : digest(token);
  return async function bearerAuth(c, next) {
    if (expected === undefined) return next();
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    // Hashing both sides first makes the comparison constant-time whatever the lengths.
    if (match === null || !timingSafeEqual(digest(match[1]), expected)) {
      throw new ApiError(401, "unauthorized", match === null ? "this server needs Authorization: Bearer <token>" : "the bearer token is not valid", {
        headers: { "www-authenticate": match === null ? 'Bearer realm="flowrecon"' : 'Bearer realm="flowrecon", error="invalid_token"' },
      });
    }
    return next();
  };
}
