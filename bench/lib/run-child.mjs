/**
 * Run one benchmark command as a child process and measure it: wall time, peak RSS, CPU time, and
 * what it wrote to stdout (bytes and lines, counted in a sink, never stored, except for a bounded
 * prefix when asked).
 *
 * Where stdout goes:
 * - a pipe (default): this process reads and counts it while the child runs. On a small machine the
 *   reader competes with the child for the cores (it cost the CLI 15-25% on 2 vCPUs);
 * - a file (`stdoutFile`): the child writes straight into it, as in `cmd > FILE`; it is counted after
 *   the child exits, outside the timed span, and then deleted;
 * - nowhere (`discardStdout`): /dev/null, not counted.
 *
 * Peak RSS, in order of preference:
 * - "time": GNU time (`/usr/bin/time -f ... -o FILE cmd`). %M is ru_maxrss from wait4(): the
 *   child's high-water mark in KiB, exact, for any command (node, cat, shell scripts), also
 *   covering descendants it waited for. Adds one fork/exec (~1 ms) to the wall time.
 * - "node-hook": NODE_OPTIONS=--import=bench/lib/report-rss.mjs; every node process in the child's
 *   tree appends its own maxRSS at exit; we report the largest. Exact for node children, blind to
 *   anything else (reports null for `cat`).
 * Sampling /proc/<pid>/status VmHWM was not used: a sampler misses whatever happens after its last
 * sample before exit, and the child may be gone before the final read.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const GNU_TIME = "/usr/bin/time";
const REPORT_RSS = fileURLToPath(new URL("./report-rss.mjs", import.meta.url));
const STDERR_KEEP = 4096;
const READ_CHUNK = 1 << 20;

/** @returns {"time"|"node-hook"} the best peak-RSS method available on this machine */
export function defaultRssMethod() {
  return existsSync(GNU_TIME) ? "time" : "node-hook";
}

/**
 * Split a command line into argv: whitespace separates, single and double quotes group, backslash
 * escapes the next character outside single quotes. No variables, globs or redirections: wrap the
 * command in `sh -c '...'` for those.
 * @param {string} line
 * @returns {string[]}
 */
