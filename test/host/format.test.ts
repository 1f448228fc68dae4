// Output formats: NDJSON equals JSON.stringify, the JSON document parses, the Zeek TSV header is
// what zeek-cut expects, and times have six decimals.
import { describe, expect, it } from "vitest";
import { FlowDecoder, type Flow } from "../../src/flow.js";
import { createFormatter, flowJson, ZEEK_FIELDS } from "../../src/format/index.js";
import { fixed6 } from "../../src/format/formatter.js";
import { zeekLogTime } from "../../src/format/zeek.js";
import { SAMPLE_ROWS } from "../../src/format/table.js";
import type { Stats } from "../../src/stats.js";
import { realLayout, writeRecord, type RecordSpec } from "./helpers.js";

const layout = realLayout();
const c = layout.constants;

function flowOf(spec: RecordSpec): Flow {
  const buffer = new ArrayBuffer(c.FR_SIZE);
  writeRecord(buffer, 0, layout, spec);
  const v = { buffer, u8: new Uint8Array(buffer), u16: new Uint16Array(buffer), u32: new Uint32Array(buffer), i32: new Int32Array(buffer), f64: new Float64Array(buffer) };
  return new FlowDecoder(layout).decode(v, 0);
}

const SF = flowOf({
  orig: "192.168.1.79", resp: "131.159.21.1", origPort: 51880, respPort: 22,
  tsUs: 1_324_071_333_493_287, lastUs: 1_324_071_339_652_613, rttUs: 52_000,
  history: "ShAdDaFf", connState: "SF", endReason: "Closed",
  o: { pkts: 25, ipBytes: 3981, bytes: 2669, mss: 1460, wscale: 7, opts: c.OPT_SACK_PERM | c.OPT_TS },
  r: { pkts: 20, ipBytes: 3549, bytes: 2501, mss: 1380 },
});
const SINGLE = flowOf({
  orig: "2001:db8::1", resp: "2001:db8::2", origPort: 1, respPort: 443, tsUs: 1_000_000_000_000_100,
  history: "S", connState: "S0", endReason: "AttemptTimeout", vlan: 5 | (7 << 12), tunnel: "Vxlan", o: { pkts: 1, ipBytes: 80 },
});
const NO_HISTORY = flowOf({ connState: "OTH", history: "" });
const FLOWS = [SF, SINGLE, NO_HISTORY];
const STATS = { records: 3, bytes: 300 } as Stats;

describe("fixed6", () => {
  it("prints microseconds exactly", () => {
    expect(fixed6(1324071333.493287)).toBe("1324071333.493287");
    expect(fixed6(1_000_000_000_000_100 / 1e6)).toBe("1000000000.000100");
    expect(fixed6(6.159326)).toBe("6.159326");
    expect(fixed6(0.000001)).toBe("0.000001");
    expect(fixed6(300)).toBe("300.000000");
    expect(fixed6(-1.5)).toBe("-1.500000");
    for (let us = 1_700_000_000_000_000; us < 1_700_000_000_001_000; us += 7) {
      expect(fixed6(us / 1e6)).toBe(`${Math.floor(us / 1e6)}.${String(us % 1e6).padStart(6, "0")}`);
    }
  });
});

describe("ndjson", () => {
  it("is byte-identical to JSON.stringify of the decoded flow", () => {
    for (const flow of FLOWS) expect(flowJson(flow)).toBe(JSON.stringify(flow));
  });

  it("writes one line per flow and nothing else", () => {
    const f = createFormatter("ndjson");
    const text = f.begin() + FLOWS.map((x) => f.flow(x)).join("") + f.end({ stats: STATS, error: null });
    const lines = text.split("\n");
    expect(lines.pop()).toBe("");
    expect(lines.map((l) => JSON.parse(l))).toEqual(JSON.parse(JSON.stringify(FLOWS)));
    expect(JSON.parse(lines[0])).toMatchObject({ "id.orig_h": "192.168.1.79", duration: 6.159326, orig_bytes: 2669 });
    expect(JSON.parse(lines[1])).not.toHaveProperty("duration");
  });
});

describe("json", () => {
  it("is one document with flows and stats, and the error when there is one", () => {
    const f = createFormatter("json");
    const error = { code: "TruncatedInput", message: "capture is truncated at byte 9 (record 1): x", offset: 9, record: 1 };
    const doc = JSON.parse(f.begin() + FLOWS.map((x) => f.flow(x)).join("") + f.end({ stats: STATS, error }));
    expect(doc).toEqual({ flows: JSON.parse(JSON.stringify(FLOWS)), stats: STATS, error });
  });

  it("is valid without flows", () => {
    const f = createFormatter("json");
    expect(JSON.parse(f.begin() + f.end({ stats: STATS, error: null }))).toEqual({ flows: [], stats: STATS });
  });
});

