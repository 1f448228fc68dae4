// Shards (issue 13, src/shards/): the reading thread's engine routes frames and tracks shard 0's,
// N-1 shard engines track the others. These checks run the reading engine and the shard engines
// (ShardEngine, the code each shard thread runs) in this thread, so every capture can be compared with one engine for 2, 3 and 4
// shards in seconds; test/shards/cli-threads.test.ts runs the same through real threads and rings.
// They would fail if a connection, a fragment or a tunnel's packets were split across shards, if a
// shard's clock differed from one engine's (timeouts, end reasons, idle times), if counters did not
// add up, or if a damaged record stopped the shards at another place.
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Reconstructor, type ReconstructorOptions } from "../../src/reconstructor.js";
import type { MemoryViews } from "../../src/wasm/engine.js";
import { FlowDecoder, type Flow } from "../../src/flow.js";
import { flowJson } from "../../src/format/index.js";
import { ShardEngine } from "../../src/shards/shard-engine.js";
import { readerShare, shardOptions } from "../../src/shards/sharded-run.js";
import type { Stats } from "../../src/stats.js";
import { generateCapture } from "../../bench/lib/traffic.mjs";
import { captureFiles, corpusDir, repoRoot } from "../host/helpers.js";

interface Outcome {
  flows: string[];
  stats: Stats;
  error: string | null;
  /** Sharded: the segments the reading engine tracked itself. */
  ownSegments?: number;
}

const sorted = (flows: Flow[]): string[] => flows.map((f) => flowJson(f)).sort();

/** Chunk boundaries: fixed size, or (size 0) a few odd sizes in turn. */
function* chunks(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  const sizes = size > 0 ? [size] : [1, 4093, 7, 65536, 13, 1 << 20];
  for (let off = 0, i = 0; off < bytes.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield bytes.subarray(off, off + n);
    off += n;
  }
}

function oneEngine(bytes: Uint8Array, chunk: number, options: ReconstructorOptions): Outcome {
  const rec = new Reconstructor(options);
  const flows: Flow[] = [];
  for (const c of chunks(bytes, chunk)) flows.push(...rec.push(c));
  flows.push(...rec.finish());
  return { flows: sorted(flows), stats: rec.stats, error: rec.error?.message ?? null };
}

/** What src/shards/sharded-run.ts does, with the worker shards' engines in this thread. */
function sharded(
  bytes: Uint8Array,
  n: number,
  chunk: number,
  options: ReconstructorOptions,
  ownShare = readerShare(n),
): Outcome {
  const flows: Flow[] = [];
  const engineOptions = shardOptions(options, n);
  // Shards 1..n-1; shard 0 is the reading engine.
  const shards = Array.from({ length: n - 1 }, () => {
    let decoder: FlowDecoder | null = null;
    const shard: ShardEngine = new ShardEngine(engineOptions, (v, p) => flows.push(decoder!.decode(v, p)));
    decoder = new FlowDecoder(shard.rec.layout, { insight: shard.rec.insight });
    return { shard, clockSent: 0 };
  });
  const reader = new Reconstructor(engineOptions);
  const readerDecoder = new FlowDecoder(reader.layout, { insight: reader.insight });
  const own = (v: MemoryViews, p: number) => flows.push(readerDecoder.decode(v, p));
  reader.routeTo(
    n,
    (v, i, ptr, len) => {
      expect(i, "a frame record for the reading engine's own shard").toBeGreaterThan(0);
      // As a shard thread takes a batch from its ring: in pieces (here the input's chunk sizes).
      const shard = shards[i - 1]!.shard;
      for (const piece of chunks(v.u8.slice(ptr, ptr + len), chunk)) shard.framesPiece(piece);
      shard.clock(reader.clockUs);
      shards[i - 1]!.clockSent = reader.clockUs;
    },
    ownShare,
  );
  for (const c of chunks(bytes, chunk)) {
    reader.pushRecords(c, own);
    if (reader.error === null) reader.advanceClock(reader.clockUs, 64, own);
    for (const s of shards) if (s.clockSent !== reader.clockUs) s.shard.clock(reader.clockUs);
  }
  while (!reader.finishSome(own));
  const stats: Stats = { ...reader.stats };
  for (const s of shards) {
    for (const [k, v] of Object.entries(s.shard.end(reader.clockUs))) stats[k] = (stats[k] ?? 0) + v;
  }
  return { flows: sorted(flows), stats, error: reader.error?.message ?? null, ownSegments: reader.stats.segments };
}

