// Sessions on the API's engine threads (issue 13: sessions use the bounded pool, FLOWRECON_THREADS):
// a session's engine lives on one pool thread and never runs on the main thread (threads 0 is the
// control that runs it here); many sessions share a thread and each gets its own answer; a session
// call counts in the pool's busy threads and in its queue bound (503 engines_busy); memory is counted
// as on the main thread; a thread that stops fails the call in flight with 500 engine_thread_failed
// and its sessions go on from their files, or are marked failed when a file cannot be reloaded.
import { rmSync } from "node:fs";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import type { Api } from "../../src/http/app.js";
import { sessionPath } from "../../src/http/sessions/session-file.js";
import { Reconstructor } from "../../src/reconstructor.js";
import {
  capture,
  captureToSegments,
  json,
  JSON_TYPE,
  PCAP,
  post,
  RXMIT,
  tempDataDir,
  testApp,
  type Json,
} from "./helpers.js";

const apps: Api[] = [];
afterAll(() => {
  for (const a of apps) a.close();
});
function app(threads: number, settings: Parameters<typeof testApp>[0] = {}): Api {
  const a = testApp({ ...settings, threads });
  apps.push(a);
  return a;
}

const cap = capture(RXMIT);
/** The capture in five batches, cut inside the file header and inside records. */
const cuts = [0, 30, 4000, Math.floor(cap.length / 2) + 3, cap.length - 100, cap.length];
const batches = cuts.slice(1).map((to, i) => cap.subarray(cuts[i], to));

async function create(a: Api): Promise<string> {
  const res = await post(a, "/v1/sessions", null);
  expect(res.status, await res.clone().text()).toBe(201);
  return (await json(res)).id as string;
}

async function batch(a: Api, id: string, body: Uint8Array, type = PCAP): Promise<Response> {
  return post(a, `/v1/sessions/${id}/batches`, body, type);
}

async function feed(a: Api, id: string, parts: readonly Uint8Array[]): Promise<void> {
  for (const part of parts) {
    const res = await batch(a, id, part);
    expect(res.status, await res.clone().text()).toBe(200);
  }
}

async function listed(a: Api, id: string): Promise<string> {
  const res = await a.app.request(`/v1/sessions/${id}/flows`);
  expect(res.status).toBe(200);
  return res.text();
}

async function finish(a: Api, id: string): Promise<Json> {
  const res = await post(a, `/v1/sessions/${id}/finish`, null);
  expect(res.status).toBe(200);
  return json(res);
}

/** Lets every pending microtask run; no macrotask (a thread's answer is one) runs meanwhile. */
async function microtasks(): Promise<void> {
  for (let i = 0; i < 200; i++) await Promise.resolve();
}

describe("where a session's engine runs", () => {
  const methods = ["checkCapture", "pushRecords", "pushSegments", "liveSome", "finishSome", "snapshot"] as const;
  afterEach(() => vi.restoreAllMocks());

  /** A session's whole life (capture batches, a listing, finish) and the Reconstructor calls made on this thread. */
  async function lifeOnThisThread(threads: number): Promise<{ calls: number; finished: Json; live: string }> {
    const a = app(threads);
    const spies = methods.map((m) => vi.spyOn(Reconstructor.prototype, m));
    const id = await create(a);
    await feed(a, id, batches.slice(0, 3));
    const live = await listed(a, id);
    await feed(a, id, batches.slice(3));
    const finished = await finish(a, id);
    const segments = await create(a);
    const rows = captureToSegments(cap).slice(0, 20);
    expect((await batch(a, segments, Buffer.from(JSON.stringify(rows)), JSON_TYPE)).status).toBe(200);
    const calls = spies.reduce((n, s) => n + s.mock.calls.length, 0);
    return { calls, finished, live };
  }

  it("with engine threads the main thread never calls a session's engine; on the main thread (threads 0) it does, with the same answers", async () => {
    const pooled = await lifeOnThisThread(2);
    const inThread = await lifeOnThisThread(0);
    expect(pooled.calls).toBe(0);
    expect(inThread.calls).toBeGreaterThan(0); // the spies see an engine on this thread
    expect(pooled.finished).toEqual(inThread.finished);
    expect(pooled.live).toBe(inThread.live);
    expect(pooled.finished).toEqual(await json(await post(app(0), "/v1/analyze", cap, PCAP)));
  });

  it("a session batch in flight is a busy engine thread (flowrecon_engine_threads_busy), and sessions spread over the threads", async () => {
    const a = app(2);
    const pool = a.context.enginePool!;
    const first = await create(a);
    await create(a);
    expect(pool.sessionHomes()).toEqual([1, 1]);
    const session = a.context.sessions.get(first, undefined);
    expect(pool.busy).toBe(0);
    const pending = session.exclusive(() => session.appendCapture([cap], { sliceBytes: 1 << 16 }));
    await microtasks(); // the call is sent; its answer (a message) cannot have been handled yet
    expect(pool.busy).toBe(1);
    const metrics = await (await a.app.request("/metrics")).text();
    expect(metrics).toMatch(/^flowrecon_engine_threads_busy 1$/m);
    expect(await pending).toMatchObject({ batch: 1, input: "capture", bytes: cap.length });
    expect(pool.busy).toBe(0);
  });
});

