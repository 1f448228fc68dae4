// The engine threads of /v1/analyze (src/http/engine-pool.ts), with real threads and, for the
// limits, a real server on a loopback port: the same answers on the main thread and on 1 or 3
// threads; a full pool with a full queue refuses with 503 and serves the rest; a thread that dies
// fails only its request and is replaced.
import { request, type IncomingMessage } from "node:http";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCapture } from "../../bench/lib/traffic.mjs";
import { pastYear2255 } from "../decode/capture-io.js";
import type { RunningServer } from "../../src/server.js";
import type { Api } from "../../src/http/app.js";
import { ENV } from "../../src/http/config.js";
import { EnginePool, type EngineRun } from "../../src/http/engine-pool.js";
import { createLogger } from "../../src/http/log.js";
import {
  capture,
  captureToSegments,
  chunked,
  streamInit,
  json,
  JSON_TYPE,
  MSGPACK,
  NDJSON,
  PCAP,
  PCAPNG,
  post,
  RXMIT,
  testApp,
  testServer,
} from "./helpers.js";

let generated: Buffer;

beforeAll(() => {
  const out = join(mkdtempSync(join(tmpdir(), "flowrecon-pool-")), "gen.pcap");
  // ~6 MB, 5000 connections: several input batches, and a finish printed in several steps.
  generateCapture({ out, segments: 60_000, concurrent: 5000, snaplen: 96, seed: 13 });
  generated = readFileSync(out);
});

const apps: Api[] = [];
afterAll(() => {
  for (const a of apps) a.close();
});
function app(threads: number): Api {
  const a = testApp({ threads });
  apps.push(a);
  return a;
}

const CAPTURES: [name: string, type: string][] = [
  [RXMIT, PCAP],
  ["ssh-basic.pcap", PCAP],
  ["ldap-krbtgt-rstr.pcapng", PCAPNG],
  ["m57-gaps-rxmit.pcap", PCAP],
  ["tcp-one-sided-2745.pcap", PCAP],
];

/** Equal bytes, else the first difference (toEqual on megabytes of Buffer takes a minute). */
function expectSame(actual: Buffer, expected: Buffer): void {
  let at = 0;
  while (at < actual.length && at < expected.length && actual[at] === expected[at]) at++;
  const diff = (b: Buffer) => b.subarray(Math.max(0, at - 40), at + 40).toString();
  expect(at === actual.length && at === expected.length ? null : { at, actual: diff(actual) }).toEqual(
    at === actual.length && at === expected.length ? null : { at, actual: diff(expected) },
  );
}

async function answer(api: Api, path: string, body: Uint8Array, type: string, accept: string): Promise<Buffer> {
  const res = await post(api, path, body, type, { accept });
  const bytes = Buffer.from(await res.arrayBuffer());
  expect(res.status, bytes.toString().slice(0, 300)).toBe(200);
  return bytes;
}

