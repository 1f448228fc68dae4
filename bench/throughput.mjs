#!/usr/bin/env node
/**
 * Throughput benchmark: run the flowrecon CLI over a large synthetic capture, several times, each in
 * a fresh process, and report wall time, segments/s, MB/s, peak RSS and output size, next to the
 * I/O floor (`cat capture > /dev/null`) and, with --with-refs, the two plain-JavaScript references.
 *
 *   npm run bench:throughput -- [--runs 5] [--with-refs] [--full] [--cmd "node bin/flowrecon.js analyze {file} --format ndjson"]
 *
 * Method (docs/assemblyscript-performance.md §5): every run is a fresh process; one warm-up round is
 * discarded (it also warms the page cache); contenders are interleaved within each round so that
 * load drifting on a shared machine hits all of them alike; results are best-of-N, median and
 * min-max, and ratios come from the same invocation. See bench/README.md.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, platform, release, totalmem } from "node:os";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { GENERATOR_VERSION, generateCapture } from "./lib/traffic.mjs";
import { defaultRssMethod, runMeasured, splitCommand } from "./lib/run-child.mjs";
import { summarize } from "./lib/stats.mjs";

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH_DIR, "..");
const DEFAULT_CMD = "node bin/flowrecon.js analyze {file} --format ndjson";
const HEADERS_ONLY_SNAPLEN = 96;
const FULL_SNAPLEN = 65535;

const USAGE = `usage: node bench/throughput.mjs [options]
  --cmd "CMD"          command under test; {file} is replaced by the capture path (appended if absent)
                       (default: ${DEFAULT_CMD})
  --no-cli             skip the command under test (I/O floor and --with-refs only)
  --runs N             measured runs per contender (default 5)
  --warmup N           discarded warm-up rounds (default 1)
  --with-refs          also run bench/ref/js-typed.mjs and bench/ref/js-map.mjs
  --capture FILE       use this capture instead of generating one (sidecar FILE.json is used if present)
  --segments N         generated capture: segments (default 5000000)
  --concurrent N       generated capture: concurrent connections (default 100000)
  --seed N             generated capture: seed (default 1)
  --full               generated capture: full packets (default: headers only, snaplen 96)
  --pcapng             generated capture: pcapng instead of pcap
  --rss METHOD         time (GNU /usr/bin/time, default when present) | node-hook
  --results-dir DIR    where the JSON goes (default bench/results)
  --label TEXT         free text stored with the results`;

function fail(msg) {
  console.error(`throughput: ${msg}`);
  process.exit(1);
}

function intArg(v, name, dflt) {
  if (v === undefined) return dflt;
  const n = Number(String(v).replace(/_/g, ""));
  if (!Number.isInteger(n) || n < 0) fail(`--${name} must be a non-negative integer, got ${v}`);
  return n;
}

/** Reuse bench/out/<name> when its sidecar says it was generated with the same version and params. */
function ensureCapture(p) {
  const snaplen = p.full ? FULL_SNAPLEN : HEADERS_ONLY_SNAPLEN;
  const ext = p.format === "pcapng" ? "pcapng" : "pcap";
  const file = join(BENCH_DIR, "out", `gen-s${p.seed}-n${p.segments}-c${p.concurrent}-snap${snaplen}.${ext}`);
  const want = { seed: p.seed, segments: p.segments, concurrent: p.concurrent, snaplen, format: p.format };
  const sideFile = `${file}.json`;
  if (existsSync(file) && existsSync(sideFile)) {
    const side = JSON.parse(readFileSync(sideFile, "utf8"));
    const same = side.version === GENERATOR_VERSION && Object.entries(want).every(([k, v]) => side.params[k] === v);
    if (same && statSync(file).size === side.totals.bytes) {
      console.log(`capture: reusing ${relative(ROOT, file)} (${(side.totals.bytes / 1e6).toFixed(1)} MB)`);
      return { file, side, generated: null };
    }
  }
  mkdirSync(dirname(file), { recursive: true });
  console.log(`capture: generating ${relative(ROOT, file)} ...`);
  const t0 = process.hrtime.bigint();
  const side = generateCapture({ out: file, ...want });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const generated = { seconds: s, segmentsPerS: side.totals.segments / s, mbPerS: side.totals.bytes / 1e6 / s };
  console.log(
    `capture: ${side.totals.segments} segments, ${side.totals.connections} connections, ` +
      `${(side.totals.bytes / 1e6).toFixed(1)} MB in ${s.toFixed(2)} s (${(generated.segmentsPerS / 1e6).toFixed(2)} M segments/s)`,
  );
  return { file, side, generated };
}

