// Sessions in-process (app.request): create, batches (captures split anywhere, segment records),
// listing finished and live flows with filters and paging, finish, delete, expiry, limits, and
// the guarantee that a rejected batch leaves the session exactly as it was.
import { pack } from "msgpackr";
import { afterAll, describe, expect, it, vi } from "vitest";
import type { Api } from "../../src/http/app.js";
import { configFromEnv } from "../../src/http/config.js";
import { ether, ipv4Tcp } from "../decode/builders.js";
import { writePcap } from "../decode/capture-io.js";
import {
  capture,
  json,
  JSON_TYPE,
  msgpack,
  MSGPACK,
  NDJSON,
  ndjson,
  PCAP,
  post,
  RXMIT,
  testApp,
  type Json,
  type RequestBody,
} from "./helpers.js";

const api = testApp();
afterAll(() => api.close());
const cap = capture(RXMIT);

async function create(a: Api = api, query = "", body?: unknown): Promise<Json> {
  const res = await post(
    a,
    `/v1/sessions${query}`,
    body === undefined ? null : JSON.stringify(body),
    body === undefined ? undefined : JSON_TYPE,
  );
  expect(res.status, await res.clone().text()).toBe(201);
  return json(res);
}

async function batch(id: string, body: RequestBody, type = PCAP, a: Api = api): Promise<Response> {
  return post(a, `/v1/sessions/${id}/batches`, body, type);
}

async function get(path: string, headers: Record<string, string> = {}, a: Api = api): Promise<Response> {
  return a.app.request(path, { headers });
}

/** Offsets of the pcap record headers of a capture (for cutting batches at or inside records). */
function recordOffsets(bytes: Buffer): number[] {
  const out: number[] = [];
  for (let off = 24; off + 16 <= bytes.length; off += 16 + bytes.readUInt32LE(off + 8)) out.push(off);
  return out;
}

describe("create, describe, delete", () => {
  it("POST /v1/sessions: 201 with Location, id, options and TTL", async () => {
    const res = await post(api, "/v1/sessions?ignore_checksums=true&inactivity_timeout=60", null);
    expect(res.status).toBe(201);
    const body = await json(res);
    expect(res.headers.get("location")).toBe(`/v1/sessions/${body.id}`);
    expect(body).toMatchObject({ input: null, batches: 0, flows_finished: 0, flows_live: 0, ttl_seconds: 60 });
    expect(body.options).toMatchObject({ ignore_checksums: true, inactivity_timeout: 60 });
    expect(body.options.flow_cap).toBe(100_000); // capped to the per-session flow limit
  });

  it("options may come as a JSON body too; unknown options and bad JSON are 400s", async () => {
    const body = await create(api, "?vlan_in_key=false", { ignore_checksums: true, likely_server_ports: [80, 443] });
    expect(body.options).toMatchObject({ vlan_in_key: false, ignore_checksums: true, likely_server_ports: [80, 443] });
    const unknown = await post(api, "/v1/sessions", JSON.stringify({ ignore_checksum: true }), JSON_TYPE);
    expect(unknown.status).toBe(400);
    expect((await json(unknown)).error.code).toBe("unknown_option");
    const bad = await post(api, "/v1/sessions", "{", JSON_TYPE);
    expect(bad.status).toBe(400);
    expect((await json(bad)).error.code).toBe("malformed_body");
    const query = await post(api, "/v1/sessions?nope=1", null);
    expect(query.status).toBe(400);
    const type = await post(api, "/v1/sessions", "x=1", "application/x-www-form-urlencoded");
    expect(type.status).toBe(415);
  });

  it("GET describes; DELETE is 204 and then every route says 404", async () => {
    const { id } = await create();
    const described = await json(await get(`/v1/sessions/${id}`));
    expect(described).toMatchObject({ id, batches: 0 });
    expect(described.stats).toHaveProperty("segments", 0);
    const del = await api.app.request(`/v1/sessions/${id}`, { method: "DELETE" });
    expect(del.status).toBe(204);
    for (const [method, path] of [
      ["GET", ""],
      ["DELETE", ""],
      ["POST", "/batches"],
      ["GET", "/flows"],
      ["POST", "/finish"],
    ] as const) {
      const res = await api.app.request(`/v1/sessions/${id}${path}`, {
        method,
        body: method === "POST" ? new Uint8Array(cap) : undefined,
        headers: { "content-type": PCAP },
      });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect((await json(res)).error.code).toBe("session_not_found");
    }
  });
});

