#!/usr/bin/env node
/**
 * Runs every oracle of the campaign on saved inputs, with the engine options of their notes:
 *   node fuzz/check.mjs fuzz/findings/chunk-diff-states-port-reuse.pcap [more inputs...]
 * Prints each failing check (signature, known defect or null, detail); exit status 1 when one
 * is not a known defect. The note is the .json beside the input (its `options`), if there is one.
 *
 * @module
 */

import { existsSync, readFileSync } from "node:fs";
import { knownAs } from "./known.mjs";
import { equivalentForm, Rng } from "./mutate.mjs";
import { checkCli, checkInProcess, cleanupScratch } from "./oracles.mjs";
import { parseCommandLine, usageError } from "../bench/lib/cli-args.mjs";

const USAGE = "usage: node fuzz/check.mjs INPUT [INPUT...]";
const { positionals: inputs } = parseCommandLine(USAGE, { allowPositionals: true, options: {} });
if (inputs.length === 0) usageError(USAGE, "no input given");
const missing = inputs.filter((p) => !existsSync(p));
if (missing.length > 0) usageError(USAGE, `no such input: ${missing.join(", ")}`);

let open = 0;
for (const path of inputs) {
  const notePath = path.replace(/\.[a-z]+$/, ".json");
  const note = existsSync(notePath) ? JSON.parse(readFileSync(notePath, "utf8")) : {};
  const options = note.options ?? {};
  const bytes = new Uint8Array(readFileSync(path));
  const { findings, reference } = checkInProcess(bytes, options, { equivalent: (b) => equivalentForm(b, new Rng(1)) });
  if (reference !== null)
    findings.push(...checkCli(bytes, note.format ?? "ndjson", options, reference, note.stdin ?? false));
  console.log(
    `${path} (${bytes.length} bytes, options ${JSON.stringify(options)}): ${findings.length ? "" : "every oracle holds"}`,
  );
  for (const f of findings) {
    const known = knownAs(f);
    if (known === null) open++;
    console.log(`  ${f.signature} [${known ?? "NOT KNOWN"}]\n    ${f.detail.split("\n")[0].slice(0, 400)}`);
  }
}
cleanupScratch();
process.exitCode = open > 0 ? 1 : 0;
