// src/shards/late-sink.ts: the shard engine's sink forwards to the printer chosen after the engine,
// a drain whole when the printer takes it whole (Community IDs hashed four at a time), else record
// by record. A plain forwarding arrow dropped the whole-drain form (every shard formatted one
// record per call); the first test fails then.
import { describe, expect, it } from "vitest";
import type { RecordSink } from "../../src/reconstructor.js";
import { lateSink } from "../../src/shards/late-sink.js";
import type { MemoryViews } from "../../src/wasm/engine.js";

const VIEWS = {} as MemoryViews;

describe("lateSink", () => {
  it("hands a drain whole to a sink with a whole-drain form, and to the sink current at the call", () => {
    const calls: string[] = [];
    let current: RecordSink = () => calls.push("early");
    const sink = lateSink(() => current);
    current = Object.assign((_v: MemoryViews, p: number) => calls.push(`one ${p}`), {
      batch: (_v: MemoryViews, p: number, n: number, size: number) => calls.push(`batch ${p} ${n} ${size}`),
    });
    expect(sink.batch).toBeDefined();
    sink.batch!(VIEWS, 100, 3, 8);
    sink(VIEWS, 200);
    expect(calls).toEqual(["batch 100 3 8", "one 200"]);
  });

  it("hands a drain record by record to a sink without one", () => {
    const seen: number[] = [];
    const sink = lateSink(() => (_v, p) => seen.push(p));
    sink.batch!(VIEWS, 100, 3, 8);
    expect(seen).toEqual([100, 108, 116]);
  });
});
