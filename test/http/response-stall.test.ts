// A client that stops taking a streamed response, or takes it too slowly, must not hold the
// analysis: before, one client that uploaded a capture and never read the answer held both
// engine threads of a 2-core server and 128 MiB for good. The stream's wait for room is bounded
// as a request body's is (response-stream.ts): idle timeout and minimum rate over waiting time.
import { connect, createServer, type Socket } from "node:net";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCapture } from "../../bench/lib/traffic.mjs";
import { ResponseStalledError, ResponseStream, socketPace } from "../../src/http/response-stream.js";
import { startServer, type RunningServer } from "../../src/server.js";
import { JSON_TYPE, NDJSON, PCAP, logLines, tempDataDir } from "./helpers.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("ResponseStream's wait for a slow client", () => {
  it("gives up after the idle timeout when the client takes nothing, once, and ends the stream", async () => {
    const stalls: ResponseStalledError[] = [];
    const s = new ResponseStream({
      highWater: 4,
      timeouts: { responseIdleTimeoutMs: 80, minResponseRate: 0, responseRateWindowMs: 0 },
      onStall: (e) => stalls.push(e),
    });
    s.write([Buffer.from("12345678")]);
    const t0 = performance.now();
    const err = await s.ready().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResponseStalledError);
    expect((err as ResponseStalledError).details).toEqual({ idle_timeout_s: 0.08 });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(75);
    expect(stalls).toEqual([err]);
    expect(s.cancelled).toBe(true);
    await expect(s.ready()).rejects.toBe(err); // stays given up
    await expect(s.readable.getReader().read()).rejects.toBe(err);
  });

  it("waits as long as the client keeps taking bytes within the idle timeout", async () => {
    const s = new ResponseStream({
      highWater: 4,
      timeouts: { responseIdleTimeoutMs: 150, minResponseRate: 0, responseRateWindowMs: 0 },
    });
    const reader = s.readable.getReader();
    for (let i = 0; i < 6; i++) s.write([Buffer.from([i])]);
    // One byte taken every 60 ms: each wait sees progress before its deadline.
    const taking = (async () => {
      for (let i = 0; i < 6; i++) {
        await sleep(60);
        await reader.read();
      }
    })();
    await s.ready();
    await taking;
    expect(s.cancelled).toBe(false);
  });

  it("gives up when a full window of waiting brought less than the minimum rate", async () => {
    const s = new ResponseStream({
      highWater: 1000,
      timeouts: { responseIdleTimeoutMs: 0, minResponseRate: 10_000, responseRateWindowMs: 300 },
    });
    const reader = s.readable.getReader();
    for (let i = 0; i < 20; i++) s.write([Buffer.alloc(100)]);
    // 100 bytes every 50 ms = 2000 bytes/s, a fifth of the minimum; never idle for long.
    let reading = true;
    const taking = (async () => {
      while (reading) {
        await sleep(50);
        if ((await reader.read().catch(() => ({ done: true }))).done) return;
      }
    })();
    const err = await s.ready().catch((e: unknown) => e);
    reading = false;
    await taking;
    expect(err).toBeInstanceOf(ResponseStalledError);
    const { rate, min_rate } = (err as ResponseStalledError).details;
    expect(min_rate).toBe(10_000);
    expect(rate).toBeGreaterThan(0);
    expect(rate).toBeLessThan(10_000);
  });

  it("does not count time in which the client had taken everything (the server is the slow one)", async () => {
    const s = new ResponseStream({
      highWater: 4,
      timeouts: { responseIdleTimeoutMs: 60, minResponseRate: 1_000_000, responseRateWindowMs: 60 },
    });
    const reader = s.readable.getReader();
    s.write([Buffer.from("ab")]);
    await reader.read();
    await sleep(250); // the producer thinks for four idle timeouts and four rate windows
    s.write([Buffer.from("cd")]);
    await reader.read();
    await s.ready();
    expect(s.cancelled).toBe(false);
  });

  it("without limits waits for the client however long it takes (the previous behaviour)", async () => {
    const s = new ResponseStream({ highWater: 4 });
    s.write([Buffer.from("12345678")]);
    const reader = s.readable.getReader();
    setTimeout(() => void reader.read(), 150);
    await s.ready();
    expect(s.cancelled).toBe(false);
  });
});

describe("socketPace", () => {
  it("sees a large write taken while it is still in flight, and nothing taken while the peer reads nothing", async () => {
    let sender!: Socket;
    const server = createServer((s) => (sender = s));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const peer = connect(port, "127.0.0.1");
    peer.pause();
    try {
      while (sender === undefined) await sleep(5);
      let done = false;
      sender.write(Buffer.alloc(32 << 20), () => (done = true)); // one write, far more than the socket buffers
      await sleep(200);
      const stuck = socketPace(sender);
      expect(stuck.pending).toBe(true);
      expect(stuck.accepted).toBeLessThan(32 << 20);
      await sleep(200);
      expect(socketPace(sender).accepted).toBe(stuck.accepted); // the peer reads nothing: no progress
      // The peer reads a little: the count moves although the write is not done.
      let read = 0;
      peer.on("data", (d: Buffer) => {
        read += d.length;
        if (read > 8 << 20) peer.pause();
      });
      peer.resume();
      for (let i = 0; i < 100 && socketPace(sender).accepted <= stuck.accepted; i++) await sleep(20);
      expect(socketPace(sender).accepted).toBeGreaterThan(stuck.accepted);
      expect(done).toBe(false);
      expect(socketPace(sender).pending).toBe(true);
    } finally {
      peer.destroy();
      sender?.destroy();
      server.close();
    }
  });
});

