// The anomaly catalogue is API: the engine's codes (assembly/flow/anomaly.ts, exported as
// `Anomaly.*` globals) and the host's names (src/anomalies/catalogue.ts) must be the same list.
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { ANOMALIES } from "../../src/anomalies/index.js";
import { snakeCase } from "../../src/wasm/layout.js";
import { createEngine } from "../../src/wasm/engine.js";
import { tableRows } from "../markdown-tables.js";

const exportsOf = createEngine().exports as unknown as Record<string, unknown>;

describe("anomaly catalogue", () => {
  const engine = Object.entries(exportsOf)
    .filter(([k]) => k.startsWith("Anomaly.") && k !== "Anomaly.None" && k !== "Anomaly.Count")
    .map(([k, g]) => ({
      name: snakeCase(k.slice("Anomaly.".length)).replace(/(?<=[a-z])(?=[0-9])/g, "_"),
      code: Number((g as WebAssembly.Global).value),
    }))
    .sort((a, b) => a.code - b.code);

  it("names every engine code, with the same code", () => {
    expect(ANOMALIES.map((a) => ({ name: a.name, code: a.code }))).toEqual(engine);
  });

  it("says truly where each anomaly is decided: wire ones in the engine, end ones by the host", () => {
    // "wire": recorded by the engine as segments arrive (assembly/flow/*.ts names Anomaly.X);
    // "end": derived from the endpoint states when the record is reported (src/anomalies/derive.ts).
    const flowDir = resolve(import.meta.dirname, "../../assembly/flow");
    const engineSource = readdirSync(flowDir)
      .filter((f) => f.endsWith(".ts") && f !== "anomaly.ts")
      .map((f) => readFileSync(resolve(flowDir, f), "utf8"))
      .join("\n");
    const derived = addedAnomalies(resolve(import.meta.dirname, "../../src/anomalies/derive.ts"));
    const pascal = (name: string) => name.replace(/(^|_)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase());
    const where = ANOMALIES.map((a) => ({
      name: a.name,
      kind: a.kind,
      engine: new RegExp(`Anomaly\\.${pascal(a.name)}\\b`).test(engineSource),
      host: derived.has(a.name),
    }));
    expect(where).toEqual(
      ANOMALIES.map((a) => ({ name: a.name, kind: a.kind, engine: a.kind === "wire", host: a.kind === "end" })),
    );
  });

  it("covers every type the issue names", () => {
    const required = [
      "syn_unanswered",
      "handshake_incomplete",
      "refused",
      "peer_vanished",
      "stuck_fin_wait_1",
      "stuck_fin_wait_2",
      "stuck_last_ack",
      "reset",
      "simultaneous_open",
      "simultaneous_close",
      "retransmission",
      "out_of_order",
      "duplicate_ack",
      "zero_window",
      "zero_window_probe",
      "keepalive",
      "ack_of_unseen_data",
      "content_gap",
      "data_after_fin",
      "invalid_flags",
      "port_reuse",
      "midstream",
    ];
    expect(ANOMALIES.map((a) => a.name).sort()).toEqual(required.sort());
  });
});

/** The anomaly names derive.ts reports: the string literal first argument of every `add(...)` call. */
function addedAnomalies(file: string): Set<string> {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest);
  const names = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "add") {
      const first = node.arguments[0];
      if (first !== undefined && ts.isStringLiteral(first)) names.add(first.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return names;
}

describe("README", () => {
  it("documents every anomaly with the catalogue's code, name, kind, meaning and evidence, and no other", () => {
    const readme = readFileSync(resolve(import.meta.dirname, "../../README.md"), "utf8");
    const rows = tableRows(readme, ["code", "name", "kind", "meaning", "evidence"], "README.md");
    expect(rows).toEqual(
      ANOMALIES.map((a) => ({
        code: String(a.code),
        name: `\`${a.name}\``,
        kind: a.kind,
        meaning: a.meaning,
        evidence: a.evidence,
      })),
    );
  });
});
