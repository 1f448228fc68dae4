// POST /v1/analyze in-process (app.request): every content type, every response format, options
// and filters as query parameters, and each error status with its JSON body.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack } from "msgpackr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCapture } from "../../bench/lib/traffic.mjs";
import {
  capture,
  chunked,
  json,
  JSON_TYPE,
  msgpack,
  MSGPACK,
  NDJSON,
  ndjson,
  PCAP,
  PCAPNG,
  post,
  RXMIT,
  streamInit,
  testApp,
  type Json,
  type RequestBody,
} from "./helpers.js";

const api = testApp();
afterAll(() => api.close());
const cap = capture(RXMIT);

let generated: Uint8Array;
let connections: number;
beforeAll(() => {
  const out = join(mkdtempSync(join(tmpdir(), "flowrecon-api-")), "gen.pcap");
  // 2000 packets/s: 30 s of traffic, so connections close (and linger out) all along the capture.
  const sidecar = generateCapture({ out, segments: 60_000, concurrent: 500, snaplen: 96, seed: 3, pps: 2000 });
  generated = readFileSync(out);
  connections = sidecar.totals.connections;
});

const SEGMENTS = [
  { ts: 1, src: "10.0.0.1", sport: 1234, dst: "10.0.0.2", dport: 80, flags: "S", seq: 100, win: 1000 },
  { ts: 1.01, src: "10.0.0.2", sport: 80, dst: "10.0.0.1", dport: 1234, flags: "SA", seq: 500, ack: 101, win: 100 },
];

function expectError(body: Json, code: string | RegExp): void {
  expect(Object.keys(body)).toContain("error");
  expect(body.error.code).toMatch(code);
  expect(typeof body.error.message).toBe("string");
}

describe("content types", () => {
  it("pcap: 200 {flows, stats}", async () => {
    const res = await post(api, "/v1/analyze", cap, PCAP);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const body = await json(res);
    expect(body.flows).toHaveLength(3);
    expect(body.stats).toMatchObject({ records: 57, bytes: cap.length, segments: 57, skipped_records: 0 });
    expect(body).not.toHaveProperty("error");
  });

  it("pcapng, and application/x-pcap", async () => {
    const ng = capture("ldap-krbtgt-rstr.pcapng");
    expect((await json(await post(api, "/v1/analyze", ng, PCAPNG))).flows.length).toBeGreaterThan(0);
    expect((await post(api, "/v1/analyze", cap, "application/x-pcap")).status).toBe(200);
  });

  it("application/octet-stream is recognised by its magic; anything else there is a 415", async () => {
    expect((await json(await post(api, "/v1/analyze", cap, "application/octet-stream"))).flows).toHaveLength(3);
    expect(
      (await json(await post(api, "/v1/analyze", capture("ldap-krbtgt-rstr.pcapng"), "application/octet-stream"))).flows
        .length,
    ).toBeGreaterThan(0);
    const res = await post(api, "/v1/analyze", Buffer.from("PK\x03\x04 not a capture"), "application/octet-stream");
    expect(res.status).toBe(415);
    const body = await json(res);
    expectError(body, "unsupported_media_type");
    expect(body.error.message).toMatch(/starts 50 4b 03 04/);
  });

  it("415 for a missing or unknown Content-Type", async () => {
    for (const type of [undefined, "text/plain", "application/xml"]) {
      const res = await post(api, "/v1/analyze", cap, type);
      expect(res.status, String(type)).toBe(415);
      expectError(await json(res), "unsupported_media_type");
    }
  });

  it("segment records as JSON (array, {segments}, columnar) and msgpack", async () => {
    const bodies: [RequestBody, string][] = [
      [JSON.stringify(SEGMENTS), JSON_TYPE],
      [JSON.stringify({ segments: SEGMENTS }), "application/json; charset=utf-8"],
      [
        JSON.stringify({
          ts: [1, 1.01],
          src: ["10.0.0.1", "10.0.0.2"],
          sport: [1234, 80],
          dst: ["10.0.0.2", "10.0.0.1"],
          dport: [80, 1234],
          flags: ["S", "SA"],
          seq: [100, 500],
          ack: [0, 101],
          win: [1000, 100],
        }),
        JSON_TYPE,
      ],
      [pack(SEGMENTS), MSGPACK],
      [pack(SEGMENTS), "application/x-msgpack"],
      [pack({ segments: SEGMENTS }), "application/vnd.msgpack"],
    ];
    let first: unknown;
    for (const [body, type] of bodies) {
      const res = await post(api, "/v1/analyze", body, type);
      expect(res.status, type).toBe(200);
      const doc = await json(res);
      expect(doc.flows).toHaveLength(1);
      expect(doc.flows[0]).toMatchObject({ "id.orig_h": "10.0.0.1", "id.resp_p": 80, conn_state: "S1", history: "Sh" });
      expect(doc.stats.segments).toBe(2);
      first ??= doc;
      expect(doc).toEqual(first);
    }
  });
});