function expectSame(
  name: string,
  bytes: Uint8Array,
  options: ReconstructorOptions,
  chunk: number,
  counts: number[],
): void {
  const one = oneEngine(bytes, chunk, options);
  for (const n of counts) {
    const many = sharded(bytes, n, chunk, options);
    expect({ shards: n, error: many.error }, name).toEqual({ shards: n, error: one.error });
    expect({ shards: n, stats: many.stats }, name).toEqual({ shards: n, stats: one.stats });
    expect({ shards: n, flows: many.flows }, name).toEqual({ shards: n, flows: one.flows });
  }
}

const captures = (dir: string) => captureFiles(dir).map((f) => join(dir, f));
const corpus = captures(corpusDir);
const fixtures = [
  ...captures(resolve(repoRoot, "test/fixtures/kernel")),
  ...captures(resolve(repoRoot, "test/fixtures/pcap")),
  ...captures(resolve(repoRoot, "test/fixtures/anomalies")),
  ...captures(resolve(repoRoot, "test/fixtures/fuzz")),
];

const dir = mkdtempSync(join(tmpdir(), "flowrecon-shards-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("shards: the same flows, counters and error as one engine", () => {
  it("finds the corpus", () => {
    expect(corpus.length).toBeGreaterThan(50);
  });

  // Each capture with odd chunk sizes (1, 7, 13 bytes ... 1 MiB in turn).
  for (const path of [...corpus, ...fixtures]) {
    const name = path.slice(path.lastIndexOf("/") + 1);
    it(`${name}: 2, 3 and 4 shards`, () => {
      const bytes = readFileSync(path);
      expectSame(name, bytes, {}, 0, [2, 3, 4]);
    });
  }

  it("teredo, fragments and VLANs in 7-byte chunks", () => {
    for (const name of ["teredo-mixed.pcap", "router-on-a-stick.pcap"]) {
      const bytes = readFileSync(resolve(repoRoot, "test/fixtures/pcap", name));
      expectSame(name, bytes, { ignoreChecksums: true }, 7, [2, 3, 4]);
    }
    for (const name of corpus.filter((p) => /frag|gtp|teredo|vxlan|gre|ayiya/.test(p))) {
      expectSame(name, readFileSync(name), { ignoreChecksums: true }, 7, [2, 4]);
    }
  });

  it("a generated capture with every anomaly kind, timeouts and port reuse, pcap and pcapng", () => {
    for (const format of ["pcap", "pcapng"] as const) {
      const out = join(dir, `anomalies.${format}`);
      generateCapture({
        out,
        sidecar: false,
        format,
        segments: 40_000,
        concurrent: 400,
        snaplen: 96,
        seed: 11,
        pps: 500,
        anomalyShare: 0.3,
      });
      const bytes = readFileSync(out);
      expectSame(format, bytes, { inactivityTimeout: 2, handshakeInactivityTimeout: 1 }, 0, [2, 3, 4]);
    }
  });

  it("the reading engine's share (none, half, most of the connections) changes no flow", () => {
    const out = join(dir, "shares.pcap");
    generateCapture({ out, sidecar: false, segments: 20_000, concurrent: 300, snaplen: 96, seed: 7, pps: 500 });
    const captures: [string, Uint8Array][] = [
      ["generated", readFileSync(out)],
      ["combined.pcap", readFileSync(resolve(repoRoot, "test/fixtures/kernel/combined.pcap"))],
    ];
    for (const [name, bytes] of captures) {
      const one = oneEngine(bytes, 0, {});
      for (const n of [2, 3]) {
        for (const share of [0, 0.5, 0.9]) {
          const many = sharded(bytes, n, 0, {}, share);
          expect({ name, n, share, stats: many.stats, error: many.error }).toEqual({
            name,
            n,
            share,
            stats: one.stats,
            error: one.error,
          });
          expect({ name, n, share, flows: many.flows }).toEqual({ name, n, share, flows: one.flows });
          // The share is honoured: none tracked by the reading engine, or (the generated capture's
          // hundreds of address pairs; combined.pcap has a handful) some of them but not all.
          const own = many.ownSegments!;
          if (share === 0) expect({ name, n, own }).toEqual({ name, n, own: 0 });
          else if (name === "generated")
            expect(own > 0 && own < one.stats.segments, `${name} n=${n} share=${share}: ${own}`).toBe(true);
        }
      }
    }
  });

  it("damaged and truncated captures: the same error offset, counters and flows before it", () => {
    const bytes = readFileSync(resolve(repoRoot, "test/fixtures/kernel/combined.pcap"));
    // Cut anywhere: inside the file header, record headers and frames.
    for (const cut of [3, 24, 31, 40, 1000, 7777, bytes.length - 1])
      expectSame(`cut at ${cut}`, bytes.subarray(0, cut), {}, 0, [2, 3]);
    // An absurd caplen in the 40th record header: every shard stops before it.
    let off = 24;
    for (let i = 0; i < 39; i++) off += 16 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(off + 8, true);
    const damaged = Uint8Array.from(bytes);
    new DataView(damaged.buffer).setUint32(off + 8, 0x7fffffff, true);
    const one = oneEngine(damaged, 0, {});
    expect(one.error).toContain(`byte ${off}`);
    expectSame("absurd caplen", damaged, {}, 0, [2, 3, 4]);
  });
});

