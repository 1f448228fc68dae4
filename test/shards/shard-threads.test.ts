// Shard threads started before the CLI knows its run (src/shards/shard-threads.ts, bin/flowrecon.js):
// the guess from argv, and a run that takes them (or ends the ones it does not need).
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { generateCapture } from "../../bench/lib/traffic.mjs";
import { main } from "../../src/cli.js";
import { ownRingBytes, startShardThreads, type ShardThread } from "../../src/shards/shard-threads.js";
import {
  availableThreads,
  endShardThreads,
  engineThreads,
  enginesGuessed,
  THREAD_MIN_BYTES,
} from "../../src/shards/thread-plan.js";

/** What bin/flowrecon.js starts for a command line. */
function startShardThreadsFor(argv: string[]): ShardThread[] {
  return startShardThreads(enginesGuessed(argv));
}

const dir = mkdtempSync(join(tmpdir(), "flowrecon-shard-threads-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const capture = join(dir, "small.pcap");
generateCapture({
  out: capture,
  sidecar: false,
  segments: 20_000,
  concurrent: 2_000,
  snaplen: 96,
  seed: 3,
  pps: 50_000,
});

/** A stream that keeps what it is given, in `into`. */
function collect(into: Buffer[]): PassThrough {
  return new PassThrough().on("data", (chunk: Buffer) => into.push(chunk));
}

async function analyze(argv: string[], started = startShardThreadsFor(argv)): Promise<string> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  expect(await main(argv, collect(out), collect(err), started)).toBe(0);
  await new Promise(setImmediate); // the streams hand on their last chunks
  expect(Buffer.concat(err).toString("utf8")).toBe("");
  return Buffer.concat(out).toString("utf8");
}

describe("shard threads started ahead", () => {
  it("are guessed from argv: --threads/-j, else a capture of THREAD_MIN_BYTES or more; only for analyze", () => {
    const count = (argv: string[]): number => {
      const threads = startShardThreadsFor(argv);
      const n = threads.length;
      endShardThreads(threads);
      expect(threads).toEqual([]);
      return n;
    };
    expect(THREAD_MIN_BYTES).toBeGreaterThan(20_000 * 200);
    expect([
      count(["analyze", capture]),
      count(["analyze", capture, "--format", "zeek"]),
      count(["analyze", "-j", "3", capture]),
      count(["analyze", "-j3", capture]),
      count(["analyze", capture, "--threads=2"]),
      count(["analyze", capture, "--threads", "1"]),
      count(["analyze", capture, "--threads", "0"]),
      count(["ladder", capture, "-j", "3"]),
      count(["analyze", "-", "-j", "2"]),
    ]).toEqual([0, 0, 2, 2, 1, 0, 0, 0, 1]);
  });

  it("by default one engine for a capture file under 256 MiB (the 188 MB cap2m ran faster so on 2 cores)", () => {
    expect(THREAD_MIN_BYTES).toBe(256 << 20);
    expect(engineThreads(undefined, { isFile: true, size: 188_573_447 })).toBe(1);
    expect(engineThreads(undefined, { isFile: true, size: (256 << 20) - 1 })).toBe(1);
    expect(engineThreads(undefined, { isFile: true, size: 256 << 20 })).toBe(availableThreads());
    expect(engineThreads(undefined, { isFile: false, size: 0 })).toBe(1);
    expect(engineThreads(3, { isFile: true, size: 100 })).toBe(3);
  });

  it("share 16 MiB of frame rings among a run's threads: more engines, smaller rings (each faulted in once)", () => {
    expect([2, 3, 4, 5, 8, 9, 16, 64].map(ownRingBytes)).toEqual([16, 8, 4, 4, 2, 2, 2, 2].map((mib) => mib << 20));
    for (const n of [2, 3, 16]) {
      const threads = startShardThreadsFor(["analyze", capture, "-j", String(n)]);
      const rings = threads.map((t) => t.link.ring.byteLength - 64); // less the control cells (ring.ts)
      endShardThreads(threads);
      expect({ n, rings }).toEqual({ n, rings: Array(n - 1).fill(ownRingBytes(n)) });
      expect(rings.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(Math.max(16 << 20, (n - 1) * (2 << 20)));
    }
  });

  it("a run takes them and prints what it prints without them; the ones it does not need end", async () => {
    const argv = ["analyze", capture, "--threads", "2", "--sort", "ts"];
    const expected = await analyze(argv, []);
    expect(expected.split("\n").length).toBeGreaterThan(100);
    const started = startShardThreadsFor(["analyze", capture, "-j", "3"]);
    const workers = started.map((t) => t.worker);
    expect(workers.length).toBe(2);
    const exits = workers.map((w) => once(w, "exit"));
    expect(await analyze(argv, started)).toBe(expected);
    expect(started).toEqual([]);
    await Promise.all(exits);
  });
});