describe("zeek", () => {
  const now = () => new Date(2024, 0, 2, 3, 4, 5);
  const f = createFormatter("zeek", { now });
  const text = f.begin() + FLOWS.map((x) => f.flow(x)).join("") + f.end({ stats: STATS, error: null });
  const lines = text.split("\n");

  it("has Zeek's header lines, in Zeek's order", () => {
    expect(lines.slice(0, 6)).toEqual([
      "#separator \\x09",
      "#set_separator\t,",
      "#empty_field\t(empty)",
      "#unset_field\t-",
      "#path\tconn",
      "#open\t2024-01-02-03-04-05",
    ]);
    expect(lines[6]).toBe("#fields\t" + ZEEK_FIELDS.join("\t"));
    expect(ZEEK_FIELDS.slice(0, 17)).toEqual([
      "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "duration", "orig_bytes",
      "resp_bytes", "conn_state", "missed_bytes", "history", "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes",
    ]);
    expect(lines[7].split("\t").slice(0, 18)).toEqual([
      "#types", "time", "string", "addr", "port", "addr", "port", "enum", "interval", "count", "count", "string",
      "count", "string", "count", "count", "count", "count",
    ]);
    expect(lines.at(-2)).toBe("#close\t2024-01-02-03-04-05");
    expect(lines.at(-1)).toBe("");
  });

  it("writes one row per flow with a value for every field, - when unset", () => {
    const rows = lines.filter((l) => l !== "" && !l.startsWith("#")).map((l) => l.split("\t"));
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row).toHaveLength(ZEEK_FIELDS.length);
    const col = (row: string[], name: string) => row[ZEEK_FIELDS.indexOf(name)];
    const [sf, single, nohist] = rows;
    expect(sf.slice(0, 17)).toEqual([
      "1324071333.493287", SF.uid, "192.168.1.79", "51880", "131.159.21.1", "22", "tcp", "6.159326", "2669", "2501",
      "SF", "0", "ShAdDaFf", "25", "3981", "20", "3549",
    ]);
    expect(col(sf, "handshake_rtt")).toBe("0.052000");
    expect(col(sf, "orig_tcp_options.mss")).toBe("1460");
    expect(col(sf, "orig_tcp_options.wscale")).toBe("7");
    expect(col(sf, "orig_tcp_options.sack_permitted")).toBe("T");
    expect(col(sf, "resp_tcp_options.wscale")).toBe("-");
    expect(col(sf, "resp_tcp_options.timestamps")).toBe("F");
    expect(col(sf, "vlan")).toBe("-");
    expect(col(sf, "end_reason")).toBe("closed");
    expect(col(single, "ts")).toBe("1000000000.000100");
    for (const name of ["duration", "orig_bytes", "resp_bytes", "handshake_rtt"]) expect(col(single, name), name).toBe("-");
    expect(col(single, "id.orig_h")).toBe("2001:db8::1");
    expect(col(single, "vlan")).toBe("5");
    expect(col(single, "inner_vlan")).toBe("7");
    expect(col(single, "tunnel")).toBe("vxlan");
    expect(col(nohist, "history")).toBe("-");
  });

  it("formats #open with zero padding", () => {
    expect(zeekLogTime(new Date(2019, 6, 2, 7, 8, 9))).toBe("2019-07-02-07-08-09");
  });
});

describe("table", () => {
  it("aligns columns and brackets IPv6 endpoints", () => {
    const f = createFormatter("table");
    expect(f.flow(SF)).toBe(""); // held back until widths are known
    const text = f.flow(SINGLE) + f.end({ stats: STATS, error: null });
    const lines = text.trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^start \(UTC\)\s+duration\s+orig\s+resp\s+state/);
    expect(lines[1]).toContain("2011-12-16 21:35:33.493287");
    expect(lines[1]).toContain("192.168.1.79:51880");
    expect(lines[2]).toContain("[2001:db8::1]:1");
    // Columns line up: "state" starts at the same position in every line.
    const at = lines[0].indexOf("state");
    expect(lines[1].slice(at, at + 2)).toBe("SF");
    expect(lines[2].slice(at, at + 2)).toBe("S0");
  });

  it("streams rows after the sample", () => {
    const f = createFormatter("table");
    let out = "";
    for (let i = 0; i < SAMPLE_ROWS - 1; i++) out += f.flow(SF);
    expect(out).toBe("");
    out += f.flow(SF);
    expect(out.split("\n")).toHaveLength(SAMPLE_ROWS + 2);
    expect(f.flow(SF)).toMatch(/^2011-12-16/);
    expect(f.end({ stats: STATS, error: null })).toBe("");
  });
});
