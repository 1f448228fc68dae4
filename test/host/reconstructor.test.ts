// The chunk-feeding protocol of Reconstructor (src/reconstructor.ts) against a fake engine with
// the real ABI, and the real engine's option and error plumbing.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Reconstructor, MIN_WINDOW_BYTES, READ_BYTES } from "../../src/reconstructor.js";
import { analyzeFile, analyzeStream } from "../../src/analyze.js";
import { EngineFault, type MemoryViews } from "../../src/wasm/engine.js";
import type { Flow } from "../../src/flow.js";
import { fakeCapture, fakeCaptureOf, fakeEngine } from "./fake-engine.js";
import { corpus } from "./helpers.js";

const ids = (flows: Flow[]) => flows.map((f) => f["id.orig_p"]);

function runChunks(capture: Uint8Array, sizes: (i: number) => number, config = {}) {
  const { engine, state } = fakeEngine(config);
  const rec = new Reconstructor({ windowBytes: MIN_WINDOW_BYTES }, engine);
  const flows: Flow[] = [];
  for (let off = 0, i = 0; off < capture.length; i++) {
    const n = Math.max(1, sizes(i));
    flows.push(...rec.push(capture.subarray(off, off + n)));
    off += n;
  }
  flows.push(...rec.finish());
  return { flows, rec, state };
}

