// The anomaly catalogue is API: the engine's codes (assembly/flow/anomaly.ts, exported as
// `Anomaly.*` globals) and the host's names (src/anomalies/catalogue.ts) must be the same list.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ANOMALIES } from "../../src/anomalies/index.js";
import { snakeCase } from "../../src/wasm/layout.js";

const wasm = readFileSync(resolve(import.meta.dirname, "../../build/flowrecon.wasm"));
const exportsOf = new WebAssembly.Instance(new WebAssembly.Module(wasm), { env: { abort() { throw new Error("abort"); } } })
  .exports as Record<string, unknown>;

describe("anomaly catalogue", () => {
  const engine = Object.entries(exportsOf)
    .filter(([k]) => k.startsWith("Anomaly.") && k !== "Anomaly.None" && k !== "Anomaly.Count")
    .map(([k, g]) => ({ name: snakeCase(k.slice("Anomaly.".length)).replace(/(?<=[a-z])(?=[0-9])/g, "_"), code: Number((g as WebAssembly.Global).value) }))
    .sort((a, b) => a.code - b.code);

  it("names every engine code, with the same code", () => {
    expect(ANOMALIES.map((a) => ({ name: a.name, code: a.code }))).toEqual(engine);
  });

  it("documents each anomaly: a meaning and the evidence it rests on", () => {
    for (const a of ANOMALIES) {
      expect(a.meaning.length, a.name).toBeGreaterThan(10);
      expect(a.evidence.length, a.name).toBeGreaterThan(10);
    }
  });

  it("covers every type the issue names", () => {
    const required = [
      "syn_unanswered", "handshake_incomplete", "refused", "peer_vanished", "stuck_fin_wait_1", "stuck_fin_wait_2",
      "stuck_last_ack", "reset", "simultaneous_open", "simultaneous_close", "retransmission", "out_of_order",
      "duplicate_ack", "zero_window", "zero_window_probe", "keepalive", "ack_of_unseen_data", "content_gap",
      "data_after_fin", "invalid_flags", "port_reuse", "midstream",
    ];
    expect(ANOMALIES.map((a) => a.name).sort()).toEqual(required.sort());
  });
});

describe("README", () => {
  it("lists every anomaly of the catalogue", () => {
    const readme = readFileSync(resolve(import.meta.dirname, "../../README.md"), "utf8");
    for (const a of ANOMALIES) expect(readme, a.name).toContain(`| ${a.code} | \`${a.name}\` |`);
  });
});
