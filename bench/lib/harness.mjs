/**
 * Helpers shared by the benchmark scripts (throughput.mjs, scaling.mjs, http-upload.mjs) and the
 * tests that start the server: cached generated captures, machine and git facts, the server's
 * start command, formatting.
 * @module
 */
import { execFileSync } from "node:child_process";
import { accessSync, constants as fsConstants, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { connect, createServer } from "node:net";
import { cpus, platform, release, totalmem } from "node:os";
import { delimiter, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { GENERATOR_VERSION, generateCapture } from "./traffic.mjs";
import { DROPPED_ENV } from "./run-child.mjs";

export const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const ROOT = resolve(BENCH_DIR, "..");
const HEADERS_ONLY_SNAPLEN = 96;
const FULL_SNAPLEN = 65535;

/** Full path of an executable on PATH, or null. */
export function which(cmd) {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, cmd);
    try {
      accessSync(p, fsConstants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** The first line of a tool's version output, for the results (null when it has none). */
export function toolVersion(argv) {
  try {
    const out = execFileSync(argv[0], argv.slice(1), {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 10_000,
    });
    return (
      out
        .split("\n")
        .find((l) => l.trim())
        ?.trim() ?? null
    );
  } catch (e) {
    const failed = /** @type {{ stdout?: string, stderr?: string }} */ (e);
    const text = `${failed.stdout ?? ""}${failed.stderr ?? ""}`;
    return (
      text
        .split("\n")
        .find((l) => /\d+\.\d+/.test(l))
        ?.trim() ?? null
    );
  }
}

/**
 * `npm start`'s node arguments in the tree at `root` (package.json "start", which must read
 * `node [flags...] dist/server.js`): the flags, then the script. Throws when the start command has
 * another shape, so a benchmark or test never starts the server otherwise than `npm start` does.
 */
export function serverStartArgs(root = ROOT) {
  const start = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).scripts?.start ?? "";
  const [node, ...args] = start.trim().split(/\s+/);
  if (node !== "node" || args.at(-1) !== "dist/server.js")
    throw new Error(
      `${join(root, "package.json")}: the start script is not "node [flags...] dist/server.js": ${start}`,
    );
  return args;
}

/** Reuse bench/out/<name> when its sidecar says it was generated with the same version and params. */
export function ensureCapture(p) {
  const snaplen = p.full ? FULL_SNAPLEN : HEADERS_ONLY_SNAPLEN;
  const ext = p.format === "pcapng" ? "pcapng" : "pcap";
  const want = { seed: p.seed, segments: p.segments, concurrent: p.concurrent, snaplen, format: p.format };
  if (p.anomalyShare !== undefined) want.anomalyShare = p.anomalyShare;
  if (p.connSegments !== undefined) want.connSegments = p.connSegments;
  if (p.pps !== undefined) want.pps = p.pps;
  if (p.mode !== undefined) want.mode = p.mode;
  const extra = [
    p.anomalyShare !== undefined ? `-a${p.anomalyShare}` : "",
    p.connSegments !== undefined ? `-cs${p.connSegments}` : "",
    p.pps !== undefined ? `-pps${p.pps}` : "",
    p.mode === "synflood" ? "-synflood" : "",
  ].join("");
  const file = join(BENCH_DIR, "out", `gen-s${p.seed}-n${p.segments}-c${p.concurrent}-snap${snaplen}${extra}.${ext}`);
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

export function gitInfo() {
  try {
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
    const dirty =
      execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: ROOT, encoding: "utf8" }).trim() !==
      "";
    return { commit, dirty };
  } catch {
    return null;
  }
}

export function machineInfo() {
  let os = null;
  try {
    os = /PRETTY_NAME="([^"]+)"/.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? null;
  } catch {
    // not Linux
  }
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? null,
    memBytes: totalmem(),
    platform: platform(),
    release: release(),
    os,
    node: process.version,
    /** Variables of this machine's environment its contenders run without (run-child.mjs DROPPED_ENV). */
    envDropped: DROPPED_ENV.filter((name) => process.env[name] !== undefined),
  };
}

export function fmtMs(ms) {
  return Number.isFinite(ms) ? (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`) : "-";
}

export function fmtMiB(kb) {
  return Number.isFinite(kb) ? `${(kb / 1024).toFixed(0)} MiB` : "-";
}

/** An argv for the results: this Node as "node", paths inside the repository relative to it. */
export function displayArgv(argv) {
  return argv.map((a) => (a === process.execPath ? "node" : a.startsWith(ROOT + "/") ? relative(ROOT, a) : a));
}

/** A free TCP port on the loopback interface (bound and released; the server binds it next). */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {import("node:net").AddressInfo} */ (srv.address());
      srv.close(() => resolvePort(port));
    });
  });
}

/** Resolves once something accepts TCP connections on the port; rejects after timeoutMs. */
export async function waitForPort(port, timeoutMs, child) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode} before listening`);
    const ok = await new Promise((res) => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        res(true);
      });
      s.once("error", () => res(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 50));
  }
}
