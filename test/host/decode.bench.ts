// Host cost per flow: record -> output bytes for each format, against the object path
// (FlowDecoder + flowJson strings). Run: npx vitest bench --run test/host/decode.bench.ts
// Each iteration handles FLOWS records; flows/s = hz * FLOWS. Results are not asserted.
import { bench, describe } from "vitest";
import { FlowDecoder } from "../../src/flow.js";
import { AsciiWriter, createFormatter, flowJson, type FormatName } from "../../src/format/index.js";
import { communityId } from "../../src/ids/community-id.js";
import { makeViews, type MemoryViews } from "../../src/wasm/engine.js";
import { type EndpointSpec, realLayout, writeRecord } from "./helpers.js";

const layout = realLayout();
const c = layout.constants;
const FLOWS = 4096;

const v: MemoryViews = (() => {
  const buffer = new ArrayBuffer(FLOWS * c.FR_SIZE);
  let seed = 1;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  const octet = () => rnd() % 256;
  // Both sides alike: a full handshake with MSS, window scale, SACK and timestamps.
  const endpoint = (): EndpointSpec => ({
    pkts: 10 + (rnd() % 100),
    ipBytes: rnd() % 1e6,
    bytes: rnd() % 1e6,
    mss: 1460,
    wscale: 7,
    opts: c.OPT_SACK_PERM | c.OPT_TS,
  });
  for (let i = 0; i < FLOWS; i++) {
    const ts = 1_700_000_000_000_000 + i * 1017;
    const v6 = i % 10 === 0;
    writeRecord(buffer, i * c.FR_SIZE, layout, {
      orig: v6 ? `2001:db8::${(rnd() % 65536).toString(16)}` : `10.${octet()}.${octet()}.${octet()}`,
      resp: v6 ? `2001:db8:1::${(rnd() % 65536).toString(16)}` : `192.0.${octet()}.${octet()}`,
      origPort: 1024 + (rnd() % 60000),
      respPort: [80, 443, 22, 53][i & 3],
      tsUs: ts,
      lastUs: ts + (i % 7 === 0 ? 0 : 123_456),
      rttUs: i % 3 === 0 ? -1 : 2000,
      history: "ShADadFf",
      connState: "SF",
      endReason: "Closed",
      o: endpoint(),
      r: endpoint(),
    });
  }
  return makeViews(buffer);
})();

let _sink = 0;

describe(`${FLOWS} flows: record -> output bytes`, () => {
  for (const name of ["ndjson", "zeek", "json"] as FormatName[]) {
    const format = createFormatter(name, layout);
    const out = new AsciiWriter(1 << 20);
    bench(name, () => {
      for (let i = 0; i < FLOWS; i++) {
        format.record(v, i * c.FR_SIZE, out);
        if (out.length >= 1 << 20) _sink += out.take().length;
      }
      _sink += out.take().length;
    });
  }
  const decoder = new FlowDecoder(layout);
  bench("objects: FlowDecoder + flowJson + Buffer", () => {
    let text = "";
    for (let i = 0; i < FLOWS; i++) text += flowJson(decoder.decode(v, i * c.FR_SIZE)) + "\n";
    _sink += Buffer.from(text, "latin1").length;
  });
  bench("objects: FlowDecoder only", () => {
    for (let i = 0; i < FLOWS; i++) _sink += decoder.decode(v, i * c.FR_SIZE).orig_pkts;
  });
  bench("community_id only", () => {
    for (let i = 0; i < FLOWS; i++) _sink += communityId(v.u8, i * c.FR_SIZE, 1000, i * c.FR_SIZE + 16, 80).length;
  });
});
