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
import { finished } from "node:stream";
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
 * Where a body's bytes come from: the Node request, read in paused mode as its own async iterator
 * reads it, or a web stream (in-process requests).
 */
interface BodySource {
  /** The bytes buffered now, or null when none are. */
  read(): Uint8Array | null;
  /** Whether `read` has something, or the body ended or failed. */
  ready(): boolean;
  /** The body was read to its end. */
  readonly ended: boolean;
  /** The stream's failure (the client left mid-body), once there is one. */
  readonly error: unknown;
  /** Calls `wake` (once) when bytes, the end or a failure may have come. */
  watch(wake: () => void): void;
  /** Stops reading and leaves the stream open (the adapter drains the rest). */
  release(): void;
  /** Gives up on a body that is too slow (a web stream is cancelled). */
  abandon(): void;
}

/** The Node request, as `incoming.iterator({ destroyOnReturn: false })` reads it, less a promise per chunk. */
class IncomingSource implements BodySource {
  ended = false;
  error: unknown = undefined;
  #wake: (() => void) | null = null;
  /**
   * 'readable' came since `read` last found nothing: bytes, or the end, which the stream emits
   * ('end', then `ended`) only once `read` has found nothing after it.
   */
  #signalled = false;
  readonly #incoming: IncomingMessage;
  readonly #cleanup: () => void;
  readonly #onReadable = (): void => {
    this.#signalled = true;
    this.#notify();
  };
  readonly #notify = (): void => {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  };

  constructor(incoming: IncomingMessage) {
    this.#incoming = incoming;
    incoming.on("readable", this.#onReadable);
    this.#cleanup = finished(incoming, { writable: false }, (err) => {
      if (err) this.error = err;
      else this.ended = true;
      this.#notify();
    });
  }

  read(): Uint8Array | null {
    const chunk = this.#incoming.destroyed ? null : (this.#incoming.read() as Uint8Array | null);
    if (chunk === null) this.#signalled = false;
    return chunk;
  }

  ready(): boolean {
    return this.#signalled || this.#incoming.readableLength > 0 || this.ended || this.error !== undefined;
  }

  watch(wake: () => void): void {
    this.#wake = wake;
  }

  release(): void {
    this.#wake = null;
    this.#incoming.off("readable", this.#onReadable);
    this.#cleanup();
  }

  abandon(): void {
    // A timed-out client gets its 408, then the adapter's drain closes the connection.
  }
}

/** A web stream's reader, read one chunk ahead when waited on. */
class WebSource implements BodySource {
  ended = false;
  error: unknown = undefined;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #queue: Uint8Array[] = [];
  #pending = false;
  #abandoned = false;
  #wake: (() => void) | null = null;

  constructor(body: ReadableStream<Uint8Array>) {
    this.#reader = body.getReader();
  }

  read(): Uint8Array | null {
    return this.#queue.shift() ?? null;
  }

  ready(): boolean {
    return this.#queue.length > 0 || this.ended || this.error !== undefined;
  }

  watch(wake: () => void): void {
    this.#wake = wake;
    if (this.#pending || this.ready()) return;
    this.#pending = true;
    this.#reader.read().then(
      (r) => {
        this.#pending = false;
        if (r.done) this.ended = true;
        else this.#queue.push(r.value);
        this.#notify();
      },
      (e: unknown) => {
        this.#pending = false;
        this.error = e;
        this.#notify();
      },
    );
  }

