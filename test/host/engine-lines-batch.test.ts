// The formatter's batch entry point (EngineLines.records, assembly/format/abi.ts fmtRecords) hashes
// the Community IDs of four records side by side, one per 32-bit lane of a SIMD SHA-1
// (assembly/format/ids.ts sha1x4Base64). Over records no capture has in this mix (IPv4, IPv6,
// mixed, equal addresses, ports 0/1/65535, every seed width), each ID must be node:crypto's SHA-1
// of the Community ID v1 message, lane by lane, and each whole line must be what one call per
// record (the scalar hash) writes. Batches of every length 1..9 put each record in every lane and
// leave lanes unused. The CLI's record sink (one call per record of the output ring, the scalar
// hash) is held to node:crypto the same way, on a generated capture whose ring slots are refilled
// drain after drain, IPv4 and IPv6 flows, two seeds.

import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Reconstructor } from "../../src/index.js";
import { createEngine } from "../../src/wasm/engine.js";
import { AsciiWriter } from "../../src/format/ascii.js";
import { parseAddress, isV4Mapped } from "../../src/net/address.js";
import type { EngineLineFormat } from "../../src/format/engine-lines.js";
import type { JsonStyle } from "../../src/format/index.js";
import { generatedCaptures, writeRecord, prng, endpointPicker, type RecordSpec } from "./helpers.js";

/** Community ID v1 (github.com/corelight/community-id-spec) of TCP endpoints, hashed by node:crypto. */
function communityId(a: string, aPort: number, b: string, bPort: number, seed: number): string {
  let x = parseAddress(a);
  let y = parseAddress(b);
  const v4 = isV4Mapped(x, 0) && isV4Mapped(y, 0);
  if (v4) {
    x = x.subarray(12);
    y = y.subarray(12);
  }
  let cmp = 0;
  for (let i = 0; i < x.length && cmp === 0; i++) cmp = x[i]! - y[i]!;
  if (cmp === 0) cmp = aPort - bPort;
  const [s, sp, d, dp] = cmp > 0 ? [y, bPort, x, aPort] : [x, aPort, y, bPort];
  const msg = Buffer.alloc(2 + 2 * s.length + 6);
  msg.writeUInt16BE(seed & 0xffff, 0);
  msg.set(s, 2);
  msg.set(d, 2 + s.length);
  let at = 2 + 2 * s.length;
  msg[at++] = 6; // TCP
  msg[at++] = 0;
  msg.writeUInt16BE(sp, at);
  msg.writeUInt16BE(dp, at + 2);
  return `1:${createHash("sha1").update(msg).digest("base64")}`;
}

const SHAPES: readonly [EngineLineFormat, JsonStyle][] = [
  ["ndjson", "nested"],
  ["zeek", "nested"],
];