describe("chunk feeding (fake engine)", () => {
  const capture = fakeCapture(["F", 1], ["L", 100], "n", ["F", 2], ["F", 3], ["L", 101], ["F", 4]);

  it("one push and finish emit finished flows, then live ones", () => {
    const { flows, rec } = runChunks(capture, () => capture.length);
    expect(ids(flows)).toEqual([1, 2, 3, 4, 100, 101]);
    expect(rec.error).toBeNull();
    expect(rec.stats.records).toBe(7);
    expect(rec.stats.bytes).toBe(capture.length);
  });

  it("carries the unconsumed tail across every possible chunk size", () => {
    for (let size = 1; size <= capture.length; size++) {
      const { flows, rec } = runChunks(capture, () => size);
      expect(ids(flows), `chunk size ${size}`).toEqual([1, 2, 3, 4, 100, 101]);
      expect(rec.error).toBeNull();
    }
  });

  it("carries the tail across random chunk boundaries", () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 13) + 1;
    const { flows } = runChunks(capture, rand);
    expect(ids(flows)).toEqual([1, 2, 3, 4, 100, 101]);
  });

  it("push returns the flows that finished in that chunk", () => {
    const { engine } = fakeEngine();
    const rec = new Reconstructor({}, engine);
    const a = fakeCapture(["F", 1], ["L", 9]);
    const b = fakeCapture(["F", 2]);
    expect(ids(rec.push(a))).toEqual([1]);
    expect(ids(rec.push(b.subarray(0, 3)))).toEqual([]);
    expect(ids(rec.push(b.subarray(3)))).toEqual([2]);
    expect(ids(rec.finish())).toEqual([9]);
  });

  it("drains the output ring and calls feed again when it returned early", () => {
    const many = fakeCapture(...Array.from({ length: 50 }, (_, i) => ["F", i] as [string, number]));
    const { flows, state } = runChunks(many, () => many.length, { outCap: 4, margin: 1 });
    expect(ids(flows)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(state.feedCalls.length).toBeGreaterThanOrEqual(50 / 3);
  });

  it("calls finish() again while it returns 1", () => {
    const many = fakeCapture(...Array.from({ length: 20 }, (_, i) => ["L", i] as [string, number]));
    const { flows, state } = runChunks(many, () => 5, { outCap: 4, margin: 1 });
    expect(ids(flows)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(state.finishCalls).toBe(7); // 3 flows per call, 20 flows
  });

  it("takes a chunk larger than the window in window-sized pieces", () => {
    const n = 200_000; // 7 bytes each: 1.4 MB, more than the 1 MiB window
    const big = fakeCaptureOf(
      Array.from({ length: n }, (_, i) => (i % 1000 === 0 ? (["F", i / 1000] as [string, number]) : "n")),
    );
    const { engine, state } = fakeEngine({ outCap: 64 });
    const rec = new Reconstructor({ windowBytes: MIN_WINDOW_BYTES }, engine);
    const flows = [...rec.push(big), ...rec.finish()];
    expect(flows.length).toBe(n / 1000);
    expect(rec.stats.records).toBe(n);
    expect(Math.max(...state.feedCalls.map((c) => c.len))).toBeLessThanOrEqual(MIN_WINDOW_BYTES);
  });

  it("starts with small feeds and grows them to the window (Liftoff warm-up)", () => {
    const big = fakeCaptureOf(Array.from({ length: 400_000 }, () => "n"));
    const { engine, state } = fakeEngine();
    const rec = new Reconstructor({ windowBytes: MIN_WINDOW_BYTES }, engine);
    rec.push(big);
    const lens = state.feedCalls.map((c) => c.len);
    expect(lens[0]).toBeLessThanOrEqual(64 << 10);
    expect(Math.max(...lens)).toBeGreaterThan(512 << 10);
  });

  it("re-reads memory views after the engine grew its memory", () => {
    const cap = fakeCapture(["F", 1], ["G", 2], ["F", 2], ["G", 3], ["F", 3]);
    const { flows } = runChunks(cap, () => 4);
    expect(ids(flows)).toEqual([1, 2, 3]);
    expect(flows[2].history).toBe("ShADadFf");
  });

  it("stops at damage, ignores later input, and still flushes the flows before it", () => {
    const { engine } = fakeEngine();
    const rec = new Reconstructor({}, engine);
    const before = fakeCapture(["F", 1], ["L", 7]);
    const bad = fakeCapture("X", ["F", 2]);
    expect(ids(rec.push(before))).toEqual([1]);
    expect(ids(rec.push(bad))).toEqual([]);
    expect(rec.error).toMatchObject({ code: "bad_block_length", offset: before.length, record: 3 });
    expect(rec.error!.message).toContain(`at byte ${before.length}`);
    expect(rec.push(fakeCapture(["F", 3]))).toEqual([]);
    expect(ids(rec.finish())).toEqual([7]);
  });

  it("reports a capture that ends inside a record", () => {
    const cap = fakeCapture(["F", 1], ["F", 2]);
    const { engine } = fakeEngine();
    const rec = new Reconstructor({}, engine);
    const flows = [...rec.push(cap.subarray(0, cap.length - 2)), ...rec.finish()];
    expect(ids(flows)).toEqual([1]);
    expect(rec.error).toMatchObject({ code: "truncated_input", offset: 7 });
    expect(rec.error!.message).toMatch(/^capture is truncated at byte 7 \(record 2\)/);
  });

  it("reports an empty input at byte 0", () => {
    const { engine } = fakeEngine();
    const rec = new Reconstructor({}, engine);
    expect(rec.finish()).toEqual([]);
    expect(rec.error).toMatchObject({ code: "truncated_input", offset: 0 });
    expect(rec.error!.message).toContain("at byte 0");
  });

  it("reports a record larger than the window instead of stalling", () => {
    // An engine that never consumes: as if one record needed more bytes than the window holds.
    const { engine } = fakeEngine();
    (engine.exports as { feed: (l: number, e: number) => number }).feed = () => 0;
    const rec = new Reconstructor({ windowBytes: MIN_WINDOW_BYTES }, engine);
    expect(rec.push(new Uint8Array(MIN_WINDOW_BYTES + 10))).toEqual([]);
    expect(rec.error).toMatchObject({ code: "bad_block_length", offset: 0 });
    expect(rec.error!.message).toContain("input window");
    expect(rec.bytesIn).toBe(MIN_WINDOW_BYTES);
  });

  it("reads a file at most READ_BYTES at a time into the default 8 MiB window, a longer record over several reads", () => {
    const dir = mkdtempSync(join(tmpdir(), "flowrecon-read-"));
    try {
      const file = join(dir, "cap");
      const capture = fakeCaptureOf(Array.from({ length: 500_000 }, (_, i) => (i % 1000 === 999 ? ["F", i] : "n")));
      expect(capture.length).toBeGreaterThan(3 * READ_BYTES);
      writeFileSync(file, capture);
      const readAll = (rec: Reconstructor) => {
        const fd = openSync(file, "r");
        const reads: number[] = [];
        const flows: Flow[] = [];
        try {
          for (let at = 0, got = rec.readFrom(fd); got !== null; got = rec.readFrom(fd)) {
            flows.push(...got);
            reads.push(rec.bytesIn - at);
            at = rec.bytesIn;
          }
        } finally {
          closeSync(fd);
        }
        return { reads, flows: [...flows, ...rec.finish()] };
      };
      const { reads, flows } = readAll(new Reconstructor({}, fakeEngine().engine));
      expect(READ_BYTES).toBeLessThan(8 << 20);
      expect(Math.max(...reads)).toBe(READ_BYTES);
      expect(reads.reduce((a, b) => a + b, 0)).toBe(capture.length);
      const pushed = new Reconstructor({}, fakeEngine().engine);
      expect(ids(flows)).toEqual(ids([...pushed.push(capture), ...pushed.finish()]));
      expect(flows.length).toBe(500);
      // An engine that never consumes (one record longer than READ_BYTES): the reads fill the window.
      const { engine } = fakeEngine();
      (engine.exports as { feed: (l: number, e: number) => number }).feed = () => 0;
      const stuck = new Reconstructor({ windowBytes: 2 * READ_BYTES + (64 << 10) }, engine);
      readAll(stuck);
      expect(stuck.error!.message).toContain("input window");
      expect(stuck.bytesIn).toBe(2 * READ_BYTES + (64 << 10));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("treats a trap as a fault that poisons the instance", () => {
    const { engine } = fakeEngine();
    (engine.exports as { feed: (l: number, e: number) => number }).feed = () => {
      throw new WebAssembly.RuntimeError("unreachable");
    };
    const rec = new Reconstructor({}, engine);
    expect(() => rec.push(fakeCapture(["F", 1]))).toThrow(EngineFault);
    expect(() => rec.finish()).toThrow(/unusable after an engine fault/);
  });

  it("refuses a feed() result outside [0, len]", () => {
    const { engine } = fakeEngine();
    (engine.exports as { feed: (l: number, e: number) => number }).feed = (l) => l + 1;
    expect(() => new Reconstructor({}, engine).push(new Uint8Array(10))).toThrow(EngineFault);
  });

  it("hands records to a sink with the record API", () => {
    const { engine } = fakeEngine();
    const rec = new Reconstructor({ windowBytes: MIN_WINDOW_BYTES }, engine);
    const ports: number[] = [];
    const sink = (v: MemoryViews, p: number) => void ports.push(v.u16[(p + rec.layout.constants.FR_ORIG_PORT) >>> 1]);
    rec.pushRecords(fakeCapture(["F", 1], ["L", 2], ["F", 3]), sink);
    expect(ports).toEqual([1, 3]);
    rec.finishRecords(sink);
    expect(ports).toEqual([1, 3, 2]);
  });

  it("does not decode bytes twice when a sink throws", () => {
    const { engine } = fakeEngine();
    const rec = new Reconstructor({ windowBytes: MIN_WINDOW_BYTES }, engine);
    const seen: number[] = [];
    const port = (v: MemoryViews, p: number) => v.u16[(p + rec.layout.constants.FR_ORIG_PORT) >>> 1];
    expect(() =>
      rec.pushRecords(fakeCapture(["F", 1], ["F", 2]), (v, p) => {
        seen.push(port(v, p));
        throw new Error("sink failed");
      }),
    ).toThrow("sink failed");
    rec.pushRecords(fakeCapture(["F", 3]), (v, p) => void seen.push(port(v, p)));
    expect(seen).toEqual([1, 3]); // 2 was in the same ring batch as the failure: dropped, not repeated
    expect(rec.stats.records).toBe(3);
  });

  it("refuses use after finish()", () => {
    const rec = new Reconstructor({}, fakeEngine().engine);
    rec.finish();
    expect(() => rec.push(new Uint8Array(1))).toThrow(/already called/);
  });
});

describe("options", () => {
  it("passes options to the engine in engine units, before init()", () => {
    const { engine } = fakeEngine();
    const calls: string[] = [];
    const ex = engine.exports as unknown as Record<string, (...a: number[]) => unknown>;
    const names = engine.layout.option.names;
    ex.setOption = (o, v) => calls.push(`${names[o]}=${v}`);
    const init = ex.init;
    ex.init = (w) => {
      calls.push(`init(${w})`);
      init(w);
    };
    new Reconstructor(
      {
        ignoreChecksums: true,
        vlanInKey: false,
        flowCap: 1000,
        attemptTimeout: 2.5,
        inactivityTimeout: 60,
        likelyServerPorts: false,
        reportGapsForPartial: true,
      },
      engine,
    );
    expect(calls).toEqual([
      "IgnoreChecksums=1",
      "VlanInKey=0",
      "FlowCap=1000",
      "AttemptDelayUs=2500000",
      "InactivityUs=60000000",
      "ReportGapsForPartial=1",
      "LikelyServerPorts=0",
      `init(${8 << 20})`,
    ]);
  });

  it("rejects bad option values", () => {
    expect(() => new Reconstructor({ flowCap: -1 })).toThrow(RangeError);
    expect(() => new Reconstructor({ flowCap: 1.5 })).toThrow(RangeError);
    expect(() => new Reconstructor({ inactivityTimeout: Number.NaN })).toThrow(RangeError);
    expect(() => new Reconstructor({ windowBytes: 1000 })).toThrow(RangeError);
    expect(() => new Reconstructor({ ignoreChecksums: 1 as unknown as boolean })).toThrow(TypeError);
    expect(() => new Reconstructor({ communityIdSeed: 70000 })).toThrow(RangeError);
    expect(() => new Reconstructor({ likelyServerPorts: [80, 70000] })).toThrow(TypeError);
    expect(() => new Reconstructor({ likelyServerPorts: "80" as unknown as boolean })).toThrow(TypeError);
  });
});

describe("real engine", () => {
  const pcap = readFileSync(corpus("ssh-basic.pcap"));

  it("decodes a real capture pushed in odd-sized chunks without error", () => {
    const rec = new Reconstructor({ windowBytes: MIN_WINDOW_BYTES });
    const flows: Flow[] = [];
    for (let off = 0; off < pcap.length; off += 4093) flows.push(...rec.push(pcap.subarray(off, off + 4093)));
    flows.push(...rec.finish());
    expect(rec.error).toBeNull();
    expect(rec.bytesIn).toBe(pcap.length);
  });

  it("gives the same flows whatever the chunking", () => {
    const whole = new Reconstructor();
    const a = [...whole.push(pcap), ...whole.finish()];
    const byte = new Reconstructor();
    const b: Flow[] = [];
    for (let off = 0; off < pcap.length; off += 1) b.push(...byte.push(pcap.subarray(off, off + 1)));
    b.push(...byte.finish());
    expect(a.length).toBeGreaterThan(0);
    expect(b).toEqual(a);
    expect(whole.stats.records).toBeGreaterThan(0);
  });

  it("analyzeStream and analyzeFile agree", async () => {
    const fromFile: Flow[] = [];
    const fromStream: Flow[] = [];
    const r1 = await analyzeFile(corpus("ssh-basic.pcap"), {}, (f) => void fromFile.push(f));
    const chunks = [pcap.subarray(0, 1000), pcap.subarray(1000)];
    const r2 = await analyzeStream(chunks, {}, async (f) => void fromStream.push(f));
    expect(fromStream).toEqual(fromFile);
    expect(r2.flows).toBe(r1.flows);
    expect(r1.error).toBeNull();
    expect(r2.stats).toEqual(r1.stats);
  });

  it("analyzeStream rejects string chunks", async () => {
    await expect(analyzeStream(["abc" as unknown as Uint8Array], {}, () => {})).rejects.toThrow(TypeError);
  });

  it("flags a non-capture at byte 0 and names what it found", () => {
    const rec = new Reconstructor();
    rec.push(Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]));
    rec.finish();
    expect(rec.error).toMatchObject({ code: "bad_magic", offset: 0 });
    expect(rec.error!.message).toContain("gzip");
  });

  it("keeps the flows before a truncation", () => {
    const cut = pcap.subarray(0, pcap.length - 10);
    const rec = new Reconstructor();
    const flows = [...rec.push(cut), ...rec.finish()];
    expect(rec.error?.code).toBe("truncated_input");
    expect(flows.length).toBeGreaterThan(0);
  });
});
