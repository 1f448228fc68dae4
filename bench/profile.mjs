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
 *                          [--instructions] [--warmup-mb N]
 *
 * `--v8` uses V8's own sampling profiler (--cpu-prof) instead. Do not trust it for the engine: it
 * charged a third of the engine's time to `read`, where `strace -c` shows 0.11 s of several
 * seconds in read() and perf puts the time in the wasm functions. perf needs Debian `linux-perf`.
 *
 * `--instructions` counts instructions instead of sampling time: the run goes under callgrind
 * (`valgrind --tool=callgrind --dump-instr=yes`, about 100x slower: give it a cut of a capture,
 * e.g. `editcap -F pcap -r big.pcap cut.pcap 1-400000`), each instruction address is attributed to
 * the JIT symbol V8 wrote for it in /tmp/perf-PID.map, and the wasm functions are named as above,
 * TurboFan and Liftoff code apart. Instruction counts do not move with the load of a shared VM,
 * which times do by 1.3x: compare two builds by them, then confirm with a timed A/B. For the
 * engine, the counts per segment cover the warm-up pass and the measured pass together.
 *
 * All three attribute inlined callees to their caller, so the figures are per function as
 * compiled, not per source function.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCommandLine, usageError } from "./lib/cli-args.mjs";
import { BENCH_DIR, ROOT } from "./lib/harness.mjs";

const USAGE = `usage: node bench/profile.mjs capture [--cli] [--top 25] [--v8] [--no-fast-path]
         [--instructions] [--warmup-mb N]`;
const { values, positionals } = parseCommandLine(USAGE, {
  allowPositionals: true,
  options: {
    cli: { type: "boolean" },
    top: { type: "string" },
    v8: { type: "boolean" },
    "no-fast-path": { type: "boolean" },
    instructions: { type: "boolean" },
    "warmup-mb": { type: "string" },
  },
});
const file = positionals[0];
if (!file) usageError(USAGE, "no capture given");

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
    : [
        join(BENCH_DIR, "engine.mjs"),
        file,
        ...(values["no-fast-path"] ? ["--no-fast-path"] : []),
        ...(values["warmup-mb"] !== undefined ? ["--warmup-mb", values["warmup-mb"]] : []),
      ];
  if (values.instructions) instructionProfile(argv);
  else if (!values.v8) perfProfile(argv);
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

/**
 * callgrind's per-instruction counts, attributed to V8's JIT symbols through the perf map the run
 * wrote (`--perf-basic-prof`), native code by callgrind's own function names.
 */
