#!/usr/bin/env node
/**
 * Scaling benchmark: how flowrecon's cost per segment and its memory grow with the capture and with
 * the number of connections open at once, and whether a SYN flood stays in bounded memory.
 *
 *   npm run bench:scaling                       # every series, 3 measured rounds
 *   npm run bench:scaling -- --only flood,memory --runs 1
 *
 * Series (header-only captures from bench/lib/traffic.mjs, cached in bench/out/):
 * - size: 1M, 5M, 10M segments at 100k concurrent connections;
 * - concurrency: 1k, 100k, 1M connections open at once, 10M segments each (8 segments per
 *   connection on average; packet rate = concurrent / 10 s, so a connection sends every 10 s on
 *   average and lives ~40 s, and the connections that closed within Zeek's 5 s close delay, which
 *   the table still holds, stay a small part of it: the table really holds ~concurrent flows);
 * - flood: 5M bare SYNs from distinct sources, never answered, through the CLI with the default flow
 *   cap and with --flow-cap 1000000, and an in-process census (every SYN must come out as an S0
 *   flow, timed out or evicted);
 * - memory: engine state per live connection, measured two ways: the growth of peak RSS with the
 *   number of live flows (SYN flood with flow caps 1M, 2M, 3M: the table is full at the cap), and
 *   the record sizes the engine exports (REC_LIVE, plus EXT_SIZE for the flows that record an anomaly
 *   or HTTP, plus the index).
 * - threads: the CLI with --threads 1, 2, 4, ... up to --max-threads (default: the cores
 *   available) on the 10M-segment header-only capture (100k concurrent), output written to a file
 *   and counted; the speed-up is each count's time over the 1-thread time of the same round.
 * Contenders per point: the engine alone (bench/engine.mjs: in process, after warm-up) and the CLI
 * end to end (`analyze --format ndjson`, stdout written to a file, counted and removed), each a fresh process, peak RSS
 * from GNU time. A run that fails (a crash, an engine fault) is recorded with its message, never
 * dropped or retried.
 *
 * @module
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { join, relative, resolve } from "node:path";
import { parseCommandLine } from "./lib/cli-args.mjs";
import { defaultRssMethod, runMeasured } from "./lib/run-child.mjs";
import { summarize } from "./lib/stats.mjs";
import { BENCH_DIR, ROOT, ensureCapture, fmtMiB, gitInfo, machineInfo } from "./lib/harness.mjs";

const SERIES = ["size", "concurrency", "flood", "memory", "threads"];

function fail(msg) {
  console.error(`scaling: ${msg}`);
  process.exit(1);
}

const node = process.execPath;
const engineArgv = (file, extra = []) => [node, join(BENCH_DIR, "engine.mjs"), file, ...extra];
const cliArgv = (file, extra = []) => [
  node,
  join(ROOT, "bin", "flowrecon.js"),
  "analyze",
  file,
  "--format",
  "ndjson",
  ...extra,
];

/**
 * Where a CLI run's NDJSON goes: a file, as in `flowrecon analyze ... > FILE` (counted after exit,
 * then removed), the way the throughput harness measures the CLI; a pipe read by this process
 * while the CLI runs would take a core's share from it on a small machine.
 */
const CLI_STDOUT = join(BENCH_DIR, "out", `.scaling-stdout-${process.pid}.tmp`);

/** One measured run of a contender; engine runs report their own pass time and flow counts. */
async function measure(kind, argv, rss) {
  if (kind !== "engine") mkdirSync(join(BENCH_DIR, "out"), { recursive: true });
  const out = kind === "engine" ? { keepStdout: 1 << 16 } : { stdoutFile: CLI_STDOUT };
  const r = await runMeasured(argv, { rss, cwd: ROOT, ...out });
  /** @type {Record<string, any>} a run: the measurements, then what the contender reported */
  const run = { wallMs: r.wallMs, maxRssKb: r.maxRssKb, exitCode: r.exitCode };
  if (r.exitCode !== 0) {
    // The line that names the failure (the CLI's one-line message, or an exception's first line).
    const lines = r.stderrTail
      .trim()
      .split("\n")
      .filter((l) => l.trim() && !/^\s+at /.test(l));
    run.error = (
      lines.find((l) => /fault|error|trap|flowrecon:/i.test(l)) ??
      lines.at(-1) ??
      `exit ${r.exitCode}`
    ).trim();
    return run;
  }
  if (kind === "engine") {
    const j = JSON.parse(r.stdout.trim().split("\n").pop() ?? "");
    Object.assign(run, { timeMs: j.elapsedMs, flows: j.flows, flowsEvicted: j.flowsEvicted, engine: j });
  } else {
    Object.assign(run, { timeMs: r.wallMs, flows: r.outLines, outBytes: r.outBytes });
  }
  return run;
}

