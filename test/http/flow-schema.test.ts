// The OpenAPI document's Flow (and TcpOptions) `required` lists come from the engine's column table
// (assembly/format/fields.ts ALWAYS, through zeekFieldTable). Checked both ways against what the API
// answers for the whole Zeek corpus: every required key is in every flow, and every property not
// required is missing from at least one flow (else the table calls a column optional that is in
// fact always written). local_orig/local_resp are unset only without local networks, hence the
// second pass with `local_nets=-`; no corpus flow has an empty history, which a SYN cut inside its
// TCP header makes (test/decode/header-cut.test.ts), hence that capture too.

import { afterAll, describe, expect, it } from "vitest";
import { corpusCaptures } from "../golden/corpus.js";
import { ether, ipv4Tcp } from "../decode/builders.js";
import { writePcap } from "../decode/capture-io.js";
import { type Json, NDJSON, json, ndjson, post, testApp } from "./helpers.js";

const SLOW = 120_000;

/** A SYN with 8 option bytes cut by the snaplen: Zeek keys the connection and counts nothing. */
function cutSyn(): [string, Uint8Array] {
  const syn = ether(
    0x0800,
    ipv4Tcp({ sport: 40000, dport: 80, flags: 0x02, seq: 100, options: Uint8Array.of(2, 4, 5, 0xb4, 1, 3, 3, 7) }),
  );
  const pcap = writePcap({
    linktype: 1,
    records: [{ tsSec: 1700000000, tsFrac: 0, wirelen: syn.length, data: syn.subarray(0, 14 + 20 + 24) }],
  });
  return ["cut-syn.pcap", pcap];
}

describe("OpenAPI Flow.required is what the API writes for every flow", () => {
  const api = testApp();
  afterAll(() => api.close());

  it(
    "holds both ways over the Zeek corpus",
    async () => {
      const doc = await json(await api.app.request("/openapi.json"));
      const flowSchema = doc.components.schemas.Flow;
      const optionsSchema = doc.components.schemas.TcpOptions;
      const required = new Set<string>(flowSchema.required);
      const optionsRequired = new Set<string>(optionsSchema.required);
      // Only in session listings (the schema says so), never in an analyze answer.
      const properties = Object.keys(flowSchema.properties).filter((k) => k !== "state");
      expect(required.size).toBeGreaterThan(10);
      expect(optionsRequired.size).toBeGreaterThan(0);

      const missing: string[] = [];
      const absentSomewhere = new Set<string>();
      const optionAbsentSomewhere = new Set<string>();
      let flows = 0;
      for (const [name, bytes] of [...corpusCaptures(), cutSyn()]) {
        for (const query of ["", "?local_nets=-"]) {
          // octet-stream: the API tells pcap from pcapng by the magic.
          const res = await post(api, `/v1/analyze${query}`, bytes, "application/octet-stream", { accept: NDJSON });
          expect(res.status, name).toBe(200);
          for (const f of (await ndjson(res)).flows as Json[]) {
            flows++;
            for (const k of required) if (!(k in f)) missing.push(`${name}${query} ${f.uid}: ${k}`);
            for (const k of properties) if (!(k in f)) absentSomewhere.add(k);
            for (const side of ["orig_tcp_options", "resp_tcp_options"]) {
              const o = (f[side] ?? {}) as Json;
              for (const k of optionsRequired) if (!(k in o)) missing.push(`${name}${query} ${f.uid}: ${side}.${k}`);
              for (const k of Object.keys(optionsSchema.properties)) if (!(k in o)) optionAbsentSomewhere.add(k);
            }
          }
        }
      }
      expect(flows).toBeGreaterThan(350); // the corpus's ~195 rows, twice
      expect(missing.slice(0, 10)).toEqual([]);
      expect(properties.filter((k) => !required.has(k) && !absentSomewhere.has(k))).toEqual([]);
      expect(
        Object.keys(optionsSchema.properties).filter((k) => !optionsRequired.has(k) && !optionAbsentSomewhere.has(k)),
      ).toEqual([]);
    },
    SLOW,
  );
});