  release(): void {
    this.#wake = null;
    if (this.#abandoned) return;
    try {
      this.#reader.releaseLock();
    } catch {
      // A read still pending: it ends with the connection.
    }
  }

  abandon(): void {
    this.#abandoned = true;
    this.#reader.cancel().catch(() => {});
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}

/**
 * A request body as it arrives, at most `limit` bytes in all (413 beyond), under the slow-body
 * timeouts (408): `take` gives the bytes buffered now without waiting, `wait` waits for more under
 * the idle deadline and the end of the current rate window; or chunk by chunk as an async
 * iterator. On a timeout the source is abandoned and 408 thrown. `return` (a `break`, an error)
 * leaves the Node stream open, so the response can still be written; the rest of the body is then
 * drained by the server adapter (which gives up after 500 ms and closes the connection).
 *
 * An upload's main thread reads a body of many MB this way (issue 10): per chunk, no promise when
 * bytes are buffered and one when it waits for them, and one timer for the whole body. A deadline
 * only moves later from one wait to the next (the idle one starts again, the window's waiting time
 * only grows), so a timer armed for an earlier wait fires early, never late: the waiting one then
 * checks both deadlines again and re-arms it for what is left.
 */
export class BodyReader implements AsyncIterableIterator<Uint8Array> {
  #total = 0;
  #windowWaitMs = 0;
  #windowBytes = 0;
  /** Waiting time of the last wait not yet charged to a rate window (charged with the bytes it brought). */
  #waitedMs = 0;
  #timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires (performance.now() ms). */
  #deadline = Number.POSITIVE_INFINITY;
  /** Wakes the wait under way, if any, when the timer fires or the reader is interrupted. */
  #ring: (() => void) | null = null;
  #released = false;
  /** Why the consumer gave up waiting ({@link interrupt}). */
  #interrupted: Error | null = null;

  constructor(
    readonly c: ApiContext,
    readonly limit: number,
    readonly what: string,
    readonly limits: BodyTimeouts,
    readonly source: BodySource | null,
  ) {}

  /** The bytes buffered now, checked and counted: [] when none are (then {@link wait}), null at the end. */
  take(): Uint8Array[] | null {
    const out: Uint8Array[] = [];
    for (let chunk = this.#chunk(); chunk !== null; chunk = this.#chunk()) out.push(chunk);
    if (out.length === 0 && this.#over()) return null;
    return out;
  }

  /** Resolves once {@link take} has something (bytes, the end); throws 408 when the client is too slow meanwhile. */
  async wait(): Promise<void> {
    const source = this.source;
    if (source === null || this.#released || source.ready()) return;
    const { bodyIdleTimeoutMs: idleMs, minBodyRate, bodyRateWindowMs: windowMs } = this.limits;
    const start = performance.now();
    // Waiting time of this wait already charged to a rate window.
    let charged = 0;
    try {
      for (;;) {
        if (this.#interrupted !== null) throw this.#interrupted;
        const waited = performance.now() - start;
        if (source.ready()) {
          // Charged with the bytes it brought (#chunk), as a read that got them.
          this.#waitedMs = waited - charged;
          return;
        }
        const idleLeft = idleMs > 0 ? idleMs - waited : Infinity;
        const windowLeft =
          minBodyRate > 0 && windowMs > 0 ? windowMs - this.#windowWaitMs - (waited - charged) : Infinity;
        if (idleLeft <= 0 && idleLeft <= windowLeft) {
          throw this.#fail(
            tooSlow(`no request body bytes for ${idleMs / 1000} s; the body must keep arriving`, {
              idle_timeout_s: idleMs / 1000,
            }),
          );
        }
        if (windowLeft <= 0) {
          // The rate window filled while waiting: judged on what it brought (throws when too little).
          this.#account(0, waited - charged);
          charged = waited;
          continue;
        }
        const delay = Math.min(idleLeft, windowLeft);
        if (delay !== Infinity) this.#arm(delay);
        await new Promise<void>((wake) => {
          this.#ring = wake;
          source.watch(wake);
        });
        this.#ring = null;
      }
    } catch (e) {
      this.#stopTimer();
      throw e;
    }
  }

  /**
   * Makes the wait under way, and every later one, throw `e` (the work the body feeds failed):
   * without it a wait would last until the client sent more, or its deadline.
   */
  interrupt(e: Error): void {
    this.#interrupted ??= e;
    this.#ring?.();
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    for (;;) {
      const chunk = this.#chunk();
      if (chunk !== null) return { done: false, value: chunk };
      if (this.#over()) return { done: true, value: undefined };
      await this.wait();
    }
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    this.#release();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** One chunk buffered now, checked and counted, or null. */
  #chunk(): Uint8Array | null {
    const chunk = this.#released ? null : (this.source?.read() ?? null);
    if (chunk === null) return null;
    this.#total += chunk.length;
    this.c.set("bytesIn", (this.c.get("bytesIn") ?? 0) + chunk.length);
    if (this.#total > this.limit) {
      this.#release();
      throw tooLarge(this.limit, this.what);
    }
    this.#account(chunk.length, this.#waitedMs);
    this.#waitedMs = 0;
    return chunk;
  }

  /** Nothing more comes: the end (the reader is released), or the stream's failure (thrown). */
  #over(): boolean {
    const source = this.source;
    if (source === null || this.#released) return true;
    if (source.error !== undefined) {
      this.#release();
      throw source.error;
    }
    if (!source.ended) return false;
    this.#release();
    return true;
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
    this.source?.abandon();
    this.#release();
    return e;
  }

  /** Arms the timer to fire in `delay` ms, unless it fires before that already. */
  #arm(delay: number): void {
    const at = performance.now() + Math.max(0, delay);
    if (this.#timer !== undefined && this.#deadline <= at) return;
    clearTimeout(this.#timer);
    this.#deadline = at;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#deadline = Number.POSITIVE_INFINITY;
        this.#ring?.();
      },
      Math.max(0, delay),
    );
    this.#timer.unref();
  }

  #stopTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#deadline = Number.POSITIVE_INFINITY;
    this.#ring = null;
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#stopTimer();
    this.source?.release();
  }
}

/** Throws 413 when the request declares a Content-Length above `limit`. */
export function checkDeclaredLength(c: ApiContext, limit: number, what: string): void {
  const declared = c.req.header("content-length");
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit, what);
}

/**
 * The body's chunks as they arrive, at most `limit` bytes in all (413 beyond), under the slow-body
 * timeouts (408): see {@link BodyReader}.
 */
export function bodyChunks(c: ApiContext, limit: number, what: string, timeouts: BodyTimeouts): BodyReader {
  checkDeclaredLength(c, limit, what);
  const incoming = c.env?.incoming;
  let source: BodySource | null;
  if (incoming !== undefined && typeof incoming.read === "function") source = new IncomingSource(incoming);
  else {
    const body = c.req.raw.body;
    source = body === null ? null : new WebSource(body);
  }
  return new BodyReader(c, limit, what, timeouts, source);
}

/**
 * Holds the first chunks of a body until `n` bytes have come or the body ended, reserving them as
 * they arrive: an upload commits an engine (24 MiB) only once it has sent `n` bytes or all of
 * itself, so a client that trickles holds what it sent, not an engine. `chunks` replays the held
 * chunks, then the rest; the reservation is given back when the replay starts (the consumer then
 * accounts for what it keeps), or by `drop()` when the body is not wanted after all.
 */
export async function gather(
  source: BodyReader,
  n: number,
  reservation: Reservation,
): Promise<{
  held: readonly Uint8Array[];
  bytes: number;
  ended: boolean;
  chunks: ChunkSource;
  drop(): Promise<void>;
}> {
  const held: Uint8Array[] = [];
  let bytes = 0;
  let ended = false;
  try {
    while (bytes < n) {
      const r = await source.next();
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
    await source.return();
    throw e;
  }
  const drop = async (): Promise<void> => {
    reservation.release();
    held.length = 0;
    await source.return();
  };
  return { held, bytes, ended, chunks: new Replay(held, ended, source, reservation), drop };
}

/** A body's chunks that can also be taken as they are buffered (see {@link BodyReader.take}). */
export interface ChunkSource extends AsyncIterableIterator<Uint8Array> {
  take(): Uint8Array[] | null;
  wait(): Promise<void>;
  interrupt(e: Error): void;
  return(): Promise<IteratorResult<Uint8Array>>;
}

/** {@link gather}'s held chunks, then the rest of the body; the reservation is given back when the replay starts. */
class Replay implements ChunkSource {
  #started = false;
  constructor(
    readonly held: Uint8Array[],
    readonly ended: boolean,
    readonly rest: BodyReader,
    readonly reservation: Reservation,
  ) {}

  take(): Uint8Array[] | null {
    this.#start();
    if (this.held.length > 0) return this.held.splice(0);
    return this.ended ? null : this.rest.take();
  }

  async wait(): Promise<void> {
    if (this.held.length === 0 && !this.ended) await this.rest.wait();
  }

  interrupt(e: Error): void {
    this.rest.interrupt(e);
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    this.#start();
    const chunk = this.held.shift();
    if (chunk !== undefined) return { done: false, value: chunk };
    return this.ended ? { done: true, value: undefined } : this.rest.next();
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    this.held.length = 0;
    return this.rest.return();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #start(): void {
    if (this.#started) return;
    this.#started = true;
    this.reservation.release();
  }
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