describe("the same answer on the main thread and on 1 or 3 engine threads", () => {
  const inputs: [name: string, body: () => Uint8Array, type: string][] = [
    ...CAPTURES.map(([name, type]): [string, () => Uint8Array, string] => [name, () => capture(name), type]),
    ["generated 60k segments", () => generated, PCAP],
    [`${RXMIT} past the year 2255`, () => pastYear2255(capture(RXMIT)), PCAPNG],
  ];
  describe.each(inputs)("%s", (_name, body, type) => {
    it.each([JSON_TYPE, NDJSON, MSGPACK])("%s: byte for byte", async (accept) => {
      const path = "/v1/analyze?ignore_checksums=true";
      const main = await answer(app(0), path, body(), type, accept);
      expect(main.length).toBeGreaterThan(100);
      expectSame(await answer(app(1), path, body(), type, accept), main);
      expectSame(await answer(app(3), path, body(), type, accept), main);
    });
  });

  it("segment records (JSON) and a filter: byte for byte", async () => {
    const segments = JSON.stringify(captureToSegments(capture(RXMIT)));
    const path = "/v1/analyze?conn_state=SF,S0";
    const main = await answer(app(0), path, Buffer.from(segments), JSON_TYPE, NDJSON);
    expectSame(await answer(app(1), path, Buffer.from(segments), JSON_TYPE, NDJSON), main);
    expectSame(await answer(app(3), path, Buffer.from(segments), JSON_TYPE, NDJSON), main);
  });

  it("a JSON answer without flows: the same document (an empty capture, a filter that keeps none)", async () => {
    const header = generated.subarray(0, 24);
    for (const [path, body] of [
      ["/v1/analyze", header],
      ["/v1/analyze?conn_state=SH", generated],
    ] as const) {
      const main = await answer(app(0), path, body, PCAP, JSON_TYPE);
      expect(main.toString()).toMatch(/^\{"flows":\[\],"stats":/);
      expectSame(await answer(app(1), path, body, PCAP, JSON_TYPE), main);
      expectSame(await answer(app(3), path, body, PCAP, JSON_TYPE), main);
    }
  });

  it("a damaged capture: the same 422 (and the same partial flows)", async () => {
    const cut = generated.subarray(0, generated.length - 7);
    for (const query of ["", "?partial=true"]) {
      const a = await post(app(0), "/v1/analyze" + query, cut, PCAP);
      const b = await post(app(3), "/v1/analyze" + query, cut, PCAP);
      expect(a.status).toBe(422);
      expect(b.status).toBe(422);
      expect(await b.text()).toBe(await a.text());
    }
  });
});

describe("a client that leaves", () => {
  it("frees its thread at once, and the next request on that thread gets only its own answer", async () => {
    const one = app(1);
    const pool = one.context.enginePool!;
    const expected = await answer(one, "/v1/analyze", generated, PCAP, NDJSON);
    for (let round = 0; round < 3; round++) {
      const res = await one.app.request(
        "/v1/analyze",
        streamInit(chunked(generated, 1 << 18), PCAP, { accept: NDJSON }),
      );
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      await reader.read();
      await reader.cancel();
      await until("the thread to be free", () => pool.busy === 0);
      expectSame(await answer(one, "/v1/analyze", generated, PCAP, NDJSON), expected);
    }
  });
});

interface Reply {
  status: number;
  headers: IncomingMessage["headers"];
  body: Buffer;
}

/**
 * POSTs `bytes` with its Content-Length: the first `head` bytes at once, the rest once `go`
 * resolves (not at all when the answer came first: a refused upload).
 */
function upload(port: number, bytes: Uint8Array, head: number, go: Promise<void>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/v1/analyze",
        method: "POST",
        headers: { "content-type": PCAP, "content-length": String(bytes.length) },
      },
      (res) => {
        answered = true;
        const parts: Buffer[] = [];
        res.on("data", (d: Buffer) => parts.push(d));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
        res.on("error", reject);
      },
    );
    req.on("error", (e) => {
      if (!answered) reject(e);
    });
    req.write(bytes.subarray(0, head));
    void go.then(() => {
      if (!answered) req.end(bytes.subarray(head));
    });
  });
}

async function until(what: string, done: () => boolean, ms = 20_000): Promise<void> {
  const start = performance.now();
  while (!done()) {
    if (performance.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("a real server with a pool of 2 threads and a queue of 1", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await testServer({ threads: 2, engineQueue: 1 });
  });
  afterAll(() => server.close(1000));

  it("4 uploads at once: 2 run, 1 waits, 1 gets 503 engines_busy with Retry-After; the 3 others all succeed", async () => {
    const pool = server.api.context.enginePool!;
    const expected = await json(await post(app(0), "/v1/analyze", generated, PCAP));
    let go!: () => void;
    const release = new Promise<void>((r) => (go = r));
    // Past the 1 MiB an upload sends before it is given an engine.
    const head = 3 << 19;
    const replies: Reply[] = [];
    const uploads = [0, 1, 2, 3].map((i) =>
      upload(server.port, generated, head, release).then((r) => {
        replies[i] = r;
        return r;
      }),
    );
    await until("2 busy threads, 1 queued upload and 1 answer", () => {
      return pool.busy === 2 && pool.queued === 1 && replies.filter((r) => r !== undefined).length === 1;
    });
    const metrics = await (await server.api.app.request("/metrics")).text();
    expect(metrics).toMatch(/^flowrecon_engine_threads_busy 2$/m);
    expect(metrics).toMatch(/^flowrecon_engine_queue_length 1$/m);
    go();
    const all = await Promise.all(uploads);
    const refused = all.filter((r) => r.status === 503);
    expect(refused).toHaveLength(1);
    expect(refused[0].headers["retry-after"]).toBe("1");
    expect(JSON.parse(refused[0].body.toString()).error).toMatchObject({
      code: "engines_busy",
      threads: 2,
      queue: 1,
    });
    const served = all.filter((r) => r.status !== 503);
    expect(served.map((r) => r.status)).toEqual([200, 200, 200]);
    for (const r of served) expect(JSON.parse(r.body.toString())).toEqual(expected);
    await until("the pool to be idle", () => pool.busy === 0 && pool.queued === 0);
    const after = await (await server.api.app.request("/metrics")).text();
    expect(after).toMatch(/^flowrecon_rejected_total\{reason="engines_busy"\} 1$/m);
  });

  it("a thread that dies fails its request with a 500 naming the cause; the next request succeeds", async () => {
    const pool = server.api.context.enginePool!;
    let go!: () => void;
    const release = new Promise<void>((r) => (go = r));
    const pending = upload(server.port, generated, 3 << 19, release);
    await until("a busy thread", () => pool.busy === 1);
    const [worker] = pool.busyWorkers();
    await worker.terminate();
    const reply = await pending;
    go();
    expect(reply.status).toBe(500);
    expect(JSON.parse(reply.body.toString()).error).toMatchObject({
      code: "engine_thread_failed",
      message: expect.stringMatching(/stopped \(exit code 1\)/),
    });
    const next = await post(server.api, "/v1/analyze", capture(RXMIT), PCAP);
    expect(next.status).toBe(200);
    expect((await json(next)).flows.length).toBeGreaterThan(0);
    expect(pool.busy).toBe(0);
  });
});

