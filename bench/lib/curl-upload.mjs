/**
 * One upload of a capture to flowrecon's HTTP API by curl, the client the README shows for it:
 * `curl -T FILE -X POST` streams the file as the body with its Content-Length (no `Expect:
 * 100-continue` round trip), `Accept: application/x-ndjson` asks for the flow-by-flow answer, and
 * the answer goes to a file in bench/out/ (the disk the CLI contender writes to), counted after
 * curl exits (bytes, lines) and deleted. The time is curl's own (`-w %{time_total}`: from the start
 * of the transfer to the answer's last byte); curl's CPU (user + system) by GNU time where it is
 * installed.
 *
 * Why curl and not a Node client: on the 2-vCPU harness host the client shares the cores with the
 * server it measures. For the 10M capture (943 MB up, 381 MB down) curl used 0.8-0.9 s of CPU, the
 * Node client (bench/http-upload.mjs --client node: a 64 KiB file stream piped into http.request,
 * the answer counted as it arrived) 2.2-3.0 s, all of it taken from the server's two cores.
 * Why a file: the answer is written, as the CLI contender's is, and counted outside the timed span.
 * Dropped (`-o /dev/null`) curl took 0.60-0.63 s, into a file 0.75-0.78 s, piped into `wc -l`
 * 0.97-1.04 s (3 uploads each to one warm server), so a count while it arrives costs more than the
 * file.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { BENCH_DIR, which } from "./harness.mjs";
import { GNU_TIME } from "./run-child.mjs";

/** curl where it is installed, else the Node client. */
export function defaultUploadClient() {
  return which("curl") ? "curl" : "node";
}

/** Newlines in a file, read in 1 MiB pieces. */
function countLines(path) {
  const fd = openSync(path, "r");
  const buf = Buffer.allocUnsafe(1 << 20);
  let lines = 0;
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) {
      for (let i = buf.indexOf(10); i !== -1 && i < n; i = buf.indexOf(10, i + 1)) lines++;
    }
  } finally {
    closeSync(fd);
  }
  return lines;
}

/** The answer the harness asks for: flow by flow, while the upload goes on. */
export const NDJSON_TYPE = "application/x-ndjson";

/**
 * Uploads `file` to `url` (POST) with curl, asking for an `accept` answer.
 * @returns {Promise<{status: number, elapsedMs: number, ttfbMs: null, uploadBytes: number, responseBytes: number, lines: number, clientCpuS: number|null}>}
 */
export async function uploadWithCurl(file, url, accept = NDJSON_TYPE) {
  const outDir = join(BENCH_DIR, "out");
  mkdirSync(outDir, { recursive: true });
  const answer = join(outDir, `.http-answer-${process.pid}.tmp`);
  const cpuFile = join(outDir, `.http-curl-cpu-${process.pid}.tmp`);
  const timed = existsSync(GNU_TIME);
  const args = [
    "--silent",
    "--show-error",
    "--upload-file",
    file,
    "--request",
    "POST",
    "--header",
    "Content-Type: application/vnd.tcpdump.pcap",
    "--header",
    `Accept: ${accept}`,
    "--header",
    "Expect:",
    "--output",
    answer,
    "--write-out",
    "%{http_code} %{time_total}",
    url,
  ];
  try {
    const { code, stdout, stderr } = await new Promise((resolve, reject) => {
      const argv = timed ? [GNU_TIME, "-f", "%U %S", "-o", cpuFile, "curl", ...args] : ["curl", ...args];
      const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.on("data", (c) => (out += c));
      child.stderr.on("data", (c) => (err += c));
      child.once("error", reject);
      child.once("exit", (c) => resolve({ code: c, stdout: out, stderr: err }));
    });
    if (code !== 0) throw new Error(`curl exited with ${code}: ${stderr.trim()}`);
    const [status, total] = stdout.trim().split(" ").map(Number);
    const cpu = timed ? (readFileSync(cpuFile, "utf8").trim().split("\n").pop() ?? "").split(" ").map(Number) : null;
    return {
      status,
      elapsedMs: total * 1000,
      // curl's time_starttransfer marks the first byte of the upload, not of the answer: none here.
      ttfbMs: null,
      uploadBytes: statSync(file).size,
      responseBytes: statSync(answer).size,
      lines: countLines(answer),
      clientCpuS: cpu === null ? null : cpu[0] + cpu[1],
    };
  } finally {
    rmSync(answer, { force: true });
    rmSync(cpuFile, { force: true });
  }
}
