// The CLI's format threads (src/output/): the records the engine finishes are copied out in
// batches, printed on worker threads and put back in order. These checks would fail if the
// pipeline reordered, dropped or duplicated a flow, judged a flow against the wrong capture clock,
// or lost the flows before a damaged record. The capture has ~10k flows (six batches), most of
// them finished while it is read (so under different clocks), the rest at its end.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli.js";
import { generateCapture } from "../../bench/lib/traffic.mjs";
import { Reconstructor } from "../../src/reconstructor.js";
import { flowJson } from "../../src/format/index.js";
import { makeViews, type MemoryViews } from "../../src/wasm/engine.js";
import { forEachRecord, RecordBatcher } from "../../src/output/record-batch.js";
import { BATCH_BYTES } from "../../src/output/format-threads.js";
import { repoRoot } from "./helpers.js";

const BIN = resolve(repoRoot, "bin", "flowrecon.js");
const dir = mkdtempSync(join(tmpdir(), "flowrecon-threads-"));
const capture = join(dir, "flows.pcap");
const damaged = join(dir, "damaged.pcap");
/** Byte offset of the record whose header is broken in `damaged`. */
let damageAt = 0;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with FLOWRECON_FORMAT_THREADS=threads (0: format on the main thread). */
function run(threads: number, args: string[]): Result {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: repoRoot,
    encoding: "utf8",
    maxBuffer: 256 << 20,
    env: { ...process.env, FLOWRECON_FORMAT_THREADS: String(threads) },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Zeek's #open/#close carry the wall clock. */
const unclocked = (text: string) => text.replace(/^#(open|close)\t.*$/gm, "#$1\tX");

/** The flows as the library delivers them (decoded in this thread, in engine order), as NDJSON. */
function libraryNdjson(path: string): { text: string; flows: number; error: string | null } {
  const rec = new Reconstructor();
  const bytes = readFileSync(path);
  let text = "";
  let flows = 0;
  for (let off = 0; off < bytes.length && rec.error === null; off += 1 << 20) {
    for (const f of rec.push(bytes.subarray(off, off + (1 << 20)))) {
      text += flowJson(f) + "\n";
      flows++;
    }
  }
  for (const f of rec.finish()) {
    text += flowJson(f) + "\n";
    flows++;
  }
  return { text, flows, error: rec.error?.message ?? null };
}

beforeAll(() => {
  // pps 2000: the capture spans ~100 s, so most flows end (close, time out) while it is read.
  generateCapture({
    out: capture,
    sidecar: false,
    segments: 200_000,
    concurrent: 300,
    snaplen: 96,
    seed: 3,
    pps: 2000,
  });
  // Break the header of the record that starts after 60% of the file: a capture length larger
  // than the snapshot length, which stops decoding there.
  const bytes = Buffer.from(readFileSync(capture));
  let off = 24;
  while (off < bytes.length * 0.6) off += 16 + bytes.readUInt32LE(off + 8);
  damageAt = off;
  bytes.writeUInt32LE(0x7fffff00, off + 8);
  writeFileSync(damaged, bytes);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("format threads", () => {
  it("the capture makes several batches, finished under several capture clocks", () => {
    const rec = new Reconstructor();
    const clocks = new Set<number>();
    let flows = 0;
    rec.pushRecords(readFileSync(capture), () => {
      clocks.add(rec.insight.endUs);
      flows++;
    });
    const live = rec.stats.flows_created - rec.stats.flows_emitted;
    expect(flows * rec.layout.constants.FR_SIZE).toBeGreaterThan(4 * BATCH_BYTES);
    expect(clocks.size).toBeGreaterThan(4);
    expect(live).toBeGreaterThan(0);
  });

  it("print every flow once, in the engine's order, as the library decodes them", () => {
    const expected = libraryNdjson(capture);
    expect(expected.flows).toBeGreaterThan(10_000);
    for (const threads of [1, 2, 3]) {
      const r = run(threads, ["analyze", capture]);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe("");
      // Byte equality covers order, loss, duplication and each flow's insight fields (its clock).
      expect(r.stdout === expected.text, `${threads} thread(s)`).toBe(true);
    }
  });

  it("print the flows before a damaged record, then the damage, and exit 1", () => {
    const expected = libraryNdjson(damaged);
    expect(expected.error).toMatch(new RegExp(`^damaged capture at byte ${damageAt} `));
    expect(expected.flows).toBeGreaterThan(5_000);
    for (const threads of [1, 2]) {
      const r = run(threads, ["analyze", damaged]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`flowrecon: ${expected.error}\n`);
      expect(r.stdout === expected.text, `${threads} thread(s)`).toBe(true);
    }
  });

  const cases = (): string[][] => [
    [capture],
    [capture, "--anomaly", "syn_unanswered", "--anomaly", "reset", "--stats"],
    [damaged, "--anomalies-only"],
  ];
  for (const format of ["ndjson", "json", "zeek", "table"]) {
    it(`print what the main thread prints: --format ${format}`, () => {
      for (const [path, ...extra] of cases()) {
        const args = ["analyze", path, "--format", format, ...extra];
        const here = run(0, args);
        const there = run(2, args);
        expect(there.code, args.join(" ")).toBe(here.code);
        expect(there.stderr, args.join(" ")).toBe(here.stderr);
        expect(unclocked(there.stdout) === unclocked(here.stdout), args.join(" ")).toBe(true);
      }
    });
  }

  it("write to streams that keep what they are given (main() in process)", async () => {
    // A collecting stream keeps each chunk after its write callback: the threads' output buffers
    // must not be taken back from it.
    const collect = (into: Buffer[]) =>
      new Writable({
        write: (chunk: Buffer, _enc, done) => {
          into.push(chunk);
          done();
        },
      });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const saved = process.env.FLOWRECON_FORMAT_THREADS;
    process.env.FLOWRECON_FORMAT_THREADS = "2";
    try {
      expect(await main(["analyze", capture], collect(out), collect(err))).toBe(0);
    } finally {
      if (saved === undefined) delete process.env.FLOWRECON_FORMAT_THREADS;
      else process.env.FLOWRECON_FORMAT_THREADS = saved;
    }
    expect(Buffer.concat(err).toString()).toBe("");
    expect(Buffer.concat(out).toString("utf8") === libraryNdjson(capture).text).toBe(true);
  });

  it("a slow reader gets every byte (backpressure)", async () => {
    const expected = libraryNdjson(capture).text;
    const child = spawn(process.execPath, [BIN, "analyze", capture], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, FLOWRECON_FORMAT_THREADS: "2" },
    });
    const chunks: Buffer[] = [];
    let n = 0;
    child.stdout.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      // Stall now and then, so the pipe fills and writes wait for 'drain' at varying moments.
      if (++n % 8 === 0) {
        child.stdout.pause();
        setTimeout(() => child.stdout.resume(), 5);
      }
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const code = await new Promise((done) => child.on("close", done));
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(Buffer.concat(chunks).toString("utf8") === expected).toBe(true);
  });
});

describe("record batches", () => {
  const size = 16;
  function views(records: number): MemoryViews {
    const v = makeViews(new ArrayBuffer(records * size));
    for (let i = 0; i < records; i++) v.u32[(i * size) >>> 2] = i;
    return v;
  }

  it("keep records in order with the capture clock each was finished under", () => {
    const v = views(10);
    const b = new RecordBatcher(size, 4 * size);
    expect(b.capacity).toBe(4);
    const clockOf = [5, 5, 7, 7];
    for (let i = 0; i < 4; i++) b.add(v, i * size, clockOf[i]);
    expect(b.full).toBe(true);
    const batch = b.take()!;
    expect(batch.count).toBe(4);
    expect(batch.clocks).toEqual([2, 5, 2, 7]);
    const seen: [number, number][] = [];
    const clock = { endUs: 0 };
    forEachRecord(batch, size, clock, (w, p) => seen.push([w.u32[p >>> 2], clock.endUs]));
    expect(seen).toEqual([
      [0, 5],
      [1, 5],
      [2, 7],
      [3, 7],
    ]);
    expect(b.take()).toBeNull();
  });

  it("start a new clock run in each batch, and refill returned buffers", () => {
    const v = views(10);
    const b = new RecordBatcher(size, 4 * size);
    for (let i = 0; i < 4; i++) b.add(v, i * size, 9);
    const first = b.take()!;
    b.recycle(first.buffer);
    b.add(v, 4 * size, 9);
    const second = b.take()!;
    expect(second.buffer).toBe(first.buffer);
    expect(second.clocks).toEqual([1, 9]);
    expect(new Uint32Array(second.buffer)[0]).toBe(4);
  });
});
