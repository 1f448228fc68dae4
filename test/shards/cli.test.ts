// `flowrecon analyze --threads N` through real shard threads and SharedArrayBuffer rings
// (src/shards/): the output of N threads must be one engine's, in another order. These would fail
// if the rings lost, reordered within a shard or duplicated a batch, if a shard's printed output or
// records were dropped at the end, if counters were not summed, or if the exit status and error line
// of a damaged capture differed. test/shards/shards.test.ts covers every capture in one thread.
import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { generateCapture } from "../../bench/lib/traffic.mjs";
import { main } from "../../src/cli.js";
import { repoRoot } from "../host/helpers.js";

const BIN = resolve(repoRoot, "bin", "flowrecon.js");
const dir = mkdtempSync(join(tmpdir(), "flowrecon-shards-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; with `stdin`, the capture is written to its standard input `chunk` bytes at a time. */
function run(args: string[], stdin?: { bytes: Uint8Array; chunk: number }): Promise<Result> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, "analyze", ...args], { cwd: repoRoot });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
    if (stdin === undefined) return;
    const { bytes, chunk } = stdin;
    let off = 0;
    const pump = (): void => {
      while (off < bytes.length) {
        const piece = bytes.subarray(off, off + chunk);
        off += chunk;
        if (!child.stdin.write(piece)) {
          child.stdin.once("drain", pump);
          return;
        }
      }
      child.stdin.end();
    };
    pump();
  });
}