describe("response formats (Accept)", () => {
  it("msgpack: the same document as plain msgpack maps", async () => {
    const doc = await json(await post(api, "/v1/analyze", cap, PCAP));
    const res = await post(api, "/v1/analyze", cap, PCAP, { accept: "application/msgpack" });
    expect(res.headers.get("content-type")).toBe("application/msgpack");
    expect(await msgpack(res)).toEqual(doc);
  });

  it("NDJSON: one flow per line, then a stats trailer", async () => {
    const res = await post(api, "/v1/analyze", cap, PCAP, { accept: NDJSON });
    expect(res.headers.get("content-type")).toMatch(/^application\/x-ndjson/);
    const { flows, trailers } = await ndjson(res);
    expect(flows).toHaveLength(3);
    expect(trailers).toHaveLength(1);
    expect(trailers[0].stats.records).toBe(57);
  });

  it("q-values and wildcards; 406 when nothing offered is served", async () => {
    const type = async (accept: string) =>
      (await post(api, "/v1/analyze", cap, PCAP, { accept })).headers.get("content-type");
    expect(await type("*/*")).toMatch(/json/);
    expect(await type("text/html, application/*;q=0.1")).toMatch(/application\/json/);
    expect(await type("application/msgpack;q=0.5, application/x-ndjson")).toMatch(/ndjson/);
    const res = await post(api, "/v1/analyze", cap, PCAP, { accept: "text/html" });
    expect(res.status).toBe(406);
    expectError(await json(res), "not_acceptable");
  });

  it("NDJSON streams: flows arrive while the upload is still open", async () => {
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
    controller.enqueue(generated.slice(0, generated.length >> 1));
    const pending = api.app.request("/v1/analyze", streamInit(body, PCAP, { accept: NDJSON }));
    const res = await pending; // resolves with the first flows: the second half is not sent yet
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toMatch(/^\{"ts":/);
    controller.enqueue(generated.slice(generated.length >> 1));
    controller.close();
    let text = new TextDecoder().decode(first.value);
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
    const lines = text
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l));
    expect(lines.filter((l) => "uid" in l)).toHaveLength(connections);
    expect(lines.at(-1)).toHaveProperty("stats");
  });
});

