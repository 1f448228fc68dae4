// The API on a real server (src/server.ts) on a loopback port: a capture uploaded in many small
// chunks through the Node request stream, the server staying responsive during a big upload,
// a 413 on a chunked upload, and graceful shutdown finishing the request in flight.
import { request, type IncomingMessage } from "node:http";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCapture } from "../../bench/lib/traffic.mjs";
import { startServer, type RunningServer } from "../../src/server.js";
import { capture, json, logLines, PCAP, post, RXMIT, testApp, tempDataDir, testServer } from "./helpers.js";

let server: RunningServer;
const log = logLines();
let generated: Buffer;
let connections: number;

beforeAll(async () => {
  server = await startServer({ port: 0, host: "127.0.0.1", dataDir: tempDataDir() }, { logger: log.logger });
  const out = join(mkdtempSync(join(tmpdir(), "flowrecon-srv-")), "gen.pcap");
  // Clean traffic only: every connection ends SF, RSTO or RSTR (the conn_state filter below keeps them all).
  connections = generateCapture({ out, segments: 100_000, concurrent: 1000, snaplen: 96, seed: 5, anomalyShare: 0 })
    .totals.connections;
  generated = readFileSync(out);
});
afterAll(() => server.close(1000));

interface Reply {
  status: number;
  headers: IncomingMessage["headers"];
  body: Buffer;
}

/**
 * POSTs `bytes` in `chunk`-byte pieces with chunked transfer encoding (no Content-Length), each
 * piece a separate write; `pace` is awaited between pieces.
 */
function upload(
  port: number,
  path: string,
  bytes: Uint8Array,
  chunk: number,
  pace?: (i: number) => Promise<void>,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "POST", headers: { "content-type": PCAP } }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    void (async () => {
      for (let off = 0, i = 0; off < bytes.length; off += chunk, i++) {
        if (!req.write(bytes.subarray(off, off + chunk))) await new Promise((r) => req.once("drain", r));
        await pace?.(i);
      }
      req.end();
    })().catch(reject);
  });
}

function getJson(port: number, path: string): Promise<{ status: number; body: unknown; ms: number }> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    request({ host: "127.0.0.1", port, path }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("end", () =>
        resolve({
          status: res.statusCode!,
          body: JSON.parse(Buffer.concat(parts).toString()),
          ms: performance.now() - start,
        }),
      );
    })
      .on("error", reject)
      .end();
  });
}

describe("start-up", () => {
  it("listens once its engine threads have started (a first upload is sharded over all of them)", async () => {
    const s = await startServer({ port: 0, host: "127.0.0.1", dataDir: tempDataDir(), logLevel: "silent", threads: 2 });
    try {
      expect(s.api.context.enginePool!.startedThreads).toBe(2);
    } finally {
      await s.close(1000);
    }
  });
});

describe("a real server on 127.0.0.1", () => {
  it("analyses a capture uploaded in 500-byte chunks like the same capture in-process", async () => {
    const api = testApp();
    const expected = await json(await post(api, "/v1/analyze", capture(RXMIT), PCAP));
    api.close();
    const reply = await upload(server.port, "/v1/analyze", capture(RXMIT), 500);
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body.toString())).toEqual(expected);
  });

  it("a 10 MB capture in 4 KiB chunks: every flow, and health checks answered meanwhile", async () => {
    const probes: number[] = [];
    let done = false;
    const probing = (async () => {
      while (!done) {
        probes.push((await getJson(server.port, "/healthz")).ms);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const reply = await upload(server.port, "/v1/analyze?conn_state=SF,RSTO,RSTR", generated, 4096);
    done = true;
    await probing;
    expect(reply.status).toBe(200);
    const body = JSON.parse(reply.body.toString());
    expect(body.stats.records).toBe(100_000);
    expect(body.flows).toHaveLength(connections);
    expect(probes.length).toBeGreaterThan(3);
    // Loose bound for a shared 2-core machine: no probe waits for the whole analysis.
    expect(Math.max(...probes)).toBeLessThan(1000);
  });

  it("a session fed by real uploads", async () => {
    const created = await new Promise<{ id: string }>((resolve, reject) => {
      request({ host: "127.0.0.1", port: server.port, path: "/v1/sessions", method: "POST" }, (res) => {
        let text = "";
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve(JSON.parse(text)));
      })
        .on("error", reject)
        .end();
    });
    for (let off = 0; off < generated.length; off += 1 << 20) {
      const r = await upload(
        server.port,
        `/v1/sessions/${created.id}/batches`,
        generated.subarray(off, off + (1 << 20)),
        16384,
      );
      expect(r.status, r.body.toString()).toBe(200);
    }
    const finished = await upload(server.port, `/v1/sessions/${created.id}/finish`, new Uint8Array(0), 1);
    expect(finished.status).toBe(200);
    expect(JSON.parse(finished.body.toString()).flows).toHaveLength(connections);
  });

  it("413 on a chunked upload over the limit, and the server keeps serving", async () => {
    const small = await testServer({ maxBodyBytes: 100_000 });
    try {
      const reply = await upload(small.port, "/v1/analyze", generated.subarray(0, 1_000_000), 8192);
      expect(reply.status).toBe(413);
      expect(JSON.parse(reply.body.toString()).error.code).toBe("payload_too_large");
      expect((await getJson(small.port, "/healthz")).status).toBe(200);
    } finally {
      await small.close(1000);
    }
  });
});

