/**
 * @module
 * Request bodies as chunks, never as one buffer (assemblyscript-performance.md §3.4): the Node
 * request stream when the app runs under `@hono/node-server` (`c.env.incoming`, the fastest path),
 * else the web stream of `c.req.raw.body` (in-process `app.request()` tests). The size limit is
 * enforced while streaming (Hono's bodyLimit would buffer chunked bodies whole): a declared
 * Content-Length over the limit is refused before reading, a chunked body when it crosses the limit.
 *
 * Slow bodies (issue 11: a body trickled at 1 byte per 100 ms held an engine for 300 s) get 408:
 * after `bodyIdleTimeoutMs` without a byte, or when a window of `bodyRateWindowMs` spent waiting
 * for the client brings less than `minBodyRate` bytes per second (the rule of Apache's
 * mod_reqtimeout MinRate). Only time spent waiting for the client counts: a body the server reads
 * slowly (engine busy, response backpressure) is never the client's fault.
 */

import type { Context } from "hono";
import type { IncomingMessage } from "node:http";
import { ApiError } from "./errors.js";
import type { Reservation } from "./memory.js";
import type { ApiConfig } from "./config.js";

export type Bindings = { incoming?: IncomingMessage };
/** Per-request values: the tenant the bearer token named (undefined when the server has no tokens). */
export type Variables = {
  tenant: string | undefined;
  /** Request body bytes read so far (for the access log). */
  bytesIn: number;
  /** The `code` of the error response, once there is one (for the access log). */
  errorCode: string | undefined;
};
export type ApiEnv = { Bindings: Bindings; Variables: Variables };
export type ApiContext = Context<ApiEnv>;

function tooLarge(limit: number, what: string): ApiError {
  return new ApiError(413, "payload_too_large", `the ${what} is larger than the ${limit}-byte limit`, {
    details: { limit },
    headers: { connection: "close" },
  });
}

/** The settings that bound how slowly a client may send a body. */
export type BodyTimeouts = Pick<ApiConfig, "bodyIdleTimeoutMs" | "minBodyRate" | "bodyRateWindowMs">;

function tooSlow(message: string, details: Record<string, unknown>): ApiError {
  return new ApiError(408, "body_timeout", message, { details, headers: { connection: "close" } });
}

/**
 * Waits for the client's chunks under {@link BodyTimeouts}: `next()` is raced against the idle
 * deadline and the end of the current rate window. On a timeout `abandon` is called (the pending
 * read is left to fail when the connection closes) and 408 thrown.
 */
class PacedReader {
  #windowWaitMs = 0;
  #windowBytes = 0;
  constructor(
    readonly read: () => Promise<IteratorResult<Uint8Array>>,
    readonly limits: BodyTimeouts,
    readonly abandon: () => void,
  ) {}

  async next(): Promise<IteratorResult<Uint8Array>> {
    const { bodyIdleTimeoutMs: idleMs, minBodyRate, bodyRateWindowMs: windowMs } = this.limits;
    const start = performance.now();
    // Waiting time of this read already charged to a rate window.
    let charged = 0;
    const charge = (bytes: number): void => {
      const waited = performance.now() - start;
      this.#account(bytes, waited - charged);
      charged = waited;
    };
    const pending = this.read();
    const fired = Symbol("timer");
    let timer: NodeJS.Timeout | undefined;
    try {
      for (;;) {
        const waited = performance.now() - start;
        const idleLeft = idleMs > 0 ? idleMs - waited : Infinity;
        const windowLeft =
          minBodyRate > 0 && windowMs > 0 ? windowMs - this.#windowWaitMs - (waited - charged) : Infinity;
        const delay = Math.min(idleLeft, windowLeft);
        const r =
          delay === Infinity
            ? await pending
            : await Promise.race([
                pending,
                new Promise<typeof fired>((resolve) => (timer = setTimeout(() => resolve(fired), Math.max(0, delay)))),
              ]);
        clearTimeout(timer);
        if (r !== fired) {
          if (!r.done) charge(r.value.length);
          return r;
        }
        if (idleLeft <= windowLeft) {
          throw this.#fail(
            tooSlow(`no request body bytes for ${idleMs / 1000} s; the body must keep arriving`, {
              idle_timeout_s: idleMs / 1000,
            }),
          );
        }
        // The rate window filled while waiting: judged on what it brought (throws when too little).
        charge(0);
      }
    } catch (e) {
      clearTimeout(timer);
      pending.catch(() => {});
      throw e;
    }
  }

  /** Adds `bytes` that arrived after `waitedMs` of waiting; closes the window once it is full. */
  #account(bytes: number, waitedMs: number): void {
    this.#windowBytes += bytes;
    this.#windowWaitMs += waitedMs;
    const { minBodyRate, bodyRateWindowMs: windowMs } = this.limits;
    if (minBodyRate <= 0 || windowMs <= 0 || this.#windowWaitMs < windowMs) return;
    if ((this.#windowBytes * 1000) / this.#windowWaitMs < minBodyRate) throw this.#fail(this.#slow());
    this.#windowWaitMs = 0;
    this.#windowBytes = 0;
  }

  #slow(): ApiError {
    const rate = Math.round((this.#windowBytes * 1000) / Math.max(1, this.#windowWaitMs));
    return tooSlow(
      `the request body arrives at ${rate} bytes/s, below the minimum of ${this.limits.minBodyRate} bytes/s`,
      { min_rate: this.limits.minBodyRate, rate },
    );
  }

  #fail(e: ApiError): ApiError {
    this.abandon();
    return e;
  }
}

/** Throws 413 when the request declares a Content-Length above `limit`. */
export function checkDeclaredLength(c: ApiContext, limit: number, what: string): void {
  const declared = c.req.header("content-length");
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit, what);
}