function stats(runs, segments) {
  const ok = runs.filter((r) => r.exitCode === 0);
  const t = summarize(ok.map((r) => r.timeMs));
  return {
    ok: ok.length,
    failed: runs.length - ok.length,
    errors: [...new Set(runs.filter((r) => r.error).map((r) => r.error))],
    segmentsPerS: ok.length
      ? { median: segments / (t.median / 1000), min: segments / (t.max / 1000), max: segments / (t.min / 1000) }
      : null,
    nsPerSegment: ok.length ? (t.median * 1e6) / segments : null,
    maxRssKb: summarize(runs.map((r) => r.maxRssKb ?? NaN)).max,
    flows: [...new Set(ok.map((r) => r.flows))],
  };
}

/** Text for a markdown table cell. */
const cell = (s) => String(s).replace(/\|/g, "\\|");
const m = (x) =>
  x === null || x === undefined
    ? "-"
    : `${(x.median / 1e6).toFixed(2)} (${(x.min / 1e6).toFixed(2)}–${(x.max / 1e6).toFixed(2)})`;
const n0 = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "-");

/** Runs `points` (each {label, file, segments, engineExtra, cliExtra}) interleaved for `runs` rounds. */
async function runPoints(points, runs, rss) {
  for (const p of points) {
    p.engineRuns = [];
    p.cliRuns = [];
  }
  for (let round = 0; round < runs; round++) {
    for (const p of points) {
      for (const kind of ["engine", "cli"]) {
        const run = await measure(
          kind,
          kind === "engine" ? engineArgv(p.file, p.engineExtra) : cliArgv(p.file, p.cliExtra),
          rss,
        );
        (kind === "engine" ? p.engineRuns : p.cliRuns).push(run);
        const seg = run.timeMs
          ? `${(p.segments / (run.timeMs / 1000) / 1e6).toFixed(2)} M seg/s`
          : `FAILED: ${run.error}`;
        console.log(
          `  run ${round + 1}/${runs} ${p.label.padEnd(18)} ${kind.padEnd(6)} ${seg}  ${fmtMiB(run.maxRssKb)}`,
        );
      }
    }
  }
  for (const p of points) {
    p.engine = stats(p.engineRuns, p.segments);
    p.cli = stats(p.cliRuns, p.segments);
  }
}

const USAGE =
  "usage: node bench/scaling.mjs [--runs 3] [--only size,concurrency,flood,memory] [--seed 1] [--results-dir DIR] [--label TEXT]\n" +
  "  --scale X   multiply every segment count, connection count and flow cap by X (a quick smoke run: --scale 0.01)\n" +
  "  --max-threads N   the threads series goes 1, 2, 4, ... up to N (default: the cores available)";