function instructionProfile(argv) {
  const out = join(dir, "callgrind.out");
  const t0 = performance.now();
  const stdout = execFileSync(
    "valgrind",
    [
      "--tool=callgrind",
      "--dump-instr=yes",
      `--callgrind-out-file=${out}`,
      process.execPath,
      "--perf-basic-prof",
      ...argv,
    ],
    { encoding: "utf8", maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "ignore"] },
  );
  const wallMs = performance.now() - t0;
  const text = readFileSync(out, "utf8");
  const pid = /^pid: (\d+)$/m.exec(text)?.[1];
  const mapFile = `/tmp/perf-${pid}.map`;
  if (!existsSync(mapFile)) throw new Error(`no ${mapFile}: did node write its perf map?`);
  const jit = jitSymbols(readFileSync(mapFile, "utf8"));
  rmSync(mapFile, { force: true });
  const names = wasmNames();
  const cost = new Map();
  const add = (key, n) => cost.set(key, (cost.get(key) ?? 0) + n);
  const fnNames = new Map();
  let fn = "";
  let addr = 0;
  let skipCallCost = false;
  let total = 0;
  // callgrind format (valgrind docs, "Callgrind Format Specification"): with --dump-instr the
  // first number of a cost line is an address, absolute (0x...), relative (+n, -n) or the same
  // (*); the line after calls= is the callee's inclusive cost, not the caller's own.
  for (const line of text.split("\n")) {
    const c = line.charCodeAt(0);
    if ((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 42) {
      const [a, , n] = line.split(" ");
      addr = a === "*" ? addr : a[0] === "+" || a[0] === "-" ? addr + Number(a) : Number(a);
      if (skipCallCost) {
        skipCallCost = false;
        continue;
      }
      const count = Number(n ?? 0);
      total += count;
      if (fn === "???" || fn.startsWith("0x")) add(jitName(jit, addr, names), count);
      else add(`native ${fn}`, count);
    } else if (line.startsWith("calls=")) skipCallCost = true;
    else if (line.startsWith("fn=") || line.startsWith("cfn=")) {
      const m = /^c?fn=\((\d+)\)(?: (.*))?$/.exec(line);
      if (!m) continue;
      if (m[2] !== undefined) fnNames.set(m[1], m[2]);
      if (line[0] === "f") fn = fnNames.get(m[1]) ?? "";
    }
  }
  let segments = 0;
  if (!values.cli) {
    const r = JSON.parse(stdout.trim().split("\n").pop() ?? "{}");
    segments = (r.segments ?? 0) + (r.warmupSegments ?? 0);
  }
  const rows = [...cost].sort((a, b) => b[1] - a[1]);
  const wasmTier = (tier) => rows.filter(([k]) => k.startsWith("wasm") && k.endsWith(`(${tier})`));
  const sum = (rs) => rs.reduce((a, [, v]) => a + v, 0);
  const turbofan = sum(wasmTier("turbofan"));
  const liftoff = sum(wasmTier("liftoff"));
  const per = (v) => (segments > 0 ? (v / segments).toFixed(1) : "");
  console.log(
    `${values.cli ? "CLI" : "engine (warm-up pass + measured pass)"} on ${file} under callgrind: wall ${(wallMs / 1000).toFixed(1)} s, ${total.toLocaleString("en")} instructions${segments > 0 ? ` for ${segments.toLocaleString("en")} segments, ${per(total)} a segment` : ""}; WebAssembly: TurboFan ${turbofan.toLocaleString("en")}${segments > 0 ? ` (${per(turbofan)} a segment)` : ""}, Liftoff ${liftoff.toLocaleString("en")}${segments > 0 ? ` (${per(liftoff)})` : ""}`,
  );
  console.log("");
  console.log(`| instructions | share |${segments > 0 ? " a segment |" : ""} symbol |`);
  console.log(`|---:|---:|${segments > 0 ? "---:|" : ""}---|`);
  for (const [k, v] of rows.slice(0, Number(values.top ?? 25))) {
    console.log(
      `| ${v.toLocaleString("en")} | ${((100 * v) / total).toFixed(1)}% |${segments > 0 ? ` ${per(v)} |` : ""} \`${k}\` |`,
    );
  }
}

/** The perf map V8 writes (`start size name` a line, hex), sorted by start for a binary search. */
function jitSymbols(map) {
  const syms = [];
  for (const line of map.split("\n")) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line);
    if (m)
      syms.push({
        start: Number.parseInt(m[1], 16),
        end: Number.parseInt(m[1], 16) + Number.parseInt(m[2], 16),
        name: m[3],
      });
  }
  return syms.sort((a, b) => a.start - b.start);
}

/** The JIT symbol covering addr, wasm functions by name and tier. */
function jitName(syms, addr, names) {
  let lo = 0;
  let hi = syms.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (syms[mid].start <= addr) lo = mid + 1;
    else hi = mid - 1;
  }
  const s = syms[hi];
  if (!s || addr >= s.end) return "unknown JIT code";
  const w = /wasm-function\[(\d+)\]-\d+-(\w+)/.exec(s.name);
  return w ? `wasm ${names[Number(w[1])] ?? `wasm-function[${w[1]}]`} (${w[2]})` : `js ${s.name}`;
}