describe("clients that go away", () => {
  it("mid-upload or mid-answer: no error logged, every byte of memory given back", async () => {
    const seen = log.lines.length;
    {
      await new Promise<void>((resolve) => {
        const req = request({
          host: "127.0.0.1",
          port: server.port,
          path: "/v1/analyze",
          method: "POST",
          headers: { "content-type": PCAP },
        });
        req.on("error", () => resolve());
        req.write(generated.subarray(0, 4_000_000));
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 200);
      });
      await new Promise<void>((resolve) => {
        const req = request({
          host: "127.0.0.1",
          port: server.port,
          path: "/v1/analyze?close_timeout=0",
          method: "POST",
          headers: { "content-type": PCAP, accept: "application/x-ndjson" },
        });
        req.on("error", () => resolve());
        req.on("response", (res) =>
          res.once("data", () => {
            req.destroy();
            resolve();
          }),
        );
        req.end(generated);
      });
      for (let i = 0; i < 50 && server.api.context.budget.used() > 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(server.api.context.budget.used()).toBe(0);
      expect((await getJson(server.port, "/healthz")).status).toBe(200);
      const lines = log.lines.slice(seen);
      expect(lines.filter((l) => l.level === "error")).toEqual([]);
      // Each went away before its answer was complete, and its access line says so.
      const uploads = lines.filter((l) => l.msg === "request" && l.route === "/v1/analyze");
      expect(uploads.map((l) => l.status).sort()).toEqual([200, 400]);
      expect(uploads.find((l) => l.status === 400)).toMatchObject({ error_code: "client_closed_request" });
      expect(uploads.find((l) => l.status === 200)).toMatchObject({ aborted: true });
    }
  });
});

describe("graceful shutdown", () => {
  it("finishes the upload in flight, then refuses new connections", async () => {
    const s = await testServer();
    let closing: Promise<void> | undefined;
    const bytes = capture(RXMIT);
    const reply = upload(s.port, "/v1/analyze", bytes, 2048, async (i) => {
      if (i === 2) closing = s.close(5000); // shut down while the body is still arriving
      await new Promise((r) => setTimeout(r, 20));
    });
    const r = await reply;
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString()).flows).toHaveLength(3);
    expect(r.headers.connection).toBe("close");
    await closing;
    await expect(getJson(s.port, "/healthz")).rejects.toThrow(/ECONNREFUSED/);
  });

  it("issue-11 defect 6: while a request finishes, /healthz on a new connection answers 503 draining; then the port closes", async () => {
    const s = await testServer();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const reply = upload(s.port, "/v1/analyze", capture(RXMIT), 2048, async (i) => {
      if (i === 0) await gate;
    });
    for (let i = 0; i < 100 && s.api.context.budget.used() === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(s.api.context.budget.used(), "the upload never reached the server").toBeGreaterThan(0);
    const closing = s.close(10_000);
    const health = await getJson(s.port, "/healthz");
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ status: "draining" });
    const other = await getJson(s.port, "/v1/sessions/x");
    expect(other.status).toBe(503);
    expect(other.body).toMatchObject({ error: { code: "shutting_down" } });
    release();
    const r = await reply;
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString()).flows).toHaveLength(3);
    await closing;
    await expect(getJson(s.port, "/healthz")).rejects.toThrow(/ECONNREFUSED/);
  });
});
