// issue-11 defect 4: every format prints every timestamp a capture can express. A pcapng EPB holds
// a 64-bit tick count and if_tsoffset a 64-bit number of seconds, so the engine's µs can be any
// i64 (about ±292,277 years); `--format table` used Date and exited 3 ("Invalid time value") past
// ±273,790 years, where the other formats printed the value.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { Reconstructor } from "../../src/reconstructor.js";
import { AsciiWriter, createFormatter, FORMAT_NAMES, type Formatter } from "../../src/format/index.js";
import { fixed6 } from "../../src/format/formatter.js";
import { utcDateTime } from "../../src/format/utc.js";
import { ether, ipv4Tcp } from "../decode/builders.js";
import { writePcapng } from "../decode/capture-io.js";
import { repoRoot } from "./helpers.js";

/** 400 Gregorian years are exactly 146097 days: shifting by whole cycles moves only the year. */
const CYCLE_S = 146_097 * 86_400;

/** The oracle: Date, after moving the time into Date's range by whole 400-year cycles. */
function viaDate(seconds: number): string {
  return viaDateText(fixed6(seconds));
}

/** The same for a time printed in seconds with six decimals (`-1.500000`). */
function viaDateText(text: string): string {
  const dot = text.indexOf(".");
  let whole = Number(text.slice(0, dot));
  let micros = Number(text.slice(dot + 1));
  if (text.startsWith("-") && micros > 0) {
    whole -= 1;
    micros = 1_000_000 - micros;
  }
  const cycles = Math.trunc(whole / CYCLE_S);
  const iso = new Date((whole - cycles * CYCLE_S) * 1000).toISOString(); // "+YYYYYY-" or "YYYY-"
  const m = /^([+-]?\d+)-(\d\d-\d\dT\d\d:\d\d:\d\d)/.exec(iso)!;
  const year = Number(m[1]) + cycles * 400;
  const yearText =
    year >= 0 && year <= 9999
      ? String(year).padStart(4, "0")
      : (year < 0 ? "-" : "+") + String(Math.abs(year)).padStart(6, "0");
  return `${yearText}-${m[2].replace("T", " ")}.${String(micros).padStart(6, "0")}`;
}

describe("utcDateTime", () => {
  it("agrees with Date inside Date's range", () => {
    // biome-ignore lint/correctness/noPrecisionLoss: a capture time as a double, as the formats get it
    const lastOf9999 = 253_402_300_799.999999;
    for (const s of [
      0,
      1.5,
      -1.5,
      -0.000001,
      951_782_400,
      1_323_979_533.493287,
      -62_167_219_200,
      lastOf9999,
      8.64e12,
      -8.64e12,
    ]) {
      expect(utcDateTime(s), String(s)).toBe(viaDate(s));
    }
    let x = 12345;
    for (let i = 0; i < 20_000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      const s = ((x / 2 ** 31) * 2 - 1) * 8.6e12 + (i % 1000) / 1000;
      expect(utcDateTime(s)).toBe(viaDate(s));
    }
  });

  it("reaches both ends of the i64 µs range", () => {
    expect(utcDateTime(Number(2n ** 63n - 1n) / 1e6)).toBe(viaDate(Number(2n ** 63n - 1n) / 1e6));
    expect(utcDateTime(Number(2n ** 63n - 1n) / 1e6)).toMatch(/^\+294247-01-10 04:00:54\.\d{6}$/);
    expect(utcDateTime(Number(-(2n ** 63n)) / 1e6)).toMatch(/^-290308-12-21 19:59:05\.\d{6}$/);
  });
});

/** A SYN and its SYN-ACK on one interface, at `ticks` and `ticks + 1000`. */
function capture(ticks: bigint, tsoffset?: bigint): Uint8Array {
  const syn = ether(0x0800, ipv4Tcp({ flags: 0x02, seq: 100 }));
  const synAck = ether(
    0x0800,
    ipv4Tcp({ flags: 0x12, seq: 500, ack: 101, sport: 80, dport: 40000 }, { src: "10.0.0.2", dst: "10.0.0.1" }),
  );
  return writePcapng([
    {
      interfaces: [{ linktype: 1, tsoffset }],
      blocks: [
        { kind: "epb", iface: 0, ticks, data: syn },
        { kind: "epb", iface: 0, ticks: ticks + 1000n, data: synAck },
      ],
    },
  ]);
}

const CASES: [name: string, bytes: Uint8Array][] = [
  ["EPB high word 0x7fffffff", capture(0x7fffffff_00000000n)],
  ["EPB high word 0x80000000", capture(0x80000000_00000000n)],
  ["EPB high word 0xffffffff", capture(0xffffffff_fffff000n)],
  ["if_tsoffset +2^53 s", capture(1_000_000n, 2n ** 53n)],
  ["if_tsoffset -2^53 s", capture(1_000_000n, -(2n ** 53n))],
];

function print(bytes: Uint8Array): Record<string, string> {
  const rec = new Reconstructor();
  const fs: [string, Formatter, AsciiWriter][] = FORMAT_NAMES.map((n) => [
    n,
    createFormatter(n, rec.layout, { insight: rec.insight }),
    new AsciiWriter(4096),
  ]);
  for (const [, f, out] of fs) f.begin(out);
  const sink = (v: Parameters<Formatter["record"]>[0], p: number): void => {
    for (const [, f, out] of fs) f.record(v, p, out);
  };
  rec.pushRecords(bytes, sink);
  rec.finishRecords(sink);
  expect(rec.error).toBeNull();
  const out: Record<string, string> = {};
  for (const [n, f, w] of fs) {
    f.end({ stats: rec.stats, error: rec.error }, w);
    out[n] = w.text();
  }
  return out;
}

describe("issue-11: every format prints far-future and far-past timestamps", () => {
  for (const [name, bytes] of CASES) {
    it(name, () => {
      const out = print(bytes);
      // Every format prints the same instant: the JSON formats' ts, Zeek's ts column, the table's start.
      const ts = /^\{"ts":(-?\d+(?:\.\d+)?),/.exec(out.ndjson)![1];
      const [whole, frac = ""] = ts.split(".");
      const six = `${whole}.${frac.padEnd(6, "0")}`;
      expect(out.json).toContain(`{"ts":${ts},`);
      expect(out.zeek).toContain(`\n${six}\t`);
      expect(out.table).toContain(`\n${viaDateText(six)}  `);
    });
  }

  it("flowrecon analyze --format table exits 0 on them", () => {
    const dir = mkdtempSync(join(tmpdir(), "flowrecon-ts-"));
    for (const [name, bytes] of CASES) {
      const file = join(dir, "t.pcapng");
      writeFileSync(file, bytes);
      const r = spawnSync(
        process.execPath,
        [resolve(repoRoot, "bin/flowrecon.js"), "analyze", file, "--format", "table", "-C"],
        { encoding: "utf8" },
      );
      expect(r.stderr, name).toBe("");
      expect(r.status, name).toBe(0);
    }
  });
});
