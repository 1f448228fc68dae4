// Stored captures (/v1/captures): upload, browse, draw, cut out, delete; persistence across an app
// restart; the limits (size cap, TTL) and the errors of the other routes.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { analyzeFile } from "../../src/analyze.js";
import type { Flow } from "../../src/flow.js";
import { capture, corpus, json, PCAP, post, RXMIT, testApp } from "./helpers.js";

const dirs: string[] = [];
function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), "flowrecon-store-"));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function flowsOf(name: string): Promise<Flow[]> {
  const flows: Flow[] = [];
  await analyzeFile(corpus(name), {}, (f) => void flows.push(f));
  return flows;
}

describe("a stored capture", async () => {
  const dir = dataDir();
  const api = testApp({ dataDir: dir });
  afterAll(() => api.close());
  const res = await post(api, "/v1/captures?name=rxmit.pcap", capture(RXMIT), PCAP);
  const stored = await json(res);
  const expected = await flowsOf(RXMIT);

  it("201 with its id, name, size, flow count and stats", () => {
    expect(res.status).toBe(201);
    expect(res.headers.get("location")).toBe(`/v1/captures/${stored.id}`);
    expect(stored).toMatchObject({ name: "rxmit.pcap", size: capture(RXMIT).length, flows: expected.length });
    expect(stored.stats.segments).toBeGreaterThan(0);
  });

  it("lists its flows as /v1/analyze reports them", async () => {
    const page = await json(await api.app.request(`/v1/captures/${stored.id}/flows`));
    expect(page.total).toBe(expected.length);
    expect(page.flows).toEqual([...expected].sort((a, b) => a.ts - b.ts));
  });

  it("filters by conn_state, anomaly, host, port and time; sorts; pages", async () => {
    const get = async (q: string) => json(await api.app.request(`/v1/captures/${stored.id}/flows?${q}`));
    const f = expected[1];
    expect((await get(`host=${f["id.resp_h"]}&port=${f["id.orig_p"]}`)).flows.map((x: Flow) => x.uid)).toEqual([f.uid]);
    const sf = expected.filter((x) => x.conn_state === "SF");
    expect((await get("conn_state=SF")).total).toBe(sf.length);
    const anomalous = expected.filter((x) => x.anomalies.some((a) => a.type === "retransmission"));
    expect((await get("anomaly=retransmission")).total).toBe(anomalous.length);
    expect((await get(`from=${f.ts}&to=${f.ts}`)).flows.map((x: Flow) => x.uid)).toContain(f.uid);
    const byDuration = [...expected].sort((a, b) => (b.duration ?? -1) - (a.duration ?? -1)).map((x) => x.uid);
    expect((await get("sort=-duration")).flows.map((x: Flow) => x.uid)).toEqual(byDuration);
    const page2 = await get("sort=ts&offset=1&limit=1");
    expect([page2.total, page2.flows.length, page2.flows[0].uid]).toEqual([
      expected.length,
      1,
      [...expected].sort((a, b) => a.ts - b.ts)[1].uid,
    ]);
  });

  it("400 for an unknown filter or a bad value, naming it", async () => {
    const r1 = await api.app.request(`/v1/captures/${stored.id}/flows?colour=red`);
    expect([r1.status, (await json(r1)).error.code]).toEqual([400, "unknown_parameter"]);
    const r2 = await api.app.request(`/v1/captures/${stored.id}/flows?sort=bogus`);
    expect((await json(r2)).error.message).toContain("sort");
  });

  it("one flow, its ladder (SVG and events) and its packets", async () => {
    const f = expected[0];
    const flow = await json(await api.app.request(`/v1/captures/${stored.id}/flows/${f.uid}`));
    expect(flow).toEqual(f);
    const svg = await api.app.request(`/v1/captures/${stored.id}/flows/${f.uid}/ladder.svg`);
    expect(svg.headers.get("content-type")).toContain("image/svg+xml");
    expect(await svg.text()).toContain("[SYN] seq=0");
    const events = await json(await api.app.request(`/v1/captures/${stored.id}/flows/${f.uid}/ladder.json`));
    expect(events.events.length).toBe(f.orig_pkts + f.resp_pkts);
    expect(events.end).toEqual({ orig_state: f.orig_state, resp_state: f.resp_state });
    const pcap = await api.app.request(`/v1/captures/${stored.id}/flows/${f.uid}/pcap`);
    expect(pcap.headers.get("content-type")).toBe(PCAP);
    const bytes = Buffer.from(await pcap.arrayBuffer());
    const path = join(dir, "back.pcap");
    writeFileSync(path, bytes);
    const back: Flow[] = [];
    await analyzeFile(path, {}, (x) => void back.push(x));
    expect(back.map((x) => [x.uid, x.history, x.orig_pkts, x.resp_pkts])).toEqual([
      [f.uid, f.history, f.orig_pkts, f.resp_pkts],
    ]);
  });

  it("404 for an unknown capture or flow", async () => {
    expect((await api.app.request(`/v1/captures/00000000-0000-4000-8000-000000000000/flows`)).status).toBe(404);
    const r = await api.app.request(`/v1/captures/${stored.id}/flows/Cnope`);
    expect([r.status, (await json(r)).error.code]).toEqual([404, "not_found"]);
  });

  it("survives a restart of the app on the same data directory, and is deleted for good", async () => {
    const again = testApp({ dataDir: dir });
    try {
      const list = await json(await again.app.request("/v1/captures"));
      expect(list.captures.map((c: { id: string }) => c.id)).toContain(stored.id);
      const page = await json(await again.app.request(`/v1/captures/${stored.id}/flows?limit=1`));
      expect(page.total).toBe(expected.length);
      expect((await again.app.request(`/v1/captures/${stored.id}`, { method: "DELETE" })).status).toBe(204);
      expect((await again.app.request(`/v1/captures/${stored.id}`)).status).toBe(404);
    } finally {
      again.close();
    }
    const third = testApp({ dataDir: dir });
    expect((await json(await third.app.request("/v1/captures"))).captures).toEqual([]);
    third.close();
  });
});

