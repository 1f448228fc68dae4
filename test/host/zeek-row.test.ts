// zeekRow turns a decoded Flow (the nested view) back into the engine's Zeek TSV row, with the
// Zeek types and names of the engine's column table; the Zeek-only columns (anomaly names, HTTP
// counters) come from the nested objects. Differential: every record of the Zeek corpus (with each
// case's options) and of the generator's whole capture, the engine's row against zeekRow of the
// same record decoded, with rows that set those columns counted so the test cannot pass on none.
import { describe, expect, it } from "vitest";
import { Reconstructor, zeekRow, type ReconstructorOptions } from "../../src/index.js";
import { FlowDecoder } from "../../src/flow.js";
import { LocalNets } from "../../src/net/local-nets.js";
import { corpusCaptures } from "../golden/corpus.js";
import { generatedCaptures } from "./helpers.js";

const SLOW = 600_000;

const seen = { rows: 0, anomalies: 0, http: 0 };

function expectSameRows(name: string, bytes: Uint8Array, options: ReconstructorOptions = {}): void {
  const rec = new Reconstructor(options);
  const lines = rec.engineLines({
    format: "zeek",
    localNets: options.localNets,
    communityIdSeed: options.communityIdSeed,
  });
  const decoder = new FlowDecoder(rec.layout, {
    insight: rec.insight,
    localNets: new LocalNets(options.localNets),
    communityIdSeed: options.communityIdSeed,
  });
  let index = 0;
  let mismatch: string | null = null;
  const sink = (v: Parameters<Parameters<Reconstructor["pushRecords"]>[1]>[0], p: number) => {
    lines.record(p);
    const got = lines.take();
    const flow = decoder.decode(v, p);
    const want = `${zeekRow(flow)}\n`;
    if (got !== want && mismatch === null) mismatch = `${name} record ${index}:\nengine  ${got}zeekRow ${want}`;
    if (flow.anomalies.length > 0) seen.anomalies++;
    if (flow.http !== undefined) seen.http++;
    index++;
  };
  for (let off = 0; off < bytes.length; off += 1 << 20) rec.pushRecords(bytes.subarray(off, off + (1 << 20)), sink);
  rec.finishRecords(sink);
  seen.rows += index;
  expect(mismatch, name).toBeNull();
}

describe("zeekRow of a decoded flow is the engine's Zeek row", () => {
  const generated = generatedCaptures("flowrecon-zeekrow-", {
    whole: { seed: 43, segments: 20_000, concurrent: 300, snaplen: 65535, anomalyShare: 0.3, payload: 300 },
  });

  it(
    "Zeek corpus, with each case's Zeek options",
    () => {
      for (const [name, bytes, options] of corpusCaptures()) expectSameRows(name, bytes, options);
    },
    SLOW,
  );

  it(
    "the generator's whole capture",
    () => {
      expectSameRows("generated/whole", generated.whole);
    },
    SLOW,
  );

  it("compared rows with anomalies and with HTTP", () => {
    expect(seen.rows).toBeGreaterThan(1_000);
    expect(seen.anomalies).toBeGreaterThan(100);
    expect(seen.http).toBeGreaterThan(10);
  });
});
