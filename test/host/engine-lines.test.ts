// The engine's formatter (assembly/format/, src/format/engine-lines.ts) must write exactly the
// bytes of the JavaScript formatter it replaces (test/host/js-record-writers.ts through the CLI's
// printer): NDJSON in both JSON styles and Zeek TSV rows, record by record. Every capture the suite
// has runs through both: the Zeek corpus with each case's options, the kernel fixtures, the
// Wireshark corpus, test/fixtures/{pcap,anomalies,fuzz,layers}, and the generator's anomaly captures
// (header-only and whole). Options that change output (Community ID seed, Site::local_nets,
// endpoint-state thresholds, the anomaly filter) are varied on top.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sharedPath } from "../../bench/lib/shared.mjs";
import { Reconstructor, type ReconstructorOptions } from "../../src/index.js";
import { AsciiWriter } from "../../src/format/ascii.js";
import type { AnomalyFilter } from "../../src/output/printer.js";
import { jsPrinter } from "./js-formatter.js";
import type { EngineLineFormat } from "../../src/format/engine-lines.js";
import type { JsonStyle } from "../../src/format/index.js";
import type { StateThresholds } from "../../src/anomalies/index.js";
import { corpusCaptures } from "../golden/corpus.js";
import { captureFiles, folderCaptures, generatedCaptures, repoRoot } from "./helpers.js";

/** Every capture runs three times (one per shape); minutes on a loaded 2-vCPU machine. */
const SLOW = 600_000;

interface Shape {
  format: EngineLineFormat;
  jsonStyle: JsonStyle;
}
const SHAPES: readonly Shape[] = [
  { format: "ndjson", jsonStyle: "nested" },
  { format: "ndjson", jsonStyle: "zeek" },
  { format: "zeek", jsonStyle: "nested" },
];

interface Variant {
  options?: ReconstructorOptions;
  anomalyFilter?: AnomalyFilter;
  /** Endpoint-state thresholds, set on the reconstructor's insight context (both formatters read them there). */
  thresholds?: StateThresholds;
}

let recordsCompared = 0;

/** Runs the capture once per shape; each finished record is written by both formatters and compared. */
function expectSameLines(name: string, bytes: Uint8Array, variant: Variant = {}): void {
  const options = variant.options ?? {};
  for (const shape of SHAPES) {
    const rec = new Reconstructor(options);
    if (variant.thresholds !== undefined) rec.insight.thresholds = variant.thresholds;
    const js = jsPrinter(
      {
        format: shape.format,
        layout: rec.layout,
        jsonStyle: shape.jsonStyle,
        localNets: options.localNets,
        communityIdSeed: options.communityIdSeed,
        anomalyFilter: variant.anomalyFilter,
      },
      rec.insight,
    );
    const engine = rec.engineLines({
      format: shape.format,
      jsonStyle: shape.jsonStyle,
      localNets: options.localNets,
      communityIdSeed: options.communityIdSeed,
      anomalyFilter: variant.anomalyFilter,
    });
    const out = new AsciiWriter(1 << 16);
    let index = 0;
    let mismatch: string | null = null;
    const sink = (v: Parameters<Parameters<Reconstructor["pushRecords"]>[1]>[0], p: number) => {
      out.pos = 0;
      js.record(v, p, out);
      engine.record(p);
      const want = out.text();
      const got = engine.take();
      if (got !== want && mismatch === null)
        mismatch = `${name} (${shape.format}/${shape.jsonStyle}) record ${index}:\n got ${got}\nwant ${want}`;
      index++;
    };
    for (let off = 0; off < bytes.length; off += 1 << 20) rec.pushRecords(bytes.subarray(off, off + (1 << 20)), sink);
    rec.finishRecords(sink);
    recordsCompared += index;
    expect(mismatch, `${name} ${shape.format}/${shape.jsonStyle}`).toBeNull();
  }
}

const kernelDir = join(repoRoot, "test", "fixtures", "kernel");
const fixtureDirs = ["pcap", "anomalies", "fuzz", "layers"].map((d) => join(repoRoot, "test", "fixtures", d));
const wiresharkDir = sharedPath("corpus", "wireshark");

