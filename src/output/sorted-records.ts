/**
 * @module
 * `--sort ts`: finished flow records kept until the end of the input, then handed on ordered by
 * start time, so that two runs (one engine or several shards, any chunking) print in the same
 * order and can be diffed. Ties (same µs) are broken by the connection key (originator address
 * and port, then responder's), then by the end time: all fields a flow has whatever the thread
 * count or the hash key. Memory grows with the flows (one record each): a diffing aid, not a
 * streaming mode.
 */

import { makeViews, type MemoryViews } from "../wasm/engine.js";
import type { Layout } from "../wasm/layout.js";
import type { RecordSink } from "../reconstructor.js";

const CHUNK_RECORDS = 4096;

export class SortedRecords {
  readonly #size: number;
  readonly #c: Layout["constants"];
  readonly #chunks: MemoryViews[] = [];
  #n = 0;

  constructor(layout: Layout) {
    this.#c = layout.constants;
    this.#size = layout.constants.FR_SIZE;
  }

  /** A sink that keeps a copy of each record. */
  readonly add: RecordSink = (v, p) => {
    const i = this.#n % CHUNK_RECORDS;
    if (i === 0) this.#chunks.push(makeViews(new ArrayBuffer(CHUNK_RECORDS * this.#size)));
    this.#chunks[this.#chunks.length - 1]!.u8.set(v.u8.subarray(p, p + this.#size), i * this.#size);
    this.#n++;
  };

  /** Hands every record kept to `sink`, in order (ts, key, end), and forgets them. */
  replay(sink: RecordSink): void {
    const size = this.#size;
    const { FR_TS_START, FR_TS_END, FR_ORIG_ADDR, FR_ORIG_PORT, FR_RESP_ADDR, FR_RESP_PORT } = this.#c;
    const chunks = this.#chunks;
    const at = (i: number): [MemoryViews, number] => [
      chunks[Math.floor(i / CHUNK_RECORDS)]!,
      (i % CHUNK_RECORDS) * size,
    ];
    const us = (v: MemoryViews, off: number): number => v.i32[(off >>> 2) + 1]! * 2 ** 32 + v.u32[off >>> 2]!;
    const order = Array.from({ length: this.#n }, (_, i) => i);
    order.sort((a, b) => {
      const [va, pa] = at(a);
      const [vb, pb] = at(b);
      const dt = us(va, pa + FR_TS_START) - us(vb, pb + FR_TS_START);
      if (dt !== 0) return dt;
      for (const [off, len] of [
        [FR_ORIG_ADDR, 16],
        [FR_RESP_ADDR, 16],
      ] as const) {
        for (let k = 0; k < len; k++) {
          const d = va.u8[pa + off + k]! - vb.u8[pb + off + k]!;
          if (d !== 0) return d;
        }
      }
      const dp = va.u16[(pa + FR_ORIG_PORT) >>> 1]! - vb.u16[(pb + FR_ORIG_PORT) >>> 1]!;
      if (dp !== 0) return dp;
      const dr = va.u16[(pa + FR_RESP_PORT) >>> 1]! - vb.u16[(pb + FR_RESP_PORT) >>> 1]!;
      if (dr !== 0) return dr;
      return us(va, pa + FR_TS_END) - us(vb, pb + FR_TS_END);
    });
    for (const i of order) {
      const [v, p] = at(i);
      sink(v, p);
    }
    this.#chunks.length = 0;
    this.#n = 0;
  }
}
