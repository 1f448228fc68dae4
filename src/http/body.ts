/**
 * @module
 * Request bodies as chunks, never as one buffer (assemblyscript-performance.md §3.4): the Node
 * request stream when the app runs under `@hono/node-server` (`c.env.incoming`, the fastest path),
 * else the web stream of `c.req.raw.body` (in-process `app.request()` tests). The size limit is
 * enforced while streaming (Hono's bodyLimit would buffer chunked bodies whole): a declared
 * Content-Length over the limit is refused before reading, a chunked body when it crosses the limit.
 *
 * A large capture for an engine thread is read past its first MiB by {@link NodeBodyReader}, which
 * copies the Node stream's chunks straight into the batches the thread is sent (issue 10), under
 * the same limits.
 *
 * Slow bodies (issue 11: a body trickled at 1 byte per 100 ms held an engine for 300 s) get 408:
 * after `bodyIdleTimeoutMs` without a byte, or when a window of `bodyRateWindowMs` spent waiting
 * for the client brings less than `minBodyRate` bytes per second (the rule of Apache's
 * mod_reqtimeout MinRate). Only time spent waiting for the client counts: a body the server reads
 * slowly (engine busy, response backpressure) is never the client's fault.
 */

import type { Context } from "hono";
import type { IncomingMessage, ServerResponse } from "node:http";
import { MessageChannel, type MessagePort } from "node:worker_threads";
import { ApiError } from "./errors.js";
import type { Reservation } from "./memory.js";
import type { ApiConfig } from "./config.js";
import { MinRateWindow } from "./min-rate.js";

/** Node's request and response (@hono/node-server); absent for in-process requests (app.request). */
export type Bindings = { incoming?: IncomingMessage; outgoing?: ServerResponse };
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

function idleTimeout(idleMs: number): ApiError {
  return tooSlow(`no request body bytes for ${idleMs / 1000} s; the body must keep arriving`, {
    idle_timeout_s: idleMs / 1000,
  });
}

/** The minimum-rate rule (min-rate.ts) over a body's `bodyRateWindowMs`: its verdict as the 408 to throw. */
class RateWindow {
  readonly #window: MinRateWindow;
  constructor(readonly limits: BodyTimeouts) {
    this.#window = new MinRateWindow(limits.minBodyRate, limits.bodyRateWindowMs);
  }

  /** Waiting time left in the current window (Infinity when there is no minimum rate). */
  leftMs(): number {
    return this.#window.leftMs();
  }

  /**
   * Adds `bytes` that arrived after `waitedMs` of waiting; closes the window once it is full.
   * Returns the 408 to throw when the full window brought too little, else null.
   */
  add(bytes: number, waitedMs: number): ApiError | null {
    const slow = this.#window.add(bytes, waitedMs);
    if (slow === null) return null;
    const { minBodyRate } = this.limits;
    const rate = Math.round(slow);
    return tooSlow(`the request body arrives at ${rate} bytes/s, below the minimum of ${minBodyRate} bytes/s`, {
      min_rate: minBodyRate,
      rate,
    });
  }
}

/**
 * Waits for the client's chunks under {@link BodyTimeouts}: `next()` is raced against the idle
 * deadline and the end of the current rate window. On a timeout `abandon` is called (the pending
 * read is left to fail when the connection closes) and 408 thrown.
 */
