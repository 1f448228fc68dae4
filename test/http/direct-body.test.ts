// A capture upload to a real server is read from Node's request stream straight into the batches
// sent to the engine thread (src/http/body.ts NodeBodyReader, issue 10), past the first MiB that
// gather() holds; in-process requests (app.request) take the body chunk by chunk (bodyChunks).
// Differential: the same bodies both ways give the same answers, damaged ones the same errors; and
// the limits hold while the body arrives past that first MiB (413, the idle and rate 408s, a
// client that leaves).
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { generateCapture } from "../../bench/lib/traffic.mjs";
import { startServer, type RunningServer } from "../../src/server.js";
import type { ServerConfig } from "../../src/http/config.js";
import { chunked, logLines, NDJSON, PCAP, streamInit, tempDataDir, testApp, type Json, testServer } from "./helpers.js";

let generated: Buffer;
const started: RunningServer[] = [];

beforeAll(() => {
  const out = join(mkdtempSync(join(tmpdir(), "flowrecon-direct-")), "gen.pcap");
  generateCapture({ out, segments: 40_000, concurrent: 500, snaplen: 96, seed: 11 });
  generated = readFileSync(out);
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close(500)));
});
afterAll(async () => {
  await Promise.all(started.splice(0).map((s) => s.close(500)));
});

async function server(config: Partial<ServerConfig> = {}): Promise<RunningServer> {
  const s = await testServer(config);
  started.push(s);
  return s;
}

/** POSTs `bytes` to a real server in `chunk`-byte writes (chunked encoding); the whole reply. */
function upload(
  port: number,
  bytes: Uint8Array,
  chunk: number,
  accept = "application/json",
  query = "",
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: `/v1/analyze${query}`,
        method: "POST",
        headers: { "content-type": PCAP, accept },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (d: Buffer) => parts.push(d));
        res.on("end", () => resolve({ status: res.statusCode!, body: Buffer.concat(parts).toString() }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    void (async () => {
      for (let off = 0; off < bytes.length; off += chunk) {
        if (!req.write(bytes.subarray(off, off + chunk))) await new Promise((r) => req.once("drain", r));
      }
      req.end();
    })().catch(reject);
  });
}

/** The same body in-process (no Node stream: the chunk-by-chunk path), with the server's settings. */
async function inProcess(
  bytes: Uint8Array,
  config: Partial<ServerConfig>,
  accept = "application/json",
  query = "",
): Promise<{ status: number; body: string }> {
  const api = testApp(config);
  try {
    const res = await api.app.request(`/v1/analyze${query}`, streamInit(chunked(bytes, 65_536), PCAP, { accept }));
    return { status: res.status, body: await res.text() };
  } finally {
    api.close();
  }
}

/** An NDJSON answer with its flow lines sorted (a sharded answer's order depends on the threads). */
function lines(body: string): { flows: string[]; rest: string[] } {
  const all = body.split("\n").filter((l) => l !== "");
  return { flows: all.filter((l) => l.includes('"uid"')).sort(), rest: all.filter((l) => !l.includes('"uid"')) };
}

/** `bytes` with the record header that starts at or after `at` claiming a record larger than any snap length. */
function damagedAt(bytes: Buffer, at: number): { body: Buffer; offset: number } {
  const body = Buffer.from(bytes);
  let off = 24;
  while (off < at) off += 16 + body.readUInt32LE(off + 8);
  body.writeUInt32LE(0x7fff_fff0, off + 8);
  return { body, offset: off };
}

