// Output formats. Each format writes straight from flow records; these tests check that output
// against the object path (FlowDecoder + flowJson/zeekRow) and against JSON.stringify, and check
// the Zeek TSV header that zeek-cut expects and the six-decimal times.
import { describe, expect, it } from "vitest";
import { FlowDecoder, type Flow } from "../../src/flow.js";
import { makeViews, type MemoryViews } from "../../src/wasm/engine.js";
import { AsciiWriter, createFormatter, flowJson, zeekRow, type FormatName } from "../../src/format/index.js";
import { ZEEK_FIELDS } from "../../src/index.js";
import { fixed6 } from "../../src/format/formatter.js";
import { zeekLogTime } from "../../src/format/zeek.js";
import { SAMPLE_ROWS } from "../../src/format/table.js";
import type { Stats } from "../../src/stats.js";
import { realLayout, writeRecord, type RecordSpec } from "./helpers.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { corpusDir } from "../golden/corpus.js";

const layout = realLayout();
const c = layout.constants;

const SPECS: RecordSpec[] = [
  {
    orig: "192.168.1.79",
    resp: "131.159.21.1",
    origPort: 51880,
    respPort: 22,
    tsUs: 1_324_071_333_493_287,
    lastUs: 1_324_071_339_652_613,
    rttUs: 52_000,
    history: "ShAdDaFf",
    connState: "SF",
    endReason: "Closed",
    o: { pkts: 25, ipBytes: 3981, bytes: 2669, mss: 1460, wscale: 7, opts: c.OPT_SACK_PERM | c.OPT_TS },
    r: { pkts: 20, ipBytes: 3549, bytes: 2501, mss: 1380, missed: 7 },
  },
  {
    orig: "2001:db8::1",
    resp: "2001:db8::2",
    origPort: 1,
    respPort: 443,
    tsUs: 1_000_000_000_000_100,
    history: "S",
    connState: "S0",
    endReason: "AttemptTimeout",
    vlan: 5 | (7 << 12),
    tunnel: "Vxlan",
    o: { pkts: 1, ipBytes: 80 },
  },
  { connState: "OTH", history: "", tsUs: 1_700_000_000_500_000, lastUs: 1_700_000_300_500_000 },
  {
    orig: "10.0.0.1",
    resp: "10.0.0.2",
    origPort: 65535,
    respPort: 0,
    tsUs: 1_234_567_890_000_000,
    lastUs: 1_234_567_890_000_001,
    rttUs: 0,
    history: "ShADadtTtTtFf",
    connState: "RSTRH",
    endReason: "Evicted",
    vlan: 4095,
    o: { pkts: 4_000_000_000, ipBytes: 9_007_199_254_740_991, bytes: 5_416_666_670 },
    r: { wscale: 14, mss: 65535, opts: c.OPT_TS },
  },
];

/** The records in one buffer, as the engine's output ring would hold them. */
const v: MemoryViews = (() => {
  const buffer = new ArrayBuffer(SPECS.length * c.FR_SIZE);
  SPECS.forEach((spec, i) => {
    writeRecord(buffer, i * c.FR_SIZE, layout, spec);
  });
  return makeViews(buffer);
})();
const PTRS = SPECS.map((_, i) => i * c.FR_SIZE);
const FLOWS: Flow[] = PTRS.map((p) => new FlowDecoder(layout).decode(v, p));
const STATS = { records: 3, bytes: 300 } as Stats;

function render(
  name: FormatName,
  error: { code: string; message: string; offset: number; record: number } | null = null,
  ptrs = PTRS,
): string {
  const f = createFormatter(name, layout, { now: () => new Date(2024, 0, 2, 3, 4, 5) });
  const out = new AsciiWriter(64);
  f.begin(out);
  for (const p of ptrs) f.record(v, p, out);
  f.end({ stats: STATS, error }, out);
  return out.text();
}

