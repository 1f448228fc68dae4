// One capture upload sharded over several engine-pool threads (issue 10: src/http/engine-pool.ts
// lendShards, src/shards/): the same answers as one engine, byte for byte per flow, in every format,
// under filters, for whole bodies and bodies in 7-byte chunks; the same error and offset for a
// damaged capture; lent threads count as busy until the upload ends, and are free again after it.
// Each test checks through the metrics that the sharded app really lent its threads, so a run that
// quietly fell back to one engine fails here too.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCapture } from "../../bench/lib/traffic.mjs";
import type { Api } from "../../src/http/app.js";
import { captureFiles } from "../host/helpers.js";
import { pastYear2255 } from "../decode/capture-io.js";
import {
  chunked,
  corpusDir,
  json,
  JSON_TYPE,
  MSGPACK,
  msgpack,
  NDJSON,
  PCAP,
  PCAPNG,
  post,
  repoRoot,
  streamInit,
  testApp,
  type Json,
} from "./helpers.js";

const THREADS = 3;
/** One engine per upload (the reference), and every upload over all three threads. */
const one = testApp({ threads: THREADS, uploadShards: 1 });
const many = testApp({ threads: THREADS, uploadShards: THREADS, uploadShardMinBytes: 0 });
afterAll(() => {
  one.close();
  many.close();
});

let generated: Buffer;
beforeAll(async () => {
  const out = join(mkdtempSync(join(tmpdir(), "flowrecon-upload-shards-")), "gen.pcap");
  // ~6 MB, 5000 connections at once: many input batches, every anomaly kind, a long finish.
  generateCapture({ out, segments: 60_000, concurrent: 5000, snaplen: 96, seed: 29 });
  generated = readFileSync(out);
  await Promise.all([one.context.enginePool!.ready(), many.context.enginePool!.ready()]);
});

/** Waits until no engine thread of `api` works (a finished upload's lent threads report back just after it). */
async function idle(api: Api): Promise<void> {
  const pool = api.context.enginePool!;
  for (let i = 0; i < 500 && pool.busy > 0; i++) await new Promise((r) => setTimeout(r, 10));
  expect(pool.busy, "engine threads still busy after the upload").toBe(0);
}

async function lent(api: Api): Promise<number> {
  return (await api.context.metrics.uploadShards.get()).values[0]?.value ?? 0;
}

/**
 * Starts a sharded upload of the generated capture on a 2-thread `api` whose body stays open after
 * its first 2 MiB, so the upload holds its own thread and its lent one; `more()` sends the rest.
 */
async function heldUpload(api: Api, accept: string): Promise<{ upload: Promise<Response>; more: () => void }> {
  let more!: () => void;
  const gate = new Promise<void>((resolve) => (more = resolve));
  let step = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      step++;
      if (step === 1) controller.enqueue(generated.subarray(0, 2 << 20));
      else if (step === 2) {
        await gate;
        controller.enqueue(generated.subarray(2 << 20));
      } else controller.close();
    },
  });
  const upload = Promise.resolve(api.app.request("/v1/analyze", streamInit(body, PCAP, { accept })));
  const pool = api.context.enginePool!;
  for (let i = 0; i < 500 && pool.busy < 2; i++) await new Promise((r) => setTimeout(r, 10));
  expect(pool.busy, "the upload's thread and its lent one").toBe(2);
  return { upload, more };
}

/** A small whole capture. */
const small = readFileSync(join(corpusDir, "http-range-rxmit.pcap"));

const typeOf = (name: string): string => (name.endsWith(".pcapng") ? "application/x-pcapng" : PCAP);

/** An answer reduced to what must not depend on the engines: status, sorted flows, the rest. */
async function outcome(res: Response, accept: string): Promise<Json> {
  if (accept === NDJSON) {
    const lines = (await res.text()).split("\n").filter((l) => l !== "");
    return {
      status: res.status,
      flows: lines.filter((l) => l.includes('"uid"')).sort(),
      rest: lines.filter((l) => !l.includes('"uid"')).map((l) => JSON.parse(l) as Json),
    };
  }
  const body = accept === MSGPACK ? await msgpack(res) : await json(res);
  const { flows, ...rest } = body;
  return {
    status: res.status,
    flows: Array.isArray(flows) ? flows.map((f: Json) => JSON.stringify(f)).sort() : flows,
    rest,
  };
}

async function analyze(api: Api, bytes: Uint8Array, type: string, accept: string, query = ""): Promise<Json> {
  const res = await post(api, `/v1/analyze${query}`, bytes, type, { accept });
  return outcome(res, accept);
}

/** Checks `bytes` on one engine and sharded, and that the sharded answer took 2 lent threads. */
async function expectSame(bytes: Uint8Array, type: string, accept: string, query = ""): Promise<Json> {
  const before = await lent(many);
  const ref = await analyze(one, bytes, type, accept, query);
  expect([200, 422], "an analysis, not a refused request").toContain(ref.status);
  await idle(many);
  const got = await analyze(many, bytes, type, accept, query);
  expect(await lent(many), "threads lent to the sharded upload").toBe(before + THREADS - 1);
  expect(got.status).toBe(ref.status);
  expect(got.rest).toEqual(ref.rest);
  expect(got.flows).toEqual(ref.flows);
  expect(await lent(one), "the reference app never shards").toBe(0);
  return ref;
}