async function main() {
  const { values: v } = parseCommandLine(USAGE, {
    options: {
      runs: { type: "string" },
      only: { type: "string" },
      rss: { type: "string" },
      "results-dir": { type: "string" },
      label: { type: "string" },
      seed: { type: "string" },
      scale: { type: "string" },
      "max-threads": { type: "string" },
    },
  });
  const runs = Number(v.runs ?? 3);
  if (!Number.isInteger(runs) || runs < 1) fail("--runs must be a positive integer");
  const only = new Set((v.only ?? SERIES.join(",")).split(",").filter(Boolean));
  for (const s of only) if (!SERIES.includes(s)) fail(`unknown series ${s}; known: ${SERIES.join(", ")}`);
  const rss = v.rss ?? defaultRssMethod();
  const seed = Number(v.seed ?? 1);
  const scale = Number(v.scale ?? 1);
  if (!(scale > 0 && scale <= 1)) fail("--scale must be in (0, 1]");
  const S = (x) => Math.max(1, Math.round(x * scale));
  if (!existsSync(join(ROOT, "dist", "index.js")) || !existsSync(join(ROOT, "bin", "flowrecon.js")))
    fail("run npm run build first");
  const machine = machineInfo();
  const load0 = loadavg();
  const result = {
    benchmark: "scaling",
    date: new Date().toISOString(),
    label: v.label ?? null,
    git: gitInfo(),
    machine,
    method: { runs, rss },
    series: {},
  };
  const md = [];

  if (only.has("size")) {
    console.log("series size: 1M, 5M, 10M segments, 100k concurrent");
    /** @type {any[]} points, then their runs (runPoints) */
    const points = [1_000_000, 5_000_000, 10_000_000].map((full) => {
      const segments = S(full);
      const c = ensureCapture({ seed, segments, concurrent: S(100_000), full: false, format: "pcap" });
      return {
        label: `${(segments / 1e6).toPrecision(2)}M segments`,
        file: c.file,
        segments,
        connections: c.side.totals.connections,
        bytes: c.side.totals.bytes,
      };
    });
    await runPoints(points, runs, rss);
    result.series.size = points.map(({ engineRuns, cliRuns, file, ...p }) => ({
      ...p,
      capture: relative(ROOT, file),
      engineRuns,
      cliRuns,
    }));
    md.push("### Capture size (100k concurrent connections, header-only)", "");
    md.push(
      "| segments | connections | MB | engine M seg/s median (min–max) | engine ns/segment | engine peak RSS | CLI M seg/s median (min–max) | CLI ns/segment | CLI peak RSS |",
    );
    md.push("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const p of points) {
      md.push(
        `| ${n0(p.segments)} | ${n0(p.connections)} | ${(p.bytes / 1e6).toFixed(0)} | ${m(p.engine.segmentsPerS)} | ${p.engine.nsPerSegment?.toFixed(0) ?? "-"} | ${fmtMiB(p.engine.maxRssKb)} | ${m(p.cli.segmentsPerS)} | ${p.cli.nsPerSegment?.toFixed(0) ?? "-"} | ${fmtMiB(p.cli.maxRssKb)} |`,
      );
    }
    md.push("");
  }

  if (only.has("concurrency")) {
    console.log(
      "series concurrency: 1k, 100k, 1M open at once; 10M segments, 8 per connection, one packet per connection every 10 s",
    );
    /** @type {any[]} points, then their runs (runPoints) */
    const points = [1_000, 100_000, 1_000_000].map((full) => {
      const concurrent = S(full);
      const c = ensureCapture({
        seed,
        segments: S(10_000_000),
        concurrent,
        full: false,
        format: "pcap",
        connSegments: 8,
        pps: Math.max(1, concurrent / 10),
      });
      return {
        label: `${concurrent >= 1e6 ? `${concurrent / 1e6}M` : `${concurrent / 1e3}k`} concurrent`,
        file: c.file,
        segments: S(10_000_000),
        concurrent,
        connections: c.side.totals.connections,
        bytes: c.side.totals.bytes,
        engineExtra: ["--probe-memory"],
      };
    });
    await runPoints(points, runs, rss);
    for (const p of points) {
      const e = p.engineRuns.find((r) => r.engine)?.engine;
      p.liveMax = e?.liveMax ?? null;
      p.wasmBytes = e?.wasmAtLiveMaxBytes ?? null;
      p.wasmBytesPerLiveFlow = e?.bytesPerLiveFlow ?? null;
    }
    result.series.concurrency = points.map(({ engineRuns, cliRuns, file, ...p }) => ({
      ...p,
      capture: relative(ROOT, file),
      engineRuns,
      cliRuns,
    }));
    md.push(
      "### Connections open at once (10M segments, header-only, each connection sends every 10 s on average)",
      "",
    );
    md.push(
      "| concurrent | connections | most live flows | engine M seg/s median (min–max) | engine ns/segment | engine wasm memory | engine peak RSS | CLI M seg/s median (min–max) | CLI peak RSS |",
    );
    md.push("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const p of points) {
      md.push(
        `| ${n0(p.concurrent)} | ${n0(p.connections)} | ${n0(p.liveMax)} | ${m(p.engine.segmentsPerS)} | ${p.engine.nsPerSegment?.toFixed(0) ?? "-"} | ${p.wasmBytes ? `${(p.wasmBytes / 2 ** 20).toFixed(0)} MiB` : "-"} | ${fmtMiB(p.engine.maxRssKb)} | ${m(p.cli.segmentsPerS)} | ${fmtMiB(p.cli.maxRssKb)} |`,
      );
    }
    md.push("");
  }

  let flood = null;
  const floodCapture = () =>
    (flood ??= ensureCapture({
      seed,
      segments: S(5_000_000),
      concurrent: 1,
      full: false,
      format: "pcap",
      mode: "synflood",
    }));

  if (only.has("flood")) {
    console.log("series flood: 5M unanswered SYNs from distinct sources");
    const c = floodCapture();
    const points = [
      { label: "CLI, default cap", argv: cliArgv(c.file), kind: "cli" },
      {
        label: `CLI, --flow-cap ${n0(S(1_000_000))}`,
        argv: cliArgv(c.file, ["--flow-cap", String(S(1_000_000))]),
        kind: "cli",
      },
    ];
    for (const p of points) p.runs = [];
    for (let round = 0; round < runs; round++) {
      for (const p of points) {
        const run = await measure(p.kind, p.argv, rss);
        p.runs.push(run);
        console.log(
          `  run ${round + 1}/${runs} ${p.label.padEnd(20)} ${run.exitCode === 0 ? `${(run.wallMs / 1000).toFixed(2)} s, ${run.flows} flows` : `FAILED (exit ${run.exitCode}): ${run.error}`}  ${fmtMiB(run.maxRssKb)}`,
        );
      }
    }
    // Census: every flow's conn_state and end_reason (and anomalies when the library reports them).
    /** @type {any[]} */
    const census = [];
    for (const [label, extra] of [
      ["default cap", []],
      [`--flow-cap ${n0(S(1_000_000))}`, ["--flow-cap", String(S(1_000_000))]],
    ]) {
      const run = await measure("engine", engineArgv(c.file, ["--warmup-mb", "0", "--census", ...extra]), rss);
      census.push({ label, ...run });
      console.log(
        `  census ${label}: ${run.exitCode === 0 ? JSON.stringify(run.engine.census) : `FAILED: ${run.error}`}`,
      );
    }
    const syns = c.side.totals.segments;
    result.series.flood = {
      capture: relative(ROOT, c.file),
      syns,
      points: points.map((p) => ({ label: p.label, argv: p.argv.slice(1), stats: stats(p.runs, syns), runs: p.runs })),
      census,
    };
    md.push(
      `### SYN flood (${n0(syns)} bare SYNs from distinct sources, no replies, ${(c.side.totals.bytes / 1e6).toFixed(0)} MB)`,
      "",
    );
    md.push("| run | result | wall median (min–max) | flows out | peak RSS |", "|---|---|---:|---:|---:|");
    for (const p of points) {
      const s = stats(p.runs, syns);
      const w = summarize(p.runs.filter((r) => r.exitCode === 0).map((r) => r.wallMs));
      const res = s.failed
        ? `**failed ${s.failed}/${p.runs.length}**: ${cell(s.errors.join("; "))}`
        : `ok ${s.ok}/${p.runs.length}`;
      md.push(
        `| ${p.label} | ${res} | ${s.ok ? `${(w.median / 1000).toFixed(2)} s (${(w.min / 1000).toFixed(2)}–${(w.max / 1000).toFixed(2)})` : "-"} | ${s.flows.map(n0).join("/") || "-"} | ${fmtMiB(s.maxRssKb)} |`,
      );
    }
    md.push("");
    md.push(
      "| census (in process) | flows | conn_state | end_reason | anomalies | every SYN reported as S0 |",
      "|---|---:|---|---|---|---|",
    );
    for (const x of census) {
      if (x.exitCode !== 0) {
        md.push(`| ${x.label} | - | - | - | - | **failed**: ${cell(x.error)} |`);
        continue;
      }
      const k = x.engine.census;
      const s0 = k.connState.S0 ?? 0;
      const anom = k.anomalies === null ? "not reported by this build" : JSON.stringify(k.anomalies);
      const allAnom =
        k.anomalies === null
          ? ""
          : (k.anomalies.syn_unanswered ?? 0) === syns
            ? ", every one syn_unanswered"
            : `, **${k.anomalies.syn_unanswered ?? 0} syn_unanswered**`;
      md.push(
        `| ${x.label} | ${n0(x.engine.flows)} | ${JSON.stringify(k.connState)} | ${JSON.stringify(k.endReason)} | ${anom} | ${x.engine.flows === syns && s0 === syns ? "yes" : "**no**"}${allAnom} |`,
      );
    }
    md.push("");
  }

  if (only.has("memory")) {
    console.log("series memory: SYN flood with the flow table full at 1M, 2M, 3M flows");
    const c = floodCapture();
    /** @type {any[]} */
    const points = [];
    for (const cap of [1_000_000, 2_000_000, 3_000_000].map(S)) {
      const rs = [];
      for (let round = 0; round < runs; round++)
        rs.push(
          await measure(
            "engine",
            engineArgv(c.file, ["--warmup-mb", "0", "--probe-memory", "--flow-cap", String(cap)]),
            rss,
          ),
        );
      const ok = rs.filter((r) => r.exitCode === 0);
      const e = ok[0]?.engine;
      points.push({
        cap,
        liveMax: e?.liveMax ?? null,
        rssKb: summarize(ok.map((r) => r.maxRssKb)).median,
        wasmBytes: e?.wasmAtLiveMaxBytes ?? null,
        record: e?.recordBytes ?? null,
        errors: rs.filter((r) => r.error).map((r) => r.error),
      });
      console.log(
        `  cap ${n0(cap)}: live ${n0(e?.liveMax)}, peak RSS ${fmtMiB(points.at(-1).rssKb)}, wasm ${e ? (e.wasmAtLiveMaxBytes / 2 ** 20).toFixed(0) : "-"} MiB`,
      );
    }
    // Least-squares slope of peak RSS over live flows: the marginal bytes per live flow.
    const xy = points.filter((p) => p.liveMax && Number.isFinite(p.rssKb)).map((p) => [p.liveMax, p.rssKb * 1024]);
    /** @type {number | null} */
    let slope = null;
    /** @type {number | null} */
    let intercept = null;
    if (xy.length >= 2) {
      const mx = xy.reduce((a, [x]) => a + x, 0) / xy.length;
      const my = xy.reduce((a, [, y]) => a + y, 0) / xy.length;
      slope = xy.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / xy.reduce((a, [x]) => a + (x - mx) ** 2, 0);
      intercept = my - slope * mx;
    }
    const rec = points.find((p) => p.record)?.record ?? null;
    result.series.memory = {
      capture: relative(ROOT, c.file),
      points,
      rssBytesPerLiveFlow: slope,
      rssInterceptBytes: intercept,
      recordBytes: rec,
    };
    md.push("### Engine memory per live connection", "");
    md.push("| flow cap = live flows | peak RSS (median) | wasm linear memory |", "|---:|---:|---:|");
    for (const p of points)
      md.push(
        `| ${n0(p.liveMax ?? p.cap)} | ${fmtMiB(p.rssKb)} | ${p.wasmBytes ? `${(p.wasmBytes / 2 ** 20).toFixed(0)} MiB` : "-"}${p.errors.length ? ` (failed: ${cell(p.errors[0])})` : ""} |`,
      );
    md.push("");
    if (slope !== null) {
      md.push(
        `Peak RSS grows by **${slope.toFixed(0)} bytes per live flow** (least-squares slope; ${fmtMiB((intercept ?? 0) / 1024)} at zero flows). ` +
          (rec
            ? `The engine's live records are REC_LIVE ${rec.REC_LIVE} bytes per flow (assembly/flow/live.ts), plus blocks taken on first use (assembly/flow/table.ts): an extension block (EXT_SIZE ${rec.EXT_SIZE} bytes and two block references) for flows that recorded an anomaly or HTTP, its live-only tail for those with a wide value, a T or W counter or a history past 12 letters, a hole block for a stream with out-of-order ranges, and 8-byte index entries at load ≤ ¾ (11–21 bytes per flow).`
            : ""),
        "",
      );
    }
  }

  if (only.has("threads")) {
    const max = Number(v["max-threads"] ?? availableParallelism());
    if (!Number.isInteger(max) || max < 1) fail("--max-threads must be a positive integer");
    const counts = [];
    for (let t = 1; t <= max; t *= 2) counts.push(t);
    if (counts.at(-1) !== max) counts.push(max);
    const segments = S(10_000_000);
    const c = ensureCapture({ seed, segments, concurrent: S(100_000), full: false, format: "pcap" });
    console.log(
      `series threads: the CLI with --threads ${counts.join(", ")} on ${n0(segments)} segments (load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(" ")})`,
    );
    const points = counts.map((t) => ({
      threads: t,
      argv: cliArgv(c.file, ["--threads", String(t)]),
      runs: /** @type {any[]} */ ([]),
      loadavg: /** @type {number[][]} */ ([]),
    }));
    for (let round = 0; round < runs; round++) {
      for (const p of points) {
        p.loadavg.push(loadavg());
        const run = await measure("cli", p.argv, rss);
        p.runs.push(run);
        const base = points[0].runs[round];
        const ratio =
          run.exitCode === 0 && base?.exitCode === 0 ? ` ${(base.wallMs / run.wallMs).toFixed(2)}x of 1 thread` : "";
        console.log(
          `  run ${round + 1}/${runs} --threads ${String(p.threads).padEnd(3)} ${run.exitCode === 0 ? `${(segments / (run.wallMs / 1000) / 1e6).toFixed(2)} M seg/s, ${run.flows} flows${ratio}` : `FAILED: ${run.error}`}  load ${loadavg()[0].toFixed(2)}`,
        );
      }
    }
    const speedups = points.map((p) =>
      p.runs.map((r, i) =>
        r.exitCode === 0 && points[0].runs[i].exitCode === 0 ? points[0].runs[i].wallMs / r.wallMs : NaN,
      ),
    );
    result.series.threads = {
      capture: relative(ROOT, c.file),
      segments,
      points: points.map((p, i) => ({
        threads: p.threads,
        argv: p.argv.slice(1),
        stats: stats(p.runs, segments),
        speedups: speedups[i],
        loadavg: p.loadavg,
        runs: p.runs,
      })),
    };
    md.push(`### Threads (CLI, ${n0(segments)} header-only segments, 100k concurrent, ndjson written to a file)`, "");
    md.push(
      "| --threads | M seg/s median (min–max) | speed-up over 1 thread, same round (each round) | flows out | peak RSS |",
      "|---:|---:|---|---:|---:|",
    );
    for (const [i, p] of points.entries()) {
      const st = stats(p.runs, segments);
      md.push(
        `| ${p.threads} | ${m(st.segmentsPerS)} | ${speedups[i].map((x) => (Number.isFinite(x) ? `${x.toFixed(2)}x` : "-")).join(", ")} | ${st.flows.map(n0).join("/") || "-"} | ${fmtMiB(st.maxRssKb)} |`,
      );
    }
    md.push("");
  }

  result.loadavg = { before: load0, after: loadavg() };
  const head = [
    `# Scaling, ${result.date.slice(0, 10)}`,
    "",
    `Machine: ${machine.cpus} vCPU ${machine.cpuModel}, ${(machine.memBytes / 2 ** 30).toFixed(0)} GiB RAM, ${machine.os ?? machine.platform}, Node ${machine.node}. ` +
      `${machine.envDropped.length ? `Contenders run without ${machine.envDropped.join(", ")} (bench/lib/run-child.mjs DROPPED_ENV). ` : ""}` +
      `Command: \`npm run bench:scaling${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}\`. ${runs} measured runs per point, fresh process each; ` +
      `load average ${load0.map((x) => x.toFixed(2)).join(" ")} before, ${result.loadavg.after.map((x) => x.toFixed(2)).join(" ")} after. ` +
      "Engine: in process after a warm-up pass (bench/engine.mjs), time of the measured pass; CLI: spawn to exit, `analyze --format ndjson`, stdout written to a file (counted, then removed).",
    "",
  ];
  const text = [...head, ...md].join("\n");
  console.log("");
  console.log(text);
  const dir = resolve(v["results-dir"] ?? join(BENCH_DIR, "results"));
  mkdirSync(dir, { recursive: true });
  const day = result.date.slice(0, 10);
  let stem = join(dir, `scaling-${day}`);
  for (let i = 2; existsSync(`${stem}.json`); i++) stem = join(dir, `scaling-${day}-${i}`);
  writeFileSync(`${stem}.json`, JSON.stringify(result, null, 2) + "\n");
  writeFileSync(`${stem}.md`, text + "\n");
  console.log(`results: ${relative(ROOT, stem)}.json, .md`);
}

main().catch((e) => fail(e.stack ?? String(e)));
