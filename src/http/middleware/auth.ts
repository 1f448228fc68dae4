/**
 * @module
 * Optional bearer-token auth (RFC 6750): when tokens are configured, a request needs
 * `Authorization: Bearer <token>`; otherwise it gets 401 with a `WWW-Authenticate` challenge.
 * Each token names a tenant (FLOWRECON_TOKENS; FLOWRECON_TOKEN is tenant "default"), set on the
 * request as `tenant` for the routes that keep tenants apart (sessions). Tokens are compared in
 * constant time, every one of them on every request.
 */

import type { MiddlewareHandler } from "hono";
import { createHash, timingSafeEqual } from "node:crypto";
import { ApiError } from "../errors.js";
import type { ApiEnv } from "../body.js";

const digest = (s: string): Buffer => createHash("sha256").update(s).digest();

/**
 * @param tenants token by tenant name; none turns the check off (every request's tenant is undefined).
 * @example
 * ```ts
 * app.use("/v1/*", bearerAuth({ tenantA: "token1", tenantB: "token2" }));
 * ```
 */
export function bearerAuth(tenants: Readonly<Record<string, string>>): MiddlewareHandler<ApiEnv> {
  const expected = Object.entries(tenants).map(([tenant, token]) => ({ tenant, hash: digest(token) }));
  return async function bearerAuth(c, next) {
    if (expected.length === 0) return next();
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    // Hashing both sides first makes each comparison constant-time whatever the lengths.
    let tenant: string | undefined;
    if (match !== null) {
      const presented = digest(match[1]);
      for (const e of expected) if (timingSafeEqual(presented, e.hash) && tenant === undefined) tenant = e.tenant;
    }
    if (tenant === undefined) {
      throw new ApiError(
        401,
        "unauthorized",
        match === null ? "this server needs Authorization: Bearer <token>" : "the bearer token is not valid",
        {
          headers: {
            "www-authenticate":
              match === null ? 'Bearer realm="flowrecon"' : 'Bearer realm="flowrecon", error="invalid_token"',
          },
        },
      );
    }
    c.set("tenant", tenant);
    return next();
  };
}
