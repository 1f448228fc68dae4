/**
 * @module
 * Every API error is JSON, `{"error": {"code", "message", "offset"?}}`, with the status that says
 * what went wrong (415 unknown content type, 400 malformed body, 413/429/503 limits, 422 damaged
 * capture, 404 unknown session). Handlers throw {@link ApiError}; `app.onError` renders it.
 */

import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { EngineFault } from "../wasm/engine.js";
import type { ApiEnv } from "./body.js";
import type { Logger } from "./log.js";

/** The `error` member of every error body. */
export interface ErrorBody {
  code: string;
  message: string;
  /** Byte offset in the request body (capture damage, JSON syntax) where the problem is. */
  offset?: number;
  [extra: string]: unknown;
}

/** An error with its HTTP status and a stable `code`; extra members go into the `error` object. */
export class ApiError extends HTTPException {
  readonly code: string;
  readonly body: ErrorBody;
  /** More top-level members of the response (e.g. partial `flows` and `stats` with a 422). */
  readonly extra: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(
    status: ContentfulStatusCode,
    code: string,
    message: string,
    options: {
      offset?: number;
      details?: Record<string, unknown>;
      extra?: Record<string, unknown>;
      headers?: Record<string, string>;
      cause?: unknown;
    } = {},
  ) {
    super(status, { message, cause: options.cause });
    this.name = "ApiError";
    this.code = code;
    this.body = {
      code,
      message,
      ...(options.offset !== undefined ? { offset: options.offset } : {}),
      ...options.details,
    };
    this.extra = options.extra;
    this.headers = options.headers;
  }

  override getResponse(): Response {
    return jsonErrorResponse(this.status as ContentfulStatusCode, this.body, this.extra, this.headers);
  }
}

export function jsonErrorResponse(
  status: ContentfulStatusCode,
  body: ErrorBody,
  extra?: Record<string, unknown>,
  headers?: Record<string, string>,
): Response {
  return new Response(JSON.stringify({ error: body, ...extra }), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

/** Codes for statuses Hono itself raises (and for anything else that is not an ApiError). */
const STATUS_CODES: Partial<Record<number, string>> = {
  400: "bad_request",
  401: "unauthorized",
  404: "not_found",
  405: "method_not_allowed",
  413: "payload_too_large",
  415: "unsupported_media_type",
  500: "internal_error",
  503: "unavailable",
};

/** The request body broke off because the client went away (Node: "aborted", ECONNRESET). */
function clientGone(err: Error, c: Context): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  if (
    err.name === "ClientGoneError" ||
    err.name === "ResponseStalledError" ||
    code === "ECONNRESET" ||
    code === "ERR_STREAM_PREMATURE_CLOSE"
  )
    return true;
  const incoming = (c.env as { incoming?: { destroyed?: boolean; readableAborted?: boolean } } | undefined)?.incoming;
  return (
    err.message === "aborted" &&
    incoming !== undefined &&
    (incoming.destroyed === true || incoming.readableAborted === true)
  );
}

/**
 * `app.onError`: ApiError as is; other HTTPExceptions by status; engine faults and bugs as 500,
 * logged with their code and stack. The code is also left on the context for the access log.
 */
export function errorHandler(log: Logger): (err: Error, c: Context<ApiEnv>) => Response {
  return function handleError(err, c) {
    const respond = (status: ContentfulStatusCode, body: ErrorBody): Response => {
      c.set("errorCode", body.code);
      return jsonErrorResponse(status, body);
    };
    if (err instanceof ApiError) {
      c.set("errorCode", err.code);
      return err.getResponse();
    }
    if (err instanceof HTTPException) {
      const status = err.status as ContentfulStatusCode;
      return respond(status, {
        code: STATUS_CODES[status] ?? `http_${status}`,
        message: err.message || "request failed",
      });
    }
    if (clientGone(err, c)) {
      // Nobody reads this answer; not a server problem, so no error line (the access line says it).
      return respond(400, {
        code: "client_closed_request",
        message: "the client closed the connection before the request was complete",
      });
    }
    if (err instanceof EngineFault) {
      log.error({ code: "engine_fault", method: c.req.method, path: c.req.path, err }, "engine fault");
      return respond(500, {
        code: "engine_fault",
        message: `the engine failed on this input (a flowrecon bug): ${err.message}`,
      });
    }
    log.error({ code: "internal_error", method: c.req.method, path: c.req.path, err }, "internal error");
    return respond(500, { code: "internal_error", message: "internal error (a flowrecon bug); see the server log" });
  };
}

/**
 * `app.notFound` for an app with these routes: 405 with an `Allow` header (RFC 9110 §15.5.6) when
 * the path is a route's and only the method is wrong, else 404.
 */
export function notFound(routes: () => readonly { method: string; path: string }[]): (c: Context<ApiEnv>) => Response {
  let table: { pattern: RegExp; method: string }[] | undefined;
  return function notFound(c) {
    table ??= routes()
      .filter((r) => r.method !== "ALL")
      .map((r) => ({
        method: r.method,
        pattern: new RegExp("^" + r.path.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/:[A-Za-z_]+/g, "[^/]+") + "$"),
      }));
    const allowed = new Set(table.filter((r) => r.pattern.test(c.req.path)).map((r) => r.method));
    if (allowed.size > 0) {
      if (allowed.has("GET")) allowed.add("HEAD");
      const allow = [...allowed].sort().join(", ");
      c.set("errorCode", "method_not_allowed");
      return jsonErrorResponse(
        405,
        {
          code: "method_not_allowed",
          message: `${c.req.method} is not allowed on ${c.req.path}; use ${allow}`,
          allowed: [...allowed].sort(),
        },
        undefined,
        { allow },
      );
    }
    c.set("errorCode", "not_found");
    return jsonErrorResponse(404, { code: "not_found", message: `no route for ${c.req.method} ${c.req.path}` });
  };
}