describe("options and filters", () => {
  it("ignore_checksums changes what is counted", async () => {
    const bad = capture("chksum-localhost-validated.pcap");
    const checked = await json(await post(api, "/v1/analyze", bad, PCAP));
    const ignored = await json(await post(api, "/v1/analyze?ignore_checksums=true", bad, PCAP));
    expect(checked.stats.bad_checksum).toBeGreaterThan(0);
    expect(ignored.stats.bad_checksum).toBe(0);
  });

  it("conn_state keeps matching flows only; stats still count all the input", async () => {
    const all = (await json(await post(api, "/v1/analyze", capture("pop3-rej-and-sf.pcap"), PCAP))).flows;
    const rej = await json(await post(api, "/v1/analyze?conn_state=REJ", capture("pop3-rej-and-sf.pcap"), PCAP));
    expect(rej.flows.length).toBeGreaterThan(0);
    expect(rej.flows.length).toBeLessThan(all.length);
    expect(rej.flows.every((f: { conn_state: string }) => f.conn_state === "REJ")).toBe(true);
    const two = await json(await post(api, "/v1/analyze?conn_state=rej,sf", capture("pop3-rej-and-sf.pcap"), PCAP));
    expect(two.flows).toHaveLength(
      all.filter((f: { conn_state: string }) => ["REJ", "SF"].includes(f.conn_state)).length,
    );
  });

  it("anomaly filters keep exactly the flows with that anomaly (any, or by name)", async () => {
    const all = (await json(await post(api, "/v1/analyze", cap, PCAP))).flows as Json[];
    const withAny = all.filter((f) => f.anomalies.length > 0);
    expect(withAny.length).toBeGreaterThan(0);
    expect(withAny.length).toBeLessThan(all.length);
    const any = await post(api, "/v1/analyze?anomaly=any", cap, PCAP);
    expect(any.status).toBe(200);
    expect((await json(any)).flows).toEqual(withAny);
    const rxmit = (await json(await post(api, "/v1/analyze?anomaly=retransmission", cap, PCAP))).flows as Json[];
    expect(rxmit).toEqual(all.filter((f) => f.anomalies.some((a: Json) => a.type === "retransmission")));
    const bad = await post(api, "/v1/analyze?anomaly=teleportation", cap, PCAP);
    expect(bad.status).toBe(400);
    expectError(await json(bad), "invalid_parameter");
  });

  it("NDJSON (printed by the engine thread's own engine) keeps the same flows as JSON (FlowWriter) under every filter and style", async () => {
    for (const name of ["pop3-rej-and-sf.pcap", "cisco-fabricpath-syn-retx.pcap", "ssh-half-duplex-client.pcap"]) {
      const bytes = capture(name);
      for (const query of [
        "",
        "?conn_state=REJ",
        "?conn_state=rej,sf",
        "?anomaly=any",
        "?anomaly=retransmission",
        "?anomaly=syn_unanswered,refused",
        "?anomaly=any&conn_state=S0",
        "?json_style=zeek",
        "?json_style=zeek&anomaly=any",
        "?local_nets=10.0.0.0/8",
      ]) {
        const want = (await json(await post(api, `/v1/analyze${query}`, bytes, PCAP))).flows as Json[];
        const got = await ndjson(await post(api, `/v1/analyze${query}`, bytes, PCAP, { accept: NDJSON }));
        expect({ name, query, flows: got.flows }).toEqual({ name, query, flows: want });
        expect(got.trailers).toHaveLength(1);
      }
    }
  });

  it("400 for an unknown parameter or a bad value", async () => {
    const cases: [string, string][] = [
      ["/v1/analyze?ignore_checksum=1", "unknown_parameter"],
      ["/v1/analyze?flow_cap=0", "invalid_parameter"],
      ["/v1/analyze?inactivity_timeout=-1", "invalid_parameter"],
      ["/v1/analyze?conn_state=XX", "invalid_parameter"],
      ["/v1/analyze?likely_server_ports=80,x", "invalid_parameter"],
      ["/v1/analyze?partial=maybe", "invalid_parameter"],
    ];
    for (const [path, code] of cases) {
      const res = await post(api, path, cap, PCAP);
      expect(res.status, path).toBe(400);
      expectError(await json(res), code);
    }
  });

  it("engine options reach the engine (likely_server_ports=none flips like zeek -b)", async () => {
    const wiki = capture("wikipedia-bare.pcap");
    const def = (await json(await post(api, "/v1/analyze", wiki, PCAP))).flows.map(
      (f: { history?: string }) => f.history,
    );
    const bare = (await json(await post(api, "/v1/analyze?likely_server_ports=none", wiki, PCAP))).flows.map(
      (f: { history?: string }) => f.history,
    );
    expect(bare).not.toEqual(def);
  });
});

