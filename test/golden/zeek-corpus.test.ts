// Golden test: every TCP row Zeek wrote for the 55 real captures of ../shared/corpus/zeek must be
// reproduced. Rows are matched by 5-tuple and ts (never by order or uid, MANIFEST.md "How to
// compare"); each column the baseline has is compared. Every difference must be listed, with its
// reason, in test/KNOWN_DIFFERENCES.md, and every listed difference must still occur, so the file
// stays true; each case checks its own rows both ways and fails on its own. The bars: >= 95% of rows exact on conn_state and history, >= 98% on counters.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { caseFlows, connection, expectListed, flowOfRow, loadManifest, readRows, type Row } from "./corpus.js";
import { tableRows } from "../markdown-tables.js";

const COUNTERS = [
  "orig_pkts",
  "resp_pkts",
  "orig_ip_bytes",
  "resp_ip_bytes",
  "orig_bytes",
  "resp_bytes",
  "missed_bytes",
  "duration",
];
const STATE = ["conn_state", "history"];

interface Difference {
  case: string;
  connection: string;
  ts: string;
  field: string;
  zeek: string;
  ours: string;
}

/** Our value of a column in Zeek's ASCII form: "-" for unset, 6 decimals for intervals. */
function ours(flow: Record<string, unknown>, field: string, zeekRow: Row): string {
  let v = flow[field];
  // Script-printed sizes (kind "print") exist even when conn.log would hide them at duration 0.
  if (v === undefined && (field === "orig_bytes" || field === "resp_bytes") && zeekRow[field] !== "-")
    v = flow[`${field.slice(0, 4)}_size`];
  if (v === undefined || v === null) return "-";
  if (field === "duration") return (v as number).toFixed(6);
  return String(v);
}

function readKnown(): Difference[] {
  const text = readFileSync(new URL("../KNOWN_DIFFERENCES.md", import.meta.url), "utf8");
  const unq = (s: string) => s.replace(/^`|`$/g, "");
  return tableRows(
    text,
    ["case", "connection", "ts", "field", "zeek", "flowrecon", "reason"],
    "KNOWN_DIFFERENCES.md",
  ).map((r) => ({
    case: r.case,
    connection: r.connection,
    ts: r.ts,
    field: r.field,
    zeek: unq(r.zeek),
    ours: unq(r.flowrecon),
  }));
}

const key = (d: Difference) => [d.case, d.connection, d.ts, d.field, d.zeek, d.ours].join(" | ");

describe("Zeek conn.log corpus", () => {
  const cases = loadManifest();
  const known = readKnown();
  let rows = 0,
    stateExact = 0,
    counterExact = 0,
    casesRun = 0;

  for (const c of cases) {
    it(`${c.case}: every TCP row is reproduced, or its difference is listed in test/KNOWN_DIFFERENCES.md`, () => {
      const flows = caseFlows(c);
      const differences: Difference[] = [];
      for (const row of readRows(c.conn_file)) {
        rows++;
        const conn = connection(row);
        const match = flowOfRow(flows, row);
        if (!match) {
          differences.push({
            case: c.case,
            connection: conn,
            ts: row.ts,
            field: "row",
            zeek: "present",
            ours: "missing",
          });
          continue;
        }
        let stateOk = true,
          countersOk = true;
        for (const field of [...STATE, ...COUNTERS]) {
          if (!(field in row)) continue;
          const mine = ours(match, field, row);
          if (mine === row[field]) continue;
          differences.push({ case: c.case, connection: conn, ts: row.ts, field, zeek: row[field], ours: mine });
          if (STATE.includes(field)) stateOk = false;
          else countersOk = false;
        }
        if (stateOk) stateExact++;
        if (countersOk) counterExact++;
      }
      casesRun++;
      // This case's own differences against this case's entries of the list, both ways.
      expectListed(differences.map(key), known.filter((d) => d.case === c.case).map(key), "test/KNOWN_DIFFERENCES.md");
    });
  }

  it("every entry of test/KNOWN_DIFFERENCES.md names a case of the corpus", () => {
    const names = new Set(cases.map((c) => c.case));
    expect(known.filter((d) => !names.has(d.case)).map(key)).toEqual([]);
  });

  it("meets the agreement bars (95% state and history, 98% counters)", () => {
    // Summed by the cases above (this file's tests run in order); a case that failed before
    // counting leaves the totals short, and the first expectation says so.
    expect(casesRun, "every case ran to the end").toBe(cases.length);
    expect(rows).toBeGreaterThanOrEqual(190);
    expect(stateExact / rows).toBeGreaterThanOrEqual(0.95);
    expect(counterExact / rows).toBeGreaterThanOrEqual(0.98);
    console.log(
      `corpus rows ${rows}: conn_state+history exact ${stateExact} (${((100 * stateExact) / rows).toFixed(1)}%), counters exact ${counterExact} (${((100 * counterExact) / rows).toFixed(1)}%)`,
    );
  });
});