/**
 * The body's chunks as they arrive, at most `limit` bytes in all (413 beyond), under the slow-body
 * timeouts (408). Stopping early (a `break`, an error) leaves the Node stream open, so the response
 * can still be written; the rest of the body is then drained by the server adapter (which gives up
 * after 500 ms and closes the connection).
 */
export async function* bodyChunks(
  c: ApiContext,
  limit: number,
  what: string,
  timeouts: BodyTimeouts,
): AsyncGenerator<Uint8Array> {
  checkDeclaredLength(c, limit, what);
  let total = 0;
  const incoming = c.env?.incoming;
  let reader: PacedReader;
  let release = (): void => {};
  if (incoming !== undefined && typeof incoming.iterator === "function") {
    const it = (incoming.iterator({ destroyOnReturn: false }) as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    // A timed-out client gets its 408, then the adapter's drain closes the connection.
    reader = new PacedReader(
      () => it.next(),
      timeouts,
      () => {},
    );
    // Detaches the iterator (after a pending read, if any) and leaves the stream open.
    release = () => void it.return?.()?.catch(() => {});
  } else {
    const body = c.req.raw.body;
    if (body === null) return;
    const webReader = body.getReader();
    let abandoned = false;
    reader = new PacedReader(
      () => webReader.read() as Promise<IteratorResult<Uint8Array>>,
      timeouts,
      () => {
        abandoned = true;
        webReader.cancel().catch(() => {});
      },
    );
    release = () => {
      if (!abandoned) webReader.releaseLock();
    };
  }
  try {
    for (;;) {
      const { done, value } = await reader.next();
      if (done) return;
      total += value.length;
      c.set("bytesIn", (c.get("bytesIn") ?? 0) + value.length);
      if (total > limit) throw tooLarge(limit, what);
      yield value;
    }
  } finally {
    release();
  }
}

/**
 * Holds the first chunks of a body until `n` bytes have come or the body ended, reserving them as
 * they arrive: an upload commits an engine (24 MiB) only once it has sent `n` bytes or all of
 * itself, so a client that trickles holds what it sent, not an engine. `chunks` replays the held
 * chunks, then the rest; the reservation is given back when the replay starts (the consumer then
 * accounts for what it keeps), or by `drop()` when the body is not wanted after all.
 */
export async function gather(
  source: AsyncIterable<Uint8Array>,
  n: number,
  reservation: Reservation,
): Promise<{
  held: readonly Uint8Array[];
  bytes: number;
  ended: boolean;
  chunks: AsyncIterable<Uint8Array>;
  drop(): Promise<void>;
}> {
  const it = source[Symbol.asyncIterator]();
  const held: Uint8Array[] = [];
  let bytes = 0;
  let ended = false;
  try {
    while (bytes < n) {
      const r = await it.next();
      if (r.done) {
        ended = true;
        break;
      }
      reservation.add(r.value.length);
      held.push(r.value);
      bytes += r.value.length;
    }
  } catch (e) {
    reservation.release();
    await it.return?.();
    throw e;
  }
  async function* all(): AsyncGenerator<Uint8Array> {
    reservation.release();
    yield* held.splice(0);
    if (ended) return;
    yield* { [Symbol.asyncIterator]: () => it };
  }
  const drop = async (): Promise<void> => {
    reservation.release();
    held.length = 0;
    await it.return?.();
  };
  return { held, bytes, ended, chunks: all(), drop };
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