class PacedReader {
  readonly #window: RateWindow;
  constructor(
    readonly read: () => Promise<IteratorResult<Uint8Array>>,
    readonly limits: BodyTimeouts,
    readonly abandon: () => void,
  ) {
    this.#window = new RateWindow(limits);
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    const idleMs = this.limits.bodyIdleTimeoutMs;
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
        const windowLeft = this.#window.leftMs() - (waited - charged);
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
          throw this.#fail(idleTimeout(idleMs));
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

  /** Adds `bytes` that arrived after `waitedMs` of waiting (throws 408 when a full window was too slow). */
  #account(bytes: number, waitedMs: number): void {
    const slow = this.#window.add(bytes, waitedMs);
    if (slow !== null) throw this.#fail(slow);
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
 * The rest of a Node request body (after {@link gather}'s opening), copied from the stream's
 * `data` events straight into the caller's buffers, a batch per {@link NodeBodyReader.fill}: no
 * promise, timer or iterator step per chunk, where {@link bodyChunks} spends each of them on every
 * chunk of 64 KiB or less (on a 943 MB upload most of the main thread's time beside the socket's
 * copies). The rules are bodyChunks': at most `limit` bytes in all (413 as soon as more arrived),
 * 408 after `bodyIdleTimeoutMs` without a byte or for a rate window below `minBodyRate`. Only the
 * time a fill waits for the client counts: between fills the stream is paused (the server is
 * busy), and one timer per fill watches the nearer deadline, re-armed when it fires early.
 * A failure (the limits, the connection's error or an early close) rejects the pending fill and
 * every later one; {@link release} leaves the stream open and paused, as bodyChunks does.
 */
export class NodeBodyReader {
  readonly #incoming: IncomingMessage;
  readonly #c: ApiContext;
  readonly #limit: number;
  readonly #what: string;
  readonly #limits: BodyTimeouts;
  readonly #window: RateWindow;
  #total: number;
  #target: Uint8Array | null = null;
  #pos = 0;
  #min = 0;
  /** The fill's early end (see {@link fill}): at least this many bytes, once `#earlyAt` passed. */
  #earlyBytes = Infinity;
  #earlyAt = 0;
  #earlyTimer: NodeJS.Timeout | undefined;
  /** What arrived past the end of the last fill's buffer, for the next fill. */
  #rest: Uint8Array | null = null;
  #ended = false;
  #failure: Error | null = null;
  #resolve: ((n: number) => void) | null = null;
  #reject: ((e: Error) => void) | null = null;
  /** When the fill's waiting time was last charged to the rate window. */
  #mark = 0;
  /** The last byte, or the start of the fill. */
  #activity = 0;
  #timer: NodeJS.Timeout | undefined;
  #released = false;

  /** `total`: the body's bytes read before (counted against `limit`). */
  constructor(
    incoming: IncomingMessage,
    c: ApiContext,
    limit: number,
    what: string,
    limits: BodyTimeouts,
    total: number,
  ) {
    this.#incoming = incoming;
    this.#c = c;
    this.#limit = limit;
    this.#what = what;
    this.#limits = limits;
    this.#window = new RateWindow(limits);
    this.#total = total;
    incoming.pause();
    incoming.on("data", this.#onData);
    incoming.on("end", this.#onEnd);
    incoming.on("error", this.#onError);
    incoming.on("close", this.#onClose);
    if (incoming.readableEnded) this.#ended = true;
    else if (incoming.destroyed) this.#fail(prematureClose());
  }

  /** Whether the body has ended and every byte of it was filled in. */
  get ended(): boolean {
    return this.#ended && this.#rest === null;
  }

  /**
   * Fills `into` from its start; resolves with the count once at least `min` bytes (or all of
   * `into`) are in, or the body ended (0: nothing was left). With `early`, also once
   * `early.bytes` are in and the fill has waited `early.afterMs`: a large fill of a fast body
   * (8 MiB at a time for a sharded upload) does not hold a slow one's bytes back for longer.
   */
  fill(into: Uint8Array, min: number, early?: { bytes: number; afterMs: number }): Promise<number> {
    if (this.#failure !== null) return Promise.reject(this.#failure);
    if (this.#released) return Promise.reject(new Error("body reader used after release"));
    this.#target = into;
    this.#pos = 0;
    this.#min = Math.min(min, into.length);
    const rest = this.#rest;
    this.#rest = null;
    if (rest !== null) this.#copy(rest);
    if (this.#pos >= this.#min || this.#ended) return Promise.resolve(this.#settle());
    return new Promise<number>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      this.#mark = this.#activity = performance.now();
      if (early !== undefined) {
        this.#earlyBytes = early.bytes;
        this.#earlyAt = this.#mark + early.afterMs;
        this.#earlyTimer = setTimeout(this.#onEarly, early.afterMs);
      }
      this.#arm();
      this.#incoming.resume();
    });
  }

  /** Stops reading: the listeners go, the stream stays open and paused; a pending fill never settles. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#earlyTimer);
    this.#resolve = this.#reject = null;
    this.#target = null;
    const incoming = this.#incoming;
    incoming.pause();
    incoming.off("data", this.#onData);
    incoming.off("end", this.#onEnd);
    incoming.off("error", this.#onError);
    incoming.off("close", this.#onClose);
  }

  readonly #onData = (chunk: Uint8Array): void => {
    if (this.#failure !== null) return;
    const now = performance.now();
    this.#total += chunk.length;
    this.#c.set("bytesIn", (this.#c.get("bytesIn") ?? 0) + chunk.length);
    const slow = this.#window.add(chunk.length, this.#target === null ? 0 : now - this.#mark);
    this.#mark = this.#activity = now;
    if (slow !== null) return this.#fail(slow);
    if (this.#total > this.#limit) return this.#fail(tooLarge(this.#limit, this.#what));
    if (this.#target === null) {
      // Arrived while no fill waits (the stream is paused between fills): kept for the next.
      this.#rest = this.#rest === null ? chunk : Buffer.concat([this.#rest, chunk]);
      this.#incoming.pause();
      return;
    }
    if (this.#copy(chunk) && this.#onlyReader()) freeChunk(chunk);
    if (this.#pos >= this.#min || (this.#pos >= this.#earlyBytes && now >= this.#earlyAt)) this.#done();
  };

  /** The early end's time came: the fill ends if it holds enough, else at its next bytes that make it. */
  readonly #onEarly = (): void => {
    this.#earlyTimer = undefined;
    if (this.#resolve !== null && this.#failure === null && this.#pos >= this.#earlyBytes) this.#done();
  };

  readonly #onEnd = (): void => {
    this.#ended = true;
    if (this.#target !== null && this.#resolve !== null) this.#done();
  };

  readonly #onError = (e: Error): void => this.#fail(e);

  readonly #onClose = (): void => {
    if (!this.#ended) this.#fail(prematureClose());
  };

  /** The timer of a waiting fill: fails it at a deadline, else waits for the next one. */
  readonly #onTimer = (): void => {
    this.#timer = undefined;
    if (this.#resolve === null || this.#failure !== null) return;
    const now = performance.now();
    const idleMs = this.#limits.bodyIdleTimeoutMs;
    if (idleMs > 0 && now - this.#activity >= idleMs) return this.#fail(idleTimeout(idleMs));
    if (this.#window.leftMs() <= now - this.#mark) {
      // The rate window filled while waiting: judged on what it brought.
      const slow = this.#window.add(0, now - this.#mark);
      this.#mark = now;
      if (slow !== null) return this.#fail(slow);
    }
    this.#arm();
  };

  #arm(): void {
    const now = performance.now();
    const idleMs = this.#limits.bodyIdleTimeoutMs;
    const idleLeft = idleMs > 0 ? idleMs - (now - this.#activity) : Infinity;
    const delay = Math.min(idleLeft, this.#window.leftMs() - (now - this.#mark));
    if (delay !== Infinity) this.#timer = setTimeout(this.#onTimer, Math.max(0, delay));
  }

  /** Whether a chunk emitted now reaches no reader but this one (no other `data` listener, no `readable` one). */
  #onlyReader(): boolean {
    const incoming = this.#incoming;
    return incoming.listenerCount("data") === 1 && incoming.listenerCount("readable") === 0;
  }

  /** Copies `chunk` into the fill's buffer, the rest of it (none: true) kept for the next fill. */
  #copy(chunk: Uint8Array): boolean {
    const target = this.#target!;
    const n = Math.min(chunk.length, target.length - this.#pos);
    target.set(n === chunk.length ? chunk : chunk.subarray(0, n), this.#pos);
    this.#pos += n;
    if (n === chunk.length) return true;
    this.#rest = chunk.subarray(n);
    return false;
  }

  /** Ends the fill: the count, the stream paused until the next. */
  #settle(): number {
    const n = this.#pos;
    this.#target = null;
    this.#pos = 0;
    this.#earlyBytes = Infinity;
    return n;
  }

  #done(): void {
    clearTimeout(this.#timer);
    clearTimeout(this.#earlyTimer);
    this.#incoming.pause();
    const resolve = this.#resolve!;
    this.#resolve = this.#reject = null;
    resolve(this.#settle());
  }

  #fail(e: Error): void {
    this.#failure ??= e;
    const reject = this.#reject;
    this.release();
    reject?.(this.#failure);
  }
}

/** A port closed at once: a buffer transferred on it is detached, and the message that took it dropped. */
let dropPort: MessagePort | null = null;

/**
 * Frees the memory of a body chunk whose bytes were copied out, now rather than at the main
 * thread's next GC. Node's HTTP parser copies each chunk of a body (up to 64 KiB, one socket read)
 * into a Buffer of its own (node_http_parser.cc on_body, Buffer::Copy: malloc); copied into a batch
 * at once, they are garbage, but a scavenge came only every ~30 MB of them, so the malloc heap grew
 * by that much each time, was trimmed back after the GC and faulted in again: 15-20k of the main
 * thread's page faults on a 943 MB upload (issue 10). A buffer transferred on a closed port is
 * detached and its memory freed as the dropped message goes (the HTML rule Node keeps: "even if the
 * backing MessagePort object has already been deleted, we still want to serialize the message to
 * ensure spec-compliant behavior w.r.t. transfers", node_messaging.cc), so the next chunk takes the
 * same memory. Only a chunk that is its whole ArrayBuffer, whose only reader was the caller (no
 * other `data` listener, no part of it kept), may go.
 */
function freeChunk(chunk: Uint8Array): void {
  const buffer = chunk.buffer;
  if (chunk.byteOffset !== 0 || chunk.byteLength !== buffer.byteLength || !(buffer instanceof ArrayBuffer)) return;
  if (dropPort === null) {
    dropPort = new MessageChannel().port1;
    dropPort.close();
  }
  dropPort.postMessage(null, [buffer]);
}

/** A body that stopped before its end without an error of its own (as Node's stream.finished says it). */
function prematureClose(): Error {
  return Object.assign(new Error("the request body ended before its end (the connection closed)"), {
    code: "ERR_STREAM_PREMATURE_CLOSE",
  });
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
  /**
   * Instead of `chunks`: the held chunks, handed over with their accounting (the reservation is
   * given back), and the source left (its reader released, a Node stream left open for another).
   */
  detach(): Promise<Uint8Array[]>;
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
  const detach = async (): Promise<Uint8Array[]> => {
    reservation.release();
    const chunks = held.splice(0);
    await it.return?.();
    return chunks;
  };
  return { held, bytes, ended, chunks: all(), drop, detach };
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