describe("batches and finish", () => {
  it("a capture split inside records, headers and the file header decodes like the whole", async () => {
    const whole = await json(await post(api, "/v1/analyze", cap, PCAP));
    const { id } = await create();
    const cuts = [
      3,
      24,
      30,
      ...recordOffsets(cap)
        .slice(5, 9)
        .map((o) => o + 7),
      20_000,
      cap.length,
    ];
    let from = 0;
    for (const [i, to] of cuts.entries()) {
      const res = await batch(id, cap.subarray(from, to), i === 0 ? PCAP : "application/octet-stream");
      expect(res.status).toBe(200);
      expect(await json(res)).toMatchObject({ batch: i + 1, input: "capture", bytes: to - from });
      from = to;
    }
    const done = await post(api, `/v1/sessions/${id}/finish`, null);
    expect(done.status).toBe(200);
    expect(await json(done)).toEqual(whole);
    expect((await get(`/v1/sessions/${id}`)).status).toBe(404);
  });

  it("finish answers in the Accept format, with conn_state filters", async () => {
    const { id } = await create();
    await batch(id, capture("pop3-rej-and-sf.pcap"));
    const res = await post(api, `/v1/sessions/${id}/finish?conn_state=REJ`, null, undefined, { accept: MSGPACK });
    expect(res.headers.get("content-type")).toBe("application/msgpack");
    const body = await msgpack(res);
    expect(body.flows.length).toBeGreaterThan(0);
    expect(body.flows.every((f: Json) => f.conn_state === "REJ")).toBe(true);
    expect(body.stats.records).toBeGreaterThan(0);

    const other = await create();
    await batch(other.id, cap);
    const lines = await ndjson(await post(api, `/v1/sessions/${other.id}/finish`, null, undefined, { accept: NDJSON }));
    expect(lines.flows).toHaveLength(3);
    expect(lines.trailers[0]).toHaveProperty("stats");
  });

  it("finish with no batch is an empty 200; a capture ending inside a record is a 422 with every flow", async () => {
    const empty = await create();
    const res = await post(api, `/v1/sessions/${empty.id}/finish`, null);
    expect(res.status).toBe(200);
    expect((await json(res)).flows).toEqual([]);

    const cut = await create();
    await batch(cut.id, cap.subarray(0, 5000));
    const truncated = await post(api, `/v1/sessions/${cut.id}/finish`, null);
    expect(truncated.status).toBe(422);
    const body = await json(truncated);
    expect(body.error).toMatchObject({ code: "truncated_input", offset: 4709 });
    expect(body.flows.length).toBeGreaterThan(0);
    expect(body.stats.records).toBe(18);
  });

  it("segment records in batches; a session takes one kind of input (409)", async () => {
    const { id } = await create();
    const seg = { ts: 1, src: "10.0.0.1", sport: 1234, dst: "10.0.0.2", dport: 80, flags: "S", seq: 100, win: 1000 };
    const first = await batch(id, JSON.stringify([seg]), JSON_TYPE);
    expect(await json(first)).toMatchObject({ batch: 1, input: "segments", segments: 1, flows_live: 1 });
    const second = await batch(
      id,
      pack([
        { ...seg, ts: 1.5, src: "10.0.0.2", sport: 80, dst: "10.0.0.1", dport: 1234, flags: "SA", seq: 9, ack: 101 },
      ]),
      MSGPACK,
    );
    expect(second.status).toBe(200);
    const conflict = await batch(id, cap, PCAP);
    expect(conflict.status).toBe(409);
    expect((await json(conflict)).error.code).toBe("input_kind_conflict");
    const flows = (await json(await post(api, `/v1/sessions/${id}/finish`, null))).flows;
    expect(flows).toHaveLength(1);
    expect(flows[0]).toMatchObject({ history: "Sh", conn_state: "S1", orig_pkts: 1, resp_pkts: 1 });
  });
});