function gitInfo() {
  try {
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: ROOT, encoding: "utf8" }).trim() !== "";
    return { commit, dirty };
  } catch {
    return null;
  }
}

function fmtMs(ms) {
  return Number.isFinite(ms) ? (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`) : "-";
}

function fmtRate(x, unit) {
  return Number.isFinite(x) ? `${x.toFixed(2)} ${unit}` : "-";
}

function fmtMiB(kb) {
  return Number.isFinite(kb) ? `${(kb / 1024).toFixed(0)} MiB` : "-";
}

async function main() {
  const { values: v } = parseArgs({
    options: {
      cmd: { type: "string" }, "no-cli": { type: "boolean" }, runs: { type: "string" }, warmup: { type: "string" },
      "with-refs": { type: "boolean" }, capture: { type: "string" }, segments: { type: "string" },
      concurrent: { type: "string" }, seed: { type: "string" }, full: { type: "boolean" }, pcapng: { type: "boolean" },
      rss: { type: "string" }, "results-dir": { type: "string" }, label: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (v.help) {
    console.log(USAGE);
    return;
  }
  const runs = intArg(v.runs, "runs", 5);
  const warmup = intArg(v.warmup, "warmup", 1);
  if (runs < 1) fail("--runs must be at least 1");
  const rss = v.rss ?? defaultRssMethod();
  if (rss !== "time" && rss !== "node-hook") fail(`--rss must be time or node-hook, got ${rss}`);

  // The capture.
  let capture;
  if (v.capture) {
    const file = resolve(v.capture);
    if (!existsSync(file)) fail(`capture not found: ${file}`);
    const side = existsSync(`${file}.json`) ? JSON.parse(readFileSync(`${file}.json`, "utf8")) : null;
    capture = { file, side, generated: null };
  } else {
    capture = ensureCapture({
      seed: intArg(v.seed, "seed", 1),
      segments: intArg(v.segments, "segments", 5_000_000),
      concurrent: intArg(v.concurrent, "concurrent", 100_000),
      full: !!v.full,
      format: v.pcapng ? "pcapng" : "pcap",
    });
  }
  const fileBytes = statSync(capture.file).size;
  const segments = capture.side?.totals.segments ?? null;
  const expectedFlows = capture.side?.totals.connections ?? null;

  // The contenders, in the order they run within a round.
  const contenders = [{ name: "io-floor (cat > /dev/null)", key: "io-floor", argv: ["cat", capture.file], discardStdout: true }];
  if (!v["no-cli"]) {
    const line = v.cmd ?? DEFAULT_CMD;
    let argv = splitCommand(line);
    if (argv.length === 0) fail("--cmd is empty");
    argv = argv.includes("{file}") ? argv.map((a) => (a === "{file}" ? capture.file : a)) : [...argv, capture.file];
    if (argv[0] === "node") argv[0] = process.execPath;
    if (!v.cmd && !existsSync(join(ROOT, "bin", "flowrecon.js"))) {
      fail("bin/flowrecon.js does not exist in this tree; pass --cmd \"...\" or --no-cli");
    }
    contenders.push({ name: `cli: ${line}`, key: "cli", argv });
  }
  if (v["with-refs"]) {
    for (const ref of ["js-typed", "js-map"]) {
      contenders.push({ name: ref, key: ref, argv: [process.execPath, join(BENCH_DIR, "ref", `${ref}.mjs`), capture.file], keepStdout: 1 << 16, ref: true });
    }
  }

  const load0 = loadavg();
  console.log(
    `runs: ${warmup} warm-up + ${runs} measured per contender, interleaved; peak RSS via ${rss}; ` +
      `load average ${load0.map((x) => x.toFixed(2)).join(" ")} on ${cpus().length} CPUs`,
  );
  for (const c of contenders) c.runs = [];
  for (let round = 0; round < warmup + runs; round++) {
    const measured = round >= warmup;
    for (const c of contenders) {
      const r = await runMeasured(c.argv, { rss, cwd: ROOT, discardStdout: c.discardStdout, keepStdout: c.keepStdout });
      if (r.exitCode !== 0) {
        fail(`${c.name} exited with ${r.exitCode ?? r.signal}\n${r.stderrTail}`);
      }
      const run = {
        wallMs: r.wallMs,
        segmentsPerS: segments ? segments / (r.wallMs / 1000) : null,
        mbPerS: fileBytes / 1e6 / (r.wallMs / 1000),
        maxRssKb: r.maxRssKb,
        userS: r.userS,
        sysS: r.sysS,
        outBytes: c.discardStdout ? null : r.outBytes,
        outLines: c.discardStdout ? null : r.outLines,
      };
      if (c.ref) {
        const s = JSON.parse(r.stdout.trim().split("\n").pop());
        run.flows = s.flows;
        run.innerMs = s.elapsedMs;
        c.summaryLine = s;
      }
      if (measured) c.runs.push(run);
      process.stdout.write(
        `  ${measured ? `run ${round - warmup + 1}/${runs}` : "warm-up"} ${c.key.padEnd(9)} ${fmtMs(r.wallMs).padStart(8)}` +
          `${r.maxRssKb ? `  ${fmtMiB(r.maxRssKb)}` : ""}${run.flows !== undefined ? `  ${run.flows} flows` : ""}\n`,
      );
    }
  }
  const load1 = loadavg();

  // Aggregate.
  for (const c of contenders) {
    const wall = summarize(c.runs.map((r) => r.wallMs));
    const rssS = summarize(c.runs.map((r) => r.maxRssKb ?? NaN));
    c.summary = {
      wallMs: wall,
      segmentsPerS: segments ? { best: segments / (wall.min / 1000), median: segments / (wall.median / 1000), worst: segments / (wall.max / 1000) } : null,
      mbPerS: { best: fileBytes / 1e6 / (wall.min / 1000), median: fileBytes / 1e6 / (wall.median / 1000) },
      maxRssKb: rssS.n ? { max: rssS.max, median: rssS.median } : null,
      outBytes: c.runs[0].outBytes,
      outLines: c.runs[0].outLines,
    };
    if (c.ref) {
      const flows = [...new Set(c.runs.map((r) => r.flows))];
      c.summary.flows = flows.length === 1 ? flows[0] : flows;
      c.summary.flowsMatchGenerator = expectedFlows === null ? null : flows.length === 1 && flows[0] === expectedFlows;
    }
  }
  const floor = contenders[0].summary.wallMs.median;
  for (const c of contenders) c.summary.medianOverIoFloor = c.summary.wallMs.median / floor;
  const refs = contenders.filter((c) => c.ref);
  const refsAgree = refs.length < 2 || JSON.stringify({ ...refs[0].summaryLine, impl: 0, elapsedMs: 0 }) === JSON.stringify({ ...refs[1].summaryLine, impl: 0, elapsedMs: 0 });

  // Report.
  const cap = capture.side;
  console.log("");
  console.log(
    `### Throughput: ${basename(capture.file)}: ${segments ?? "?"} segments, ${expectedFlows ?? "?"} connections` +
      `${cap ? ` (${cap.params.concurrent} concurrent, snaplen ${cap.params.snaplen}, ${cap.params.format})` : ""}, ${(fileBytes / 1e6).toFixed(1)} MB`,
  );
  console.log("");
  console.log("| contender | wall best | wall median | wall min–max | M seg/s best | M seg/s median | MB/s median | peak RSS max | × I/O floor | output | flows |");
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const c of contenders) {
    const s = c.summary;
    const seg = s.segmentsPerS;
    const out = s.outBytes === null ? "-" : `${s.outLines} lines, ${(s.outBytes / 1e6).toFixed(1)} MB`;
    let flows = "-";
    if (c.ref) flows = `${s.flows}${s.flowsMatchGenerator === null ? "" : s.flowsMatchGenerator ? " ✓" : ` ✗ (expected ${expectedFlows})`}`;
    else if (c.key === "cli" && expectedFlows !== null) flows = `${s.outLines} lines / ${expectedFlows} expected`;
    console.log(
      `| ${c.name} | ${fmtMs(s.wallMs.min)} | ${fmtMs(s.wallMs.median)} | ${fmtMs(s.wallMs.min)}–${fmtMs(s.wallMs.max)} | ` +
        `${seg ? (seg.best / 1e6).toFixed(2) : "-"} | ${seg ? (seg.median / 1e6).toFixed(2) : "-"} | ${s.mbPerS.median.toFixed(0)} | ` +
        `${s.maxRssKb ? fmtMiB(s.maxRssKb.max) : "-"} | ${s.medianOverIoFloor.toFixed(1)} | ${out} | ${flows} |`,
    );
  }
  console.log("");
  console.log("Per run (wall · M segments/s · MB/s · peak RSS):");
  console.log("");
  console.log(`| contender | ${Array.from({ length: runs }, (_, i) => `run ${i + 1}`).join(" | ")} |`);
  console.log(`|---|${"---:|".repeat(runs)}`);
  for (const c of contenders) {
    const cell = (r) =>
      [fmtMs(r.wallMs), r.segmentsPerS ? (r.segmentsPerS / 1e6).toFixed(2) : null, r.mbPerS.toFixed(0), r.maxRssKb ? fmtMiB(r.maxRssKb) : null]
        .filter((x) => x !== null)
        .join(" · ");
    console.log(`| ${c.key} | ${c.runs.map(cell).join(" | ")} |`);
  }
  console.log("");
  console.log(`load average before ${load0.map((x) => x.toFixed(2)).join(" ")}, after ${load1.map((x) => x.toFixed(2)).join(" ")}`);
  if (refs.length === 2) console.log(`js-typed and js-map summaries ${refsAgree ? "agree" : "DISAGREE"}`);

  // Results file.
  const resultsDir = resolve(v["results-dir"] ?? join(BENCH_DIR, "results"));
  mkdirSync(resultsDir, { recursive: true });
  const date = new Date().toISOString().slice(0, 10);
  let out = join(resultsDir, `throughput-${date}.json`);
  for (let i = 2; existsSync(out); i++) out = join(resultsDir, `throughput-${date}-${i}.json`);
  const result = {
    benchmark: "throughput",
    date: new Date().toISOString(),
    label: v.label ?? null,
    git: gitInfo(),
    machine: {
      cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, memBytes: totalmem(), platform: platform(), release: release(),
      node: process.version, loadavgBefore: load0, loadavgAfter: load1,
    },
    method: { runs, warmup, order: contenders.map((c) => c.key), rss, freshProcessPerRun: true },
    capture: {
      path: relative(ROOT, capture.file), bytes: fileBytes, segments, connections: expectedFlows,
      params: cap?.params ?? null, generated: capture.generated,
    },
    contenders: contenders.map((c) => ({ key: c.key, name: c.name, argv: c.argv.map((a) => (a === capture.file ? "{file}" : a)), summary: c.summary, runs: c.runs })),
    refsAgree: refs.length === 2 ? refsAgree : null,
  };
  writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
  console.log(`results: ${relative(ROOT, out)}`);
  if (refs.some((c) => c.summary.flowsMatchGenerator === false) || !refsAgree) process.exitCode = 1;
}

main().catch((e) => fail(e.stack ?? String(e)));
