// An engine thread's output buffers go round (src/http/engine-pool.ts op `spare`): once the main
// thread has written a piece to the socket (response-stream.ts writtenPieces: the response's write
// callback), the buffer goes back to the thread that printed it, which prints a later step into
// it. A buffer given back before the socket wrote it would be printed over while still queued:
// the answers through a real server must stay the in-process ones, byte for byte.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { setImmediate as tick } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCapture } from "../../bench/lib/traffic.mjs";
import { writtenPieces } from "../../src/http/response-stream.js";
import type { RunningServer } from "../../src/server.js";
import { NDJSON, PCAP, post, testApp, testServer } from "./helpers.js";

describe("writtenPieces", () => {
  it("reports a watched piece once its write completed, keeps the caller's callback, and not after a failed write", async () => {
    const pending: ((e?: Error | null) => void)[] = [];
    const sink = new Writable({ highWaterMark: 1, write: (_chunk, _enc, cb) => pending.push(cb) });
    sink.on("error", () => {});
    const watch = writtenPieces(sink);
    const got: string[] = [];
    const [a, b, c] = [Buffer.from("a"), Buffer.from("b"), Buffer.from("c")];
    watch(a, () => got.push("a written"));
    watch(c, () => got.push("c written"));
    sink.write(a);
    sink.write(b, () => got.push("b's own callback"));
    sink.write(c, () => got.push("c's own callback"));
    await tick();
    expect(got).toEqual([]); // handed to the sink, not written yet
    pending.shift()!();
    await tick();
    expect(got).toEqual(["a written"]);
    pending.shift()!();
    await tick();
    expect(got).toEqual(["a written", "b's own callback"]);
    pending.shift()!(new Error("the client went away"));
    await tick();
    expect(got).toEqual(["a written", "b's own callback", "c's own callback"]);
  });
});

let generated: Buffer;
beforeAll(() => {
  const out = join(mkdtempSync(join(tmpdir(), "flowrecon-reuse-")), "gen.pcap");
  // 5000 connections ending at the end: a finish printed in steps of a MiB or more.
  generateCapture({ out, segments: 60_000, concurrent: 5000, snaplen: 96, seed: 13 });
  generated = readFileSync(out);
});

async function upload(port: number): Promise<Buffer> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/analyze`, {
    method: "POST",
    headers: { "content-type": PCAP, accept: NDJSON },
    body: new Uint8Array(generated),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  expect(res.status, bytes.subarray(0, 300).toString()).toBe(200);
  return bytes;
}

/** The answer's lines in one order, the trailer (last) kept last. */
function sortedLines(answer: Buffer): string[] {
  const lines = answer.toString().split("\n");
  const trailer = lines.splice(-2);
  return [...lines.sort(), ...trailer];
}

describe("a real server with one engine thread", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await testServer({ threads: 1 });
  });
  afterAll(() => server.close(1000));

  it("prints later answers into the buffers of earlier ones, and every answer is the in-process one", async () => {
    const local = testApp({ threads: 1 });
    const expected = Buffer.from(
      await (await post(local, "/v1/analyze", generated, PCAP, { accept: NDJSON })).arrayBuffer(),
    );
    local.close();
    expect(expected.length).toBeGreaterThan(2 << 20);
    for (let i = 0; i < 3; i++) {
      const bytes = await upload(server.port);
      expect(bytes.equals(expected), `answer ${i}: ${bytes.length} bytes, expected ${expected.length}`).toBe(true);
    }
    const metrics = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    const reused = Number(/^flowrecon_output_buffers_reused_total (\d+)$/m.exec(metrics)?.[1] ?? 0);
    expect(reused).toBeGreaterThan(0);
  });
});

describe("a real server whose uploads are sharded over 3 engine threads", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await testServer({ threads: 3, uploadShards: 3, uploadShardMinBytes: 0 });
  });
  afterAll(() => server.close(1000));

  it("the shards' pieces, moved to the main thread and back, make one engine's answer (lines in another order)", async () => {
    const local = testApp({ threads: 1 });
    const one = Buffer.from(
      await (await post(local, "/v1/analyze", generated, PCAP, { accept: NDJSON })).arrayBuffer(),
    );
    local.close();
    const expected = sortedLines(one);
    for (let i = 0; i < 3; i++) expect(sortedLines(await upload(server.port)), `answer ${i}`).toEqual(expected);
    const metrics = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    expect(metrics).toMatch(/^flowrecon_upload_shards_total 6$/m);
  });
});

describe("a real server whose uploads are sharded over 2 engine threads, with many pieces in flight", () => {
  // 30000 connections ending at the end: each engine ends ~15000 flows (~10 MB) in 1 MiB pieces,
  // faster than the client takes them, so buffers come back while others are in flight and the
  // reading thread prints its own pieces into kept ones (sharded-run.ts #keep). One kept too
  // early would be printed over while the socket still writes it.
  let big: Buffer;
  let server: RunningServer;
  beforeAll(async () => {
    const out = join(mkdtempSync(join(tmpdir(), "flowrecon-reuse-")), "big.pcap");
    generateCapture({ out, segments: 500_000, concurrent: 30_000, snaplen: 96, seed: 29 });
    big = readFileSync(out);
    server = await testServer({ threads: 2, uploadShards: 2, uploadShardMinBytes: 0 });
  });
  afterAll(() => server.close(1000));

  it("every answer has one engine's lines", async () => {
    const local = testApp({ threads: 1 });
    const one = Buffer.from(await (await post(local, "/v1/analyze", big, PCAP, { accept: NDJSON })).arrayBuffer());
    local.close();
    expect(one.length).toBeGreaterThan(16 << 20);
    const expected = sortedLines(one);
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`http://127.0.0.1:${server.port}/v1/analyze`, {
        method: "POST",
        headers: { "content-type": PCAP, accept: NDJSON },
        body: new Uint8Array(big),
      });
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(res.status).toBe(200);
      const got = sortedLines(bytes);
      expect(got.length, `answer ${i}`).toBe(expected.length);
      expect(
        got.every((line, j) => line === expected[j]),
        `answer ${i}`,
      ).toBe(true);
    }
  });
});