describe("listing flows", () => {
  it("finished and live flows, each with its state; live ones as finish would report them", async () => {
    const whole = (await json(await post(api, "/v1/analyze", capture("pop3-rej-and-sf.pcap"), PCAP))).flows;
    const { id } = await create(api, "?close_timeout=0");
    const bytes = capture("pop3-rej-and-sf.pcap");
    const half = recordOffsets(bytes)[60];
    await batch(id, bytes.subarray(0, half));
    const page = await json(await get(`/v1/sessions/${id}/flows`));
    const finished = page.flows.filter((f: Json) => f.state === "finished");
    const live = page.flows.filter((f: Json) => f.state === "live");
    expect(finished.length).toBeGreaterThan(0);
    expect(live.length).toBeGreaterThan(0);
    expect(page).toMatchObject({ total: page.flows.length, offset: 0, limit: 1000 });
    expect(page).not.toHaveProperty("next_offset");
    // Finished + live is what finishing right there reports.
    const stopped = await create(api, "?close_timeout=0");
    await batch(stopped.id, bytes.subarray(0, half));
    const atHalf = (await json(await post(api, `/v1/sessions/${stopped.id}/finish`, null))).flows;
    expect(page.flows.map(({ state: _s, ...f }: Json) => f)).toEqual(atHalf);
    // Listing forks the engine: the session goes on as if nobody had looked.
    await batch(id, bytes.subarray(half));
    const rest = (await json(await post(api, `/v1/sessions/${id}/finish`, null))).flows;
    const direct = await create(api, "?close_timeout=0");
    await batch(direct.id, bytes);
    expect(rest).toEqual((await json(await post(api, `/v1/sessions/${direct.id}/finish`, null))).flows);
    expect(whole.length).toBeGreaterThan(0);
  });

  it("state, conn_state, offset and limit", async () => {
    const { id } = await create(api, "?close_timeout=0");
    const bytes = capture("pop3-rej-and-sf.pcap");
    await batch(id, bytes.subarray(0, recordOffsets(bytes)[60]));
    const all = (await json(await get(`/v1/sessions/${id}/flows`))).flows;
    const fin = await json(await get(`/v1/sessions/${id}/flows?state=finished`));
    const live = await json(await get(`/v1/sessions/${id}/flows?state=live`));
    expect(fin.flows.every((f: Json) => f.state === "finished")).toBe(true);
    expect(live.flows.every((f: Json) => f.state === "live")).toBe(true);
    expect(fin.total + live.total).toBe(all.length);
    const rej = await json(await get(`/v1/sessions/${id}/flows?conn_state=REJ`));
    expect(rej.flows).toEqual(all.filter((f: Json) => f.conn_state === "REJ"));
    const p1 = await json(await get(`/v1/sessions/${id}/flows?limit=2&offset=1`));
    expect(p1.flows).toEqual(all.slice(1, 3));
    expect(p1).toMatchObject({ total: all.length, offset: 1, limit: 2, next_offset: 3 });
    const refused = (await json(await get(`/v1/sessions/${id}/flows?anomaly=refused`))).flows;
    expect(refused.length).toBeGreaterThan(0);
    expect(refused).toEqual(all.filter((f: Json) => f.anomalies.some((a: Json) => a.type === "refused")));
    const packed = await msgpack(await get(`/v1/sessions/${id}/flows`, { accept: MSGPACK }));
    expect(packed.flows).toEqual(all);
    for (const bad of ["state=dead", "limit=0", "limit=100000", "offset=-1", "what=1"]) {
      expect((await get(`/v1/sessions/${id}/flows?${bad}`)).status, bad).toBe(400);
    }
  });
});