export function splitCommand(line) {
  const out = [];
  let cur = "";
  let inWord = false;
  let quote = "";
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote) {
      if (ch === quote) quote = "";
      else if (ch === "\\" && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === "\\" && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated ${quote} in command: ${line}`);
  if (inWord) out.push(cur);
  return out;
}

/**
 * Counts stdout as it comes, chunk by chunk: bytes, lines (LF), occurrences of a needle (also across
 * chunk boundaries), and keeps a bounded prefix.
 * @param {{keepStdout?: number, countNeedle?: string}} opts
 */
function stdoutCounter(opts) {
  const keep = opts.keepStdout ?? 0;
  const needle = opts.countNeedle ? Buffer.from(opts.countNeedle, "latin1") : null;
  const kept = [];
  let keptBytes = 0;
  let outBytes = 0;
  let outLines = 0;
  let needleCount = needle ? 0 : null;
  let carry = Buffer.alloc(0); // the last needle.length - 1 bytes, for matches across chunks
  return {
    /** @param {Buffer} chunk */
    push(chunk) {
      outBytes += chunk.length;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) outLines++;
      if (needle) {
        const hay = carry.length ? Buffer.concat([carry, chunk]) : chunk;
        for (let i = hay.indexOf(needle); i !== -1; i = hay.indexOf(needle, i + needle.length))
          needleCount = (needleCount ?? 0) + 1;
        carry = Buffer.from(hay.subarray(Math.max(0, hay.length - (needle.length - 1))));
      }
      if (keptBytes < keep) {
        const part = chunk.subarray(0, keep - keptBytes);
        kept.push(Buffer.from(part));
        keptBytes += part.length;
      }
    },
    result() {
      return { outBytes, outLines, needleCount, stdout: Buffer.concat(kept).toString("utf8") };
    },
  };
}

/**
 * Feeds a file to a counter in chunks (memory stays flat whatever its size).
 * @param {string} path
 * @param {{push(chunk: Buffer): void}} counter
 */
function countFile(path, counter) {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    for (let n = readSync(fd, buf, 0, READ_CHUNK, null); n > 0; n = readSync(fd, buf, 0, READ_CHUNK, null))
      counter.push(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

/**
 * Dropped from every measured child's environment: settings of this machine, not of a contender.
 * NODE_EXTRA_CA_CERTS (this sandbox points it at the system CA bundle for its npm proxy) has every
 * Node process parse that bundle as it starts, ~416M instructions under callgrind (about 0.05-0.1 s),
 * a cost each Node contender (the CLI, the JavaScript loops) paid per run and no native one did;
 * no contender makes a TLS connection. An `opts.env` that names one sets it again.
 */
export const DROPPED_ENV = ["NODE_EXTRA_CA_CERTS"];

/**
 * @param {string[]} argv command and arguments
 * @param {{rss?: "time"|"node-hook", env?: object, keepStdout?: number, discardStdout?: boolean, stdoutFile?: string, cwd?: string, countNeedle?: string}} [opts]
 *   keepStdout: keep up to this many bytes of stdout as text (for commands that print a summary);
 *   discardStdout: stdout goes straight to /dev/null (not counted), as in `cmd > /dev/null`;
 *   stdoutFile: stdout goes straight to this file (created or truncated), as in `cmd > FILE`; it is
 *     counted (bytes, lines, needle, kept prefix) after the child exits, then deleted;
 *   countNeedle: count the occurrences of this ASCII string in stdout (e.g. one per flow line)
 * @returns {Promise<{argv: string[], exitCode: number|null, signal: string|null, wallMs: number,
 *   maxRssKb: number|null, userS: number|null, sysS: number|null, outBytes: number, outLines: number,
 *   needleCount: number|null, stdout: string, stderrTail: string}>}
 */
export async function runMeasured(argv, opts = {}) {
  if (opts.stdoutFile && opts.discardStdout)
    throw new Error("runMeasured: stdoutFile and discardStdout exclude each other");
  const rss = opts.rss ?? defaultRssMethod();
  const dir = mkdtempSync(join(tmpdir(), "flowrecon-bench-"));
  const reportFile = join(dir, "rss");
  let cmd = argv;
  const env = { ...process.env };
  for (const name of DROPPED_ENV) delete env[name];
  Object.assign(env, opts.env ?? {});
  if (rss === "time") {
    cmd = [GNU_TIME, "-f", "%M %U %S", "-o", reportFile, ...argv];
  } else {
    env.FLOWRECON_RSS_FILE = reportFile;
    env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ""} --import=${pathToFileURL(REPORT_RSS).href}`.trim();
  }
  const counter = stdoutCounter(opts);
  let stderrTail = "";
  const outFile = opts.stdoutFile ?? null;
  try {
    // Opened before the clock starts; the child gets it as its fd 1 and this process closes its copy.
    const outFd = outFile === null ? null : openSync(outFile, "w");
    const t0 = process.hrtime.bigint();
    let child;
    try {
      child = spawn(cmd[0], cmd.slice(1), {
        stdio: ["ignore", outFd ?? (opts.discardStdout ? "ignore" : "pipe"), "pipe"],
        env,
        cwd: opts.cwd,
      });
    } finally {
      if (outFd !== null) closeSync(outFd);
    }
    child.stdout?.on("data", (chunk) => counter.push(chunk));
    child.stderr?.on("data", (chunk) => {
      stderrTail = (stderrTail + chunk.toString("utf8")).slice(-STDERR_KEEP);
    });
    const { code, signal } = await new Promise((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (c, s) => resolve({ code: c, signal: s }));
    });
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    if (outFile !== null) countFile(outFile, counter);
    const { maxRssKb, userS, sysS } = readRssReport(reportFile, rss);
    return { argv, exitCode: code, signal, wallMs, maxRssKb, userS, sysS, ...counter.result(), stderrTail };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (outFile !== null) rmSync(outFile, { force: true });
  }
}

/**
 * Peak RSS and CPU times from what GNU time or the node hook wrote.
 * @param {string} reportFile
 * @param {"time"|"node-hook"} rss
 * @returns {{maxRssKb: number|null, userS: number|null, sysS: number|null}}
 */
function readRssReport(reportFile, rss) {
  let maxRssKb = null;
  let userS = null;
  let sysS = null;
  const text = existsSync(reportFile) ? readFileSync(reportFile, "utf8") : "";
  if (rss === "time") {
    // GNU time writes "Command exited with non-zero status N" first when the child fails.
    const last = text.trim().split("\n").pop() ?? "";
    const m = /^(\d+) ([\d.]+) ([\d.]+)$/.exec(last);
    if (m) {
      maxRssKb = Number(m[1]);
      userS = Number(m[2]);
      sysS = Number(m[3]);
    }
  } else {
    for (const line of text.split("\n")) {
      if (!line) continue;
      const r = JSON.parse(line);
      maxRssKb = Math.max(maxRssKb ?? 0, r.maxRssKb);
    }
  }
  return { maxRssKb, userS, sysS };
}