describe("the formatter's batch entry point (four Community IDs hashed side by side)", () => {
  it("every lane: node:crypto's Community ID, and the line one call per record writes", () => {
    const next = prng(20261203);
    const { pick, v4, v6 } = endpointPicker(next);
    const engine = createEngine();
    const rec = new Reconstructor({}, engine);
    const at = engine.exports.inputPtr();
    const c = rec.layout.constants;
    const size = c.FR_SIZE;
    const N = 300;
    const specs: RecordSpec[] = [];
    for (let i = 0; i < N; i++) {
      const kind = next() % 5;
      const orig = kind === 1 || kind === 3 ? v6() : v4();
      const resp = kind === 0 ? v4() : kind === 1 || kind === 2 ? v6() : kind === 3 ? `::ffff:${v4()}` : orig;
      const port = () => pick([0, 1, 80, 443, 65535, next() & 0xffff]);
      specs.push({ orig, resp, origPort: port(), respPort: port(), tsUs: 1_700_000_000_000_000 + i, o: { pkts: 1 } });
    }
    for (const seed of [0, 1, 0xffff]) {
      for (const [format, jsonStyle] of SHAPES) {
        for (let i = 0; i < N; i++) writeRecord(engine.views().buffer, at + i * size, rec.layout, specs[i]);
        const lines = rec.engineLines({ format, jsonStyle, communityIdSeed: seed });
        // One call per record: the scalar hash.
        const single: string[] = [];
        for (let i = 0; i < N; i++) {
          lines.record(at + i * size);
          single.push(lines.take());
        }
        // Batches of 1..9 records: record i sits in lane (i - start) % 4 of its call.
        const wrong: string[] = [];
        let i = 0;
        for (let len = 1; i < N; len = (len % 9) + 1) {
          const start = i;
          const n = Math.min(len, N - i);
          expect(lines.records(at + start * size, n), "records formatted").toBe(n);
          const got = lines.take().split("\n").slice(0, -1);
          expect(got.length, `batch at ${start}`).toBe(n);
          for (let k = 0; k < n; k++, i++) {
            const s = specs[i]!;
            const want = communityId(s.orig!, s.origPort!, s.resp!, s.respPort!, seed);
            const line = got[k]!;
            const where = `${format}/${jsonStyle} seed ${seed} record ${i} (lane ${k % 4} of a batch of ${n}) ${s.orig} ${s.origPort} -> ${s.resp} ${s.respPort}`;
            if (!line.includes(want)) wrong.push(`${where}: no ${want} in ${line}`);
            else if (`${line}\n` !== single[i]) wrong.push(`${where}: ${line} != ${single[i]}`);
          }
        }
        expect(wrong).toEqual([]);
        // The scalar lines carry node:crypto's IDs as well.
        for (let j = 0; j < N; j++) {
          const s = specs[j]!;
          expect(single[j], `one call per record, record ${j}`).toContain(
            communityId(s.orig!, s.origPort!, s.resp!, s.respPort!, seed),
          );
        }
      }
    }
  });

  it("stops at the flush mark and goes on where it stopped", () => {
    const engine = createEngine();
    const rec = new Reconstructor({}, engine);
    const at = engine.exports.inputPtr();
    const size = rec.layout.constants.FR_SIZE;
    const N = 64;
    for (let i = 0; i < N; i++)
      writeRecord(engine.views().buffer, at + i * size, rec.layout, {
        orig: `10.1.0.${i}`,
        resp: "2001:db8::1",
        origPort: 1000 + i,
        respPort: 443,
        o: { pkts: 1 },
      });
    const lines = rec.engineLines({ format: "ndjson" });
    const single: string[] = [];
    for (let i = 0; i < N; i++) {
      lines.record(at + i * size);
      single.push(lines.take());
    }
    const oneLine = single[0]!.length;
    // Fill the buffer to just below the mark, so that the batch stops after its first record.
    let filled = 0;
    while (filled + oneLine < lines.flushBytes) filled = lines.record(at);
    const done = lines.records(at, N);
    expect(done).toBe(1);
    const text = lines.take();
    expect(text.endsWith(single[0]!)).toBe(true);
    expect(lines.records(at + done * size, N - done)).toBe(N - done);
    expect(lines.take()).toBe(single.slice(1).join(""));
  });

  it("recordsInto: a whole drain, moved out at the flush mark as one call per record would", () => {
    const engine = createEngine();
    const rec = new Reconstructor({}, engine);
    const at = engine.exports.inputPtr();
    const size = rec.layout.constants.FR_SIZE;
    const N = 50;
    for (let i = 0; i < N; i++)
      writeRecord(engine.views().buffer, at + i * size, rec.layout, {
        orig: `2001:db8::${i.toString(16)}`,
        resp: "192.0.2.1",
        origPort: 40000 + i,
        respPort: 80,
        o: { pkts: 1 },
      });
    const lines = rec.engineLines({ format: "zeek" });
    const single: string[] = [];
    for (let i = 0; i < N; i++) {
      lines.record(at + i * size);
      single.push(lines.take());
    }
    // Start just below the mark: the drain's first record crosses it.
    let filled = 0;
    while (filled + single[0]!.length < lines.flushBytes) filled = lines.record(at);
    const out = new AsciiWriter(4 << 20);
    let moves = 0;
    lines.recordsInto(at, N, out, () => moves++);
    expect(moves).toBe(1);
    expect(out.text().endsWith(single[0]!)).toBe(true);
    expect(out.pos).toBe(filled + single[0]!.length);
    // The rest stayed buffered, below the mark; one call per record may follow.
    lines.record(at);
    expect(lines.take()).toBe(single.slice(1).join("") + single[0]);
  });

  describe("one call per record of the output ring", () => {
    const generated = generatedCaptures("flowrecon-batch-", {
      headers: {
        seed: 43,
        segments: 40_000,
        concurrent: 200,
        snaplen: 96,
        anomalyShare: 0.3,
        ipv6Share: 0.3,
        pps: 1_000,
      },
    });

    it("each record's Community ID is node:crypto's, drain after drain", () => {
      for (const seed of [0, 0xfffe]) {
        const rec = new Reconstructor({ communityIdSeed: seed });
        const lines = rec.engineLines({ format: "ndjson", jsonStyle: "zeek", communityIdSeed: seed });
        const wrong: string[] = [];
        let n = 0;
        let v6 = 0;
        let drains = 0;
        let last = -1;
        const sink = (_v: unknown, p: number) => {
          if (p <= last) drains++;
          last = p;
          lines.record(p);
          const line = JSON.parse(lines.take()) as Record<string, string | number>;
          const [oh, op, rh, rp] = [line["id.orig_h"], line["id.orig_p"], line["id.resp_h"], line["id.resp_p"]];
          const want = communityId(String(oh), Number(op), String(rh), Number(rp), seed);
          if (line.community_id !== want)
            wrong.push(`seed ${seed} record ${n} at ${p}: ${line.community_id} != ${want}`);
          if (String(oh).includes(":")) v6++;
          n++;
        };
        const bytes = generated.headers!;
        for (let off = 0; off < bytes.length; off += 1 << 16)
          rec.pushRecords(bytes.subarray(off, off + (1 << 16)), sink);
        rec.finishRecords(sink);
        expect(wrong).toEqual([]);
        expect(n).toBeGreaterThan(1000);
        expect(v6, "IPv6 flows").toBeGreaterThan(100);
        expect(drains, "drains that refilled the ring").toBeGreaterThan(5);
      }
    });
  });
});