describe("tenants", () => {
  it("a stored capture is its tenant's alone (FLOWRECON_TOKENS): another tenant gets 404 and an empty list", async () => {
    const api = testApp({ dataDir: dataDir(), tenants: { tenantA: "token1", tenantB: "token2" } });
    const as = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
    try {
      const up = await post(api, "/v1/captures", capture(RXMIT), PCAP, as("token1"));
      expect(up.status).toBe(201);
      const { id } = await json(up);
      const get = (path: string, token: string) => api.app.request(path, { headers: as(token) });
      expect((await get(`/v1/captures/${id}`, "token1")).status).toBe(200);
      for (const path of [`/v1/captures/${id}`, `/v1/captures/${id}/flows`])
        expect((await get(path, "token2")).status, path).toBe(404);
      expect((await api.app.request(`/v1/captures/${id}`, { method: "DELETE", headers: as("token2") })).status).toBe(
        404,
      );
      expect((await json(await get("/v1/captures", "token2"))).captures).toEqual([]);
      expect((await json(await get("/v1/captures", "token1"))).captures.map((m: { id: string }) => m.id)).toEqual([id]);
    } finally {
      api.close();
    }
  });
});

describe("limits and errors", () => {
  it("415 for a body that is not a capture, 422 for a damaged one; neither is stored", async () => {
    const api = testApp({ dataDir: dataDir() });
    const r1 = await post(api, "/v1/captures", "hello world", PCAP);
    expect([r1.status, (await json(r1)).error.code]).toEqual([415, "unsupported_media_type"]);
    const r2 = await post(api, "/v1/captures", capture(RXMIT).subarray(0, 1000), PCAP);
    expect(r2.status).toBe(422);
    expect((await json(r2)).error.code).toBe("truncated_input");
    expect((await json(await api.app.request("/v1/captures"))).captures).toEqual([]);
    api.close();
  });

  it("the size cap: the oldest capture makes room; one larger than the cap gets 507", async () => {
    const size = capture(RXMIT).length;
    const api = testApp({ dataDir: dataDir(), maxStoredBytes: Math.floor(size * 1.5) });
    const first = await json(await post(api, "/v1/captures", capture(RXMIT), PCAP));
    const second = await json(await post(api, "/v1/captures", capture(RXMIT), PCAP));
    const ids = (await json(await api.app.request("/v1/captures"))).captures.map((c: { id: string }) => c.id);
    expect(ids).toEqual([second.id]);
    expect(ids).not.toContain(first.id);
    const small = testApp({ dataDir: dataDir(), maxStoredBytes: 1000 });
    const r = await post(small, "/v1/captures", capture(RXMIT), PCAP);
    expect([r.status, (await json(r)).error.code]).toEqual([507, "insufficient_storage"]);
    api.close();
    small.close();
  });

  it("a capture past its TTL is gone", async () => {
    const api = testApp({ dataDir: dataDir(), storedTtlMs: 1 });
    const stored = await json(await post(api, "/v1/captures", capture(RXMIT), PCAP));
    await new Promise((r) => setTimeout(r, 10));
    expect((await api.app.request(`/v1/captures/${stored.id}`)).status).toBe(404);
    api.close();
  });

  it("needs the token like every /v1 route", async () => {
    const api = testApp({ dataDir: dataDir(), token: "t0k" });
    expect((await api.app.request("/v1/captures")).status).toBe(401);
    expect((await api.app.request("/v1/captures", { headers: { authorization: "Bearer t0k" } })).status).toBe(200);
    api.close();
  });
});