describe("errors", () => {
  it("400 malformed JSON (with its offset) and malformed msgpack", async () => {
    const res = await post(api, "/v1/analyze", '[{"ts": 1,}]', JSON_TYPE);
    expect(res.status).toBe(400);
    const body = await json(res);
    expectError(body, "malformed_body");
    expect(body.error.offset).toBe(10);
    const mp = await post(api, "/v1/analyze", pack(SEGMENTS).subarray(0, 20), MSGPACK);
    expect(mp.status).toBe(400);
    expectError(await json(mp), "malformed_body");
  });

  it("400 for a segment out of range, naming the segment and field", async () => {
    const res = await post(
      api,
      "/v1/analyze",
      JSON.stringify([SEGMENTS[0], { ...SEGMENTS[1], dport: 99999 }]),
      JSON_TYPE,
    );
    expect(res.status).toBe(400);
    const body = await json(res);
    expectError(body, "invalid_segment");
    expect(body.error).toMatchObject({ index: 1, field: "dport" });
  });

  it("422 for a damaged capture, with the engine's code and byte offset", async () => {
    const res = await post(api, "/v1/analyze", Buffer.from("this is no capture at all"), PCAP);
    expect(res.status).toBe(422);
    expect((await json(res)).error).toMatchObject({ code: "bad_magic", offset: 0 });

    const cut = cap.subarray(0, 5000);
    const trunc = await post(api, "/v1/analyze", cut, PCAP);
    expect(trunc.status).toBe(422);
    const body = await json(trunc);
    expect(body.error).toMatchObject({ code: "truncated_input", offset: 4709, record: 19 });
    expect(body).not.toHaveProperty("flows");
  });

  it("422 with partial=true also returns what was decoded before the damage (JSON, msgpack, NDJSON)", async () => {
    const damaged = Buffer.from(cap);
    damaged.writeUInt32LE(0x7fffffff, 24 + 16 + 74 + 8); // second record: absurd caplen
    const res = await post(api, "/v1/analyze?partial=true", damaged, PCAP);
    expect(res.status).toBe(422);
    const body = await json(res);
    expect(body.error).toMatchObject({ code: "absurd_caplen", record: 2 });
    expect(body.flows).toHaveLength(1);
    expect(body.stats.records).toBe(1);
    const mp = await post(api, "/v1/analyze?partial=true", damaged, PCAP, { accept: MSGPACK });
    expect(mp.status).toBe(422);
    expect(await msgpack(mp)).toEqual(body);
    // NDJSON whose damage is found before the first flow: still a 422.
    const nd = await post(api, "/v1/analyze", damaged, PCAP, { accept: NDJSON });
    expect(nd.status).toBe(422);
  });

  it("NDJSON damage found after the stream started ends it with an error line", async () => {
    const cut = generated.subarray(0, generated.length - 7);
    const res = await post(api, "/v1/analyze", cut, PCAP, { accept: NDJSON });
    expect(res.status).toBe(200);
    const { flows, trailers } = await ndjson(res);
    expect(flows.length).toBeGreaterThan(0);
    expect(trailers.at(-1)).toMatchObject({ error: { code: "truncated_input" } });
    expect(trailers.at(-1)).toHaveProperty("stats");
  });

  it("413 for a body over the limit: declared, or found while streaming a chunked upload", async () => {
    const small = testApp({ maxBodyBytes: 10_000, maxBatchBytes: 100 });
    try {
      const declared = await post(small, "/v1/analyze", cap, PCAP);
      expect(declared.status).toBe(413);
      expectError(await json(declared), "payload_too_large");
      const streamedRes = await small.app.request("/v1/analyze", streamInit(chunked(cap, 1000), PCAP));
      expect(streamedRes.status).toBe(413);
      expect((await json(streamedRes)).error).toMatchObject({ code: "payload_too_large", limit: 10_000 });
      const segs = await post(small, "/v1/analyze", JSON.stringify(SEGMENTS), JSON_TYPE);
      expect(segs.status).toBe(413);
    } finally {
      small.close();
    }
  });

  it("503 when the memory budget cannot hold another engine", async () => {
    const tiny = testApp({ maxMemoryBytes: 1 << 20 });
    try {
      const res = await post(tiny, "/v1/analyze", cap, PCAP);
      expect(res.status).toBe(503);
      expectError(await json(res), "memory_limit");
      expect(res.headers.get("retry-after")).toBe("5");
    } finally {
      tiny.close();
    }
  });

  it("503 when an analysis outgrows the memory budget while it runs (its flow table grows)", async () => {
    // Room for one engine as it starts (24 MiB assumed), not for the table 500 live flows need.
    const tight = testApp({ maxMemoryBytes: 24 << 20 });
    try {
      const res = await post(tight, "/v1/analyze", generated, PCAP);
      expect(res.status).toBe(503);
      expect((await json(res)).error.code).toBe("memory_limit");
      expect(tight.context.budget.used()).toBe(0); // everything given back
    } finally {
      tight.close();
    }
  });

  it("404 JSON for an unknown route", async () => {
    const res = await api.app.request("/v2/nothing");
    expect(res.status).toBe(404);
    expectError(await json(res), "not_found");
  });

  it("issue-11: 405 with an Allow header for a known route and the wrong method", async () => {
    const cases: [method: string, path: string, allow: string][] = [
      ["GET", "/v1/analyze", "POST"],
      ["PUT", "/v1/sessions/123", "DELETE, GET, HEAD"],
      ["GET", "/v1/sessions/123/batches", "POST"],
      ["POST", "/healthz", "GET, HEAD"],
    ];
    for (const [method, path, allow] of cases) {
      const res = await api.app.request(path, { method });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get("allow"), `${method} ${path}`).toBe(allow);
      expectError(await json(res), "method_not_allowed");
    }
  });
});

