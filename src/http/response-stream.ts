/**
 * @module
 * A streamed response body with backpressure: the producer `write()`s pieces and awaits
 * {@link ResponseStream.ready} between slices of work, which waits while more than `highWater`
 * bytes are queued (the client reads slowly) and throws once the client has gone away.
 */

export class ClientGoneError extends Error {
  constructor() {
    super("the client closed the connection");
    this.name = "ClientGoneError";
  }
}

export class ResponseStream {
  readonly readable: ReadableStream<Uint8Array>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #wake: (() => void) | null = null;
  #cancelled = false;
  #closed = false;
  #written = 0;

  constructor(highWater = 1 << 20) {
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        pull: () => this.#resume(),
        cancel: () => {
          this.#cancelled = true;
          this.#resume();
        },
      },
      { highWaterMark: highWater, size: (chunk) => chunk.byteLength },
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
  }

  /** Resolves when the queue has room; throws {@link ClientGoneError} once the client went away. */
  async ready(): Promise<void> {
    while (!this.#cancelled && (this.#controller.desiredSize ?? 1) <= 0) {
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
    if (this.#cancelled) throw new ClientGoneError();
  }

  close(): void {
    if (this.#cancelled || this.#closed) return;
    this.#closed = true;
    this.#controller.close();
  }

  #resume(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
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
 * second copy of a large answer).
 */
export function piecesBody(pieces: Buffer[]): BodyInit {
  let total = 0;
  for (const p of pieces) total += p.length;
  if (total <= 1 << 20)
    return (pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, total)) as Uint8Array<ArrayBuffer>;
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < pieces.length) controller.enqueue(pieces[i++]);
      else controller.close();
    },
  });
}