describe("many sessions on few threads", () => {
  it("3 sessions fed at once, interleaved batch by batch on 1 thread and on 2: each answers like the capture alone", async () => {
    const whole = await json(await post(app(0), "/v1/analyze", cap, PCAP));
    for (const threads of [1, 2]) {
      const a = app(threads);
      const ids = [await create(a), await create(a), await create(a)];
      // Each session gets its batches in order; the three sessions' batches interleave.
      await Promise.all(ids.map((id) => feed(a, id, batches)));
      for (const id of ids) expect(await finish(a, id)).toEqual(whole);
      expect(a.context.enginePool!.sessionHomes().reduce((n, h) => n + h, 0)).toBe(0);
    }
  });

  it("memory is counted as on the main thread: the same batches hold the same bytes (flowrecon_memory_bytes)", async () => {
    const memory = async (threads: number): Promise<string> => {
      const a = app(threads);
      const id = await create(a);
      await feed(a, id, batches.slice(0, 3));
      const text = await (await a.app.request("/metrics")).text();
      return text.match(/^flowrecon_memory_bytes (\d+)$/m)![1];
    };
    const inThread = await memory(0);
    expect(Number(inThread)).toBeGreaterThanOrEqual(16 << 20); // at least one engine's initial memory
    expect(await memory(1)).toBe(inThread);
  });
});

describe("the pool's bound", () => {
  it("a session batch that would wait for a busy thread with a full queue gets 503 engines_busy; the session is unchanged and takes it later", async () => {
    const a = app(1, { engineQueue: 0 });
    const pool = a.context.enginePool!;
    const id = await create(a);
    await feed(a, id, batches.slice(0, 2));
    const before = await listed(a, id);
    const run = await pool.acquire(); // an analysis holds the only thread
    try {
      const res = await batch(a, id, batches[2]);
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("1");
      expect((await json(res)).error).toMatchObject({ code: "engines_busy", threads: 1, queue: 0 });
    } finally {
      run.drop();
    }
    expect(await listed(a, id)).toBe(before);
    expect((await json(await a.app.request(`/v1/sessions/${id}`))).batches).toBe(2);
    await feed(a, id, batches.slice(2));
    expect(await finish(a, id)).toEqual(await json(await post(app(0), "/v1/analyze", cap, PCAP)));
    const metrics = await (await a.app.request("/metrics")).text();
    expect(metrics).toMatch(/^flowrecon_rejected_total\{reason="engines_busy"\} 1$/m);
  });
});

describe("sessions reloaded at start", () => {
  it("all go to the threads whatever the queue bound (no request waits for them), and go on as they were", async () => {
    const dataDir = tempDataDir();
    const first = app(1, { dataDir, engineQueue: 0 });
    const ids = [await create(first), await create(first), await create(first)];
    for (const id of ids) await feed(first, id, batches.slice(0, 2));
    const before: string[] = [];
    for (const id of ids) before.push(await listed(first, id)); // one at a time: the queue is 0
    first.close();
    const second = app(1, { dataDir, engineQueue: 0 });
    expect(second.context.enginePool!.sessionHomes()).toEqual([3]);
    // Their engines open on the thread at once, none refused; a request then finds the thread idle.
    for (const id of ids) await second.context.sessions.get(id, undefined).opened;
    for (const [i, id] of ids.entries()) expect(await listed(second, id)).toBe(before[i]);
    const whole = await json(await post(app(0), "/v1/analyze", cap, PCAP));
    for (const id of ids) {
      await feed(second, id, batches.slice(2));
      expect(await finish(second, id)).toEqual(whole);
    }
  });
});

describe("a thread that stops", () => {
  /** Stops the thread of slot `index` as the next message reaches it: the call in flight dies with it. */
  function dieOnNextMessage(a: Api, index: number): void {
    const worker = a.context.enginePool!.threadOf(index);
    worker.postMessage = () => void worker.terminate();
  }

  it("the call in flight gets 500 engine_thread_failed; the session goes on from its last acknowledged batch on a new thread", async () => {
    const a = app(1);
    const pool = a.context.enginePool!;
    const id = await create(a);
    await feed(a, id, batches.slice(0, 2));
    const before = await listed(a, id);
    const old = pool.threadOf(0);
    dieOnNextMessage(a, 0);
    const res = await batch(a, id, batches[2]);
    expect(res.status).toBe(500);
    expect((await json(res)).error).toMatchObject({
      code: "engine_thread_failed",
      message: expect.stringMatching(/thread holding this session stopped \(exit code 1\)/),
    });
    expect(pool.threadOf(0)).not.toBe(old);
    // Reloaded from its file on the next request: as acknowledged, and it takes the rest.
    expect(await listed(a, id)).toBe(before);
    expect(await json(await a.app.request(`/v1/sessions/${id}`))).toMatchObject({ batches: 2 });
    await feed(a, id, batches.slice(2));
    expect(await finish(a, id)).toEqual(await json(await post(app(0), "/v1/analyze", cap, PCAP)));
  });

  it("a session whose thread stopped between batches is reloaded unnoticed; one whose file is gone is marked failed (409)", async () => {
    const a = app(1);
    const kept = await create(a);
    const lost = await create(a);
    await feed(a, kept, batches.slice(0, 2));
    await feed(a, lost, batches.slice(0, 2));
    const before = await listed(a, kept);
    rmSync(sessionPath(a.context.sessions.dir, lost));
    await a.context.enginePool!.threadOf(0).terminate();
    expect(await listed(a, kept)).toBe(before);
    await feed(a, kept, batches.slice(2));
    expect(await finish(a, kept)).toEqual(await json(await post(app(0), "/v1/analyze", cap, PCAP)));

    const res = await batch(a, lost, batches[2]);
    expect(res.status).toBe(409);
    expect((await json(res)).error).toMatchObject({
      code: "session_failed",
      message: expect.stringMatching(/engine thread stopped and its saved state could not be reloaded \(.*ENOENT/),
    });
    const described = await json(await a.app.request(`/v1/sessions/${lost}`));
    expect(described.failed).toMatch(/could not be reloaded/);
    expect((await a.app.request(`/v1/sessions/${lost}`, { method: "DELETE" })).status).toBe(204);
  });
});