describe("long engine work does not freeze the app", () => {
  it("a health check answers while a large capture is being analysed", async () => {
    const big = Buffer.concat([generated, ...Array.from({ length: 3 }, () => generated.subarray(24))]);
    let analysed = false;
    const analysis = Promise.resolve(api.app.request("/v1/analyze", streamInit(chunked(big, 1 << 20), PCAP))).then(
      async (r) => {
        analysed = true;
        return r;
      },
    );
    // Let the upload start, then ask for health.
    await new Promise((r) => setTimeout(r, 20));
    const health = await api.app.request("/healthz");
    expect(health.status).toBe(200);
    expect(analysed).toBe(false);
    expect((await analysis).status).toBe(200);
  });
});

describe("conn.log columns (issue 12)", () => {
  it("json_style=zeek answers Zeek's JSON log shape: flat dotted keys, anomalies as names", async () => {
    const nested = await json(await post(api, "/v1/analyze", cap, PCAP));
    const zeek = await json(await post(api, "/v1/analyze?json_style=zeek", cap, PCAP));
    expect(zeek.flows).toHaveLength(nested.flows.length);
    const [z, n] = [zeek.flows[0], nested.flows[0]];
    expect(z).not.toHaveProperty("orig_tcp_options");
    expect(z["orig_tcp_options.sack_permitted"]).toBe(n.orig_tcp_options.sack_permitted);
    expect(z.anomalies).toEqual([...new Set(n.anomalies.map((a: { type: string }) => a.type))]);
    expect(z.ip_proto).toBe(6);
  });

  it("local_nets sets Site::local_nets; a bad one or a bad json_style is a 400", async () => {
    const none = await json(await post(api, "/v1/analyze?local_nets=-", cap, PCAP));
    expect(none.flows[0]).not.toHaveProperty("local_orig");
    const bad = await post(api, "/v1/analyze?local_nets=10.0.0.0/40", cap, PCAP);
    expect(bad.status).toBe(400);
    expectError(await json(bad), "invalid_parameter");
    const style = await post(api, "/v1/analyze?json_style=flat", cap, PCAP);
    expect(style.status).toBe(400);
    expectError(await json(style), "invalid_parameter");
  });
});
