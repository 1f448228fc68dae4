// The straight-line rows of the Zeek view (TSV row, Zeek JSON) and of the nested JSON object
// (assembly/format/fields.ts rowZeekTsv, rowZeekJson, rowNestedJson) must agree with the column
// table and write exactly what the slot loop writes. layoutColumns uses a row only when its column
// list (with the nested groups' openings and closings) equals the slots it laid out from the
// table; the first test fails when they diverge (a column added, removed or moved in one and not
// the other). The others run every capture through both paths in every shape and demand the same
// bytes, so a value rule that the straight-line inlining changed shows up.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sharedPath } from "../../bench/lib/shared.mjs";
import { Reconstructor, type ReconstructorOptions } from "../../src/index.js";
import type { EngineLineOptions } from "../../src/format/engine-lines.js";
import { createEngine } from "../../src/wasm/engine.js";
import { corpusCaptures } from "../golden/corpus.js";
import { folderCaptures, generatedCaptures, repoRoot } from "./helpers.js";

const SLOW = 600_000;

/** The formatter's switch (assembly/format/abi.ts fmtStraight), not part of the host's engine type. */
interface StraightExports {
  fmtStraight(on: number): number;
}

/** The output shapes, each with a straight-line row. */
const SHAPES: { name: string; options: EngineLineOptions }[] = [
  { name: "zeek", options: { format: "zeek" } },
  { name: "ndjson", options: { format: "ndjson" } },
  { name: "ndjson zeek-style", options: { format: "ndjson", jsonStyle: "zeek" } },
];

/** Every row or line of the capture in one shape, with the straight-line row on or off. */
function lineTexts(
  bytes: Uint8Array,
  options: ReconstructorOptions,
  shape: EngineLineOptions,
  straight: boolean,
): string[] {
  const engine = createEngine();
  const rec = new Reconstructor(options, engine);
  const lines = rec.engineLines({ ...shape, localNets: options.localNets });
  const active = (engine.exports as unknown as StraightExports).fmtStraight(straight ? 1 : 0);
  expect(active, "the straight-line row is in use exactly when it is on").toBe(straight ? 1 : 0);
  const rows: string[] = [];
  const sink = (_v: unknown, p: number) => {
    lines.record(p);
    rows.push(lines.take());
  };
  for (let off = 0; off < bytes.length; off += 1 << 20) rec.pushRecords(bytes.subarray(off, off + (1 << 20)), sink);
  rec.finishRecords(sink);
  return rows;
}

function expectSameRows(name: string, bytes: Uint8Array, options: ReconstructorOptions = {}): void {
  for (const { name: format, options: shape } of SHAPES) {
    const fast = lineTexts(bytes, options, shape, true);
    const loop = lineTexts(bytes, options, shape, false);
    expect(fast.length, `${name} ${format}`).toBe(loop.length);
    const i = fast.findIndex((row, k) => row !== loop[k]);
    expect(
      i < 0 ? null : `${name} ${format} row ${i}:\n got ${fast[i]}\nwant ${loop[i]}`,
      `${name} ${format}`,
    ).toBeNull();
  }
}

describe("the straight-line rows (Zeek TSV, Zeek JSON, nested JSON)", () => {
  it("list the table's views, so they are used (and only when on)", () => {
    const engine = createEngine();
    const rec = new Reconstructor({}, engine);
    const ex = engine.exports as unknown as StraightExports;
    for (const { name, options } of SHAPES) {
      rec.engineLines(options);
      expect(ex.fmtStraight(1), name).toBe(1);
      expect(ex.fmtStraight(0), name).toBe(0);
    }
  });

  it(
    "writes the slot loop's bytes: Zeek corpus, kernel fixtures, test fixtures, Wireshark corpus",
    () => {
      for (const [name, bytes, options] of corpusCaptures()) expectSameRows(name, bytes, options);
      for (const [name, bytes] of folderCaptures(join(repoRoot, "test", "fixtures", "kernel")))
        expectSameRows(name, bytes);
      for (const d of ["pcap", "anomalies", "fuzz", "layers"])
        for (const [name, bytes] of folderCaptures(join(repoRoot, "test", "fixtures", d)))
          expectSameRows(name, bytes, { ignoreChecksums: true });
      for (const [name, bytes] of folderCaptures(sharedPath("corpus", "wireshark")))
        expectSameRows(name, bytes, { ignoreChecksums: true });
    },
    SLOW,
  );

  it(
    "writes the slot loop's bytes: the generator's anomaly captures, local_nets set",
    () => {
      const generated = generatedCaptures("flowrecon-straight-", {
        headers: { seed: 43, segments: 40_000, concurrent: 2_000, snaplen: 96, anomalyShare: 0.3, rstShare: 0.2 },
        whole: { seed: 44, segments: 30_000, concurrent: 500, snaplen: 65535, anomalyShare: 0.3, payload: 300 },
      });
      for (const [name, bytes] of Object.entries(generated)) {
        expectSameRows(`generated/${name}`, bytes);
        expectSameRows(`generated/${name} local_nets`, bytes, { localNets: "-,10.0.0.0/8,2001:db8:1::/48" });
      }
    },
    SLOW,
  );
});
