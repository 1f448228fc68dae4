/**
 * @module
 * Request bodies as chunks, never as one buffer (assemblyscript-performance.md §3.4): the Node
 * request stream when the app runs under `@hono/node-server` (`c.env.incoming`, the fastest path),
 * else the web stream of `c.req.raw.body` (in-process `app.request()` tests). The size limit is
 * enforced while streaming (Hono's bodyLimit would buffer chunked bodies whole): a declared
 * Content-Length over the limit is refused before reading, a chunked body when it crosses the limit.
 */

import type { Context } from "hono";
import type { IncomingMessage } from "node:http";
import { ApiError } from "./errors.js";
import type { Reservation } from "./memory.js";

export type Bindings = { incoming?: IncomingMessage };
export type ApiContext = Context<{ Bindings: Bindings }>;

function tooLarge(limit: number, what: string): ApiError {
  return new ApiError(413, "payload_too_large", `the ${what} is larger than the ${limit}-byte limit`, {
    details: { limit },
    headers: { connection: "close" },
  });
}

/** Throws 413 when the request declares a Content-Length above `limit`. */
export function checkDeclaredLength(c: ApiContext, limit: number, what: string): void {
  const declared = c.req.header("content-length");
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit, what);
}

/**
 * The body's chunks as they arrive, at most `limit` bytes in all (413 beyond). Stopping early (a
 * `break`, an error) leaves the Node stream open, so the response can still be written; the rest
 * of the body is then drained by the server adapter.
 */
export async function* bodyChunks(c: ApiContext, limit: number, what = "request body"): AsyncGenerator<Uint8Array> {
  checkDeclaredLength(c, limit, what);
  let total = 0;
  const incoming = c.env?.incoming;
  if (incoming !== undefined && typeof incoming.iterator === "function") {
    for await (const chunk of incoming.iterator({ destroyOnReturn: false }) as AsyncIterable<Uint8Array>) {
      total += chunk.length;
      if (total > limit) throw tooLarge(limit, what);
      yield chunk;
    }
    return;
  }
  const body = c.req.raw.body;
  if (body === null) return;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      total += value.length;
      if (total > limit) throw tooLarge(limit, what);
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** The first `n` bytes of a chunk stream (fewer if it ends) and the whole stream again from byte 0. */
export async function peek(source: AsyncIterable<Uint8Array>, n: number): Promise<{ head: Uint8Array; chunks: AsyncIterable<Uint8Array> }> {
  const it = source[Symbol.asyncIterator]();
  const seen: Uint8Array[] = [];
  let have = 0;
  let ended = false;
  while (have < n) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    seen.push(r.value);
    have += r.value.length;
  }
  const head = Buffer.concat(seen).subarray(0, n);
  async function* all(): AsyncGenerator<Uint8Array> {
    yield* seen;
    if (ended) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  return { head, chunks: all() };
}

/**
 * Reads a whole body (segment documents, session batches; the caller bounds it with
 * {@link bodyChunks}' limit), adding each chunk to a memory reservation as it arrives (503 when
 * the budget is spent). Returns the chunks, not one copy; on failure the reservation is released.
 */
export async function readChunks(chunks: AsyncIterable<Uint8Array>, reservation?: Reservation): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  try {
    for await (const chunk of chunks) {
      reservation?.add(chunk.length);
      out.push(chunk);
    }
  } catch (e) {
    reservation?.release();
    throw e;
  }
  return out;
}