/** A pcap of `n` SYNs from distinct clients to one server (Ethernet, IPv4; checksums not set). */
function synFlood(n: number): Uint8Array {
  const frame = 14 + 20 + 20;
  const out = new Uint8Array(24 + n * (16 + frame));
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xa1b2c3d4, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setUint32(16, 65535, true);
  v.setUint32(20, 1, true);
  for (let i = 0; i < n; i++) {
    const r = 24 + i * (16 + frame);
    v.setUint32(r, 1_700_000_000 + Math.floor(i / 1000), true);
    v.setUint32(r + 4, (i % 1000) * 1000, true);
    v.setUint32(r + 8, frame, true);
    v.setUint32(r + 12, frame, true);
    const e = r + 16;
    v.setUint16(e + 12, 0x0800);
    const ip = e + 14;
    out[ip] = 0x45;
    v.setUint16(ip + 2, 40);
    out[ip + 8] = 64;
    out[ip + 9] = 6;
    v.setUint32(ip + 12, 0x0a000000 + i + 1); // 10.x.y.z, one client each
    v.setUint32(ip + 16, 0xc0a80001);
    const tcp = ip + 20;
    v.setUint16(tcp, 1024 + (i % 50000));
    v.setUint16(tcp + 2, 80);
    v.setUint32(tcp + 4, i * 7919);
    out[tcp + 12] = 0x50;
    out[tcp + 13] = 0x02;
    v.setUint16(tcp + 14, 65535);
  }
  return out;
}

describe("shards: the flow cap holds for the process", () => {
  it("a SYN flood under a cap of 100 reports every SYN once, with 1 or 4 shards", () => {
    const bytes = synFlood(5000);
    const options = { ignoreChecksums: true, flowCap: 100 };
    const one = oneEngine(bytes, 0, options);
    const four = sharded(bytes, 4, 0, options);
    for (const run of [one, four]) {
      expect(run.flows).toHaveLength(5000);
      const origins = new Set(run.flows.map((f) => (JSON.parse(f) as Record<string, unknown>)["id.orig_h"]));
      expect(origins.size).toBe(5000);
      expect(run.stats.flows_evicted).toBeGreaterThan(4000);
    }
    expect(four.stats.records).toBe(5000);
  });
});
