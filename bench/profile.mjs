#!/usr/bin/env node
/**
 * Where the time goes: runs the engine contender (bench/engine.mjs) or the CLI under Linux perf
 * (`perf record -g node --perf-basic-prof ...`) and prints self time per symbol: WebAssembly
 * functions, JavaScript, libc and the kernel (page faults, read's copy) alike. The release build has
 * no name section, so V8 reports `wasm-function[N]`; N is mapped to its name through
 * build/flowrecon.wat (the text file the release build writes next to the module: imported
 * functions first, then the defined ones in order).
 *
 *   node bench/profile.mjs capture.pcap [--cli] [--top 25] [--v8] [--no-fast-path]
 *
 * `--v8` uses V8's own sampling profiler (--cpu-prof) instead. Do not trust it for the engine: it
 * charged a third of the engine's time to `read`, where `strace -c` shows 0.11 s of several
 * seconds in read() and perf puts the time in the wasm functions. perf needs Debian `linux-perf`.
 *
 * Both attribute inlined callees to their caller, so the figures are per function as compiled, not
 * per source function.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BENCH_DIR, ROOT } from "./lib/harness.mjs";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    cli: { type: "boolean" },
    top: { type: "string" },
    v8: { type: "boolean" },
    "no-fast-path": { type: "boolean" },
  },
});
const file = positionals[0];
if (!file) {
  console.error("usage: node bench/profile.mjs capture [--cli] [--top 25] [--v8] [--no-fast-path]");
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

/** perf record -g over the whole process, then self time per symbol with the wasm functions named. */
function perfProfile(argv) {
  const data = join(dir, "perf.data");
  const t0 = performance.now();
  execFileSync("perf", ["record", "-g", "-o", data, process.execPath, "--perf-basic-prof", ...argv], {
    stdio: ["ignore", "ignore", "inherit"],
    maxBuffer: 1 << 30,
  });
  const wallMs = performance.now() - t0;
  const report = execFileSync(
    "perf",
    ["report", "-i", data, "--no-children", "--sort", "sym", "--stdio", "-g", "none"],
    { encoding: "utf8", maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "ignore"] },
  );
  const names = wasmNames();
  /** @type {[number, string][]} */
  const rows = [];
  let wasm = 0;
  for (const line of report.split("\n")) {
    const m = /^\s+([\d.]+)%\s+\[(.)\]\s+(.*)$/.exec(line);
    if (!m) continue;
    const share = Number(m[1]);
    let sym = m[3].trim();
    const w = /wasm-function\[(\d+)\]-\d+-(\w+)/.exec(sym);
    if (w) {
      sym = `wasm ${names[Number(w[1])] ?? `wasm-function[${w[1]}]`} (${w[2]})`;
      wasm += share;
    } else sym = `${m[2] === "k" ? "kernel" : "user"} ${sym}`;
    rows.push([share, sym]);
  }
  console.log(
    `${values.cli ? "CLI" : "engine (warm-up pass + measured pass)"} on ${file} under perf: wall ${(wallMs / 1000).toFixed(2)} s, ${wasm.toFixed(1)}% of samples in WebAssembly`,
  );
  console.log("");
  console.log("| share | symbol |");
  console.log("|---:|---|");
  for (const [share, sym] of rows.slice(0, Number(values.top ?? 25)))
    console.log(`| ${share.toFixed(1)}% | \`${sym}\` |`);
}
try {
  const argv = values.cli
    ? [join(ROOT, "bin", "flowrecon.js"), "analyze", file, "--format", "ndjson"]
    : [join(BENCH_DIR, "engine.mjs"), file, ...(values["no-fast-path"] ? ["--no-fast-path"] : [])];
  if (!values.v8) perfProfile(argv);
  else v8Profile(argv);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** V8's sampling profiler (--cpu-prof): self time per function as V8 attributes it. */
function v8Profile(argv) {
  const t0 = performance.now();
  execFileSync(process.execPath, ["--cpu-prof", `--cpu-prof-dir=${dir}`, ...argv], {
    stdio: ["ignore", "ignore", "inherit"],
    maxBuffer: 1 << 30,
  });
  const wallMs = performance.now() - t0;
  const prof = JSON.parse(
    readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith(".cpuprofile")) ?? "no.cpuprofile"), "utf8"),
  );
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
    const key = w
      ? `wasm ${names[Number(w[1])] ?? cf.functionName}`
      : `js   ${cf.functionName || "(anonymous)"} ${cf.url.replace(/^.*\/(src|dist|bench)\//, "$1/")}${cf.url ? `:${cf.lineNumber + 1}` : ""}`;
    self.set(key, (self.get(key) ?? 0) + d);
  }
  const wasm = [...self].filter(([k]) => k.startsWith("wasm")).reduce((a, [, v]) => a + v, 0);
  console.log(
    `${values.cli ? "CLI" : "engine (warm-up pass + measured pass)"} on ${file}: wall ${(wallMs / 1000).toFixed(2)} s, ${(total / 1e6).toFixed(2)} s sampled, ${((100 * wasm) / total).toFixed(1)}% in WebAssembly`,
  );
  console.log("");
  console.log("| self ms | share | function |");
  console.log("|---:|---:|---|");
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top ?? 25))) {
    console.log(`| ${(v / 1000).toFixed(0)} | ${((100 * v) / total).toFixed(1)}% | \`${k}\` |`);
  }
}
