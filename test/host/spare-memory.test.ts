// An engine started on the memory of one that ended (src/wasm/spare-memory.ts, the API's engine
// threads) must behave as one on a new memory. Every capture of the suite's corpora runs on a new
// engine and on the spare of an engine stopped in the middle of a generated capture (live records,
// index entries, extension and hole blocks below its heap end: an engine that finished leaves its
// index empty, which would hide a spare not zeroed); the finished records (every byte), their flows
// as NDJSON, the statistics and the capture error must be identical. Also: the spare is zeroed, one
// is kept, and the module's memory limits are asconfig.json's.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { sharedPath } from "../../bench/lib/shared.mjs";
import { Reconstructor, type ReconstructorOptions } from "../../src/index.js";
import { createEngine, engineBinary, engineMemoryLimits, importedMemoryLimits } from "../../src/wasm/engine.js";
import {
  dropSpareMemory,
  engineOnSpareMemory,
  keepSpareMemory,
  SPARE_MAX_BYTES,
  spareMemoryBytes,
} from "../../src/wasm/spare-memory.js";
import { corpusCaptures } from "../golden/corpus.js";
import { folderCaptures, generatedCaptures, repoRoot, runRecords } from "./helpers.js";

const SLOW = 300_000;

/** Bytes that leave an engine mid-run: live records, index entries, extension and hole blocks. */
let dirt: Uint8Array;

/** Keeps as the spare the memory of an engine that stopped mid-capture (the spare's worst case). */
function dirtySpare(): void {
  dropSpareMemory();
  const engine = createEngine();
  new Reconstructor({}, engine).pushRecords(dirt, () => {});
  keepSpareMemory(engine);
  expect(spareMemoryBytes()).toBeGreaterThan(0);
}

/** Runs `bytes` on a new engine and on one over a dirty spare: the same output, every byte. */
function expectSameOnSpare(name: string, bytes: Uint8Array, options: ReconstructorOptions = {}): void {
  dirtySpare();
  const onSpare = runRecords(bytes, options, engineOnSpareMemory());
  const fresh = runRecords(bytes, options);
  expect(onSpare.stats, `${name}: statistics`).toEqual(fresh.stats);
  expect(onSpare.error, `${name}: capture error`).toBe(fresh.error);
  expect(onSpare.records.length, `${name}: flows`).toBe(fresh.records.length);
  for (let i = 0; i < fresh.records.length; i++) {
    if (onSpare.ndjson[i] !== fresh.ndjson[i])
      expect(JSON.parse(onSpare.ndjson[i]), `${name}: flow ${i}`).toEqual(JSON.parse(fresh.ndjson[i]));
    expect(onSpare.records[i].equals(fresh.records[i]), `${name}: record bytes of flow ${i}`).toBe(true);
  }
}

describe("an engine on a spare memory", () => {
  afterEach(() => dropSpareMemory());

  const generated = generatedCaptures("flowrecon-spare-", {
    headers: { seed: 41, segments: 100_000, concurrent: 5_000, snaplen: 96, anomalyShare: 0.3, rstShare: 0.2 },
    whole: { seed: 42, segments: 60_000, concurrent: 500, snaplen: 65535, anomalyShare: 0.3, payload: 300 },
  });

  beforeAll(() => {
    // The first 3/4 of the header-only capture: a table of 5k live connections (pushRecords keeps a
    // record cut at the end for the next push).
    dirt = generated.headers.subarray(0, (generated.headers.length * 3) >> 2);
  });

  it(
    "gives every capture of the corpora the output a new engine gives it",
    () => {
      expectSameOnSpare("generated/headers", generated.headers);
      expectSameOnSpare("generated/whole", generated.whole);
      for (const [name, bytes, options] of corpusCaptures()) expectSameOnSpare(name, bytes, options);
      for (const d of ["kernel", "pcap", "anomalies"])
        for (const [name, bytes] of folderCaptures(join(repoRoot, "test", "fixtures", d)))
          expectSameOnSpare(name, bytes);
      for (const [name, bytes] of folderCaptures(sharedPath("corpus", "wireshark")))
        expectSameOnSpare(name, bytes, { ignoreChecksums: true });
    },
    SLOW,
  );

  it("is the last engine's memory, zeroed below its heap end", async () => {
    const first = createEngine();
    new Reconstructor({}, first).pushRecords(dirt, () => {});
    const memory = first.exports.memory;
    const end = first.exports.heapEnd();
    // Written in its last quarter too (records, blocks), not only in the static data.
    expect(new Uint8Array(memory.buffer, end - (end >> 2), end >> 2).some((b) => b !== 0)).toBe(true);
    keepSpareMemory(first);
    expect(spareMemoryBytes()).toBe(memory.buffer.byteLength);
    // Zeroed once the event loop comes round (engineOnSpareMemory zeroes it first if taken before).
    await new Promise((resolve) => setImmediate(resolve));
    expect(new Uint8Array(memory.buffer).every((b) => b === 0)).toBe(true);
    const next = engineOnSpareMemory();
    expect(next.exports.memory).toBe(memory);
    expect(spareMemoryBytes()).toBe(0);
    // Without a spare, a new memory.
    expect(engineOnSpareMemory().exports.memory).not.toBe(memory);
  });

  it("keeps one spare, of at most SPARE_MAX_BYTES", () => {
    const a = createEngine();
    const b = createEngine();
    keepSpareMemory(a);
    keepSpareMemory(b);
    expect(engineOnSpareMemory().exports.memory).toBe(a.exports.memory);
    const big = createEngine();
    big.exports.memory.grow((SPARE_MAX_BYTES - big.exports.memory.buffer.byteLength) / 65536 + 1);
    keepSpareMemory(big);
    expect(spareMemoryBytes()).toBe(0);
  });

  it("has the memory limits asconfig.json gives the module, read from the binary's import", () => {
    const asconfig = JSON.parse(readFileSync(join(repoRoot, "asconfig.json"), "utf8")).options;
    expect(asconfig.importMemory).toBe(true);
    expect(engineMemoryLimits()).toEqual({ initial: asconfig.initialMemory, maximum: asconfig.maximumMemory });
    expect(importedMemoryLimits(engineBinary())).toEqual(engineMemoryLimits());
  });
});