describe("a sharded upload answers as one engine", () => {
  it("every corpus capture, NDJSON", async () => {
    const names = captureFiles(corpusDir);
    expect(names.length).toBeGreaterThan(20);
    for (const name of names) {
      const bytes = readFileSync(join(corpusDir, name));
      const ref = await expectSame(bytes, typeOf(name), NDJSON);
      expect(ref.rest.at(-1), name).toHaveProperty("stats");
    }
  });

  it("the generated capture in JSON, msgpack and NDJSON, with and without filters and json_style", async () => {
    for (const accept of [JSON_TYPE, MSGPACK, NDJSON]) {
      const ref = await expectSame(generated, PCAP, accept);
      expect(ref.flows.length, accept).toBeGreaterThan(1000);
      await expectSame(generated, PCAP, accept, "?conn_state=SF,S0,REJ");
      await expectSame(generated, PCAP, accept, "?anomaly=any");
    }
    await expectSame(generated, PCAP, NDJSON, "?json_style=zeek&anomaly=zero_window");
    await expectSame(generated, PCAP, JSON_TYPE, "?json_style=zeek&ignore_checksums=true");
  });

  it("msgpack where every flow is left to the host (times past the year 2255), filtered and not", async () => {
    const far = pastYear2255(generated);
    const ref = await expectSame(far, PCAPNG, MSGPACK);
    expect(ref.flows.length).toBeGreaterThan(1000);
    expect(JSON.parse(ref.flows[0]).ts).toBeGreaterThan(9e9);
    await expectSame(far, PCAPNG, MSGPACK, "?anomaly=any");
  });

  it("a few corpus captures in JSON and msgpack, pcap and pcapng", async () => {
    for (const name of ["http-range-rxmit.pcap", "ssh-basic.pcap", "ldap-krbtgt-rstr.pcapng", "m57-gaps-rxmit.pcap"]) {
      const bytes = readFileSync(join(corpusDir, name));
      for (const accept of [JSON_TYPE, MSGPACK]) await expectSame(bytes, typeOf(name), accept);
    }
    expect(typeOf("x.pcapng")).toBe(PCAPNG);
  });

  it("a JSON answer is laid out as one engine's: a flow a line, commas between; none: the same bytes", async () => {
    const text = async (api: Api, query: string) => {
      const res = await post(api, `/v1/analyze${query}`, generated, PCAP, { accept: JSON_TYPE });
      expect(res.status).toBe(200);
      return res.text();
    };
    // Every engine prints its flows as array members; the first one in the body loses its comma.
    const layout = (body: string) => {
      const lines = body.split("\n");
      expect(lines[0]).toBe('{"flows":[');
      const flows = lines.slice(1, -2);
      expect(flows.slice(0, -1).every((l) => l.startsWith('{"ts":') && l.endsWith("},"))).toBe(true);
      expect(flows.at(-1)).toMatch(/^\{"ts":.*\}$/);
      expect(lines.at(-2)).toMatch(/^\],"stats":\{.*\}\}$/);
      expect(lines.at(-1)).toBe("");
      return flows.map((l) => l.replace(/,$/, "")).sort();
    };
    const ref = layout(await text(one, ""));
    expect(ref.length).toBeGreaterThan(1000);
    await idle(many);
    const before = await lent(many);
    expect(layout(await text(many, ""))).toEqual(ref);
    expect(await lent(many)).toBe(before + THREADS - 1);
    // A filter that keeps no flow: an empty array, byte for byte.
    const none = "?conn_state=SH";
    const empty = await text(one, none);
    expect(empty).toMatch(/^\{"flows":\[\],"stats":/);
    await idle(many);
    expect(await text(many, none)).toBe(empty);
  });

  it("a body in 7-byte chunks without a length gives the whole body's answer", async () => {
    const bytes = generated.subarray(0, 600_000);
    const whole = await analyze(one, bytes, PCAP, NDJSON);
    await idle(many);
    const before = await lent(many);
    const res = await many.app.request("/v1/analyze", streamInit(chunked(bytes, 7), PCAP, { accept: NDJSON }));
    const got = await outcome(res, NDJSON);
    expect(await lent(many)).toBe(before + THREADS - 1);
    expect(got).toEqual(whole);
  });

  it("damaged and truncated captures: the same status, error, offset, counters and flows before it", async () => {
    const bytes = readFileSync(resolve(repoRoot, "test/fixtures/kernel/combined.pcap"));
    // An absurd caplen in the 40th record header.
    let off = 24;
    for (let i = 0; i < 39; i++) off += 16 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(off + 8, true);
    const damaged = Uint8Array.from(bytes);
    new DataView(damaged.buffer).setUint32(off + 8, 0x7fffffff, true);
    const refused = await expectSame(damaged, PCAP, JSON_TYPE);
    expect(refused.status).toBe(422);
    expect(refused.rest.error.offset).toBe(off);
    const partial = await expectSame(damaged, PCAP, JSON_TYPE, "?partial=true");
    expect(partial.status).toBe(422);
    expect(partial.flows.length).toBeGreaterThan(0);
    // A msgpack document's head counts the flows every engine printed before the damage.
    const packed = await expectSame(damaged, PCAP, MSGPACK, "?partial=true");
    expect(packed.status).toBe(422);
    expect(packed.flows.length).toBe(partial.flows.length);
    // NDJSON answers with its flows so far and the error in the trailer.
    await expectSame(damaged, PCAP, NDJSON);
    for (const cut of [31, 7777, bytes.length - 1]) await expectSame(bytes.subarray(0, cut), PCAP, JSON_TYPE);
  });
  it("the flow metrics of all these answers add up to one engine's (conn_state, anomalies, input)", async () => {
    const tallies = async (api: Api) => {
      const m = api.context.metrics;
      return {
        flows: (await m.flows.get()).values.map((v) => [v.labels.conn_state, v.value]).sort(),
        anomalies: (await m.anomalies.get()).values.map((v) => [v.labels.type, v.value]).sort(),
        segments: (await m.segments.get()).values[0]?.value,
        bytes: (await m.bytes.get()).values[0]?.value,
      };
    };
    const ref = await tallies(one);
    expect(ref.flows.length).toBeGreaterThan(3);
    expect(await tallies(many)).toEqual(ref);
  });
});

