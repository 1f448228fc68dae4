/**
 * @module
 * A single-producer, single-consumer byte ring in a SharedArrayBuffer: how the reading thread hands
 * batches of frames to one shard thread (src/shards/), with backpressure and without a message per
 * packet.
 *
 * The ring carries messages: a 16-byte header (kind u32, payload length u32, capture clock f64 µs)
 * then the payload, padded to {@link MSG_ALIGN}. A message may be larger than the ring: it is
 * streamed through in pieces, and either side waits (Atomics.wait) while the ring is full or empty.
 *
 * Counters: two Int32 cells hold the bytes ever written and ever read, wrapping at 2^32; their
 * difference is the fill (the capacity is a power of two below 2^31, so the difference is exact).
 * The producer publishes bytes with Atomics.store then notify; the consumer likewise releases room.
 *
 * A third cell marks the ring closed ({@link closeRing}: the run was abandoned): a side that would
 * wait on it throws {@link RingClosedError} instead, so neither thread waits for ever on a peer
 * that is gone.
 */

/** Message kinds. */
export const MSG_FRAMES = 1;
/** No payload: the clock moved (frames went to other shards). */
export const MSG_CLOCK = 2;
/** No payload: the input ended at this clock; finish and report. */
export const MSG_END = 3;

export const MSG_HEADER = 16;

/**
 * Every message starts at a multiple of this many bytes of the ring: its payload is padded to it.
 * A copy into or out of a SharedArrayBuffer goes through V8's Relaxed_Memcpy, which moves words
 * only when source and destination are aligned alike and single bytes otherwise: a 64 KiB copy from
 * a plain buffer into one ran at 3.3 GB/s from an odd offset against 12-24 GB/s from an aligned one
 * (Node 20, AMD EPYC). Both ends of the ring's copies are aligned (the frames come from and go to
 * 16-byte aligned engine buffers), so an unpadded payload of any length but a multiple of 8 put the
 * copies after it on the slow path: relaxed_memmove was 4.7% of the reading thread's perf samples
 * on the 10M capture with two engines unpadded, 3.1% padded.
 */
export const MSG_ALIGN = 8;
/** What pads a payload to {@link MSG_ALIGN} (its content is never read). */
const PADDING = new Uint8Array(MSG_ALIGN);

/** The padding bytes that follow a payload of `len` bytes in the ring. */
function paddingAfter(len: number): number {
  return -len & (MSG_ALIGN - 1);
}

const WRITTEN = 0;
const READ = 1;
const CLOSED = 2;
const CONTROL_BYTES = 64;
/** A waiting side looks at the closed cell this often (ms), should a close land just before its wait. */
const CLOSED_POLL_MS = 50;

/** Atomics.waitAsync (Node 16+; in TypeScript's ES2024 lib, past this project's ES2022 target). */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(a: Int32Array, index: number, value: number, timeoutMs: number): { async: boolean; value: unknown };
  }
).waitAsync;

/** The ring was closed while a side waited on it. */
export class RingClosedError extends Error {
  constructor() {
    super("shard ring closed (the run was abandoned)");
    this.name = "RingClosedError";
  }
}

/** Shared state of one ring: pass `buffer` to the consumer thread. */
export interface RingBuffer {
  readonly buffer: SharedArrayBuffer;
}

export function createRing(capacity: number): RingBuffer {
  if (capacity < 1 << 12 || capacity > 1 << 30 || (capacity & (capacity - 1)) !== 0) {
    throw new RangeError(`ring capacity must be a power of two in [4 KiB, 1 GiB], got ${capacity}`);
  }
  return { buffer: new SharedArrayBuffer(CONTROL_BYTES + capacity) };
}

/** Marks the ring closed and wakes both sides (either thread, or a third one that abandons the run). */
export function closeRing(ring: RingBuffer): void {
  const ctl = new Int32Array(ring.buffer, 0, 3);
  Atomics.store(ctl, CLOSED, 1);
  Atomics.notify(ctl, WRITTEN);
  Atomics.notify(ctl, READ);
}

class RingSide {
  protected readonly ctl: Int32Array;
  protected readonly data: Uint8Array;
  protected readonly mask: number;

  constructor(ring: RingBuffer) {
    this.ctl = new Int32Array(ring.buffer, 0, 3);
    this.data = new Uint8Array(ring.buffer, CONTROL_BYTES);
    this.mask = this.data.length - 1;
  }

  /** Whether the ring was closed ({@link closeRing}). */
  get closed(): boolean {
    return Atomics.load(this.ctl, CLOSED) !== 0;
  }
}

/** The producer side (the reading thread). */
export class RingWriter extends RingSide {
  readonly #header = new DataView(new ArrayBuffer(MSG_HEADER));
  /**
   * Called while the ring is full, before each wait: the reading thread drains its shards'
   * output meanwhile (a shard may itself be waiting for that before it reads on).
   */
  onFull: () => void = () => {};