describe("a capture read straight from the request stream", () => {
  it("answers as the chunk-by-chunk path: one engine and sharded, JSON and NDJSON, odd write sizes", async () => {
    expect(generated.length).toBeGreaterThan(3 << 20); // past the first MiB: several batches
    for (const config of [{ uploadShards: 1 }, { uploadShards: 2, uploadShardMinBytes: 1 }]) {
      const s = await server(config);
      const json = await upload(s.port, generated, 4093);
      const expected = await inProcess(generated, config);
      expect(json.status).toBe(200);
      if (config.uploadShards === 1) expect(json.body).toBe(expected.body);
      else expect(JSON.parse(json.body).stats).toEqual(JSON.parse(expected.body).stats);
      const nd = await upload(s.port, generated, 65_537, NDJSON, "?conn_state=SF,S0");
      const ndExpected = await inProcess(generated, config, NDJSON, "?conn_state=SF,S0");
      expect(nd.status).toBe(200);
      expect(lines(nd.body)).toEqual(lines(ndExpected.body));
      expect(lines(nd.body).flows.length).toBeGreaterThan(100);
    }
  });

  it("a capture damaged past the first MiB: the same status, error and offset", async () => {
    const { body, offset } = damagedAt(generated, 2_500_000);
    const s = await server({ uploadShards: 1 });
    const got = await upload(s.port, body, 8191);
    const expected = await inProcess(body, { uploadShards: 1 });
    expect(got.status).toBe(422);
    expect(got.body).toBe(expected.body);
    expect((JSON.parse(got.body) as Json).error.offset).toBe(offset);
  });

  it("413 once the body crosses the limit past the first MiB; the server keeps serving", async () => {
    const s = await server({ maxBodyBytes: 2_500_000 });
    const got = await upload(s.port, generated, 16_384);
    expect(got.status).toBe(413);
    expect((JSON.parse(got.body) as Json).error).toMatchObject({ code: "payload_too_large", limit: 2_500_000 });
    expect(s.api.context.budget.used()).toBe(0);
    const again = await upload(s.port, generated.subarray(0, 24), 24);
    expect(again.status).toBe(200);
  });
});

/** A raw client: the head, then what the test writes; resolves with all the server sent once it closed. */
function rawUpload(
  port: number,
  length: number,
): Promise<{ socket: Socket; write(b: Uint8Array): void; reply: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port }, () => {
      socket.write(
        `POST /v1/analyze HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-type: ${PCAP}\r\ncontent-length: ${length}\r\n\r\n`,
      );
      let text = "";
      socket.on("data", (d) => (text += d.toString("latin1")));
      const reply = new Promise<string>((done) => socket.on("close", () => done(text)));
      resolve({ socket, write: (b) => socket.write(b), reply });
    });
    socket.on("error", reject);
  });
}

describe("slow bodies past the first MiB", () => {
  it("a body that stops after 2 MB gets 408 after the idle timeout, and holds no memory after", async () => {
    const s = await server({ bodyIdleTimeoutMs: 400, minBodyRate: 0 });
    const c = await rawUpload(s.port, generated.length);
    c.write(generated.subarray(0, 2_000_000));
    const reply = await Promise.race([c.reply, new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
    expect(reply, "no answer within 10 s").not.toBeNull();
    expect(reply).toMatch(/^HTTP\/1\.1 408/);
    expect(reply).toMatch(/no request body bytes for 0\.4 s/);
    for (let i = 0; i < 50 && s.api.context.budget.used() > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(s.api.context.budget.used()).toBe(0);
  });

  it("a body that trickles after 2 MB gets 408 once a rate window is below the minimum", async () => {
    const s = await server({ bodyIdleTimeoutMs: 30_000, minBodyRate: 200_000, bodyRateWindowMs: 500 });
    const c = await rawUpload(s.port, generated.length);
    c.write(generated.subarray(0, 2_000_000));
    let off = 2_000_000;
    const timer = setInterval(() => c.write(generated.subarray(off, ++off)), 20);
    try {
      const reply = await Promise.race([c.reply, new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
      expect(reply, "no answer within 10 s").not.toBeNull();
      expect(reply).toMatch(/^HTTP\/1\.1 408/);
      expect(reply).toMatch(/below the minimum of 200000 bytes\/s/);
    } finally {
      clearInterval(timer);
    }
  });

  it("a client that leaves mid-body: no error logged, every byte of memory given back", async () => {
    const log = logLines();
    const s = await startServer(
      { port: 0, host: "127.0.0.1", dataDir: tempDataDir(), uploadShards: 2, uploadShardMinBytes: 1 },
      { logger: log.logger },
    );
    started.push(s);
    const c = await rawUpload(s.port, generated.length);
    c.write(generated.subarray(0, 3_000_000));
    for (let i = 0; i < 100 && (s.api.context.enginePool?.busy ?? 0) === 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    c.socket.destroy();
    for (let i = 0; i < 100 && (s.api.context.budget.used() > 0 || (s.api.context.enginePool?.busy ?? 0) > 0); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(s.api.context.budget.used()).toBe(0);
    expect(s.api.context.enginePool?.busy).toBe(0);
    expect(log.lines.filter((l) => l.level === "error")).toEqual([]);
    const access = log.lines.filter((l) => l.msg === "request" && l.route === "/v1/analyze");
    expect(access).toHaveLength(1);
    expect(access[0]).toMatchObject({ error_code: "client_closed_request" });
    expect(access[0].bytes_in).toBeGreaterThanOrEqual(2_000_000);
  });
});