describe("the pool's bounds hold with lent threads", () => {
  it("lent threads count as busy until the upload ends; requests meanwhile queue; all free after", async () => {
    const api = testApp({ threads: 2, engineQueue: 0, uploadShards: 2, uploadShardMinBytes: 0 });
    try {
      const pool = api.context.enginePool!;
      await pool.ready();
      const { upload, more } = await heldUpload(api, JSON_TYPE);
      // No thread is free and the queue holds none: refused, as with two uploads.
      const refused = await post(api, "/v1/analyze", small, PCAP);
      expect(refused.status).toBe(503);
      expect((await json(refused)).error.code).toBe("engines_busy");
      more();
      const res = await upload;
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      await idle(api);
      expect(await lent(api)).toBe(1);
      const next = await post(api, "/v1/analyze", small, PCAP);
      expect(next.status).toBe(200);
    } finally {
      api.close();
    }
  });

  it("the sessions on both threads answer while an upload holds them (a lent thread serves calls between frames)", async () => {
    const api = testApp({ threads: 2, uploadShards: 2, uploadShardMinBytes: 0 });
    try {
      const pool = api.context.enginePool!;
      await pool.ready();
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const created = await post(api, "/v1/sessions", null);
        expect(created.status).toBe(201);
        ids.push((await json(created)).id as string);
      }
      expect([...pool.sessionHomes()], "one session on each thread").toEqual([1, 1]);
      const { upload, more } = await heldUpload(api, NDJSON);
      for (const id of ids) {
        const res = await post(api, `/v1/sessions/${id}/batches`, small, PCAP);
        expect(res.status, await res.clone().text()).toBe(200);
      }
      more();
      const res = await upload;
      expect(await outcome(res, NDJSON)).toEqual(await analyze(one, generated, PCAP, NDJSON));
      expect(await lent(api)).toBe(1);
    } finally {
      api.close();
    }
  });

  it("an upload that finds the other threads busy runs on its own thread", async () => {
    const api = testApp({ threads: 1, uploadShards: 4, uploadShardMinBytes: 0 });
    try {
      const res = await post(api, "/v1/analyze", generated, PCAP, { accept: NDJSON });
      expect(res.status).toBe(200);
      const got = await outcome(res, NDJSON);
      expect(got).toEqual(await analyze(one, generated, PCAP, NDJSON));
      expect(await lent(api)).toBe(0);
    } finally {
      api.close();
    }
  });

  it("a client that leaves mid-upload frees the lent threads", async () => {
    const api = testApp({ threads: 2, uploadShards: 2, uploadShardMinBytes: 0 });
    try {
      const pool = api.context.enginePool!;
      await pool.ready();
      const head = generated.subarray(0, 3 << 20);
      let sent = false;
      const body = new ReadableStream<Uint8Array>({
        async pull(c) {
          if (!sent) {
            sent = true;
            c.enqueue(head);
            return;
          }
          await new Promise((r) => setTimeout(r, 200));
          c.error(new Error("client gone"));
        },
      });
      const res = Promise.resolve(api.app.request("/v1/analyze", streamInit(body, PCAP, { accept: NDJSON }))).catch(
        () => null,
      );
      await res;
      await idle(api);
      expect(await lent(api)).toBe(1);
      // Both threads serve the next upload, sharded again.
      const next = await post(api, "/v1/analyze", generated, PCAP, { accept: NDJSON });
      expect(await outcome(next, NDJSON)).toEqual(await analyze(one, generated, PCAP, NDJSON));
      expect(await lent(api)).toBe(2);
    } finally {
      api.close();
    }
  });
});