describe("a client that never reads the answer of its upload", () => {
  let generated: Buffer;
  let server: RunningServer | undefined;
  beforeAll(() => {
    const out = join(mkdtempSync(join(tmpdir(), "flowrecon-stall-")), "gen.pcap");
    // ~28 MB of capture, ~11 MB of NDJSON: more than the socket buffers and the stream's queue hold.
    generateCapture({ out, segments: 300_000, concurrent: 60_000, snaplen: 96, seed: 21 });
    generated = readFileSync(out);
  });
  afterAll(async () => {
    await server?.close(500);
  });

  /** A raw client that uploads the capture asking for `accept` and never reads a byte of the answer. */
  async function neverReads(port: number, accept: string, metric: (line: string) => Promise<number>, before: number) {
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => {});
    const closed = new Promise<number>((resolve) => socket.on("close", () => resolve(performance.now())));
    const t0 = performance.now();
    socket.write(
      `POST /v1/analyze HTTP/1.1\r\nhost: x\r\ncontent-type: ${PCAP}\r\naccept: ${accept}\r\n` +
        `content-length: ${generated.length}\r\n\r\n`,
    );
    socket.write(generated);
    socket.pause();
    let gaveUp = before;
    for (let i = 0; i < 300 && gaveUp === before; i++) {
      await sleep(100);
      gaveUp = await metric('flowrecon_rejected_total{reason="response_timeout"}');
    }
    expect(gaveUp, "the server never gave up on the client").toBe(before + 1);
    expect(performance.now() - t0).toBeLessThan(30_000);
    // The connection is gone: reading now finds its end (or its reset) within a moment.
    socket.resume();
    const at = await Promise.race([closed, sleep(10_000).then(() => null)]);
    expect(at, "the server did not close the connection").not.toBeNull();
  }

  it("is cut off after the response idle timeout, streamed or buffered; its engine threads and memory are freed", async () => {
    const log = logLines();
    server = await startServer(
      {
        port: 0,
        host: "127.0.0.1",
        dataDir: tempDataDir(),
        responseIdleTimeoutMs: 1000,
        minResponseRate: 0,
      },
      { logger: log.logger },
    );
    const port = server.port;
    const metric = async (line: string): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const found = text.split("\n").find((l) => l.startsWith(line));
      return found === undefined ? 0 : Number(found.slice(line.length).trim());
    };
    await neverReads(port, NDJSON, metric, 0);
    // The analysis was dropped: no engine thread stays busy, no memory stays held.
    let busy = -1;
    for (let i = 0; i < 50 && busy !== 0; i++) {
      busy = await metric("flowrecon_engine_threads_busy");
      if (busy !== 0) await sleep(100);
    }
    expect(busy).toBe(0);
    expect(await metric("flowrecon_memory_bytes")).toBe(0);
    // A buffered answer (JSON, ~14 MB) that the client never takes is cut off the same way.
    await neverReads(port, JSON_TYPE, metric, 1);
    expect(log.lines.filter((l) => l.code === "response_timeout")).toMatchObject([
      { level: "warn", idle_timeout_s: 1, msg: "the client took no response byte for 1 s" },
      { level: "warn", idle_timeout_s: 1, msg: "the client took no response byte for 1 s" },
    ]);
    // The server still answers others, and a client that reads gets the whole answer under the
    // same limits (its waits are short: every byte is taken as it comes).
    const res = await fetch(`http://127.0.0.1:${port}/v1/analyze`, {
      method: "POST",
      headers: { "content-type": PCAP, accept: NDJSON },
      body: new Uint8Array(generated),
    });
    expect(res.status).toBe(200);
    const lines = (await res.text()).trimEnd().split("\n");
    const last = JSON.parse(lines.at(-1)!) as { stats?: { flows_emitted: number } };
    expect(last.stats?.flows_emitted).toBeGreaterThan(10_000);
    expect(lines.length).toBe(last.stats!.flows_emitted + 1);
    const json = await fetch(`http://127.0.0.1:${port}/v1/analyze`, {
      method: "POST",
      headers: { "content-type": PCAP, accept: JSON_TYPE },
      body: new Uint8Array(generated),
    });
    expect(((await json.json()) as { flows: unknown[] }).flows).toHaveLength(last.stats!.flows_emitted);
    expect(await metric('flowrecon_rejected_total{reason="response_timeout"}')).toBe(2);
  }, 90_000);
});