describe("a batch that fails validation is rejected whole", () => {
  async function snapshot(id: string): Promise<Json> {
    const described = await json(await get(`/v1/sessions/${id}`));
    delete described.expires_at;
    return { described, flows: await (await get(`/v1/sessions/${id}/flows`)).text() };
  }

  it("a capture chunk with damaged framing: 422 with the stream offset, the session unchanged, the good chunk then accepted", async () => {
    const whole = await json(await post(api, "/v1/analyze", cap, PCAP));
    const { id } = await create();
    const records = recordOffsets(cap);
    const cut = records[20] + 5;
    expect((await batch(id, cap.subarray(0, cut))).status).toBe(200);
    const before = await snapshot(id);

    // The next chunk finishes record 20 fine, then record 21's header claims an absurd length.
    const bad = Buffer.from(cap.subarray(cut, records[30]));
    bad.writeUInt32LE(0x7fffffff, records[21] - cut + 8);
    const res = await batch(id, bad, "application/octet-stream");
    expect(res.status).toBe(422);
    const body = await json(res);
    expect(body.error).toMatchObject({
      code: "absurd_caplen",
      offset: records[21],
      record: 22,
      batch_offset: records[21] - cut,
    });
    expect(body.error.message).toMatch(/session is unchanged/);
    expect(await snapshot(id)).toEqual(before);

    expect((await batch(id, cap.subarray(cut))).status).toBe(200);
    expect(await json(await post(api, `/v1/sessions/${id}/finish`, null))).toEqual(whole);
  });

  it("a first batch that is no capture leaves the session without an input kind", async () => {
    const { id } = await create();
    const res = await batch(id, Buffer.from("definitely not a pcap"));
    expect(res.status).toBe(422);
    expect((await json(res)).error).toMatchObject({ code: "bad_magic", offset: 0 });
    expect((await json(await get(`/v1/sessions/${id}`))).input).toBeNull();
    expect((await batch(id, JSON.stringify([]), JSON_TYPE)).status).toBe(200);
  });

  it("segment batches with one bad segment or bad syntax: 400, nothing of them tracked", async () => {
    const { id } = await create();
    const ok = { ts: 1, src: "10.0.0.1", sport: 1, dst: "10.0.0.2", dport: 2, flags: "S", seq: 1 };
    expect((await batch(id, JSON.stringify([ok]), JSON_TYPE)).status).toBe(200);
    const before = await snapshot(id);
    const bad = await batch(
      id,
      JSON.stringify([
        { ...ok, sport: 3 },
        { ...ok, sport: 4 },
        { ...ok, seq: "x" },
      ]),
      JSON_TYPE,
    );
    expect(bad.status).toBe(400);
    expect((await json(bad)).error).toMatchObject({ code: "invalid_segment", index: 2, field: "seq" });
    const syntax = await batch(id, "[{", JSON_TYPE);
    expect(syntax.status).toBe(400);
    const mp = await batch(id, pack([ok, ok]).subarray(0, 30), MSGPACK);
    expect(mp.status).toBe(400);
    expect(await snapshot(id)).toEqual(before);
  });

  it("a batch over the size limit: 413, the session unchanged", async () => {
    const small = testApp({ maxBatchBytes: 4096 });
    try {
      const { id } = await create(small);
      expect((await batch(id, cap.subarray(0, 4000), PCAP, small)).status).toBe(200);
      const res = await batch(id, cap.subarray(4000, 9000), PCAP, small);
      expect(res.status).toBe(413);
      expect((await json(res)).error.code).toBe("payload_too_large");
      expect((await json(await get(`/v1/sessions/${id}`, {}, small))).batches).toBe(1);
    } finally {
      small.close();
    }
  });
});

