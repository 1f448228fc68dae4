/**
 * @module
 * A single-producer, single-consumer byte ring in a SharedArrayBuffer: how the reading thread hands
 * batches of frames to one shard thread (src/shards/), with backpressure and without a message per
 * packet.
 *
 * The ring carries messages: a 16-byte header (kind u32, payload length u32, capture clock f64 µs)
 * then the payload. A message may be larger than the ring: it is streamed through in pieces, and
 * either side waits (Atomics.wait) while the ring is full or empty.
 *
 * Counters: two Int32 cells hold the bytes ever written and ever read, wrapping at 2^32; their
 * difference is the fill (the capacity is a power of two below 2^31, so the difference is exact).
 * The producer publishes bytes with Atomics.store then notify; the consumer likewise releases room.
 */

/** Message kinds. */
export const MSG_FRAMES = 1;
/** No payload: the clock moved (frames went to other shards). */
export const MSG_CLOCK = 2;
/** No payload: the input ended at this clock; finish and report. */
export const MSG_END = 3;

export const MSG_HEADER = 16;

const WRITTEN = 0;
const READ = 1;
const CONTROL_BYTES = 64;

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

class RingSide {
  protected readonly ctl: Int32Array;
  protected readonly data: Uint8Array;
  protected readonly mask: number;

  constructor(ring: RingBuffer) {
    this.ctl = new Int32Array(ring.buffer, 0, 2);
    this.data = new Uint8Array(ring.buffer, CONTROL_BYTES);
    this.mask = this.data.length - 1;
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
    if (payload !== undefined && payload.length > 0) this.#write(payload);
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

/** One message as the consumer reads it; `payload` is valid until the next {@link RingReader.next}. */
export interface RingMessage {
  kind: number;
  clockUs: number;
  payload: Uint8Array;
}

/** The consumer side (a shard thread). */
export class RingReader extends RingSide {
  readonly #header = new Uint8Array(MSG_HEADER);
  #payload = new Uint8Array(1 << 20);

  /** The next message; blocks until it has arrived whole. */
  next(): RingMessage {
    this.#read(this.#header, MSG_HEADER);
    const h = new DataView(this.#header.buffer);
    const kind = h.getUint32(0, true);
    const len = h.getUint32(4, true);
    const clockUs = h.getFloat64(8, true);
    if (len > this.#payload.length) this.#payload = new Uint8Array(Math.max(len, this.#payload.length * 2));
    this.#read(this.#payload, len);
    return { kind, clockUs, payload: this.#payload.subarray(0, len) };
  }

  #read(dst: Uint8Array, len: number): void {
    let off = 0;
    while (off < len) {
      const written = Atomics.load(this.ctl, WRITTEN);
      const read = Atomics.load(this.ctl, READ);
      const avail = (written - read) >>> 0;
      if (avail === 0) {
        Atomics.wait(this.ctl, WRITTEN, written);
        continue;
      }
      const at = read & this.mask;
      const n = Math.min(avail, len - off, this.data.length - at);
      dst.set(this.data.subarray(at, at + n), off);
      off += n;
      Atomics.store(this.ctl, READ, (read + n) | 0);
      Atomics.notify(this.ctl, READ);
    }
  }
}
