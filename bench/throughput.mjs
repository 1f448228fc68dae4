#!/usr/bin/env node
/**
 * Throughput benchmark: flowrecon side by side with the tools users would pick instead, on the same
 * generated capture, in the same run.
 *
 *   npm run bench                                  # both suites, 3 measured rounds
 *   npm run bench -- --suite main --runs 5         # only the 10M-segment suite
 *   npm run bench -- --only engine,cli,js-typed    # a subset of contenders
 *
 * Suites (each on its own generated header-only capture, snaplen 96):
 * - main (10M segments, 100k concurrent): the I/O floor, flowrecon's engine alone (in process),
 *   the CLI end to end (output written to a file, and into a pipe), the HTTP API end to end (a fresh
 *   server's first upload, and a running server's second), the JavaScript references (typed-array table,
 *   Map) and the peers tcptrace -n, argus and ndpiReader;
 * - tshark (2M segments): the I/O floor, the engine, the CLI (file and pipe) and `tshark -q -z conv,tcp` (tshark
 *   needs ~14 µs a segment here, so it gets the smaller capture the target is stated on).
 *
 * Method (docs/assemblyscript-performance.md §5): every run is a fresh process; light contenders
 * get `--warmup` discarded rounds (they also put the capture in the page cache), heavy ones
 * (tens of seconds a run) none; contenders are interleaved within each round so that load drifting
 * on a shared machine hits all of them alike; the ratio to the CLI is taken per round, then its
 * median and min–max are reported. A contender whose tool is not installed (or, for the HTTP API,
 * whose dist/server.js is not built) is skipped with a note, never estimated. See bench/README.md.
 *
 * @module
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { basename, dirname, join, relative, resolve } from "node:path";
import { parseCommandLine } from "./lib/cli-args.mjs";
import { defaultUploadClient } from "./lib/curl-upload.mjs";
import { processCpuS } from "./lib/proc-stat.mjs";
import { hostMemoryLine, latencyLine, transparentHugePages, vcpuLatency } from "./lib/host-memory.mjs";
import { defaultRssMethod, runMeasured, splitCommand } from "./lib/run-child.mjs";
import { sharedPath } from "./lib/shared.mjs";
import { summarize } from "./lib/stats.mjs";
import { barChart, si } from "./lib/svg.mjs";
import {
  BENCH_DIR,
  ROOT,
  displayArgv,
  ensureCapture,
  freePort,
  fmtMiB,
  fmtMs,
  gitInfo,
  machineInfo,
  serverStartArgs,
  toolVersion,
  waitForPort,
  which,
} from "./lib/harness.mjs";

const DEFAULT_CMD = "node bin/flowrecon.js analyze {file} --format ndjson";

const USAGE = `usage: node bench/throughput.mjs [options]      (npm run bench -- [options])
  --suite S            all (default) | main | tshark
  --runs N             measured rounds (default 3)
  --warmup N           discarded warm-up rounds for the light contenders (default 1)
  --only LIST          run only these contenders (comma-separated keys, see below)
  --skip LIST          leave these contenders out
  --segments N         main suite capture: segments (default 10000000)
  --tshark-segments N  tshark suite capture: segments (default 2000000)
  --concurrent N       generated captures: concurrent connections (default 100000)
  --seed N             generated captures: seed (default 1)
  --anomaly-share X    generated captures: share of connections with an injected anomaly (generator default)
  --full               generated captures: full packets (default: headers only, snaplen 96)
  --pcapng             generated captures: pcapng instead of pcap
  --capture FILE       main suite on this capture instead (segments/s need its FILE.json sidecar)
  --cmd "CMD"          the CLI command under test; {file} is replaced by the capture path
                       (default: ${DEFAULT_CMD})
  --rss METHOD         time (GNU /usr/bin/time, default when present) | node-hook
  --results-dir DIR    where the JSON, markdown and SVG go (default bench/results)
  --label TEXT         free text stored with the results
  --no-cli             leave out both CLI contenders (cli, cli-pipe)
  --http-client C      the HTTP API contender's client: curl (default where installed) | node
  --no-vcpu-probe      skip the memory latency of each vCPU before and after the rounds (~2 s a vCPU)
contenders: io-floor c-floor engine engine-no-fast-path cli cli-pipe http http-warm js-typed js-map tcptrace argus ndpi tshark`;

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

function fmtRatio(x) {
  if (!Number.isFinite(x)) return "-";
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/** VmHWM (peak resident set, KiB) of a live process, from /proc. */
function vmHwmKb(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * One HTTP API run: a fresh server as `npm start` runs it (serverStartArgs) on 127.0.0.1 with an
 * ephemeral PORT, one streamed upload by bench/http-upload.mjs with the client `client` (curl or
 * node: bench/lib/curl-upload.mjs says why curl), the response read to its last byte. Time: the
 * client's (request opened to last byte). Peak RSS: the server's VmHWM read while it is still
 * running, after the response (exact for the server process; workers it may spawn are not
 * included). CPU: the server's (all its threads, /proc/PID/stat, from just before the upload to
 * after its last byte) and the client's as bench/http-upload.mjs reports it (curl's, or the Node
 * client's own). `before`: uploads of the same file to the same server first, not measured (the
 * running server's figure: its engine threads start on the memory of the last upload's engines,
 * src/wasm/spare-memory.ts, and V8 has compiled the hot wasm).
 */