  /** Appends one message; blocks while the ring is full. */
  send(kind: number, clockUs: number, payload?: Uint8Array): void {
    const h = this.#header;
    h.setUint32(0, kind, true);
    h.setUint32(4, payload?.length ?? 0, true);
    h.setFloat64(8, clockUs, true);
    this.#write(new Uint8Array(h.buffer));
    if (payload === undefined || payload.length === 0) return;
    this.#write(payload);
    const pad = paddingAfter(payload.length);
    if (pad > 0) this.#write(PADDING.subarray(0, pad));
  }

  #write(bytes: Uint8Array): void {
    let off = 0;
    while (off < bytes.length) {
      // The wait compares against the READ value the fill was computed from, so a release that
      // lands in between wakes it at once.
      const read = Atomics.load(this.ctl, READ);
      const written = Atomics.load(this.ctl, WRITTEN);
      const free = this.data.length - ((written - read) >>> 0);
      if (free === 0) {
        if (this.closed) throw new RingClosedError();
        this.onFull();
        Atomics.wait(this.ctl, READ, read, 5);
        continue;
      }
      const at = written & this.mask;
      const n = Math.min(free, bytes.length - off, this.data.length - at);
      this.data.set(bytes.subarray(off, off + n), at);
      off += n;
      Atomics.store(this.ctl, WRITTEN, (written + n) | 0);
      Atomics.notify(this.ctl, WRITTEN);
    }
  }
}

/**
 * One message as the consumer reads it; `payload` is valid until the next {@link RingReader.next}
 * (empty when the payload went to an `onPayload` of next).
 */
export interface RingMessage {
  kind: number;
  clockUs: number;
  payload: Uint8Array;
}

/** The consumer side (a shard thread). */
export class RingReader extends RingSide {
  readonly #header = new Uint8Array(MSG_HEADER);
  /** Where a payload's padding is read to. */
  readonly #padding = new Uint8Array(MSG_ALIGN);
  #payload = new Uint8Array(1 << 20);

  /** Whether no byte waits to be read (a thread with other work awaits {@link arrival} first). */
  get empty(): boolean {
    return Atomics.load(this.ctl, WRITTEN) === Atomics.load(this.ctl, READ);
  }

  /**
   * Resolves once bytes arrived or the ring was closed, without blocking the thread's event loop
   * meanwhile (a pool thread serves its sessions' calls while its shard waits for frames).
   */
  async arrival(): Promise<void> {
    for (;;) {
      const written = Atomics.load(this.ctl, WRITTEN);
      if (written !== Atomics.load(this.ctl, READ) || this.closed) return;
      const w = waitAsync(this.ctl, WRITTEN, written, CLOSED_POLL_MS);
      if (w.async) await w.value;
    }
  }

  /**
   * The next message; blocks until it has arrived whole. With `onPayload`, its payload is not
   * copied out: it goes to `onPayload` in one or more pieces straight from the ring, in order, as
   * they arrive (a piece is valid during the call only; its room is released after it).
   */
  next(onPayload?: (piece: Uint8Array, kind: number) => void): RingMessage {
    this.#read(this.#header, MSG_HEADER);
    const h = new DataView(this.#header.buffer);
    const kind = h.getUint32(0, true);
    const len = h.getUint32(4, true);
    const clockUs = h.getFloat64(8, true);
    const pad = paddingAfter(len);
    if (onPayload !== undefined) {
      this.#read(null, len, (piece) => onPayload(piece, kind));
      if (pad > 0) this.#read(this.#padding, pad);
      return { kind, clockUs, payload: this.#payload.subarray(0, 0) };
    }
    if (len > this.#payload.length) this.#payload = new Uint8Array(Math.max(len, this.#payload.length * 2));
    this.#read(this.#payload, len);
    if (pad > 0) this.#read(this.#padding, pad);
    return { kind, clockUs, payload: this.#payload.subarray(0, len) };
  }

  /** Reads `len` bytes into `dst`, or hands them to `each` in pieces of the ring. */
  #read(dst: Uint8Array | null, len: number, each?: (piece: Uint8Array) => void): void {
    let off = 0;
    while (off < len) {
      const written = Atomics.load(this.ctl, WRITTEN);
      const read = Atomics.load(this.ctl, READ);
      const avail = (written - read) >>> 0;
      if (avail === 0) {
        if (this.closed) throw new RingClosedError();
        Atomics.wait(this.ctl, WRITTEN, written, CLOSED_POLL_MS);
        continue;
      }
      const at = read & this.mask;
      const n = Math.min(avail, len - off, this.data.length - at);
      if (dst !== null) dst.set(this.data.subarray(at, at + n), off);
      else each!(this.data.subarray(at, at + n));
      off += n;
      Atomics.store(this.ctl, READ, (read + n) | 0);
      Atomics.notify(this.ctl, READ);
    }
  }
}
