// The engine's formatter over records copied out of the engine that finished them (RecordLines:
// the HTTP API's json and ndjson answers, formatted on a format thread or from a session's store)
// must write the JavaScript formatter's bytes (JsonRecordWriter) for the same record judged against
// the same clock: standing alone, at a moving capture clock, and not final with other thresholds.
// Two writers with different options take turns on the one formatter instance, record by record.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Reconstructor } from "../../src/index.js";
import { AsciiWriter } from "../../src/format/ascii.js";
import { JsonRecordWriter } from "./js-record-writers.js";
import type { JsonStyle } from "../../src/format/engine-lines.js";
import { RecordLines } from "../../src/format/engine-lines.js";
import { LocalNets } from "../../src/net/local-nets.js";
import type { InsightContext } from "../../src/anomalies/index.js";
import type { MemoryViews } from "../../src/wasm/engine.js";
import { corpusDir, loadManifest } from "../golden/corpus.js";
import { repoRoot } from "./helpers.js";

interface Writer {
  name: string;
  style: JsonStyle;
  seed?: number;
  localNets?: string;
  /** undefined: records stand alone. */
  clock?: InsightContext;
}

function expectSame(name: string, bytes: Uint8Array, writers: readonly Writer[]): number {
  const rec = new Reconstructor({});
  const pairs = writers.map((w) => {
    const options = { communityIdSeed: w.seed, insight: w.clock, localNets: new LocalNets(w.localNets) };
    return {
      w,
      js: new JsonRecordWriter(rec.layout, w.style, options),
      engine: new RecordLines(
        { format: "ndjson", jsonStyle: w.style, communityIdSeed: w.seed, localNets: w.localNets },
        rec.layout.constants.FR_SIZE,
        w.clock,
      ),
    };
  });
  const want = new AsciiWriter(1 << 12);
  const got = new AsciiWriter(1 << 12);
  let index = 0;
  let mismatch: string | null = null;
  const sink = (v: MemoryViews, p: number) => {
    // A copy, as a format thread or a session's store holds it.
    const copy = new Uint8Array(v.u8.subarray(p, p + rec.layout.constants.FR_SIZE));
    const held = { u8: copy } as MemoryViews;
    for (const { w, js, engine } of pairs) {
      if (w.clock !== undefined) w.clock.endUs = rec.insight.endUs + (index % 7) * 1e6;
      want.pos = 0;
      js.write(v, p, want);
      want.byte(0x0a);
      got.pos = 0;
      const n = engine.write(held, 0, got);
      if (n !== got.pos && mismatch === null)
        mismatch = `${name} ${w.name} record ${index}: wrote ${n}, moved ${got.pos}`;
      if (got.text() !== want.text() && mismatch === null)
        mismatch = `${name} ${w.name} record ${index}:\n got ${got.text()}\nwant ${want.text()}`;
    }
    index++;
  };
  for (let off = 0; off < bytes.length; off += 1 << 16) rec.pushRecords(bytes.subarray(off, off + (1 << 16)), sink);
  rec.finishRecords(sink);
  expect(mismatch).toBeNull();
  return index;
}

const dirs = ["pcap", "anomalies", "kernel"].map((d) => join(repoRoot, "test", "fixtures", d));

describe("RecordLines: records held outside their engine", () => {
  it("alone, at a moving clock, not final with other thresholds, two writers taking turns", () => {
    const writers: Writer[] = [
      { name: "alone/nested", style: "nested" },
      { name: "clock/zeek", style: "zeek", seed: 7, clock: { endUs: 0, final: true } },
      {
        name: "live/nested",
        style: "nested",
        localNets: "10.0.0.0/8",
        clock: {
          endUs: 0,
          final: false,
          thresholds: { synTimeout: 1, synAckTimeout: 2, finWait2Timeout: 3, timeWait: 4, vanishedAfter: 5 },
        },
      },
    ];
    let records = 0;
    for (const dir of dirs)
      for (const f of readdirSync(dir)
        .filter((f) => /\.pcap(ng)?$/.test(f))
        .sort())
        records += expectSame(f, readFileSync(join(dir, f)), writers);
    for (const c of loadManifest()) records += expectSame(c.case, readFileSync(join(corpusDir(), c.capture)), writers);
    expect(records).toBeGreaterThan(200);
  }, 300_000);
});