async function runHttp(file, rss, client, before = 0) {
  const port = await freePort();
  let stderr = "";
  const server = spawn(process.execPath, serverStartArgs(), {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  server.stderr.on("data", (c) => (stderr = (stderr + c).slice(-4096)));
  const exited = new Promise((res) => server.once("exit", res));
  try {
    await waitForPort(port, 15_000, server);
    const upload = [
      process.execPath,
      join(BENCH_DIR, "http-upload.mjs"),
      "--port",
      String(port),
      "--client",
      client,
      file,
    ];
    for (let i = 0; i < before; i++) {
      const w = await runMeasured(upload, { cwd: ROOT, keepStdout: 4096 });
      if (w.exitCode !== 0) return { exitCode: w.exitCode, stderrTail: `${w.stderrTail}\nserver: ${stderr}` };
    }
    const serverCpu0 = processCpuS(server.pid);
    const r = await runMeasured(upload, { rss, cwd: ROOT, keepStdout: 4096 });
    const serverCpu1 = processCpuS(server.pid);
    const serverRssKb = vmHwmKb(server.pid);
    if (r.exitCode !== 0) return { exitCode: r.exitCode, stderrTail: `${r.stderrTail}\nserver: ${stderr}` };
    const c = JSON.parse(r.stdout.trim().split("\n").pop() ?? "");
    return {
      exitCode: 0,
      wallMs: r.wallMs,
      innerMs: c.elapsedMs,
      maxRssKb: serverRssKb,
      clientRssKb: r.maxRssKb,
      clientCpuS: c.clientCpuS ?? null,
      serverCpuS: serverCpu0 === null || serverCpu1 === null ? null : serverCpu1 - serverCpu0,
      outBytes: c.responseBytes,
      outLines: c.lines,
      // The NDJSON answer ends with one trailer line ({"stats": ...}, src/http/flow-writer.ts).
      flows: c.lines - 1,
    };
  } finally {
    server.kill("SIGTERM");
    await exited;
  }
}

/**
 * The C floor of ../shared/perf (flowfloor.c: parse, hash and count per flow, nothing else), built
 * once per harness run with its own script (gcc -O2; it installs libpcap-dev when missing).
 * Returns { path } or { reason } when it cannot be built here.
 */
let cFloorBuild = null;
function cFloor() {
  if (cFloorBuild) return cFloorBuild;
  const script = sharedPath("perf", "build-floor.sh");
  if (!existsSync(script))
    return (cFloorBuild = { reason: "../shared/perf/build-floor.sh not found beside the repository" });
  try {
    const path = execFileSync("bash", [script], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
      .trim()
      .split("\n")
      .pop();
    cFloorBuild = path && existsSync(path) ? { path } : { reason: `build-floor.sh printed no binary (${path})` };
  } catch (err) {
    const e = /** @type {{ stderr?: string, message?: string }} */ (err);
    cFloorBuild = {
      reason: `build-floor.sh failed: ${String(e.stderr ?? e.message)
        .trim()
        .split("\n")
        .pop()}`,
    };
  }
  return cFloorBuild;
}

/**
 * The contenders. kind: floor | flowrecon | ref | peer. heavy: no warm-up round (runs of tens of
 * seconds; the page cache is warm from the light ones). time: "wall" (spawn to exit) or "inner"
 * (the contender's own timing of its work: the engine's measured pass, the HTTP client's upload to
 * last byte).
 */
function contenderTable(cliLine, httpClient) {
  const node = process.execPath;
  const cliArgv = (f) => {
    let argv = splitCommand(cliLine);
    argv = argv.includes("{file}") ? argv.map((a) => (a === "{file}" ? f : a)) : [...argv, f];
    if (argv[0] === "node") argv[0] = node;
    return argv;
  };
  const cliName = `flowrecon CLI: ${cliLine.replace(/^node /, "").replace(" {file}", "")}`;
  const cliMissing = () => (existsSync(join(ROOT, "bin", "flowrecon.js")) ? notBuilt : "bin/flowrecon.js is missing");
  const built = existsSync(join(ROOT, "dist", "index.js")) && existsSync(join(ROOT, "build", "flowrecon.wasm"));
  const notBuilt = built ? null : "dist/ or build/flowrecon.wasm missing: run npm run build";
  /** An HTTP API contender: a fresh server, `uploadsBefore` unmeasured uploads, then the measured one (runHttp). */
  const httpContender = (key, name, uploadsBefore) => ({
    key,
    name,
    httpClient,
    kind: "flowrecon",
    time: "inner",
    http: true,
    uploadsBefore,
    missing: () =>
      existsSync(join(ROOT, "dist", "server.js"))
        ? notBuilt
        : "dist/server.js does not exist in this tree (the HTTP API is not built)",
  });
  const peer = (bin, key) => (which(bin) ? null : `${bin} is not installed (apt-get install ${key})`);
  return [
    {
      key: "io-floor",
      name: "I/O floor: cat > /dev/null",
      kind: "floor",
      argv: (f) => ["cat", f],
      out: { discardStdout: true },
      time: "wall",
    },
    {
      key: "c-floor",
      name: "C floor: flowfloor -r (../shared/perf: parse, hash, count)",
      kind: "floor",
      time: "wall",
      argv: (f) => [cFloor().path ?? "flowfloor", "-r", f],
      out: { keepStdout: 1 << 16 },
      missing: () => cFloor().reason ?? null,
      parse: (s) => ({ flows: Number(/flows=(\d+)/.exec(s)?.[1] ?? NaN) }),
    },
    {
      key: "engine",
      name: "flowrecon engine (library, in process)",
      kind: "flowrecon",
      time: "inner",
      argv: (f) => [node, join(BENCH_DIR, "engine.mjs"), f],
      out: { keepStdout: 1 << 16 },
      missing: () => notBuilt,
      parse: (s) => {
        const j = JSON.parse(s.trim().split("\n").pop());
        return { innerMs: j.elapsedMs, cpuMs: j.cpuMs ?? null, flows: j.flows };
      },
    },
    {
      key: "engine-no-fast-path",
      name: "flowrecon engine, tracker fast path off (--no-fast-path)",
      kind: "flowrecon",
      time: "inner",
      argv: (f) => [node, join(BENCH_DIR, "engine.mjs"), f, "--no-fast-path"],
      out: { keepStdout: 1 << 16 },
      missing: () => notBuilt,
      parse: (s) => {
        const j = JSON.parse(s.trim().split("\n").pop());
        return { innerMs: j.elapsedMs, cpuMs: j.cpuMs ?? null, flows: j.flows };
      },
    },
    {
      // Issue 10's "CLI end to end, output written": stdout is a file (bench/out/, this harness's pid
      // in the name), counted after the run and deleted, so nothing competes with the CLI for the cores.
      key: "cli",
      name: `${cliName}, stdout to a file`,
      kind: "flowrecon",
      time: "wall",
      argv: cliArgv,
      out: { stdoutFile: join(BENCH_DIR, "out", `.cli-stdout-${process.pid}.tmp`) },
      flowsFromLines: true,
      missing: cliMissing,
    },
    {
      // The same command, stdout into a pipe this process reads and counts while the CLI runs (the
      // harness's measurement before the file one; on 2 vCPUs the reader takes a core's share).
      key: "cli-pipe",
      name: `${cliName}, stdout into a pipe`,
      kind: "flowrecon",
      time: "wall",
      argv: cliArgv,
      out: {},
      flowsFromLines: true,
      missing: cliMissing,
    },
    httpContender(
      "http",
      `flowrecon HTTP API: POST /v1/analyze (loopback, ${httpClient === "curl" ? "curl -T" : "Node client"})`,
      0,
    ),
    httpContender(
      "http-warm",
      `flowrecon HTTP API, the second upload to a running server (${httpClient === "curl" ? "curl -T" : "Node client"})`,
      1,
    ),
    {
      key: "js-typed",
      name: "JavaScript, typed-array flow table",
      kind: "ref",
      time: "wall",
      argv: (f) => [node, join(BENCH_DIR, "ref", "js-typed.mjs"), f],
      out: { keepStdout: 1 << 16 },
      parse: (s) => ({ flows: JSON.parse(s.trim().split("\n").pop()).flows }),
    },
    {
      key: "js-map",
      name: "JavaScript, Map flow table",
      kind: "ref",
      time: "wall",
      heavy: true,
      argv: (f) => [node, join(BENCH_DIR, "ref", "js-map.mjs"), f],
      out: { keepStdout: 1 << 16 },
      parse: (s) => ({ flows: JSON.parse(s.trim().split("\n").pop()).flows }),
    },
    {
      key: "tcptrace",
      name: "tcptrace -n",
      kind: "peer",
      time: "wall",
      heavy: true,
      version: ["tcptrace", "-v"],
      argv: (f) => ["tcptrace", "-n", f],
      out: { countNeedle: " - " },
      flowsFromNeedle: true,
      missing: () => peer("tcptrace", "tcptrace"),
    },
    {
      key: "argus",
      name: "argus -r FILE -w /dev/null",
      kind: "peer",
      time: "wall",
      heavy: true,
      version: ["argus", "-h"],
      argv: (f) => ["argus", "-r", f, "-w", "/dev/null"],
      out: {},
      missing: () => peer("argus", "argus-server"),
    },
    {
      key: "ndpi",
      name: "ndpiReader -i FILE -q",
      kind: "peer",
      time: "wall",
      heavy: true,
      version: ["ndpiReader", "-h"],
      argv: (f) => ["ndpiReader", "-i", f, "-q"],
      out: {},
      missing: () => peer("ndpiReader", "libndpi-bin"),
    },
    {
      key: "tshark",
      name: "tshark -q -z conv,tcp",
      kind: "peer",
      time: "wall",
      heavy: true,
      version: ["tshark", "--version"],
      argv: (f) => ["tshark", "-q", "-z", "conv,tcp", "-r", f],
      out: { countNeedle: " <-> " },
      flowsFromNeedle: true,
      missing: () => peer("tshark", "tshark"),
    },
  ];
}

const SUITES = {
  main: {
    title: "main",
    keys: [
      "io-floor",
      "c-floor",
      "engine",
      "engine-no-fast-path",
      "cli",
      "cli-pipe",
      "http",
      "http-warm",
      "js-typed",
      "js-map",
      "tcptrace",
      "argus",
      "ndpi",
    ],
  },
  tshark: { title: "tshark", keys: ["io-floor", "c-floor", "engine", "cli", "cli-pipe", "tshark"] },
};

/** Runs one suite: rounds of interleaved contenders; returns its results object. */
async function runSuite(suiteName, capture, table, opts) {
  const fileBytes = statSync(capture.file).size;
  const segments = capture.side?.totals.segments ?? null;
  const expectedFlows = capture.side?.totals.connections ?? null;
  const byKey = new Map(table.map((c) => [c.key, c]));
  const contenders = [];
  const skipped = [];
  for (const key of SUITES[suiteName].keys) {
    if (opts.only && !opts.only.has(key)) continue;
    if (opts.skip.has(key)) continue;
    const c = byKey.get(key);
    const why = c.missing?.() ?? null;
    if (why) {
      skipped.push({ key, name: c.name, reason: why });
      console.log(`  skip ${key}: ${why}`);
      continue;
    }
    contenders.push({ ...c, runs: [], warmups: 0 });
  }
  for (const c of contenders) if (c.out?.stdoutFile) mkdirSync(dirname(c.out.stdoutFile), { recursive: true });
  console.log(
    `suite ${suiteName}: ${contenders.map((c) => c.key).join(", ")}; ${opts.warmup} warm-up round(s) for the light ones + ${opts.runs} measured, interleaved`,
  );
  const load0 = loadavg();
  for (let round = 0; round < opts.warmup + opts.runs; round++) {
    const measured = round >= opts.warmup;
    for (const c of contenders) {
      if (!measured && c.heavy) continue;
      /** @type {any} a run of the CLI (runMeasured) or of the API client (runHttp) */
      let r;
      if (c.http) {
        r = await runHttp(capture.file, opts.rss, c.httpClient, c.uploadsBefore);
      } else {
        r = await runMeasured(c.argv(capture.file), { rss: opts.rss, cwd: ROOT, ...c.out });
      }
      if (r.exitCode !== 0) fail(`${c.key} exited with ${r.exitCode ?? r.signal}\n${r.stderrTail}`);
      /** @type {Record<string, any>} */
      const run = {
        wallMs: r.wallMs,
        maxRssKb: r.maxRssKb ?? null,
        userS: r.userS ?? null,
        sysS: r.sysS ?? null,
        outBytes: c.out?.discardStdout ? null : r.outBytes,
        outLines: c.out?.discardStdout ? null : r.outLines,
      };
      if (c.http)
        Object.assign(run, {
          innerMs: r.innerMs,
          flows: r.flows,
          clientRssKb: r.clientRssKb,
          clientCpuS: r.clientCpuS,
          serverCpuS: r.serverCpuS,
        });
      if (c.parse) Object.assign(run, c.parse(r.stdout));
      if (c.flowsFromLines) run.flows = r.outLines;
      if (c.flowsFromNeedle) run.flows = r.needleCount;
      run.timeMs = c.time === "inner" ? run.innerMs : run.wallMs;
      run.segmentsPerS = segments ? segments / (run.timeMs / 1000) : null;
      run.mbPerS = fileBytes / 1e6 / (run.timeMs / 1000);
      run.round = round - opts.warmup;
      if (measured) c.runs.push(run);
      process.stdout.write(
        `  ${measured ? `run ${round - opts.warmup + 1}/${opts.runs}` : "warm-up"} ${c.key.padEnd(9)} ${fmtMs(run.timeMs).padStart(8)}` +
          `${run.segmentsPerS ? `  ${(run.segmentsPerS / 1e6).toFixed(2)} M seg/s` : ""}${run.maxRssKb ? `  ${fmtMiB(run.maxRssKb)}` : ""}` +
          `${run.flows !== undefined && run.flows !== null ? `  ${run.flows} flows` : ""}\n`,
      );
    }
  }
  const load1 = loadavg();

  const cli = contenders.find((c) => c.key === "cli");
  const floor = contenders.find((c) => c.key === "io-floor");
  const floorMs = floor ? summarize(floor.runs.map((r) => r.timeMs)).median : NaN;
  for (const c of contenders) {
    const time = summarize(c.runs.map((r) => r.timeMs));
    const wall = summarize(c.runs.map((r) => r.wallMs));
    const rss = summarize(c.runs.map((r) => r.maxRssKb ?? NaN));
    const flows = [...new Set(c.runs.map((r) => r.flows).filter((x) => x !== undefined && x !== null))];
    // Per-round ratio: contender time / CLI time in the same round = CLI segments/s / contender segments/s.
    let ratio = null;
    if (cli && c !== cli) {
      const xs = c.runs.map((r) => {
        const mate = cli.runs.find((q) => q.round === r.round);
        return mate ? r.timeMs / mate.timeMs : NaN;
      });
      ratio = summarize(xs);
    }
    c.summary = {
      timeMs: time,
      wallMs: wall,
      segmentsPerS: segments
        ? {
            median: segments / (time.median / 1000),
            min: segments / (time.max / 1000),
            max: segments / (time.min / 1000),
          }
        : null,
      mbPerS: {
        median: fileBytes / 1e6 / (time.median / 1000),
        min: fileBytes / 1e6 / (time.max / 1000),
        max: fileBytes / 1e6 / (time.min / 1000),
      },
      maxRssKb: rss.n ? { max: rss.max, median: rss.median } : null,
      cliSpeedup: ratio,
      overIoFloor: Number.isFinite(floorMs) ? time.median / floorMs : null,
      flows: flows.length === 0 ? null : flows.length === 1 ? flows[0] : flows,
      outBytes: c.runs[0]?.outBytes ?? null,
    };
    if (c.http) {
      const cpu = (k) => {
        const xs = c.runs.map((r) => r[k]).filter((x) => typeof x === "number");
        return xs.length ? summarize(xs) : null;
      };
      c.summary.clientCpuS = cpu("clientCpuS");
      c.summary.serverCpuS = cpu("serverCpuS");
    }
  }
  return {
    suite: suiteName,
    capture: {
      path: relative(ROOT, capture.file),
      bytes: fileBytes,
      segments,
      connections: expectedFlows,
      params: capture.side?.params ?? null,
      generated: capture.generated,
      expectedConnState: capture.side?.expectedConnState ?? null,
    },
    loadavgBefore: load0,
    loadavgAfter: load1,
    contenders: contenders.map((c) => ({
      key: c.key,
      name: c.name,
      kind: c.kind,
      time: c.time,
      ...(c.http ? { httpClient: c.httpClient } : {}),
      argv: c.http
        ? [
            "node",
            ...serverStartArgs(),
            "+",
            "node",
            "bench/http-upload.mjs",
            "--port",
            "{port}",
            "--client",
            c.httpClient,
            "{file}",
          ]
        : displayArgv(c.argv("{file}")),
      version: c.version ? toolVersion(c.version) : null,
      summary: c.summary,
      runs: c.runs,
    })),
    skipped,
  };
}

/** Markdown table of one suite. */
export function suiteTable(s) {
  const cap = s.capture;
  const lines = [];
  lines.push(
    `**${s.suite} suite**: \`${basename(cap.path)}\`, ${cap.segments?.toLocaleString("en-US") ?? "?"} segments, ` +
      `${cap.connections?.toLocaleString("en-US") ?? "?"} connections` +
      `${cap.params ? ` (${cap.params.concurrent.toLocaleString("en-US")} concurrent, snaplen ${cap.params.snaplen}, ${cap.params.format})` : ""}, ${(cap.bytes / 1e6).toFixed(1)} MB; ` +
      `${s.contenders[0]?.runs.length ?? 0} measured runs each; load average ${s.loadavgBefore.map((x) => x.toFixed(2)).join(" ")} before, ${s.loadavgAfter.map((x) => x.toFixed(2)).join(" ")} after.`,
  );
  lines.push("");
  lines.push(
    "| contender | M segments/s median (min–max) | MB/s median | peak RSS | CLI is × faster, median (min–max) | time median | flows |",
  );
  lines.push("|---|---:|---:|---:|---:|---:|---:|");
  for (const c of s.contenders) {
    const x = c.summary;
    const seg = x.segmentsPerS
      ? `${(x.segmentsPerS.median / 1e6).toFixed(2)} (${(x.segmentsPerS.min / 1e6).toFixed(2)}–${(x.segmentsPerS.max / 1e6).toFixed(2)})`
      : "-";
    const ratio = x.cliSpeedup
      ? `${fmtRatio(x.cliSpeedup.median)} (${fmtRatio(x.cliSpeedup.min)}–${fmtRatio(x.cliSpeedup.max)})`
      : c.key === "cli"
        ? "1"
        : "-";
    let flows = x.flows === null ? "-" : Array.isArray(x.flows) ? x.flows.join("/") : x.flows.toLocaleString("en-US");
    if (typeof x.flows === "number" && s.capture.connections !== null)
      flows += x.flows === s.capture.connections ? " ✓" : "";
    const timeNote = c.time === "inner" ? " ¹" : "";
    lines.push(
      `| ${c.name}${timeNote} | ${seg} | ${x.mbPerS.median.toFixed(0)} | ${fmtMiB(x.maxRssKb?.max)} | ${ratio} | ${fmtMs(x.timeMs.median)} | ${flows} |`,
    );
  }
  for (const k of s.skipped) lines.push(`| ${k.name} | skipped: ${k.reason} | | | | | |`);
  const http = s.contenders.find((c) => c.key === "http");
  const warm = s.contenders.find((c) => c.key === "http-warm");
  const cpu = (x) => (x ? `${x.median.toFixed(2)} s (${x.min.toFixed(2)}–${x.max.toFixed(2)})` : "not measured");
  if (http)
    lines.push(
      "",
      `HTTP API upload: client ${http.httpClient === "curl" ? "curl -T (bench/lib/curl-upload.mjs)" : "Node (bench/http-upload.mjs)"}, ` +
        `its CPU ${cpu(http.summary.clientCpuS)}; the server's CPU (all threads, upload to last byte) ${cpu(http.summary.serverCpuS)}. ` +
        "Both share the host's cores." +
        (warm ? ` The second upload to a running server: the server's CPU ${cpu(warm.summary.serverCpuS)}.` : ""),
    );
  return lines.join("\n");
}

/**
 * a's time ÷ b's time in the same round, over the rounds both ran (median, min, max).
 * @param {{runs: {round: number, timeMs: number}[]}} a
 * @param {{runs: {round: number, timeMs: number}[]}} b
 */
function perRound(a, b) {
  return summarize(
    a.runs.map((r) => {
      const mate = b.runs.find((q) => q.round === r.round);
      return mate ? r.timeMs / mate.timeMs : NaN;
    }),
  );
}

/** The issue's targets, checked against the measured figures. */
function evaluateTargets(suites) {
  const get = (suite, key) => suites.find((s) => s.suite === suite)?.contenders.find((c) => c.key === key) ?? null;
  const targets = [];
  const engine = get("main", "engine") ?? get("tshark", "engine");
  if (engine) {
    const v = engine.summary.segmentsPerS;
    targets.push({
      target: "engine alone ≥ 10 M segments/s, header-only capture",
      value: `${(v.median / 1e6).toFixed(2)} M/s (${(v.min / 1e6).toFixed(2)}–${(v.max / 1e6).toFixed(2)})`,
      met: v.median >= 10e6,
    });
  }
  // Engine against the C floor, per round (same round, same load), as issue 10 states it.
  for (const suite of ["main", "tshark"]) {
    const e = get(suite, "engine"),
      f = get(suite, "c-floor");
    if (!e || !f) continue;
    const xs = e.runs.map((r) => {
      const mate = f.runs.find((q) => q.round === r.round);
      return mate ? mate.timeMs / r.timeMs : NaN;
    });
    const r = summarize(xs);
    targets.push({
      target: `engine alone ≥ 0.8 × the C floor flowfloor -r (${suite} suite)`,
      value: `${fmtRatio(r.median)}× (${fmtRatio(r.min)}–${fmtRatio(r.max)})`,
      met: r.median >= 0.8,
    });
    break;
  }
  // The CLI's ratio is its file run's (cliSpeedup: against "cli", output written to a file); the
  // pipe run's ratio, where it was measured, goes beside it.
  const ratioTarget = (suite, key, need, label) => {
    const c = get(suite, key);
    const r = c?.summary.cliSpeedup;
    if (!r) {
      targets.push({ target: label, value: "not measured (contender skipped or not selected)", met: null });
      return;
    }
    const pipe = get(suite, "cli-pipe");
    const p = pipe ? perRound(c, pipe) : null;
    targets.push({
      target: label,
      value:
        `${fmtRatio(r.median)}× (${fmtRatio(r.min)}–${fmtRatio(r.max)})` +
        (p ? `; into a pipe ${fmtRatio(p.median)}× (${fmtRatio(p.min)}–${fmtRatio(p.max)})` : ""),
      met: r.median >= need,
      ...(p ? { pipe: { median: p.median, min: p.min, max: p.max } } : {}),
    });
  };
  const size = (suite) => {
    const n = suites.find((s) => s.suite === suite)?.capture.segments;
    return n ? `${si(n)} segments` : "suite not run";
  };
  // Issue 10's ratios (CLI end to end, output written).
  ratioTarget("tshark", "tshark", 60, `CLI ≥ 60 × tshark -q -z conv,tcp (${size("tshark")}; target stated on 2M)`);
  ratioTarget("main", "tcptrace", 20, `CLI ≥ 20 × tcptrace -n (${size("main")}; target stated on 10M)`);
  ratioTarget("main", "argus", 10, `CLI ≥ 10 × argus (${size("main")})`);
  ratioTarget("main", "js-map", 10, `CLI ≥ 10 × JavaScript Map loop (${size("main")})`);
  ratioTarget("main", "js-typed", 1.5, `CLI ≥ 1.5 × JavaScript typed-array loop (${size("main")})`);
  const http = get("main", "http");
  if (http) {
    const v = http.summary.mbPerS;
    // Judged on a fresh server's first upload; a running server's second is shown beside it.
    const w = get("main", "http-warm")?.summary.mbPerS;
    targets.push({
      target: "HTTP API, one upload ≥ 300 MB/s",
      value:
        `${v.median.toFixed(0)} MB/s (${v.min.toFixed(0)}–${v.max.toFixed(0)}), a fresh server's first upload` +
        (w ? `; a running server's second: ${w.median.toFixed(0)} MB/s (${w.min.toFixed(0)}–${w.max.toFixed(0)})` : ""),
      met: v.median >= 300,
    });
  } else {
    targets.push({
      target: "HTTP API, one upload ≥ 300 MB/s",
      value: "not measured (contender skipped or not selected, or dist/server.js not built)",
      met: null,
    });
  }
  return targets;
}

function targetsTable(targets) {
  const lines = ["| target | measured, median (min–max) | |", "|---|---:|---|"];
  for (const t of targets)
    lines.push(`| ${t.target} | ${t.value} | ${t.met === null ? "–" : t.met ? "met" : "**missed**"} |`);
  return lines.join("\n");
}

function chart(suites, machine, date) {
  const rows = [];
  const main = suites.find((s) => s.suite === "main");
  const ts = suites.find((s) => s.suite === "tshark");
  const add = (c, suffix = "") => {
    const v = c.summary.segmentsPerS;
    if (!v) return;
    const group = c.kind === "flowrecon" ? "flowrecon" : c.kind;
    const label =
      c.key === "cli"
        ? "flowrecon CLI (analyze, ndjson, to a file)"
        : c.key === "cli-pipe"
          ? "flowrecon CLI (analyze, ndjson, into a pipe)"
          : c.name.replace(/ \(.*\)$/, "");
    rows.push({
      label: `${label}${suffix}`,
      value: v.median,
      min: v.min,
      max: v.max,
      group,
    });
  };
  if (main) for (const c of main.contenders) add(c);
  if (ts)
    for (const c of ts.contenders)
      if (!main || c.key === "tshark") add(c, main ? ` (${si(ts.capture.segments)} capture)` : "");
  rows.sort((a, b) => b.value - a.value);
  const cap = (main ?? ts).capture;
  return barChart({
    title: "TCP flow reconstruction throughput, segments per second",
    subtitle: `${si(cap.segments)}-segment capture (snaplen ${cap.params?.snaplen ?? "?"}, ${si(cap.connections)} connections), median of ${(main ?? ts).contenders[0]?.runs.length ?? 0} runs; ${machine.cpus} vCPU ${machine.cpuModel ?? ""}, Node ${machine.node}, ${date}`,
    unit: "segments/s",
    rows,
    markers: rows.some((r) => r.label.startsWith("flowrecon engine"))
      ? [{ value: 10e6, label: "engine target 10M/s" }]
      : [],
  });
}

async function main() {
  const { values: v } = parseCommandLine(USAGE, {
    options: {
      suite: { type: "string" },
      runs: { type: "string" },
      warmup: { type: "string" },
      only: { type: "string" },
      skip: { type: "string" },
      segments: { type: "string" },
      "tshark-segments": { type: "string" },
      concurrent: { type: "string" },
      seed: { type: "string" },
      "anomaly-share": { type: "string" },
      full: { type: "boolean" },
      pcapng: { type: "boolean" },
      capture: { type: "string" },
      cmd: { type: "string" },
      rss: { type: "string" },
      "results-dir": { type: "string" },
      label: { type: "string" },
      "with-refs": { type: "boolean" },
      "no-cli": { type: "boolean" },
      "http-client": { type: "string" },
      "no-vcpu-probe": { type: "boolean" },
    },
  });
  const httpClient = v["http-client"] ?? defaultUploadClient();
  if (httpClient !== "curl" && httpClient !== "node") fail(`--http-client must be curl or node, got ${httpClient}`);
  const runs = intArg(v.runs, "runs", 3);
  const warmup = intArg(v.warmup, "warmup", 1);
  if (runs < 1) fail("--runs must be at least 1");
  const rss = v.rss ?? defaultRssMethod();
  if (rss !== "time" && rss !== "node-hook") fail(`--rss must be time or node-hook, got ${rss}`);
  const suiteArg = v.suite ?? (v.capture ? "main" : "all");
  if (!["all", "main", "tshark"].includes(suiteArg)) fail(`--suite must be all, main or tshark, got ${suiteArg}`);
  const only = v.only ? new Set(v.only.split(",").filter(Boolean)) : null;
  const skip = new Set((v.skip ?? "").split(",").filter(Boolean));
  if (v["no-cli"]) {
    skip.add("cli");
    skip.add("cli-pipe");
  }
  const table = contenderTable(v.cmd ?? DEFAULT_CMD, httpClient);
  const known = new Set(table.map((c) => c.key));
  for (const k of [...(only ?? []), ...skip])
    if (!known.has(k)) fail(`unknown contender ${k}; known: ${[...known].join(", ")}`);
  const anomalyShare = v["anomaly-share"] === undefined ? undefined : Number(v["anomaly-share"]);
  const gen = (segments) =>
    ensureCapture({
      seed: intArg(v.seed, "seed", 1),
      segments,
      concurrent: intArg(v.concurrent, "concurrent", 100_000),
      full: !!v.full,
      format: v.pcapng ? "pcapng" : "pcap",
      anomalyShare,
    });

  const machine = { ...machineInfo(), transparentHugePages: transparentHugePages() };
  console.log(
    `machine: ${machine.cpus} × ${machine.cpuModel}, ${(machine.memBytes / 2 ** 30).toFixed(0)} GiB, ${machine.os ?? machine.platform}, Node ${machine.node}; peak RSS via ${rss}; transparent huge pages ${machine.transparentHugePages ?? "?"}`,
  );
  // Each vCPU's memory latency, before and after the rounds (bench/lib/host-memory.mjs: why).
  const probe = () => (v["no-vcpu-probe"] ? null : vcpuLatency());
  const latencyBefore = probe();
  if (latencyBefore !== null) console.log(`memory latency per vCPU: ${latencyLine(latencyBefore)}`);
  const suites = [];
  const opts = { runs, warmup, rss, only, skip };
  for (const name of suiteArg === "all" ? ["main", "tshark"] : [suiteArg]) {
    let capture;
    if (name === "main" && v.capture) {
      const file = resolve(v.capture);
      if (!existsSync(file)) fail(`capture not found: ${file}`);
      capture = {
        file,
        side: existsSync(`${file}.json`) ? JSON.parse(readFileSync(`${file}.json`, "utf8")) : null,
        generated: null,
      };
    } else {
      capture = gen(
        name === "main"
          ? intArg(v.segments, "segments", 10_000_000)
          : intArg(v["tshark-segments"], "tshark-segments", 2_000_000),
      );
    }
    suites.push(await runSuite(name, capture, table, opts));
  }
  const latencyAfter = probe();

  const date = new Date().toISOString();
  const targets = evaluateTargets(suites);
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
  const md = [
    `# Throughput, ${date.slice(0, 10)}`,
    "",
    `Machine: ${machine.cpus} vCPU ${machine.cpuModel}, ${(machine.memBytes / 2 ** 30).toFixed(0)} GiB RAM, ${machine.os ?? machine.platform} (${machine.release}), Node ${machine.node}. ` +
      `${machine.envDropped.length ? `Contenders run without ${machine.envDropped.join(", ")} (bench/lib/run-child.mjs DROPPED_ENV). ` : ""}` +
      `Command: \`${command}\`. Commit: ${gitInfo()?.commit?.slice(0, 12) ?? "?"}${gitInfo()?.dirty ? " (dirty tree)" : ""}.`,
    "",
    hostMemoryLine(machine.transparentHugePages, latencyBefore, latencyAfter),
    "",
    ...suites.flatMap((s) => [suiteTable(s), ""]),
    "¹ in-process time of the work itself: the engine's measured pass after a warm-up pass (no process start-up), or the HTTP upload from request to the response's last byte. Every other time is spawn to exit of a fresh process.",
    "\"CLI is × faster\" = the contender's time ÷ the CLI's time in the same round (= CLI segments/s ÷ contender segments/s); below 1 the contender is faster. The CLI is its run with stdout written to a file; the pipe run's row gives pipe time ÷ file time.",
    "",
    "## Targets",
    "",
    targetsTable(targets),
    "",
  ].join("\n");
  console.log("");
  console.log(md);

  const resultsDir = resolve(v["results-dir"] ?? join(BENCH_DIR, "results"));
  mkdirSync(resultsDir, { recursive: true });
  const day = date.slice(0, 10);
  let stem = join(resultsDir, `throughput-${day}`);
  for (let i = 2; existsSync(`${stem}.json`); i++) stem = join(resultsDir, `throughput-${day}-${i}`);
  const result = {
    benchmark: "throughput",
    date,
    label: v.label ?? null,
    command,
    git: gitInfo(),
    machine: { ...machine, loadavg: loadavg(), vcpuLatencyBefore: latencyBefore, vcpuLatencyAfter: latencyAfter },
    method: { runs, warmup, rss, freshProcessPerRun: true, interleaved: true },
    suites,
    targets,
  };
  writeFileSync(`${stem}.json`, JSON.stringify(result, null, 2) + "\n");
  writeFileSync(`${stem}.md`, md);
  writeFileSync(join(resultsDir, "throughput.svg"), chart(suites, machine, day));
  console.log(
    `results: ${relative(ROOT, stem)}.json, .md; chart ${relative(ROOT, join(resultsDir, "throughput.svg"))}`,
  );
  // A reference whose flow count differs from the generator's is a broken benchmark, not a slow one.
  for (const s of suites) {
    for (const c of s.contenders) {
      if (c.kind === "ref" && s.capture.connections !== null && c.summary.flows !== s.capture.connections) {
        console.error(`${c.key} found ${c.summary.flows} flows, the generator wrote ${s.capture.connections}`);
        process.exitCode = 1;
      }
    }
  }
}

main().catch((e) => fail(e.stack ?? String(e)));