describe("the engine writes the JavaScript formatter's bytes", () => {
  const generated = generatedCaptures("flowrecon-lines-", {
    headers: { seed: 41, segments: 60_000, concurrent: 2_000, snaplen: 96, anomalyShare: 0.3, rstShare: 0.2 },
    whole: { seed: 42, segments: 40_000, concurrent: 500, snaplen: 65535, anomalyShare: 0.3, payload: 300 },
  });

  it(
    "Zeek corpus, with each case's Zeek options",
    () => {
      for (const [name, bytes, options] of corpusCaptures()) expectSameLines(name, bytes, { options });
    },
    SLOW,
  );

  it(
    "kernel fixtures, test fixtures and the Wireshark corpus",
    () => {
      for (const [name, bytes] of folderCaptures(kernelDir)) expectSameLines(name, bytes);
      for (const d of fixtureDirs)
        for (const [name, bytes] of folderCaptures(d))
          expectSameLines(name, bytes, { options: { ignoreChecksums: true } });
      for (const [name, bytes] of folderCaptures(wiresharkDir))
        expectSameLines(name, bytes, { options: { ignoreChecksums: true } });
    },
    SLOW,
  );

  it(
    "the generator's anomaly captures (header-only and whole)",
    () => {
      for (const [name, bytes] of Object.entries(generated)) expectSameLines(`generated/${name}`, bytes);
    },
    SLOW,
  );

  it(
    "options that change output: seed, local_nets, thresholds, VLAN key, anomaly filter",
    () => {
      const sources: [string, Uint8Array][] = [
        ["generated/whole", generated.whole],
        ...captureFiles(kernelDir)
          .slice(0, 6)
          .map((f) => [`kernel/${f}`, readFileSync(join(kernelDir, f))] as [string, Uint8Array]),
      ];
      const variants: [string, Variant][] = [
        [
          "seed 7, local_nets 10.0.0.0/8 and an IPv6 /48",
          { options: { communityIdSeed: 7, localNets: "-,10.0.0.0/8,2001:db8:1::/48,192.168.1.7" } },
        ],
        ["empty local_nets", { options: { localNets: "-" } }],
        // An IPv6 network shorter than /96 that holds every v4-mapped address: IPv4 addresses are local.
        ["local_nets ::ffff:0:0/95 (holds IPv4)", { options: { localNets: "-,::ffff:0:0/95" } }],
        [
          "short thresholds, VLAN key",
          {
            options: { vlanInKey: true },
            thresholds: { synTimeout: 1, synAckTimeout: 0.5, finWait2Timeout: 2, timeWait: 0.25, vanishedAfter: 0.1 },
          },
        ],
        ["anomalies only", { anomalyFilter: { any: true, names: [] } }],
        [
          "anomalies named reset, zero_window, stuck_fin_wait_2",
          { anomalyFilter: { any: false, names: ["reset", "zero_window", "stuck_fin_wait_2"] } },
        ],
      ];
      for (const [name, bytes] of sources)
        for (const [what, v] of variants) expectSameLines(`${name} (${what})`, bytes, v);
    },
    SLOW,
  );

  it("compared a real number of records", () => {
    expect(recordsCompared).toBeGreaterThan(20_000);
  });
});

describe("the Zeek header comes from the engine's column table", () => {
  it("#fields and #types equal the JavaScript oracle's table", async () => {
    const { COLUMNS, viewColumns, ZEEK_VIEW } = await import("./js-columns.js");
    const lines = new Reconstructor().engineLines({ format: "zeek" });
    expect(lines.zeekColumns("fields")).toEqual(viewColumns(COLUMNS, ZEEK_VIEW).map((c) => c.name));
    expect(lines.zeekColumns("types")).toEqual(viewColumns(COLUMNS, ZEEK_VIEW).map((c) => c.type));
  });

  it("ZEEK_FIELDS and zeekFieldTable are that table", async () => {
    const { ZEEK_FIELDS } = await import("../../src/index.js");
    const { zeekFieldTable } = await import("../../src/format/engine-lines.js");
    const lines = new Reconstructor().engineLines({ format: "zeek" });
    expect(ZEEK_FIELDS).toEqual(lines.zeekColumns("fields"));
    expect(zeekFieldTable()).toEqual({
      names: lines.zeekColumns("fields"),
      types: lines.zeekColumns("types"),
      always: lines.zeekColumns("always").map((t) => t === "T"),
    });
  });
});
