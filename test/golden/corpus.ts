// Reads the Zeek conn.log corpus (../shared/corpus/zeek): the manifest, each case's expected rows,
// and the Zeek configuration each case was produced with, translated into Reconstructor options.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { sharedPath } from "../../bench/lib/shared.mjs";
import { expect } from "vitest";
import { Reconstructor } from "../../src/index.js";
import type { ReconstructorOptions } from "../../src/reconstructor.js";

/** ../shared/corpus/zeek beside the repository (bench/lib/shared.mjs), where CI lays it out. */
export function corpusDir(): string {
  const dir = sharedPath("corpus", "zeek");
  if (existsSync(join(dir, "manifest.json"))) return dir;
  throw new Error("Zeek corpus not found: expected ../shared/corpus/zeek beside the repository");
}

export interface CorpusCase {
  case: string;
  capture: string;
  conn_file: string;
  options: string;
  kind: string;
}

export function loadManifest(): CorpusCase[] {
  return JSON.parse(readFileSync(join(corpusDir(), "manifest.json"), "utf8")).cases;
}

export type Row = Record<string, string>;

/** Rows of a Zeek ASCII log: `#fields` names the columns, `-` is unset. */
export function readRows(file: string): Row[] {
  let fields: string[] = [];
  const rows: Row[] = [];
  for (const line of readFileSync(join(corpusDir(), file), "utf8").split("\n")) {
    if (line.startsWith("#fields")) fields = line.split("\t").slice(1);
    else if (line && !line.startsWith("#")) {
      const values = line.split("\t");
      const row: Row = {};
      fields.forEach((f, i) => {
        row[f] = values[i];
      });
      rows.push(row);
    }
  }
  return rows;
}

// Ports each Zeek protocol script adds to likely_server_ports (Analyzer::register_for_ports in
// scripts/base/protocols/*/main.zeek). Bare mode (`zeek -b`) starts empty and gets only the ports
// of the scripts a test loads (zeek-semantics.md §3.5).
const SCRIPT_PORTS: Record<string, number[]> = {
  http: [80, 81, 631, 1080, 3128, 8000, 8080, 8888],
  ftp: [21, 2811],
  ssh: [22],
  pop3: [110, 995],
  smtp: [25, 587],
  irc: [6666, 6667, 6668, 6669],
  ssl: [443, 563, 585, 614, 636, 989, 990, 992, 993, 995, 5223],
  xmpp: [5222, 5269],
  krb: [88],
  modbus: [502],
  dns: [53],
};

export interface CaseConfig {
  ignoreChecksums: boolean;
  serverPorts?: number[];
  reportGapsForPartial: boolean;
  excessiveDataWithoutAcks?: number;
}

/** Translates a manifest `options` string (e.g. "-b (conn, http); -C") into engine options. */
export function caseConfig(options: string): CaseConfig {
  const cfg: CaseConfig = {
    // "-C" as an option, not the "(no -C)" of the cases that validate checksums.
    ignoreChecksums: /(^|[;,]\s*)-C(\s|;|$)/.test(options) || /ignore_checksums_nets \+=/.test(options),
    reportGapsForPartial: /report_gaps_for_partial=T/.test(options),
  };
  if (/tcp_excessive_data_without_further_acks=0/.test(options)) cfg.excessiveDataWithoutAcks = 0;
  if (/^-b\b/.test(options)) {
    const loaded = options.match(/\(([^)]*)\)/)?.[1] ?? "";
    const ports = new Set<number>();
    for (const [script, list] of Object.entries(SCRIPT_PORTS)) {
      if (new RegExp(`\\b${script}\\b`).test(loaded) || new RegExp(`protocols/${script}\\b`).test(options))
        for (const p of list) ports.add(p);
    }
    cfg.serverPorts = [...ports].sort((a, b) => a - b);
  }
  return cfg;
}

/** The Reconstructor options a manifest `options` string sets (caseConfig; without ports, Zeek's default likely_server_ports). */
export function caseOptions(options: string): ReconstructorOptions {
  const cfg = caseConfig(options);
  return {
    ignoreChecksums: cfg.ignoreChecksums,
    likelyServerPorts: cfg.serverPorts ?? true,
    reportGapsForPartial: cfg.reportGapsForPartial,
    excessiveDataWithoutAcks: cfg.excessiveDataWithoutAcks,
  };
}

/** Each case of the corpus as [its name, its capture's bytes, the options its Zeek configuration sets], read one at a time. */
export function* corpusCaptures(): Generator<[name: string, bytes: Uint8Array, options: ReconstructorOptions]> {
  for (const c of loadManifest()) yield [c.case, readFileSync(join(corpusDir(), c.capture)), caseOptions(c.options)];
}

/** A flow as the corpus tests read it: its fields by conn.log name. */
export type FlowRow = Record<string, unknown>;

/** A case's flows, run with the options its Zeek configuration sets; its capture must decode. */
export function caseFlows(c: CorpusCase): FlowRow[] {
  const rec = new Reconstructor(caseOptions(c.options));
  const flows = [...rec.push(readFileSync(join(corpusDir(), c.capture))), ...rec.finish()] as unknown as FlowRow[];
  expect(rec.error, `decoding ${c.capture}`).toBeNull();
  return flows;
}

/** A row's or flow's connection as the difference lists name it: "orig_h:orig_p > resp_h:resp_p". */
export const connection = (r: FlowRow | Row): string =>
  `${r["id.orig_h"]}:${r["id.orig_p"]} > ${r["id.resp_h"]}:${r["id.resp_p"]}`;

/** The flow a Zeek row stands for: the same connection starting at the same ts (MANIFEST.md "How to compare": never by order or uid). */
export function flowOfRow(flows: readonly FlowRow[], row: Row): FlowRow | undefined {
  const conn = connection(row);
  return flows.find((f) => connection(f) === conn && (f.ts as number).toFixed(6) === row.ts);
}

/** A list of known differences holds both ways: each one found is listed in `list`, each listed one still occurs. */
export function expectListed(found: Iterable<string>, listed: Iterable<string>, list: string): void {
  const seen = new Set(found);
  const known = new Set(listed);
  expect(
    [...seen].filter((k) => !known.has(k)),
    `differences not listed in ${list}`,
  ).toEqual([]);
  expect(
    [...known].filter((k) => !seen.has(k)),
    `differences listed in ${list} that no longer occur`,
  ).toEqual([]);
}
