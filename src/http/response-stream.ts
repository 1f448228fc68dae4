/**
 * @module
 * A streamed response body with backpressure: the producer `write()`s pieces and awaits
 * {@link ResponseStream.ready} between slices of work, which waits while more than `highWater`
 * bytes are queued (the client reads slowly) and throws once the client has gone away.
 *
 * A client that stops reading, or reads too slowly, would hold the analysis (its engine threads
 * and memory) for as long as it likes: one such client took both engine threads of a 2-core
 * server for good. So the wait is bounded as a request body's is (body.ts): after
 * `responseIdleTimeoutMs` in which the client took no byte, or when a window of
 * `responseRateWindowMs` spent waiting for it took less than `minResponseRate` bytes a second,
 * the stream gives up ({@link ResponseStalledError}: the analysis is dropped, `onStall` closes
 * the connection). A watchdog judges it, not the producer's wait for room: the producer can be
 * held elsewhere by the same client (an engine thread waits for its output buffers, which come
 * back only once written to the socket). Only waiting time counts: while every byte written was
 * taken, the server is the slow one, never the client.
 */

import type { ApiConfig } from "./config.js";
import { MinRateWindow } from "./min-rate.js";

export class ClientGoneError extends Error {
  constructor() {
    super("the client closed the connection");
    this.name = "ClientGoneError";
  }
}

/** The client stopped taking the response, or takes it below the minimum rate. */
export class ResponseStalledError extends Error {
  /** Bytes of the answer the server had written when it gave up. */
  bytesOut = 0;
  constructor(
    message: string,
    readonly details: Record<string, number>,
  ) {
    super(message);
    this.name = "ResponseStalledError";
  }
}

/** The settings that bound how slowly a client may take a streamed response. */
export type ResponseTimeouts = Pick<ApiConfig, "responseIdleTimeoutMs" | "minResponseRate" | "responseRateWindowMs">;

const NO_TIMEOUTS: ResponseTimeouts = { responseIdleTimeoutMs: 0, minResponseRate: 0, responseRateWindowMs: 0 };

export interface ResponseStreamOptions {
  /** Bytes queued before {@link ResponseStream.ready} waits (default 1 MiB). */
  highWater?: number;
  timeouts?: ResponseTimeouts;
  /**
   * The connection the answer goes out on (`c.env.outgoing.socket`): a byte counts as taken by
   * the client once the kernel accepted it, and the server waits for the client while the socket
   * holds bytes the kernel has not (see {@link socketPace}). Without one (an in-process request),
   * a byte is taken once it left the stream's queue.
   */
  socket?: PacedSocket | null;
  /** Called once when the stream gives up on a slow client (close the connection there). */
  onStall?: (e: ResponseStalledError) => void;
}

export class ResponseStream {
  readonly readable: ReadableStream<Uint8Array>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #wake: (() => void) | null = null;
  #cancelled = false;
  #closed = false;
  #written = 0;
  readonly #highWater: number;
  readonly #timeouts: ResponseTimeouts;
  readonly #onStall: ((e: ResponseStalledError) => void) | undefined;
  #stalled: ResponseStalledError | null = null;
  readonly #socket: PacedSocket | null;
  #watchdog: NodeJS.Timeout | undefined;
  // What the watchdog saw last: bytes taken, the time of its last look and of the client's last progress.
  #counted = 0;
  #mark = 0;
  #progress = 0;
  /** The minimum-rate rule over the time spent waiting for the client (min-rate.ts). */
  readonly #rate: MinRateWindow;