describe("limits and expiry", () => {
  it("429 past the number of sessions", async () => {
    const a = testApp({ maxSessions: 2 });
    try {
      await create(a);
      await create(a);
      const res = await post(a, "/v1/sessions", null);
      expect(res.status).toBe(429);
      expect((await json(res)).error.code).toBe("too_many_sessions");
      expect(res.headers.get("retry-after")).toBe("10");
    } finally {
      a.close();
    }
  });

  it("429 for a batch to a session at its flow limit", async () => {
    const a = testApp({ maxFlowsPerSession: 3 }); // RXMIT holds 3 connections
    try {
      const { id } = await create(a);
      expect((await batch(id, cap, PCAP, a)).status).toBe(200);
      const res = await batch(id, Buffer.alloc(0), "application/octet-stream", a);
      expect(res.status).toBe(429);
      expect((await json(res)).error.code).toBe("session_flow_limit");
    } finally {
      a.close();
    }
  });

  describe("issue-11 defect 3: a batch that would cross the flow limit is rejected whole", () => {
    // 850 SYNs from 850 client ports: 850 flows, in one batch.
    const SYNS = 850;
    const synCapture = (n: number): Uint8Array =>
      writePcap({
        linktype: 1,
        records: Array.from({ length: n }, (_, i) => {
          const frame = ether(
            0x0800,
            ipv4Tcp({ sport: 10_000 + i, dport: 80, seq: 1000 + i, flags: 0x02 }, { src: "10.0.0.1", dst: "10.0.0.2" }),
          );
          return { tsSec: 1_700_000_000, tsFrac: i, wirelen: frame.length, data: frame };
        }),
      });
    const synRows = (n: number): Json[] =>
      Array.from({ length: n }, (_, i) => ({
        ts: 1_700_000_000 + i / 1e6,
        src: "10.0.0.1",
        sport: 10_000 + i,
        dst: "10.0.0.2",
        dport: 80,
        flags: "S",
        seq: 1000 + i,
      }));

    async function rejected(a: Api, id: string, body: RequestBody, type: string): Promise<void> {
      const before = await json(await get(`/v1/sessions/${id}`, {}, a));
      const res = await batch(id, body, type, a);
      expect(res.status).toBe(429);
      expect((await json(res)).error).toMatchObject({ code: "session_flow_limit", limit: 50, flows: 0 });
      const after = await json(await get(`/v1/sessions/${id}`, {}, a));
      expect({ ...after, expires_at: null }).toEqual({ ...before, expires_at: null });
      const listed = await json(await get(`/v1/sessions/${id}/flows`, {}, a));
      expect(listed.total).toBe(0);
      // Flows the table evicted before the batch was stopped were taken back, metrics included.
      expect(await (await a.app.request("/metrics")).text()).not.toMatch(/^flowrecon_flows_total/m);
    }

    it("a capture batch of 850 connections to a session limited to 50: 429, session unchanged and still usable", async () => {
      const a = testApp({ maxFlowsPerSession: 50 });
      try {
        const { id } = await create(a);
        await rejected(a, id, synCapture(SYNS), PCAP);
        const ok = await batch(id, synCapture(40), PCAP, a);
        expect(ok.status, await ok.clone().text()).toBe(200);
        expect(await json(ok)).toMatchObject({ batch: 1, flows_live: 40 });
      } finally {
        a.close();
      }
    });

    it("a segment batch of 850 connections to a session limited to 50: 429, session unchanged and still usable", async () => {
      const a = testApp({ maxFlowsPerSession: 50 });
      try {
        const { id } = await create(a);
        await rejected(a, id, JSON.stringify(synRows(SYNS)), JSON_TYPE);
        const ok = await batch(id, JSON.stringify(synRows(50)), JSON_TYPE, a);
        expect(ok.status, await ok.clone().text()).toBe(200);
        expect(await json(ok)).toMatchObject({ batch: 1, flows_live: 50 });
        const full = await batch(id, JSON.stringify(synRows(1)), JSON_TYPE, a);
        expect(full.status).toBe(429);
      } finally {
        a.close();
      }
    });
  });

  it("503 when the memory budget cannot hold another session", async () => {
    const a = testApp({ maxMemoryBytes: 36 << 20 }); // one fresh engine (16 MiB) plus the 24 MiB a new one is assumed to need
    try {
      await create(a);
      const res = await post(a, "/v1/sessions", null);
      expect(res.status).toBe(503);
      expect((await json(res)).error.code).toBe("memory_limit");
    } finally {
      a.close();
    }
  });

  it("idle sessions expire after the TTL; busy ones do not", async () => {
    // The sessions' clock (Date) and the store's sweep timer (setInterval) are faked, so time moves
    // only when the test moves it: however long the machine takes to create the sessions, none ages
    // on its own, and the sweep that expires them is the store's own timer.
    vi.useFakeTimers({ toFake: ["Date", "setInterval", "clearInterval"] });
    const a = testApp({ sessionTtlMs: 10_000 });
    try {
      const { id } = await create(a);
      const other = await create(a);
      const store = a.context.sessions;
      vi.advanceTimersByTime(5_000); // half the TTL idle: the sweep (every 5 s here) keeps both
      expect(store.size).toBe(2);
      const session = store.get(other.id, undefined);
      let release!: () => void;
      const hold = session.exclusive(() => new Promise<void>((r) => (release = r)));
      vi.advanceTimersByTime(50_000); // far past the TTL: the idle one goes, the busy one stays
      expect(store.size).toBe(1);
      expect((await get(`/v1/sessions/${id}`, {}, a)).status).toBe(404);
      expect((await get(`/v1/sessions/${other.id}`, {}, a)).status).toBe(200);
      release();
      await hold;
      const metrics = await (await a.app.request("/metrics")).text();
      expect(metrics).toMatch(/^flowrecon_sessions_expired_total 1$/m);
      expect(metrics).toMatch(/^flowrecon_sessions 1$/m);
    } finally {
      a.close();
      vi.useRealTimers();
    }
  });
});

