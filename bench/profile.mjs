#!/usr/bin/env node
/**
 * Where the time goes: runs the engine contender (bench/engine.mjs) or the CLI under V8's sampling
 * profiler and prints self time per function, with the WebAssembly functions named. The release
 * build has no name section, so V8 reports `wasm-function[N]`; N is mapped to its name through
 * build/flowrecon.wat (the text file the release build writes next to the module: imported
 * functions first, then the defined ones in order).
 *
 *   node bench/profile.mjs capture.pcap [--cli] [--top 25]
 *
 * Sampling at V8's default interval (~1 ms) attributes inlined callees to their caller, so the
 * figures are per function as compiled, not per source function.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BENCH_DIR, ROOT } from "./lib/harness.mjs";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { cli: { type: "boolean" }, top: { type: "string" } } });
const file = positionals[0];
if (!file) {
  console.error("usage: node bench/profile.mjs capture [--cli] [--top 25]");
  process.exit(2);
}

/** wasm function index -> name, from the release build's text file. */
function wasmNames() {
  const names = [];
  let wat;
  try {
    wat = readFileSync(join(ROOT, "build", "flowrecon.wat"), "utf8");
  } catch {
    return names;
  }
  for (const m of wat.matchAll(/^ \(import "[^"]*" "[^"]*" \(func (\$\S+)/gm)) names.push(m[1]);
  for (const m of wat.matchAll(/^ \(func (\$\S+)/gm)) names.push(m[1]);
  return names.map((n) => n.replace(/^\$/, "").replace(/^assembly\//, ""));
}

const dir = mkdtempSync(join(tmpdir(), "flowrecon-prof-"));
try {
  const argv = values.cli
    ? [join(ROOT, "bin", "flowrecon.js"), "analyze", file, "--format", "ndjson"]
    : [join(BENCH_DIR, "engine.mjs"), file];
  const t0 = performance.now();
  execFileSync(process.execPath, ["--cpu-prof", `--cpu-prof-dir=${dir}`, ...argv], { stdio: ["ignore", "ignore", "inherit"], maxBuffer: 1 << 30 });
  const wallMs = performance.now() - t0;
  const prof = JSON.parse(readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith(".cpuprofile")) ?? "no.cpuprofile"), "utf8"));
  const names = wasmNames();
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const n = byId.get(prof.samples[i]);
    const d = prof.timeDeltas[i] ?? 0;
    total += d;
    const cf = n.callFrame;
    const w = /^wasm-function\[(\d+)\]$/.exec(cf.functionName);
    const key = w ? `wasm ${names[Number(w[1])] ?? cf.functionName}` : `js   ${cf.functionName || "(anonymous)"} ${cf.url.replace(/^.*\/(src|dist|bench)\//, "$1/")}${cf.url ? `:${cf.lineNumber + 1}` : ""}`;
    self.set(key, (self.get(key) ?? 0) + d);
  }
  const wasm = [...self].filter(([k]) => k.startsWith("wasm")).reduce((a, [, v]) => a + v, 0);
  console.log(`${values.cli ? "CLI" : "engine (warm-up pass + measured pass)"} on ${file}: wall ${(wallMs / 1000).toFixed(2)} s, ${(total / 1e6).toFixed(2)} s sampled, ${((100 * wasm) / total).toFixed(1)}% in WebAssembly`);
  console.log("");
  console.log("| self ms | share | function |");
  console.log("|---:|---:|---|");
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top ?? 25))) {
    console.log(`| ${(v / 1000).toFixed(0)} | ${((100 * v) / total).toFixed(1)}% | \`${k}\` |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
