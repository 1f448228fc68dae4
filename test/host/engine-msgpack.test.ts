// The engine's msgpack flows (assembly/format/msgpack.ts, the API's application/msgpack answer) must
// be the bytes msgpackr packs from the flow's parsed NDJSON line (the encoder they replace, with the
// API's options): every finished record of every capture the suite has, under the options that
// change output, and hand-picked values at each edge of msgpackr's encoding rules.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sharedPath } from "../../bench/lib/shared.mjs";
import { Reconstructor, type ReconstructorOptions } from "../../src/index.js";
import { createEngine, type Engine } from "../../src/wasm/engine.js";
import { packr } from "../../src/http/msgpack-document.js";
import { corpusCaptures } from "../golden/corpus.js";
import { folderCaptures, generatedCaptures, repoRoot } from "./helpers.js";

const SLOW = 600_000;

let compared = 0;
let leftToHost = 0;

/** Writes each finished record as NDJSON and as msgpack in the same engine; the msgpack must be msgpackr's. */
function expectSameMaps(name: string, bytes: Uint8Array, options: ReconstructorOptions = {}): void {
  const rec = new Reconstructor(options);
  const common = { format: "ndjson" as const, localNets: options.localNets, communityIdSeed: options.communityIdSeed };
  const line = rec.engineLines(common);
  let mismatch: string | null = null;
  let index = 0;
  const sink = (_v: unknown, p: number) => {
    line.configure({ ...common, thresholds: rec.insight.thresholds });
    line.record(p);
    const text = line.take();
    line.configure({ ...common, thresholds: rec.insight.thresholds, msgpack: true });
    const n = line.record(p);
    const got = line.take();
    index++;
    if (n === 0) {
      // Left to the host: only a number the transcoder cannot convert exactly (an exponent, or 16
      // digits and more: a fraction past 2^53, a time past the year 2255) may cause that.
      leftToHost++;
      if (!/\d[\d.]{15,}|\de[+-]?\d/.test(text) && mismatch === null)
        mismatch = `${name} record ${index} left: ${text}`;
      return;
    }
    const want = Buffer.from(packr.pack(JSON.parse(text.slice(0, -1)))).toString("latin1");
    if (got !== want && mismatch === null) mismatch = `${name} record ${index}: ${text}`;
  };
  for (let off = 0; off < bytes.length; off += 1 << 20) rec.pushRecords(bytes.subarray(off, off + (1 << 20)), sink);
  rec.finishRecords(sink);
  compared += index;
  expect(mismatch, name).toBeNull();
}

const fixtureDirs = ["kernel", "pcap", "anomalies", "fuzz", "layers"].map((d) => join(repoRoot, "test", "fixtures", d));

describe("the engine's msgpack flows are msgpackr's bytes", () => {
  const generated = generatedCaptures("flowrecon-msgpack-", {
    headers: { seed: 43, segments: 40_000, concurrent: 2_000, snaplen: 96, anomalyShare: 0.3, rstShare: 0.2 },
    whole: { seed: 44, segments: 30_000, concurrent: 500, snaplen: 65535, anomalyShare: 0.3, payload: 300 },
  });

  it(
    "Zeek corpus with each case's options, test fixtures, the Wireshark corpus, generated captures",
    () => {
      for (const [name, bytes, options] of corpusCaptures()) expectSameMaps(name, bytes, options);
      for (const d of [...fixtureDirs, sharedPath("corpus", "wireshark")])
        for (const [name, bytes] of folderCaptures(d)) expectSameMaps(name, bytes, { ignoreChecksums: true });
      for (const [name, bytes] of Object.entries(generated)) expectSameMaps(`generated/${name}`, bytes);
      expectSameMaps("generated/whole, seed 7, local_nets", generated.whole, {
        communityIdSeed: 7,
        localNets: "-,10.0.0.0/8,2001:db8:1::/48",
      });
      expect(compared).toBeGreaterThan(5_000);
      expect(leftToHost, "flows left to the host").toBeLessThan(compared / 1000);
    },
    SLOW,
  );
});

/** The transcode test hook (assembly/format/abi.ts fmtTranscode), not part of the host's engine type. */
interface TranscodeExports {
  fmtTranscode(from: number, to: number, out: number): number;
  fmtPtr(): number;
}

let engine: Engine | null = null;

/** The msgpack the engine transcodes from `json` (written into its formatter's buffer), or null where it declines. */
function transcode(json: string): Buffer | null {
  engine ??= createEngine();
  const ex = engine.exports as unknown as TranscodeExports;
  const out = ex.fmtPtr();
  const from = out + 128 * 1024; // the buffer holds FMT_FLUSH + FMT_RECORD_ROOM bytes
  const u8 = engine.views().u8;
  u8.set(Buffer.from(json, "latin1"), from);
  const end = ex.fmtTranscode(from, from + json.length, out);
  return end === 0 ? null : Buffer.from(engine.views().u8.subarray(out, end));
}

describe("the transcode follows msgpackr's rules at every edge", () => {
  // Each side of every edge of msgpackr's number rules, and the fractions the table writes.
  const numbers = (
    "0 -0 1 31 32 127 128 255 256 65535 65536 4294967295 4294967296 9007199254740993 9999999999999999999 " +
    "-1 -32 -33 -128 -129 -32768 -32769 -2147483648 -2147483649 0.5 0.000001 5.000000 -0.000000 " +
    "1700000000.001983 4294967295.000000 4294967296.5 -2147483648.000000 -2147483648.5 123456789.123456 " +
    "9007199254.740992"
  ).split(" ");
  const strings = [0, 1, 31, 32, 255, 256, 65535, 65536].map((n) => `"${"a".repeat(n)}"`);
  const members = (n: number) => `{${Array.from({ length: n }, (_, i) => `"k${i}":${i}`).join(",")}}`;
  const items = (n: number) => `[${Array.from({ length: n }, (_, i) => `${i * 1000}`).join(",")}]`;
  const structures = [
    "{}",
    "[]",
    "true",
    "false",
    "null",
    members(15),
    members(16),
    members(300),
    items(15),
    items(16),
    '{"a":{"b":[{"c":{}},[]],"d":true},"e":[null,false,1.25,"x"]}',
  ];
  const cases = [...numbers, ...strings, ...structures].map((json) => [
    json.length > 40 ? `${json.slice(0, 36)}... (${json.length} bytes)` : json,
    json,
  ]);
  it.each(cases)("%s", (_label, json) => {
    const got = transcode(json);
    expect(got?.toString("hex")).toBe(Buffer.from(packr.pack(JSON.parse(json))).toString("hex"));
  });

  it("leaves exponents and inexact fractions to the host", () => {
    for (const json of ["1e5", "1.5E-3", "90071992547409930.5", "18446744073709551615", "0.12345678901234567890123"])
      expect(transcode(json), json).toBeNull();
  });
});
