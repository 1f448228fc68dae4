// Differential test against Wireshark's own TCP analysis (tshark 4.0, tcp.analysis.* flags) on
// every capture the suite has: per connection and side, each anomaly family flowrecon reports is
// compared with its Wireshark flag (FAMILIES in wireshark.ts). Every difference must be listed,
// with the reason, in test/anomalies/WIRESHARK_DIFFERENCES.md, and every listed difference must
// still occur, so the file stays true. One test case per capture: a failure names the capture.
//
// The figures (connections compared, agreements per family, accepted differences) are printed at
// the end: npx vitest run test/anomalies/wireshark-diff.test.ts

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { corpusDir } from "../golden/corpus.js";
import { tableRows } from "../markdown-tables.js";
import { FAMILIES, compare, flowreconView, wiresharkView, type Difference } from "./wireshark.js";

const HERE = import.meta.dirname;
const DIRS: [string, string][] = [
  ["zeek", corpusDir()],
  ["kernel", resolve(HERE, "../fixtures/kernel")],
  ["wireshark", resolve(corpusDir(), "..", "wireshark")],
  ["anomalies", resolve(HERE, "../fixtures/anomalies")],
  ["pcap", resolve(HERE, "../fixtures/pcap")],
];
const LIST = resolve(HERE, "WIRESHARK_DIFFERENCES.md");

interface Accepted extends Difference {
  reason: string;
}

const yesNo = (b: boolean) => (b ? "yes" : "no");
const row = (d: Difference, reason = "?") =>
  `| ${d.capture} | ${d.connection} | ${d.side} | ${d.family} | ${yesNo(d.wireshark)} | ${yesNo(d.flowrecon)} | ${reason} |`;
const same = (a: Difference, b: Difference) =>
  a.capture === b.capture &&
  a.connection === b.connection &&
  a.side === b.side &&
  a.family === b.family &&
  a.wireshark === b.wireshark &&
  a.flowrecon === b.flowrecon;

/** The reasons (`| reason | explanation |` under "## Reasons") and the differences table of the list. */
function readList(): { reasons: Map<string, string>; accepted: Accepted[] } {
  const text = readFileSync(LIST, "utf8");
  const source = "WIRESHARK_DIFFERENCES.md";
  const unquote = (s: string) => s.replace(/`/g, "");
  const reasons = new Map(
    tableRows(text, ["reason", "explanation"], source, "Reasons").map((r) => [unquote(r.reason), r.explanation]),
  );
  const header = ["capture", "connection", "side", "family", "wireshark", "flowrecon", "reason"];
  const accepted = tableRows(text, header, source, "Differences").map((r) => ({
    capture: r.capture,
    connection: r.connection,
    side: r.side,
    family: r.family,
    wireshark: r.wireshark === "yes",
    flowrecon: r.flowrecon === "yes",
    reason: unquote(r.reason),
  }));
  return { reasons, accepted };
}

const captures = DIRS.flatMap(([label, dir]) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((n) => /\.pcap(ng)?$/.test(n))
        .sort()
        .map((n) => ({ label, name: n, file: resolve(dir, n) }))
    : [],
);

describe("flowrecon vs Wireshark's TCP analysis", () => {
  const { reasons, accepted } = readList();
  const totals = {
    captures: 0,
    connections: 0,
    sides: 0,
    accepted: 0,
    agree: Object.fromEntries(FAMILIES.map((f) => [f.name, 0])) as Record<string, number>,
  };

  it("tshark is installed (.ci/run installs it) and the list explains every difference it holds", () => {
    expect(
      () => execFileSync("tshark", ["-v"], { stdio: "ignore" }),
      "tshark not found: apt-get install tshark",
    ).not.toThrow();
    for (const a of accepted) expect(reasons.has(a.reason), `${row(a, a.reason)}: reason not defined`).toBe(true);
    expect(new Set(accepted.map((a) => a.capture)).size).toBeGreaterThan(0);
    for (const a of accepted)
      expect(
        captures.some((c) => c.name === a.capture),
        `${a.capture}: no such capture`,
      ).toBe(true);
  });

  for (const c of captures) {
    it(`${c.label}/${c.name}`, () => {
      const result = compare(c.name, flowreconView(c.file), wiresharkView(c.file));
      totals.captures++;
      totals.connections += result.connections;
      totals.sides += result.sides;
      for (const f of FAMILIES) totals.agree[f.name] += result.agree[f.name];
      const listed = accepted.filter((a) => a.capture === c.name);
      totals.accepted += listed.filter((a) => result.differences.some((d) => same(a, d))).length;
      const unexplained = result.differences.filter((d) => !listed.some((a) => same(a, d))).map((d) => row(d));
      const gone = listed.filter((a) => !result.differences.some((d) => same(a, d))).map((a) => row(a, a.reason));
      expect(unexplained, "differences not in test/anomalies/WIRESHARK_DIFFERENCES.md").toEqual([]);
      expect(gone, "listed differences that no longer occur").toEqual([]);
    });
  }

  afterAll(() => {
    if (totals.captures === 0) return;
    const lines = [
      `flowrecon vs tshark: ${totals.captures} captures, ${totals.connections} connections, ${totals.sides} connection sides per family`,
    ];
    for (const f of FAMILIES)
      lines.push(
        `  ${f.name.padEnd(20)} agree on ${totals.agree[f.name]}/${totals.sides} (${f.wireshark.join(" | ")})`,
      );
    lines.push(`  accepted differences: ${totals.accepted} (test/anomalies/WIRESHARK_DIFFERENCES.md)`);
    console.log(lines.join("\n"));
  });
});
