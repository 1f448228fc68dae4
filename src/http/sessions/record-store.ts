/**
 * @module
 * A session's finished flows, kept as the engine's flow records (FR_SIZE bytes each) in fixed-size
 * chunks: appending copies one record, and every writer (src/http/flow-writer.ts) reads them with
 * the same code that reads engine memory. Cheaper than objects (one FR_SIZE record, 576 bytes, against ~1 KiB)
 * and filterable on record bytes (conn_state) without decoding.
 */

import type { MemoryViews } from "../../wasm/engine.js";

const RECORDS_PER_CHUNK = 1024;

function views(buffer: ArrayBuffer): MemoryViews {
  return {
    buffer,
    u8: new Uint8Array(buffer),
    u16: new Uint16Array(buffer),
    u32: new Uint32Array(buffer),
    i32: new Int32Array(buffer),
    f64: new Float64Array(buffer),
  };
}

export class RecordStore {
  readonly #size: number;
  readonly #chunks: MemoryViews[] = [];
  #count = 0;

  constructor(recordSize: number) {
    this.#size = recordSize;
  }

  get count(): number {
    return this.#count;
  }

  /** Bytes allocated (whole chunks). */
  get bytes(): number {
    return this.#chunks.length * RECORDS_PER_CHUNK * this.#size;
  }

  /** Copies the record at `p` of `v` (a record sink). */
  append(v: MemoryViews, p: number): void {
    const slot = this.#count % RECORDS_PER_CHUNK;
    if (slot === 0) this.#chunks.push(views(new ArrayBuffer(RECORDS_PER_CHUNK * this.#size)));
    this.#chunks[this.#chunks.length - 1].u8.set(v.u8.subarray(p, p + this.#size), slot * this.#size);
    this.#count++;
  }

  /** Keeps the first `count` records (a rolled-back batch takes back the flows it finished). */
  truncate(count: number): void {
    if (count >= this.#count) return;
    this.#count = count;
    this.#chunks.length = Math.ceil(count / RECORDS_PER_CHUNK);
  }

  /** The stored records' bytes, chunk by chunk (views, no copy): what a session file holds. */
  *byteChunks(): Generator<Uint8Array> {
    for (let i = 0; i < this.#chunks.length; i++) {
      const records = Math.min(RECORDS_PER_CHUNK, this.#count - i * RECORDS_PER_CHUNK);
      yield this.#chunks[i].u8.subarray(0, records * this.#size);
    }
  }

  /** Appends records given as bytes (whole records, as {@link byteChunks} gives them). */
  appendBytes(bytes: Uint8Array): void {
    for (let p = 0; p + this.#size <= bytes.length; p += this.#size) {
      const slot = this.#count % RECORDS_PER_CHUNK;
      if (slot === 0) this.#chunks.push(views(new ArrayBuffer(RECORDS_PER_CHUNK * this.#size)));
      this.#chunks[this.#chunks.length - 1].u8.set(bytes.subarray(p, p + this.#size), slot * this.#size);
      this.#count++;
    }
  }

  /** Calls `visit(views, p)` for each record in order; stops when it returns false. */
  // biome-ignore lint/suspicious/noConfusingVoidType: visitors return false to stop, or nothing to go on
  forEach(visit: (v: MemoryViews, p: number) => boolean | void): void {
    for (let i = 0; i < this.#count; i++) {
      const chunk = this.#chunks[Math.floor(i / RECORDS_PER_CHUNK)];
      if (visit(chunk, (i % RECORDS_PER_CHUNK) * this.#size) === false) return;
    }
  }
}
