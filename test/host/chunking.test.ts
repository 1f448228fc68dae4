// The output must not depend on how the input is cut into chunks (issue 11, defect 5): a flow that
// ends mid-input (timer, eviction, reuse) is judged against the capture clock at the moment its record
// ends, never against how far the host had fed the input when it read the record. Every format, fed
// whole and in 1-byte, 7-byte and 64 KiB chunks, must print the same bytes.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Reconstructor, type ReconstructorOptions } from "../../src/reconstructor.js";
import { AsciiWriter, createFormatter, FORMAT_NAMES, type Formatter } from "../../src/format/index.js";
import { caseOptions, corpusDir, loadManifest } from "../golden/corpus.js";
import { repoRoot } from "./helpers.js";

const CHUNKS = [1, 7, 64 << 10];

/** Every format's output for `bytes` fed in pieces of `chunk` bytes (Infinity = whole). */
function outputs(bytes: Uint8Array, chunk: number, options: ReconstructorOptions): Record<string, string> {
  const rec = new Reconstructor(options);
  const formatters: [string, Formatter, AsciiWriter][] = FORMAT_NAMES.map((name) => [
    name,
    createFormatter(name, rec.layout, { now: () => new Date(Date.UTC(2024, 0, 2)), insight: rec.insight }),
    new AsciiWriter(1 << 16),
  ]);
  for (const [, f, out] of formatters) f.begin(out);
  const sink = (v: Parameters<Formatter["record"]>[0], p: number): void => {
    for (const [, f, out] of formatters) f.record(v, p, out);
  };
  const step = Math.min(chunk, bytes.length);
  for (let i = 0; i < bytes.length && rec.error === null; i += step) rec.pushRecords(bytes.subarray(i, i + step), sink);
  rec.finishRecords(sink);
  const result: Record<string, string> = {};
  for (const [name, f, out] of formatters) {
    f.end({ stats: rec.stats, error: rec.error }, out);
    result[name] = out.text();
  }
  return result;
}

function expectChunkFree(bytes: Uint8Array, options: ReconstructorOptions, chunks = CHUNKS): void {
  const whole = outputs(bytes, Infinity, options);
  for (const chunk of chunks) {
    const cut = outputs(bytes, chunk, options);
    for (const name of FORMAT_NAMES) expect(cut[name], `${name}, ${chunk}-byte chunks`).toBe(whole[name]);
  }
}

describe("output does not depend on chunk boundaries", () => {
  it("issue-11: idle_s of a flow evicted mid-input (kernel combined.pcap, flow cap 2)", () => {
    const bytes = readFileSync(resolve(repoRoot, "test/fixtures/kernel/combined.pcap"));
    // The evicted flow's idle time is the one that moved (3.596013 whole, 1.068014 in 7-byte chunks).
    expect(outputs(bytes, Infinity, { flowCap: 2 }).ndjson).toContain('"idle_s":1.068014');
    expectChunkFree(bytes, { flowCap: 2 });
  });

  it("issue-11: a flow that ends by a timer or port reuse mid-input (kernel combined.pcap, short timeouts)", () => {
    const bytes = readFileSync(resolve(repoRoot, "test/fixtures/kernel/combined.pcap"));
    expectChunkFree(bytes, {
      attemptTimeout: 0.5,
      closeTimeout: 0.2,
      inactivityTimeout: 1,
      handshakeInactivityTimeout: 1,
    });
  });

  describe("Zeek corpus", () => {
    for (const c of loadManifest()) {
      it(c.case, () => {
        const bytes = readFileSync(join(corpusDir(), c.capture));
        // 1-byte chunks cost one engine call per byte: only on the smaller captures.
        const chunks = bytes.length <= 256 << 10 ? CHUNKS : CHUNKS.slice(1);
        expectChunkFree(bytes, caseOptions(c.options), chunks);
      });
    }
  });
});