  constructor(options: ResponseStreamOptions = {}) {
    this.#highWater = options.highWater ?? 1 << 20;
    this.#timeouts = options.timeouts ?? NO_TIMEOUTS;
    this.#onStall = options.onStall;
    this.#socket = options.socket ?? null;
    this.#rate = new MinRateWindow(this.#timeouts.minResponseRate, this.#timeouts.responseRateWindowMs);
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        pull: () => this.#resume(),
        cancel: () => {
          this.#cancelled = true;
          this.#stopWatchdog();
          this.#resume();
        },
      },
      { highWaterMark: this.#highWater, size: (chunk) => chunk.byteLength },
    );
  }

  /** Bytes written so far. */
  get written(): number {
    return this.#written;
  }

  get cancelled(): boolean {
    return this.#cancelled;
  }

  write(chunks: readonly Uint8Array[]): void {
    if (this.#cancelled || this.#closed) return;
    for (const chunk of chunks) {
      if (chunk.length === 0) continue;
      this.#controller.enqueue(chunk);
      this.#written += chunk.length;
    }
    if (this.#written > 0) this.#startWatchdog();
  }

  /**
   * Resolves when the queue has room; throws {@link ClientGoneError} once the client went away,
   * {@link ResponseStalledError} once it took too little for too long (the stream is then ended).
   */
  async ready(): Promise<void> {
    while (!this.#cancelled && (this.#controller.desiredSize ?? 1) <= 0) {
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
    if (this.#stalled !== null) throw this.#stalled;
    if (this.#cancelled) throw new ClientGoneError();
  }

  /** Ends the body; the watchdog stays until the client took the rest (or is cut off). */
  close(): void {
    if (this.#cancelled || this.#closed) return;
    this.#closed = true;
    this.#controller.close();
  }

  /** Bytes the client has taken so far (a count that only grows; with a socket, of its bytes). */
  #taken(): number {
    if (this.#socket !== null) return socketPace(this.#socket).accepted;
    return this.#written - (this.#highWater - (this.#controller.desiredSize ?? this.#highWater));
  }

  /** Whether the server waits for the client: it holds bytes the client has not taken. */
  #waiting(taken: number): boolean {
    if (this.#socket !== null) return socketPace(this.#socket).pending;
    return taken < this.#written;
  }

  #startWatchdog(): void {
    if (this.#watchdog !== undefined || this.#stalled !== null) return;
    const { responseIdleTimeoutMs: idleMs, minResponseRate: minRate, responseRateWindowMs: windowMs } = this.#timeouts;
    const limits = [idleMs, minRate > 0 ? windowMs : 0].filter((ms) => ms > 0);
    if (limits.length === 0) return;
    this.#mark = this.#progress = performance.now();
    // Looks four times per shortest limit: a deadline is passed by at most a quarter of it.
    this.#watchdog = setInterval(() => this.#look(), Math.max(10, Math.min(...limits) / 4));
    this.#watchdog.unref();
  }

  #stopWatchdog(): void {
    clearInterval(this.#watchdog);
  }

  /**
   * The watchdog's look: while bytes written are not yet taken the server waits for the client;
   * that time counts toward the idle timeout (reset by every byte taken) and the rate window.
   */
  #look(): void {
    const now = performance.now();
    const taken = this.#taken();
    const bytes = taken - this.#counted;
    this.#counted = taken;
    if (!this.#waiting(taken)) {
      // Nothing waits for the client: the server is the slow one, or the body is done. Bytes
      // taken meanwhile count for the rate, with no waiting time.
      this.#rate.add(bytes, 0);
      this.#mark = this.#progress = now;
      if (this.#closed || this.#cancelled) this.#stopWatchdog();
      return;
    }
    if (bytes > 0) this.#progress = now;
    const slow = this.#rate.add(bytes, now - this.#mark);
    this.#mark = now;
    const idleMs = this.#timeouts.responseIdleTimeoutMs;
    if (idleMs > 0 && now - this.#progress >= idleMs) {
      return this.#stall(
        new ResponseStalledError(`the client took no response byte for ${idleMs / 1000} s`, {
          idle_timeout_s: idleMs / 1000,
        }),
      );
    }
    if (slow !== null) {
      const rate = Math.round(slow);
      const minRate = this.#timeouts.minResponseRate;
      return this.#stall(
        new ResponseStalledError(
          `the client takes the response at ${rate} bytes/s, below the minimum of ${minRate} bytes/s`,
          { min_rate: minRate, rate },
        ),
      );
    }
  }

  #stall(e: ResponseStalledError): void {
    this.#stopWatchdog();
    this.#stalled = e;
    e.bytesOut = this.#written;
    const wasOpen = !this.#cancelled && !this.#closed;
    this.#cancelled = true;
    if (wasOpen) this.#controller.error(e);
    this.#onStall?.(e);
    this.#resume();
  }

  #resume(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}

/** The parts of a net.Socket the pace of a client is read from (Node 20). */
export interface PacedSocket {
  readonly writableLength: number;
  /** Bytes handed to the socket's handle so far (net.Socket's own count, behind `bytesWritten`). */
  readonly _bytesDispatched?: number;
  /** libuv's stream: `writeQueueSize` = bytes handed to it that the kernel has not accepted yet. */
  readonly _handle?: { readonly writeQueueSize?: number } | null;
}

/**
 * How far the kernel has taken a socket's bytes: `accepted` (bytes handed to libuv less those it
 * still queues) moves as the peer's TCP window opens, even within one large write, whose callback
 * comes only once all of it is in: an 8 MiB piece to a client reading a few hundred KiB a second
 * would otherwise look like no progress for many seconds. `pending`: bytes wait in the socket's
 * buffer or libuv's queue. Node's own socket timeout reads the same queue (net.js _onTimeout).
 */
export function socketPace(socket: PacedSocket): { accepted: number; pending: boolean } {
  const queued = socket._handle?.writeQueueSize ?? 0;
  return { accepted: (socket._bytesDispatched ?? 0) - queued, pending: queued > 0 || socket.writableLength > 0 };
}

/** What {@link writtenPieces} watches: Node's ServerResponse (`c.env.outgoing`). */
export interface PieceSink {
  write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean;
}

/**
 * Tells when pieces of a response body were written out: `watch(piece, written)` calls `written`
 * once `outgoing` wrote that piece (the same object, as the body's stream hands it on) to the
 * socket, by its write callback (after the socket's write completed, so nothing reads the piece
 * any more); never when the write failed or the piece was not written by `write`. The response's
 * own `write` is wrapped: the body's stream is written by the server adapter (@hono/node-server),
 * which gives no callback, and which reads up to three pieces ahead of writing its first.
 */
export function writtenPieces(outgoing: PieceSink): (piece: Uint8Array, written: () => void) => void {
  const waiting = new WeakMap<object, () => void>();
  const write = outgoing.write;
  outgoing.write = function (this: PieceSink, chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    const written = typeof chunk === "object" && chunk !== null ? waiting.get(chunk) : undefined;
    if (written === undefined) return write.call(this, chunk, encoding, callback);
    waiting.delete(chunk as object);
    const cb = (typeof encoding === "function" ? encoding : callback) as ((e?: Error | null) => void) | undefined;
    return write.call(this, chunk, typeof encoding === "function" ? undefined : encoding, (e?: Error | null) => {
      if (e === undefined || e === null) written();
      cb?.(e);
    });
  };
  return (piece, written) => waiting.set(piece, written);
}

/**
 * A response body from buffered pieces: one buffer when small, else the pieces one by one (no
 * second copy of a large answer), paced by `guard` when given (slow-readers.ts): a client that
 * stops taking a large answer is cut off as one that stops taking a streamed one.
 */
export function piecesBody(pieces: Buffer[], guard?: ResponseStreamOptions): BodyInit {
  let total = 0;
  for (const p of pieces) total += p.length;
  if (total <= 1 << 20)
    return (pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, total)) as Uint8Array<ArrayBuffer>;
  if (guard !== undefined) {
    const stream = new ResponseStream(guard);
    stream.write(pieces);
    stream.close();
    return stream.readable;
  }
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < pieces.length) controller.enqueue(pieces[i++]);
      else controller.close();
    },
  });
}