describe("AsciiWriter numbers", () => {
  it("writes integers up to 2^53", () => {
    const out = new AsciiWriter(16);
    const values = [0, 7, 10, 99, 100, 65535, 2147483647, 2147483648, 4294967296, 5416666670, 9007199254740991];
    for (const n of values) {
      out.reserve(20);
      out.uint(n);
      out.byte(0x20);
    }
    expect(out.text()).toBe(values.join(" ") + " ");
  });

  it("writes seconds exactly as String(us / 1e6) does", () => {
    const out = new AsciiWriter(16);
    const values: number[] = [0, 1, 10, 100_000, 500_000, 1_000_000, 300_000_000, 1_324_071_333_493_287, 999_999];
    for (let us = 1_700_000_000_000_000; us < 1_700_000_000_003_000; us += 1) values.push(us);
    for (let us = 0; us < 3000; us += 1) values.push(us, us * 997);
    for (const us of values) {
      out.pos = 0;
      out.reserve(32);
      out.seconds(us);
      expect(out.text(), String(us)).toBe(String(us / 1e6));
    }
  });

  it("writes six decimals like fixed6()", () => {
    const out = new AsciiWriter(16);
    for (const us of [0, 1, 999_999, 1_000_000, 1_324_071_333_493_287, 1_000_000_000_000_100, 6_159_326]) {
      out.pos = 0;
      out.reserve(32);
      out.fixed6(us);
      expect(out.text()).toBe(fixed6(us / 1e6));
    }
    expect(fixed6(1324071333.493287)).toBe("1324071333.493287");
    expect(fixed6(0.000001)).toBe("0.000001");
    expect(fixed6(300)).toBe("300.000000");
    expect(fixed6(-1.5)).toBe("-1.500000");
  });

  it("grows when a reservation does not fit", () => {
    const out = new AsciiWriter(4);
    out.reserve(3);
    out.ascii("abc");
    out.reserve(100);
    out.ascii("x".repeat(100));
    expect(out.text()).toBe("abc" + "x".repeat(100));
    expect(out.take().length).toBe(103);
    expect(out.length).toBe(0);
  });
});

describe("ndjson", () => {
  it("writes from records exactly what JSON.stringify writes for the decoded flows", () => {
    const lines = render("ndjson").split("\n");
    expect(lines.pop()).toBe("");
    expect(lines).toEqual(FLOWS.map((f) => JSON.stringify(f)));
  });

  it("flowJson(flow) is byte-identical to JSON.stringify(flow)", () => {
    for (const flow of FLOWS) expect(flowJson(flow)).toBe(JSON.stringify(flow));
  });

  it("keeps Zeek's keys and omissions", () => {
    const [sf, single] = render("ndjson")
      .split("\n")
      .map((l) => (l ? JSON.parse(l) : null));
    expect(sf).toMatchObject({ "id.orig_h": "192.168.1.79", duration: 6.159326, orig_bytes: 2669, missed_bytes: 7 });
    expect(single).not.toHaveProperty("duration");
    expect(single).toMatchObject({ vlan: 5, inner_vlan: 7, tunnel: "vxlan", "id.orig_h": "2001:db8::1" });
  });
});

describe("json", () => {
  it("is one document with flows and stats, and the error when there is one", () => {
    const error = {
      code: "truncated_input",
      message: "capture is truncated at byte 9 (record 1): x",
      offset: 9,
      record: 1,
    };
    expect(JSON.parse(render("json", error))).toEqual({
      flows: JSON.parse(JSON.stringify(FLOWS)),
      stats: STATS,
      error,
    });
    expect(JSON.parse(render("json"))).not.toHaveProperty("error");
  });

  it("is valid without flows", () => {
    expect(JSON.parse(render("json", null, []))).toEqual({ flows: [], stats: STATS });
  });
});

