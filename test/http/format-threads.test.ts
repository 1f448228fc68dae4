// POST /v1/analyze prints its bodies on the app's format threads (src/output/format-threads.ts),
// one job per request. These checks would fail if a body lost, repeated or reordered flows across
// batches, or if concurrent requests got each other's flows or metrics.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCapture } from "../../bench/lib/traffic.mjs";
import { Reconstructor } from "../../src/reconstructor.js";
import { flowJson } from "../../src/format/index.js";
import { BATCH_BYTES } from "../../src/output/format-threads.js";
import { capture, chunked, JSON_TYPE, MSGPACK, NDJSON, PCAP, post, RXMIT, streamInit, testApp } from "./helpers.js";

const api = testApp();
const dir = mkdtempSync(join(tmpdir(), "flowrecon-api-threads-"));
let generated: Buffer;

beforeAll(() => {
  const out = join(dir, "gen.pcap");
  // ~10k connections (six batches of records), most of them ending while the capture is read.
  generateCapture({ out, sidecar: false, segments: 200_000, concurrent: 300, snaplen: 96, seed: 3, pps: 2000 });
  generated = readFileSync(out);
});

afterAll(() => {
  api.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The NDJSON body the API must send: the library's flows (judged against the capture clock, as the CLI's are), in engine order, then the trailer. */
function expectedNdjson(bytes: Uint8Array): { text: string; flows: number; recordSize: number } {
  const rec = new Reconstructor();
  const flows = [...rec.push(bytes), ...rec.finish()];
  const text = flows.map((f) => flowJson(f) + "\n").join("");
  return {
    text: text + JSON.stringify({ stats: rec.stats }) + "\n",
    flows: flows.length,
    recordSize: rec.layout.constants.FR_SIZE,
  };
}

async function body(res: Response): Promise<Buffer> {
  return Buffer.from(await res.arrayBuffer());
}

describe("bodies printed on format threads", () => {
  it("an NDJSON body has every flow once, in the engine's order", async () => {
    const expected = expectedNdjson(generated);
    expect(expected.flows * expected.recordSize).toBeGreaterThan(4 * BATCH_BYTES);
    const res = await api.app.request("/v1/analyze", streamInit(chunked(generated, 1 << 16), PCAP, { accept: NDJSON }));
    expect(res.status).toBe(200);
    expect((await body(res)).toString("utf8") === expected.text).toBe(true);
  });

  it("concurrent requests each get their own body and count their own flows", async () => {
    const cases: [Uint8Array, string, string][] = [
      [generated, NDJSON, ""],
      [capture(RXMIT), JSON_TYPE, ""],
      [generated, MSGPACK, "?conn_state=SF"],
      [generated, JSON_TYPE, "?anomaly=any"],
    ];
    // One at a time first, on a fresh app each, for the expected bodies and flow counts.
    const alone: [Buffer, number][] = [];
    for (const [bytes, accept, query] of cases) {
      const solo = testApp();
      try {
        const res = await post(solo, `/v1/analyze${query}`, bytes, PCAP, { accept });
        expect(res.status).toBe(200);
        alone.push([await body(res), flowsTotal(await solo.context.metrics.render())]);
      } finally {
        solo.close();
      }
    }
    const shared = testApp();
    try {
      // All at once, uploaded in small chunks so that their batches interleave on the threads.
      const answers = await Promise.all(
        cases.map(([bytes, accept, query]) =>
          shared.app.request(`/v1/analyze${query}`, streamInit(chunked(bytes, 1 << 14), PCAP, { accept })),
        ),
      );
      for (let i = 0; i < cases.length; i++) {
        expect(answers[i].status).toBe(200);
        expect((await body(answers[i])).equals(alone[i][0]), `request ${i}`).toBe(true);
      }
      expect(flowsTotal(await shared.context.metrics.render())).toBe(alone.reduce((sum, [, n]) => sum + n, 0));
    } finally {
      shared.close();
    }
  });
});

/** Sum of flowrecon_flows_total over its conn_state series. */
function flowsTotal(metrics: string): number {
  let total = 0;
  for (const m of metrics.matchAll(/^flowrecon_flows_total\{[^}]*\} (\d+)$/gm)) total += Number(m[1]);
  return total;
}