describe("README", () => {
  it("names every FLOWRECON_* setting the server reads (FLOWRECON_THREADS, FLOWRECON_ENGINE_QUEUE among them)", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const names = ENV.map(([name]) => name).filter((n) => n.startsWith("FLOWRECON_"));
    expect(names).toContain("FLOWRECON_THREADS");
    expect(names.filter((n) => !readme.includes("`" + n + "`"))).toEqual([]);
  });
});

describe("EnginePool", () => {
  it("an error on a thread fails its run with that error; the thread is replaced and serves the next run", async () => {
    const pool = new EnginePool({ threads: 1, queue: 0, log: createLogger("silent") });
    try {
      await pool.ready();
      const first = await pool.acquire();
      const worker = pool.busyWorkers()[0];
      const spec = { format: "ndjson" as const, filter: { connStates: null, anomalies: null }, count: false };
      // Reconstructor refuses this window on the thread: the open fails there, not here.
      first.open({}, 123, spec, 1 << 16);
      const rxmit = capture(RXMIT);
      await expect(first.capture([rxmit], rxmit.length).then(() => first.settle())).rejects.toThrow(
        /engine thread: option windowBytes must be an integer/,
      );
      first.drop();
      expect(pool.busy).toBe(0);
      const second = await pool.acquire();
      expect(pool.busyWorkers()[0]).not.toBe(worker);
      const out: Buffer[] = [];
      second.onOutput = (b) => out.push(b);
      second.open({}, 1 << 20, spec, 1 << 16);
      await second.capture([rxmit], rxmit.length);
      while (!(await second.finishSome()));
      await second.end({ stats: second.state!.stats });
      const lines = Buffer.concat(out).toString().trim().split("\n");
      expect(lines.length).toBeGreaterThan(1);
      expect(JSON.parse(lines.at(-1)!).stats.records).toBeGreaterThan(0);
      expect(pool.busy).toBe(0);
    } finally {
      await pool.close();
    }
  });

  it("the answers to the steps a dropped run left in flight never reach the next run on that thread", async () => {
    const pool = new EnginePool({ threads: 1, queue: 0, log: createLogger("silent") });
    const spec = { format: "ndjson" as const, filter: { connStates: null, anomalies: null }, count: false };
    const MiB = 1 << 20;
    const feed = async (run: EngineRun): Promise<Buffer> => {
      const out: Buffer[] = [];
      run.onOutput = (b) => out.push(b);
      run.open({}, 8 * MiB, spec, 1 << 18);
      for (let off = 0; off < generated.length; off += MiB) {
        const part = generated.subarray(off, off + MiB);
        await run.capture([part], part.length);
      }
      while (!(await run.finishSome()));
      await run.end({ stats: run.state!.stats });
      return Buffer.concat(out);
    };
    try {
      const expected = await feed(await pool.acquire());
      const dropped = await pool.acquire();
      dropped.open({}, 8 * MiB, spec, 1 << 18);
      await dropped.capture([generated.subarray(0, MiB)], MiB);
      await dropped.capture([generated.subarray(MiB, 2 * MiB)], MiB);
      dropped.drop();
      expectSame(await feed(await pool.acquire()), expected);
    } finally {
      await pool.close();
    }
  });
});
