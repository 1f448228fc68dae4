#!/usr/bin/env node
/**
 * Engine format cost, build A against build B, in one process: each build's dist/ and
 * build/flowrecon.wasm (a copy of the repository's, e.g. made with `git archive REV assembly` and
 * `asc`) is loaded side by side, the capture runs through each once, and up to a window's worth of
 * finished records are formatted by each in alternating passes (after checking both write the same
 * bytes). Per format: the best pass of each in CPU time per flow, and the ratio A / B (best, and
 * the quartiles of the per-pass ratios), so the figure holds however busy the machine is.
 *
 *   node bench/format-ab.mjs ROOT_A ROOT_B [capture.pcap] [--reps 30] [--single]
 *     -> one JSON line per format: {format, records, aNsPerFlow, bNsPerFlow, bestRatio, q25, median, q75, loadavg}
 *
 * Each build formats the records as many at a call as it can (EngineLines.records, four Community IDs
 * hashed side by side), or one per call where it lacks that; `--single`: one per call in both.
 *
 * A root needs dist/ (its own copy: Node resolves a symlinked dist/ to its target, whose ../../build
 * is then the wasm loaded), build/flowrecon.wasm, package.json and node_modules.
 * @module
 */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { parseCommandLine, usageError } from "./lib/cli-args.mjs";
import { cpuNs, recordsInWindow } from "./lib/format-records.mjs";

const USAGE = "usage: node bench/format-ab.mjs ROOT_A ROOT_B capture.pcap [--reps 30] [--single]";
const { values, positionals } = parseCommandLine(USAGE, {
  allowPositionals: true,
  options: { reps: { type: "string" }, single: { type: "boolean" } },
});
const [rootA, rootB, file] = positionals;
if (rootA === undefined || rootB === undefined || file === undefined)
  usageError(USAGE, "two roots and a capture are needed");
const reps = Number(values.reps ?? 30);
const bytes = readFileSync(file);

/** Loads one build, runs the capture and keeps its first finished records in the engine's window. */
const setup = async (root) => {
  const records = await recordsInWindow(resolve(root), bytes);
  return (format) => records.format(format, values.single === true);
};

const makeA = await setup(rootA);
const makeB = await setup(rootB);
for (const format of ["ndjson", "zeek"]) {
  const a = makeA(format);
  const b = makeB(format);
  if (a.all().text() !== b.all().text()) throw new Error(`${format}: the two builds disagree`);
  a.pass();
  b.pass();
  let bestA = Infinity;
  let bestB = Infinity;
  const ratios = [];
  for (let r = 0; r < reps; r++) {
    const ta = cpuNs(a.pass);
    const tb = cpuNs(b.pass);
    bestA = Math.min(bestA, ta);
    bestB = Math.min(bestB, tb);
    ratios.push(ta / tb);
  }
  ratios.sort((x, y) => x - y);
  const q = (f) => Number(ratios[Math.floor(f * (ratios.length - 1))].toFixed(2));
  console.log(
    JSON.stringify({
      format,
      records: a.n,
      aNsPerFlow: Math.round(bestA / a.n),
      bNsPerFlow: Math.round(bestB / b.n),
      bestRatio: Number((bestA / bestB).toFixed(2)),
      q25: q(0.25),
      median: q(0.5),
      q75: q(0.75),
      loadavg: loadavg().map((x) => Number(x.toFixed(2))),
    }),
  );
}
