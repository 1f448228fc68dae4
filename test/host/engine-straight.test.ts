// The straight-line rows of the Zeek TSV row and the nested JSON object (assembly/format/fields.ts
// rowZeekTsv, rowNestedJson) must agree with the column table and write exactly what the slot loop
// writes. layoutColumns uses a row only when its column list (with the nested groups' openings and
// closings) equals the slots it laid out from the table; the first test fails when they diverge (a
// column added, removed or moved in one and not the other). The others run every capture through
// both paths in both shapes and demand the same bytes, so a value rule that the straight-line
// inlining changed shows up.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sharedPath } from "../../bench/lib/shared.mjs";
import { Reconstructor, type ReconstructorOptions } from "../../src/index.js";
import { createEngine } from "../../src/wasm/engine.js";
import { corpusCaptures } from "../golden/corpus.js";
import { folderCaptures, generatedCaptures, repoRoot } from "./helpers.js";

const SLOW = 600_000;

/** The formatter's switch (assembly/format/abi.ts fmtStraight), not part of the host's engine type. */
interface StraightExports {
  fmtStraight(on: number): number;
}

/** The shapes with a straight-line row. */
const SHAPES = ["zeek", "ndjson"] as const;
type Shape = (typeof SHAPES)[number];

/** Every row (Zeek TSV) or line (nested JSON) of the capture, with the straight-line row on or off. */
function lineTexts(bytes: Uint8Array, options: ReconstructorOptions, format: Shape, straight: boolean): string[] {
  const engine = createEngine();
  const rec = new Reconstructor(options, engine);
  const lines = rec.engineLines({ format, localNets: options.localNets });
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
  for (const format of SHAPES) {
    const fast = lineTexts(bytes, options, format, true);
    const loop = lineTexts(bytes, options, format, false);
    expect(fast.length, `${name} ${format}`).toBe(loop.length);
    const i = fast.findIndex((row, k) => row !== loop[k]);
    expect(
      i < 0 ? null : `${name} ${format} row ${i}:\n got ${fast[i]}\nwant ${loop[i]}`,
      `${name} ${format}`,
    ).toBeNull();
  }
}

describe("the straight-line rows (Zeek TSV, nested JSON)", () => {
  it("list the table's views, so they are used (and only when on)", () => {
    const engine = createEngine();
    const rec = new Reconstructor({}, engine);
    const ex = engine.exports as unknown as StraightExports;
    for (const format of SHAPES) {
      rec.engineLines({ format });
      expect(ex.fmtStraight(1), format).toBe(1);
      expect(ex.fmtStraight(0), format).toBe(0);
    }
    // Zeek's JSON shape keeps the slot loop.
    rec.engineLines({ format: "ndjson", jsonStyle: "zeek" });
    expect(ex.fmtStraight(1)).toBe(0);
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
