// flowrecon against the traffic generator's ground truth (bench/lib/traffic.mjs, bench/lib/truth.mjs)
// on a header-only capture (snaplen 96, as flow collectors capture) of more than 100,000
// connections with a fifth of them carrying an injected anomaly, plus a smaller full-packet
// capture where the snaplen cannot excuse a content gap:
// - every connection is accounted for: one flow each, none extra, none duplicated, none flipped;
// - every conn_state is what Zeek reports for that wire shape (zeek-semantics.md §2);
// - when the flows carry `anomalies`: every injected anomaly is found (per-segment ones on the
//   right side) and nothing is reported that was not injected, except a content gap on a side
//   whose payload the snaplen cut;
// - when the flows carry `orig_state`/`resp_state`: the RFC 9293 state each endpoint was left in.
import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCapture, type Sidecar, type TruthEntry } from "../../bench/lib/traffic.mjs";
import { compareTruth, formatTruthReport, type TruthReport } from "../../bench/lib/truth.mjs";
import { Reconstructor } from "../../src/reconstructor.js";
import type { Flow } from "../../src/flow.js";

interface Case {
  truth: TruthEntry[];
  side: Sidecar;
  flows: Flow[];
  report: TruthReport;
}

function runCase(dir: string, name: string, options: Record<string, unknown>): Case {
  const truth: TruthEntry[] = [];
  const out = join(dir, `${name}.pcap`);
  const side = generateCapture({ out, sidecar: false, onTruth: (e: TruthEntry) => truth.push(e), ...options });
  const rec = new Reconstructor();
  const flows: Flow[] = [];
  const fd = openSync(out, "r");
  try {
    // One loop, not push(...batch): finish() returns every live flow at once, too many for spread arguments.
    for (let batch = rec.readFrom(fd); batch !== null; batch = rec.readFrom(fd)) for (const f of batch) flows.push(f);
    for (const f of rec.finish()) flows.push(f);
  } finally {
    closeSync(fd);
  }
  expect(rec.error).toBeNull();
  rmSync(out);
  return { truth, side, flows, report: compareTruth(truth, flows) };
}

function hasField(flows: Flow[], field: string): boolean {
  return flows.some((f) => field in f);
}

describe("flowrecon against the generator's ground truth", () => {
  let dir: string;
  let headers: Case;
  let full: Case;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "flowrecon-truth-"));
    headers = runCase(dir, "headers", {
      seed: 11,
      segments: 1_300_000,
      concurrent: 10_000,
      connSegments: 10,
      snaplen: 96,
      anomalyShare: 0.2,
    });
    full = runCase(dir, "full", {
      seed: 12,
      segments: 200_000,
      concurrent: 2_000,
      connSegments: 10,
      snaplen: 65535,
      anomalyShare: 0.3,
      format: "pcapng",
    });
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("the header-only capture has more than 100k connections and every kind of anomaly", () => {
    expect(headers.truth.length).toBe(headers.side.totals.connections);
    expect(headers.truth.length).toBeGreaterThanOrEqual(100_000);
    expect(headers.side.params.snaplen).toBe(96);
    for (const [kind, n] of Object.entries(headers.side.totals.anomalies)) {
      expect(n, kind).toBeGreaterThan(1000);
    }
    expect(headers.side.totals.teardown.rstOrig + headers.side.totals.teardown.rstResp).toBeGreaterThan(1000);
  });

  for (const name of ["headers", "full"] as const) {
    it(`${name}: every connection is one flow, none extra, none duplicated or flipped`, () => {
      const { report } = name === "headers" ? headers : full;
      expect(report.accountingOk, formatTruthReport(report)).toBe(true);
      expect(report.matched).toBe(report.connections);
    });

    it(`${name}: every conn_state follows Zeek's semantics for the wire shape`, () => {
      const { report, side } = name === "headers" ? headers : full;
      expect(report.connStateOk, formatTruthReport(report)).toBe(true);
      // Every conn_state the generator can produce is present, so none is checked vacuously.
      for (const s of ["SF", "RSTO", "RSTR", "S0", "REJ", "S1", "S2", "S3"])
        expect(side.expectedConnState[s], s).toBeGreaterThan(0);
    });

    it(`${name}: every injected anomaly is found and nothing else is reported`, () => {
      const { report, flows } = name === "headers" ? headers : full;
      expect(hasField(flows, "anomalies")).toBe(true);
      expect(report.anomaliesOk, formatTruthReport(report)).toBe(true);
    });

    it(`${name}: each endpoint is left in the expected RFC 9293 state`, () => {
      const { report, flows } = name === "headers" ? headers : full;
      expect(hasField(flows, "orig_state")).toBe(true);
      expect(report.statesOk, formatTruthReport(report)).toBe(true);
    });
  }

  it("the full-packet capture gives the snaplen nothing to excuse", () => {
    expect(full.side.totals.truncatedRecords).toBe(0);
    expect(full.truth.every((e) => e.allowed.length === 0)).toBe(true);
  });
});