const lines = (text: string) =>
  text
    .split("\n")
    .filter((l) => l !== "" && !/^#(open|close)/.test(l))
    .sort();

describe("--threads through shard threads", () => {
  it("7-byte chunks on stdin, --sort ts: the same bytes and counters as one engine", async () => {
    for (const name of ["test/fixtures/kernel/combined.pcap", "test/fixtures/pcap/teredo-mixed.pcap"]) {
      const bytes = readFileSync(resolve(repoRoot, name));
      const one = await run(["-", "--threads", "1", "--sort", "ts", "--stats", "-C"], { bytes, chunk: 7 });
      const three = await run(["-", "--threads", "3", "--sort", "ts", "--stats", "-C"], { bytes, chunk: 7 });
      expect(one.code, one.stderr).toBe(0);
      expect(one.stdout.length).toBeGreaterThan(1000);
      expect({ name, code: three.code, stderr: three.stderr }).toEqual({ name, code: 0, stderr: one.stderr });
      expect(three.stdout).toBe(one.stdout);
    }
  });

  it("zeek rows printed by the shards: the same rows, header and footer", async () => {
    const path = join(dir, "gen.pcap");
    generateCapture({ out: path, sidecar: false, segments: 30_000, concurrent: 500, snaplen: 96, seed: 5, pps: 2000 });
    const one = await run([path, "--threads", "1", "--format", "zeek"]);
    const two = await run([path, "--threads", "2", "--format", "zeek"]);
    expect(two.code, two.stderr).toBe(0);
    expect(lines(two.stdout)).toEqual(lines(one.stdout));
    expect(lines(one.stdout).length).toBeGreaterThan(1000);
    // Header first and footer last, as from one engine.
    expect(two.stdout.split("\n").slice(0, 4)).toEqual(one.stdout.split("\n").slice(0, 4));
    expect(two.stdout.trimEnd().split("\n").at(-1)).toMatch(/^#close/);
  });

  it("stdout to a file, output buffers reused once written: the lines a stream that keeps its chunks gets", async () => {
    // Written to a file, stdout is done with each piece as its write returns, so the shards' and the
    // reading thread's output buffers go round (src/shards/protocol.ts, src/cli.ts Output); a stream
    // that keeps its chunks (main() in process) gets fresh ones. ~15k flows, many MiB of NDJSON, most
    // of it printed at the end of the input in full pieces: a buffer filled again before it was
    // written, or given back twice, would garble or repeat lines.
    const path = join(dir, "many.pcap");
    generateCapture({
      out: path,
      sidecar: false,
      segments: 300_000,
      concurrent: 30_000,
      snaplen: 96,
      seed: 7,
      pps: 100_000,
    });
    const chunks: Buffer[] = [];
    const err: Buffer[] = [];
    const collect = (into: Buffer[]) =>
      new Writable({
        write: (chunk: Buffer, _enc, done) => {
          into.push(chunk);
          done();
        },
      });
    expect(await main(["analyze", path, "--threads", "1"], collect(chunks), collect(err))).toBe(0);
    const expected = Buffer.concat(chunks).toString("utf8");
    expect(expected.length).toBeGreaterThan(8 << 20);
    for (const threads of ["1", "2"]) {
      const file = join(dir, `many-${threads}.ndjson`);
      const fd = openSync(file, "w");
      const r = spawnSync(process.execPath, [BIN, "analyze", path, "--threads", threads], {
        cwd: repoRoot,
        stdio: ["ignore", fd, "pipe"],
        encoding: "utf8",
      });
      closeSync(fd);
      expect({ threads, code: r.status, stderr: r.stderr }).toEqual({ threads, code: 0, stderr: "" });
      const got = readFileSync(file, "utf8");
      if (threads === "1") expect(got === expected, "one engine: the same bytes").toBe(true);
      else expect(lines(got)).toEqual(lines(expected));
    }
  });

  it("--threads 12 into a file: nothing on stderr (no listener per thread on stdout)", () => {
    // Node piped each shard thread's stdout into process.stdout, one 'error' listener each: with 12
    // threads the CLI's own listener was the 12th and Node warned (MaxListenersExceededWarning).
    const file = join(dir, "twelve.ndjson");
    const fd = openSync(file, "w");
    const r = spawnSync(
      process.execPath,
      [BIN, "analyze", "test/fixtures/kernel/combined.pcap", "--threads", "12", "--format", "ndjson"],
      { cwd: repoRoot, stdio: ["ignore", fd, "pipe"], encoding: "utf8" },
    );
    closeSync(fd);
    expect({ code: r.status, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(readFileSync(file, "utf8").length).toBeGreaterThan(1000);
  });

  it("a damaged record: exit 1, the same error line, and every flow before it", async () => {
    const bytes = readFileSync(resolve(repoRoot, "test/fixtures/kernel/combined.pcap"));
    const damaged = Uint8Array.from(bytes);
    const v = new DataView(damaged.buffer);
    let off = 24;
    for (let i = 0; i < 99; i++) off += 16 + v.getUint32(off + 8, true);
    v.setUint32(off + 8, 0x7fffffff, true);
    const path = join(dir, "damaged.pcap");
    writeFileSync(path, damaged);
    const one = await run([path, "--threads", "1", "--stats"]);
    const four = await run([path, "--threads", "4", "--stats"]);
    expect(one.code).toBe(1);
    expect(one.stderr).toContain(`byte ${off}`);
    expect({ code: four.code, stderr: four.stderr }).toEqual({ code: 1, stderr: one.stderr });
    expect(lines(four.stdout)).toEqual(lines(one.stdout));
    expect(lines(one.stdout).length).toBeGreaterThan(5);
  });

  it("a JSON document printed by the engines: the NDJSON lines, one a line, commas between", async () => {
    const path = join(dir, "gen-json.pcap");
    generateCapture({ out: path, sidecar: false, segments: 20_000, concurrent: 500, snaplen: 96, seed: 6, pps: 2000 });
    const empty = join(dir, "header-only.pcap");
    writeFileSync(empty, readFileSync(path).subarray(0, 24));
    /** The document's flow lines (their commas dropped), sorted; its layout checked on the way. */
    const flows = (text: string): string[] => {
      const all = text.split("\n");
      expect(all.at(-1)).toBe("");
      if (all[0].startsWith('{"flows":[]')) {
        expect(all).toHaveLength(2);
        return [];
      }
      expect(all[0]).toBe('{"flows":[');
      expect(all.at(-2)).toMatch(/^\],"stats":\{.*\}\}$/);
      const members = all.slice(1, -2);
      expect(members.slice(0, -1).every((l) => l.endsWith("},"))).toBe(true);
      expect(members.at(-1)).toMatch(/^\{"ts":.*\}$/);
      return members.map((l) => l.replace(/,$/, "")).sort();
    };
    for (const extra of [[], ["--anomaly", "reset"]] as string[][]) {
      for (const threads of ["1", "2"]) {
        const args = [path, "--threads", threads, ...extra];
        const nd = await run([...args, "--format", "ndjson"]);
        const doc = await run([...args, "--format", "json"]);
        expect({ args, code: doc.code, stderr: doc.stderr }).toEqual({ args, code: 0, stderr: "" });
        expect(flows(doc.stdout)).toEqual(lines(nd.stdout));
        expect(lines(nd.stdout).length, args.join(" ")).toBeGreaterThan(extra.length > 0 ? 10 : 1000);
      }
    }
    for (const threads of ["1", "2"]) {
      const doc = await run([empty, "--threads", threads, "--format", "json"]);
      expect(doc.stdout).toMatch(/^\{"flows":\[\],"stats":\{"records":0,/);
      expect(flows(doc.stdout)).toEqual([]);
    }
  });

  it("json and table (printed by the reading thread) match one engine", async () => {
    const path = resolve(repoRoot, "test/fixtures/kernel/combined.pcap");
    for (const format of ["json", "table"]) {
      const one = await run([path, "--threads", "1", "--format", format, "--sort", "ts"]);
      const two = await run([path, "--threads", "2", "--format", format, "--sort", "ts"]);
      expect({ format, code: two.code, out: two.stdout }).toEqual({ format, code: 0, out: one.stdout });
    }
  });

  it("--threads takes a whole number of threads", async () => {
    const r = await run(["x.pcap", "--threads", "0"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--threads needs a whole number of threads");
    const s = await run(["x.pcap", "--sort", "uid"]);
    expect(s.code).toBe(2);
    expect(s.stderr).toContain("--sort takes ts");
  });
});
