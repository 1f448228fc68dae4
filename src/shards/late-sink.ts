/**
 * @module
 * A record sink for an engine made before the sink it feeds is known (shard-loop.ts: the printer
 * needs the engine's Reconstructor): every call goes to the sink `current()` returns then, its
 * whole-drain form (RecordSink.batch) included. A plain `(v, p) => sink(v, p)` drops that form, and
 * the engine then formats one record per call: the Community IDs are hashed one at a time
 * (bench/format.mjs --single: 510 against 470 ns a flow) and V8 compiles both hashers with TurboFan.
 */
import type { RecordSink } from "../reconstructor.js";
import type { MemoryViews } from "../wasm/engine.js";

/** A sink that hands each call to `current()`'s sink; a drain goes whole to one that takes it whole. */
export function lateSink(current: () => RecordSink): RecordSink {
  return Object.assign((v: MemoryViews, p: number) => current()(v, p), {
    batch: (v: MemoryViews, p: number, n: number, size: number) => {
      const sink = current();
      if (sink.batch !== undefined) sink.batch(v, p, n, size);
      else for (let i = 0; i < n; i++, p += size) sink(v, p);
    },
  });
}
