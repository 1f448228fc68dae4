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