describe("issue-11 defect 7: sessions belong to the tenant whose token created them", () => {
  it("FLOWRECON_TOKENS tenants (and FLOWRECON_TOKEN, tenant default) see only their own sessions: 404 for the others'", async () => {
    const a = testApp({ token: "legacy", tenants: { tenantA: "token1", tenantB: "token2" } });
    const as = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
    try {
      const created = await post(a, "/v1/sessions", null, undefined, as("token1"));
      expect(created.status).toBe(201);
      const { id } = await json(created);
      expect((await post(a, `/v1/sessions/${id}/batches`, cap, PCAP, as("token1"))).status).toBe(200);
      for (const other of ["token2", "legacy"]) {
        const tries = [
          await a.app.request(`/v1/sessions/${id}`, { headers: as(other) }),
          await a.app.request(`/v1/sessions/${id}/flows`, { headers: as(other) }),
          await post(a, `/v1/sessions/${id}/batches`, cap, PCAP, as(other)),
          await post(a, `/v1/sessions/${id}/finish`, null, undefined, as(other)),
          await a.app.request(`/v1/sessions/${id}`, { method: "DELETE", headers: as(other) }),
        ];
        for (const res of tries) {
          expect(res.status, `${other}: ${res.url}`).toBe(404);
          expect((await json(res)).error.code).toBe("session_not_found");
        }
      }
      // Nothing the others tried reached the session.
      const own = await json(await a.app.request(`/v1/sessions/${id}`, { headers: as("token1") }));
      expect(own).toMatchObject({ id, batches: 1, flows_live: 3 });
      const legacy = await post(a, "/v1/sessions", null, undefined, as("legacy"));
      expect((await a.app.request(`/v1/sessions/${(await json(legacy)).id}`, { headers: as("legacy") })).status).toBe(
        200,
      );
    } finally {
      a.close();
    }
  });

  it("FLOWRECON_TOKENS is read as tenant:token pairs; a malformed list stops the server with a clear message", () => {
    expect(configFromEnv({ FLOWRECON_TOKENS: "tenantA:token1, tenantB:token2" }).tenants).toEqual({
      tenantA: "token1",
      tenantB: "token2",
    });
    expect(configFromEnv({ FLOWRECON_TOKEN: "t" })).toMatchObject({ token: "t", tenants: {} });
    expect(() => configFromEnv({ FLOWRECON_TOKENS: "tenantA:token1,token2" })).toThrow(/entry 2 must be tenant:token/);
    expect(() => configFromEnv({ FLOWRECON_TOKENS: "a:x,a:y" })).toThrow(/names tenant 'a' twice/);
    expect(() => configFromEnv({ FLOWRECON_TOKENS: "a:x,b:x" })).toThrow(/same token/);
  });
});
