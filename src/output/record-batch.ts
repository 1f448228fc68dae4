/**
 * @module
 * Finished flow records copied out of engine memory in batches, for the format thread.
 *
 * A batch is one ArrayBuffer of whole records, back to back (record `i` at byte `i * size`, so
 * every record keeps the 8-byte alignment RecordReader relies on: FR_SIZE is a multiple of 8), plus
 * the capture clock each record was finished under. The clock (`InsightContext.endUs`) moves
 * between the engine's output rings, and the insight fields (endpoint states, anomalies' `idle_s`)
 * are judged against it, so it travels with the records: `clocks` holds runs
 * `[count, endUs, count, endUs, ...]` in record order.
 *
 * Buffers go to the thread as transfers (no copy) and come back the same way, to be refilled:
 * a run allocates only as many buffers as it keeps in flight.
 */

import { makeViews, type MemoryViews } from "../wasm/engine.js";

export interface RecordBatch {
  buffer: ArrayBuffer;
  /** Records in the buffer. */
  count: number;
  /** Runs of records that share a capture clock: `[count, endUs, count, endUs, ...]`. */
  clocks: number[];
}

/** Collects records into batch buffers of `capacity` records. */
export class RecordBatcher {
  readonly recordSize: number;
  readonly capacity: number;
  #u8: Uint8Array | null = null;
  #count = 0;
  #clocks: number[] = [];
  /** Where the current clock run starts, and its clock. */
  #runStart = 0;
  #runEndUs = Number.NaN;
  readonly #free: ArrayBuffer[] = [];

  /** @param batchBytes the size of one batch buffer; it holds at least one record. */
  constructor(recordSize: number, batchBytes: number) {
    this.recordSize = recordSize;
    this.capacity = Math.max(1, Math.floor(batchBytes / recordSize));
  }

  /** Records collected and not yet taken. */
  get count(): number {
    return this.#count;
  }

  get full(): boolean {
    return this.#count >= this.capacity;
  }

  /** Copies the record at `p` (finished under capture clock `endUs`); the batch must not be full. */
  add(v: MemoryViews, p: number, endUs: number): void {
    if (this.#u8 === null)
      this.#u8 = new Uint8Array(this.#free.pop() ?? new ArrayBuffer(this.capacity * this.recordSize));
    if (endUs !== this.#runEndUs) {
      this.#closeRun();
      this.#runEndUs = endUs;
    }
    const size = this.recordSize;
    this.#u8.set(v.u8.subarray(p, p + size), this.#count * size);
    this.#count++;
  }

  /** The records collected so far as a batch (null when there are none); the next add starts a new one. */
  take(): RecordBatch | null {
    if (this.#count === 0) return null;
    this.#closeRun();
    const batch = { buffer: this.#u8!.buffer as ArrayBuffer, count: this.#count, clocks: this.#clocks };
    this.#u8 = null;
    this.#count = 0;
    this.#clocks = [];
    this.#runStart = 0;
    this.#runEndUs = Number.NaN;
    return batch;
  }

  /** A batch buffer that came back from the thread, to be filled again. */
  recycle(buffer: ArrayBuffer): void {
    if (buffer.byteLength === this.capacity * this.recordSize) this.#free.push(buffer);
  }

  #closeRun(): void {
    if (this.#count > this.#runStart) this.#clocks.push(this.#count - this.#runStart, this.#runEndUs);
    this.#runStart = this.#count;
  }
}

/**
 * Calls `each(views, p)` for every record of `batch` in order, with `clock.endUs` set to the
 * capture clock the record was finished under.
 */
export function forEachRecord(
  batch: RecordBatch,
  recordSize: number,
  clock: { endUs: number },
  each: (v: MemoryViews, p: number) => void,
): void {
  const views = makeViews(batch.buffer);
  const { clocks } = batch;
  let p = 0;
  for (let r = 0; r < clocks.length; r += 2) {
    clock.endUs = clocks[r + 1];
    for (let end = p + clocks[r] * recordSize; p < end; p += recordSize) each(views, p);
  }
}