describe("zeek", () => {
  const lines = render("zeek").split("\n");

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
    // conn.log's own columns first, exactly as Zeek's header has them (a corpus conn.log written by Zeek).
    const zeek = readFileSync(join(corpusDir(), "ayiya-ipv6.conn.tsv"), "utf8").split("\n");
    const zeekFields = zeek.find((l) => l.startsWith("#fields\t"))!.split("\t");
    const zeekTypes = zeek.find((l) => l.startsWith("#types\t"))!.split("\t");
    expect(zeekFields.slice(1)).toEqual([
      "ts",
      "uid",
      "id.orig_h",
      "id.orig_p",
      "id.resp_h",
      "id.resp_p",
      "proto",
      "service",
      "duration",
      "orig_bytes",
      "resp_bytes",
      "conn_state",
      "local_orig",
      "local_resp",
      "missed_bytes",
      "history",
      "orig_pkts",
      "orig_ip_bytes",
      "resp_pkts",
      "resp_ip_bytes",
      "tunnel_parents",
      "ip_proto",
    ]);
    expect(lines[6].split("\t").slice(0, zeekFields.length)).toEqual(zeekFields);
    expect(lines[7].split("\t").slice(0, zeekTypes.length)).toEqual(zeekTypes);
    expect(lines[7].split("\t")).toHaveLength(ZEEK_FIELDS.length + 1);
    expect(lines.at(-2)).toBe("#close\t2024-01-02-03-04-05");
    expect(lines.at(-1)).toBe("");
  });

  it("writes from records exactly what zeekRow writes for the decoded flows", () => {
    const rows = lines.filter((l) => l !== "" && !l.startsWith("#"));
    expect(rows).toEqual(FLOWS.map(zeekRow));
  });

  it("has a value for every field, - when unset, six decimals for times", () => {
    const rows = lines.filter((l) => l !== "" && !l.startsWith("#")).map((l) => l.split("\t"));
    for (const row of rows) expect(row).toHaveLength(ZEEK_FIELDS.length);
    const col = (row: string[], name: string) => row[ZEEK_FIELDS.indexOf(name)];
    const [sf, single, nohist, edge] = rows;
    expect(sf.slice(0, 22)).toEqual([
      "1324071333.493287",
      FLOWS[0].uid,
      "192.168.1.79",
      "51880",
      "131.159.21.1",
      "22",
      "tcp",
      "-",
      "6.159326",
      "2669",
      "2501",
      "SF",
      "T",
      "F",
      "7",
      "ShAdDaFf",
      "25",
      "3981",
      "20",
      "3549",
      "-",
      "6",
    ]);
    expect(col(sf, "community_id")).toBe(FLOWS[0].community_id);
    expect(col(sf, "handshake_rtt")).toBe("0.052000");
    expect(col(sf, "orig_tcp_options.mss")).toBe("1460");
    expect(col(sf, "orig_tcp_options.wscale")).toBe("7");
    expect(col(sf, "orig_tcp_options.sack_permitted")).toBe("T");
    expect(col(sf, "resp_tcp_options.wscale")).toBe("-");
    expect(col(sf, "resp_tcp_options.timestamps")).toBe("F");
    expect(col(sf, "vlan")).toBe("-");
    expect(col(sf, "end_reason")).toBe("closed");
    expect(col(single, "ts")).toBe("1000000000.000100");
    for (const name of ["duration", "orig_bytes", "resp_bytes", "handshake_rtt"])
      expect(col(single, name), name).toBe("-");
    expect(col(single, "id.orig_h")).toBe("2001:db8::1");
    expect(col(single, "vlan")).toBe("5");
    expect(col(single, "inner_vlan")).toBe("7");
    expect(col(single, "tunnel")).toBe("vxlan");
    expect(col(nohist, "history")).toBe("-");
    expect(col(nohist, "duration")).toBe("300.000000");
    expect(col(edge, "duration")).toBe("0.000001");
    expect(col(edge, "handshake_rtt")).toBe("0.000000");
    expect(col(edge, "orig_ip_bytes")).toBe("9007199254740991");
  });

  it("formats #open with zero padding", () => {
    expect(zeekLogTime(new Date(2019, 6, 2, 7, 8, 9))).toBe("2019-07-02-07-08-09");
  });
});

describe("table", () => {
  it("aligns columns and brackets IPv6 endpoints", () => {
    const lines = render("table").trimEnd().split("\n");
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^start \(UTC\)\s+duration\s+orig\s+resp\s+service\s+state/);
    expect(lines[1]).toContain("2011-12-16 21:35:33.493287");
    expect(lines[1]).toContain("192.168.1.79:51880");
    expect(lines[2]).toContain("[2001:db8::1]:1");
    // Columns line up: "state" starts at the same position in every line.
    const at = lines[0].indexOf("state");
    expect(lines.slice(1).map((l) => l.slice(at).split(" ")[0])).toEqual(["SF", "S0", "OTH", "RSTRH"]);
  });

  it("holds rows back only until the widths are known, then streams", () => {
    const f = createFormatter("table", layout);
    const out = new AsciiWriter(64);
    for (let i = 0; i < SAMPLE_ROWS - 1; i++) f.record(v, 0, out);
    expect(out.length).toBe(0);
    f.record(v, 0, out);
    expect(out.text().split("\n")).toHaveLength(SAMPLE_ROWS + 2);
    out.take();
    f.record(v, 0, out);
    expect(out.text()).toMatch(/^2011-12-16/);
    out.take();
    f.end({ stats: STATS, error: null }, out);
    expect(out.length).toBe(0);
  });
});
