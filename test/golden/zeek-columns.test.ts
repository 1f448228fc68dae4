// Golden test of the conn.log columns that come from Zeek's scripts rather than from TCP:
// `service` (dynamic protocol detection), `local_orig`/`local_resp` (Site::local_nets, Zeek's
// default: the private address space), `tunnel_parents` (set on tunnelled connections) and
// `ip_proto`, compared with every corpus row whose baseline has the column (rows matched by
// 5-tuple and ts, as in zeek-corpus.test.ts).
//
// `service` differences are listed, with their reason, in test/golden/SERVICE_DIFFERENCES.md; the
// test fails on a difference not listed there and on a listed one that no longer occurs. The
// other columns must agree on every row. Zeek's uids are random, so `tunnel_parents` is compared
// for presence; its value is checked in test/host/columns.test.ts.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { caseFlows, connection, expectListed, flowOfRow, loadManifest, readRows } from "./corpus.js";
import { tableRows } from "../markdown-tables.js";

const zeekBool = (v: unknown) => (v === undefined ? "-" : v ? "T" : "F");

interface ServiceDifference {
  case: string;
  connection: string;
  ts: string;
  zeek: string;
  ours: string;
}

function readListed(): ServiceDifference[] {
  const text = readFileSync(new URL("./SERVICE_DIFFERENCES.md", import.meta.url), "utf8");
  const unq = (s: string) => s.replace(/^`|`$/g, "");
  return tableRows(text, ["case", "connection", "ts", "zeek", "flowrecon", "reason"], "SERVICE_DIFFERENCES.md").map(
    (r) => ({
      case: r.case,
      connection: r.connection,
      ts: r.ts,
      zeek: unq(r.zeek),
      ours: unq(r.flowrecon),
    }),
  );
}

describe("Zeek conn.log columns from Zeek's scripts (service, local_orig/resp, tunnel_parents, ip_proto)", () => {
  const cases = loadManifest().filter((c) => {
    const rows = readRows(c.conn_file);
    return rows.length > 0 && ("service" in rows[0] || "local_orig" in rows[0] || "tunnel_parents" in rows[0]);
  });
  const found: ServiceDifference[] = [];
  let serviceRows = 0,
    serviceAgree = 0;

  for (const c of cases) {
    it(`${c.case}: columns agree with Zeek's`, () => {
      const flows = caseFlows(c);
      for (const row of readRows(c.conn_file)) {
        const conn = connection(row);
        const f = flowOfRow(flows, row);
        expect(f, `${conn} at ${row.ts}`).toBeDefined();
        if (f === undefined) continue;
        if ("service" in row) {
          serviceRows++;
          const ours = (f.service as string | undefined) ?? "-";
          if (ours === row.service) serviceAgree++;
          else found.push({ case: c.case, connection: conn, ts: row.ts, zeek: row.service, ours });
        }
        // The LDAP tests removed these columns from their baselines (the corpus keeps the header as "None").
        if ("local_orig" in row && row.local_orig !== "None") {
          expect([zeekBool(f.local_orig), zeekBool(f.local_resp)], `${conn} local_orig/local_resp`).toEqual([
            row.local_orig,
            row.local_resp,
          ]);
        }
        if ("tunnel_parents" in row && row.tunnel_parents !== "None") {
          expect(f.tunnel_parents === undefined ? "-" : "set", `${conn} tunnel_parents`).toBe(
            row.tunnel_parents === "-" ? "-" : "set",
          );
        }
        if ("ip_proto" in row && row.ip_proto !== "None")
          expect(String(f.ip_proto), `${conn} ip_proto`).toBe(row.ip_proto);
      }
    });
  }

  it("every service difference is listed in SERVICE_DIFFERENCES.md, and every listed one still occurs", () => {
    const key = (d: ServiceDifference) => [d.case, d.connection, d.ts, d.zeek, d.ours].join(" | ");
    expectListed(found.map(key), readListed().map(key), "test/golden/SERVICE_DIFFERENCES.md");
    console.log(
      `service: ${serviceAgree} of ${serviceRows} corpus rows agree with Zeek (${((100 * serviceAgree) / serviceRows).toFixed(1)}%)`,
    );
  });
});
