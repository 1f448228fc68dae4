/**
 * @module
 * One memory budget for the whole API: engine instances (by `memory.buffer.byteLength`), held
 * batches, stored session flows and buffered responses. A request that would take the total past
 * `maxMemoryBytes` gets 503 (`memory_limit`) instead of taking the process down.
 */

import { ApiError } from "./errors.js";

/** What a fresh engine takes before it has seen a byte: 16 MiB initial memory plus the window. */
export const ENGINE_ESTIMATE_BYTES = 24 << 20;

export class MemoryBudget {
  readonly limit: number;
  #reserved = 0;
  readonly #holders = new Set<() => number>();
  #onReject: (() => void) | undefined;

  constructor(limit: number, onReject?: () => void) {
    this.limit = limit;
    this.#onReject = onReject;
  }

  /** Bytes held now: reservations plus every registered holder's current size. */
  used(): number {
    let total = this.#reserved;
    for (const held of this.#holders) total += held();
    return total;
  }

  /** Throws 503 unless `bytes` more fit. Takes nothing: for admission checks. */
  admit(bytes: number, what: string): void {
    const used = this.used();
    if (used + bytes <= this.limit) return;
    this.#onReject?.();
    throw new ApiError(
      503,
      "memory_limit",
      `the server is out of memory for ${what} (${used} of ${this.limit} bytes in use); retry later`,
      {
        headers: { "retry-after": "5" },
      },
    );
  }

  /** Takes `bytes` (throws 503 when they do not fit); give them back with {@link release}. */
  reserve(bytes: number, what: string): void {
    this.admit(bytes, what);
    this.#reserved += bytes;
  }

  release(bytes: number): void {
    this.#reserved = Math.max(0, this.#reserved - bytes);
  }

  /** A running reservation: `add()` as bytes arrive (503 when they do not fit), `release()` once. */
  reservation(what: string): Reservation {
    let bytes = 0;
    return {
      add: (n: number) => {
        this.reserve(n, what);
        bytes += n;
      },
      release: () => {
        this.release(bytes);
        bytes = 0;
      },
      get bytes() {
        return bytes;
      },
    };
  }

  /** Counts `size()` as held until the returned function is called. */
  hold(size: () => number): () => void {
    this.#holders.add(size);
    return () => this.#holders.delete(size);
  }
}

export interface Reservation {
  add(n: number): void;
  release(): void;
  readonly bytes: number;
}
