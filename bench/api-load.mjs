#!/usr/bin/env node
/**
 * Load test of the HTTP API (src/server.ts), loopback only, bounded in count and time.
 *
 * Starts `node dist/server.js` as a child on 127.0.0.1 with an ephemeral port, then:
 * - `--mode analyze` (default): N concurrent clients POST the capture to /v1/analyze in chunked
 *   uploads, until `--uploads` uploads or `--seconds` seconds, whichever comes first. Every answer
 *   must be a 200 with exactly the flows of the first answer (no error, no lost flow).
 * - `--mode session`: the same, each client feeding its own session in `--batch` byte batches and
 *   finishing it.
 * - `--mode gb`: one chunked upload of `--gb` GiB (the capture's records repeated, streamed as
 *   generated, never held whole by client or server) with an NDJSON answer, to show the server's
 *   memory stays bounded.
 * Reports uploads/s, MB/s, latency percentiles, /healthz latency under the load (analyze and
 * session modes: one probe every 20 ms), and the server's RSS (after a warm-up, at the end,
 * and its peak, from /proc/<pid>/status) as a table and one JSON line.
 *
 * Usage:
 *   npm run build && node bench/api-load.mjs [--capture FILE] [--clients 4] [--seconds 5] [--uploads 400]
 *     [--chunk 65536] [--mode analyze|session|gb] [--batch 1048576] [--gb 1]
 * Uploads declare their Content-Length (as curl --data-binary does), except the gb one (chunked).
 * Without --capture it generates bench/out/api-load.pcap (20k segments, 200 concurrent, snaplen 96).
 */

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { request, Agent } from "node:http";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseCommandLine } from "./lib/cli-args.mjs";
import { generateCapture } from "./lib/traffic.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const USAGE = `usage: node bench/api-load.mjs [--capture FILE] [--clients 4] [--seconds 5] [--uploads 400]
         [--chunk 65536] [--mode analyze|session|gb] [--batch 1048576] [--gb 1]`;
const { values: opt } = parseCommandLine(USAGE, {
  options: {
    capture: { type: "string" },
    clients: { type: "string", default: "4" },
    seconds: { type: "string", default: "5" },
    uploads: { type: "string", default: "400" },
    chunk: { type: "string", default: "65536" },
    mode: { type: "string", default: "analyze" },
    batch: { type: "string", default: String(1 << 20) },
    gb: { type: "string", default: "1" },
  },
});
const CLIENTS = Number(opt.clients);
const SECONDS = Number(opt.seconds);
const MAX_UPLOADS = Number(opt.uploads);
const CHUNK = Number(opt.chunk);
const BATCH = Number(opt.batch);
if (!(CLIENTS >= 1 && CLIENTS <= 64 && SECONDS > 0 && SECONDS <= 120 && MAX_UPLOADS >= 1 && MAX_UPLOADS <= 100_000)) {
  console.error("api-load: --clients 1..64, --seconds 0..120, --uploads 1..100000 (the test is bounded on purpose)");
  process.exit(2);
}

function captureBytes() {
  if (opt.capture) return readFileSync(opt.capture);
  const out = join(root, "bench", "out", "api-load.pcap");
  if (!existsSync(out)) {
    mkdirSync(dirname(out), { recursive: true });
    generateCapture({ out, segments: 20_000, concurrent: 200, snaplen: 96, seed: 11 });
  }
  return readFileSync(out);
}

/** Starts the server on 127.0.0.1:0 and resolves with its port and pid once it listens. */
function startServer() {
  const child = spawn(process.execPath, [join(root, "dist", "server.js")], {
    env: {
      ...process.env,
      PORT: "0",
      HOST: "127.0.0.1",
      FLOWRECON_MAX_SESSIONS: String(Math.max(64, CLIENTS * 2)),
      // Every client is on 127.0.0.1: one address.
      FLOWRECON_MAX_UPLOADS_PER_CLIENT: String(Math.max(8, CLIENTS * 2)),
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolvePort, reject) => {
    let text = "";
    let listening = false;
    child.stdout.on("data", (d) => {
      // The server logs JSON lines; the "listening" one names the port. The access lines after it
      // are read and dropped (a pipe nobody reads would stall the server).
      if (listening) return;
      text += d;
      const m = /^\{.*"msg":"listening".*\}$/m.exec(text);
      if (m) {
        listening = true;
        resolvePort({ child, port: JSON.parse(m[0]).port });
      }
    });
    child.once("exit", (code) => reject(new Error(`server exited (${code}) before listening: ${text}`)));
  });
}

function rssOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS * 2 });

/**
 * One HTTP exchange; `body` is an iterable of Buffers, each a separate write. With `length` the
 * request declares its Content-Length (as curl --data-binary does), else it is a chunked upload.
 */
function exchange(port, method, path, body, type, length, accept, onData) {
  return new Promise((resolveReply, reject) => {
    const headers = type ? { "content-type": type } : {};
    if (length !== undefined) headers["content-length"] = String(length);
    if (accept !== undefined) headers.accept = accept;
    const req = request({ host: "127.0.0.1", port, path, method, agent, headers }, (res) => {
      const parts = [];
      res.on("data", (d) => (onData ? onData(d) : parts.push(d)));
      res.on("end", () => resolveReply({ status: res.statusCode, body: Buffer.concat(parts) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    (async () => {
      if (body !== undefined) {
        for (const piece of body) if (!req.write(piece)) await new Promise((r) => req.once("drain", r));
      }
      req.end();
    })().catch(reject);
  });
}

function* pieces(bytes, size) {
  for (let off = 0; off < bytes.length; off += size) yield bytes.subarray(off, off + size);
}

const FLOW_MARK = Buffer.from('{"ts":');
function countFlows(body) {
  let n = 0;
  for (let i = body.indexOf(FLOW_MARK); i !== -1; i = body.indexOf(FLOW_MARK, i + 1)) n++;
  return n;
}

async function analyzeOnce(port, bytes) {
  const r = await exchange(
    port,
    "POST",
    "/v1/analyze",
    pieces(bytes, CHUNK),
    "application/vnd.tcpdump.pcap",
    bytes.length,
  );
  if (r.status !== 200) throw new Error(`analyze: HTTP ${r.status}: ${r.body.toString().slice(0, 300)}`);
  return countFlows(r.body);
}

async function sessionOnce(port, bytes) {
  const created = await exchange(port, "POST", "/v1/sessions");
  if (created.status !== 201) throw new Error(`create: HTTP ${created.status}: ${created.body}`);
  const { id } = JSON.parse(created.body.toString());
  for (const batch of pieces(bytes, BATCH)) {
    const r = await exchange(
      port,
      "POST",
      `/v1/sessions/${id}/batches`,
      pieces(batch, CHUNK),
      "application/vnd.tcpdump.pcap",
      batch.length,
    );
    if (r.status !== 200) throw new Error(`batch: HTTP ${r.status}: ${r.body}`);
  }
  const r = await exchange(port, "POST", `/v1/sessions/${id}/finish`);
  if (r.status !== 200) throw new Error(`finish: HTTP ${r.status}: ${r.body.toString().slice(0, 300)}`);
  return countFlows(r.body);
}

function percentile(sorted, p) {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function main() {
  const bytes = captureBytes();
  const { child, port } = await startServer();
  try {
    if (opt.mode === "gb") return await gigabyte(port, child.pid, bytes);
    const once = opt.mode === "session" ? sessionOnce : analyzeOnce;
    // Warm-up: JIT tiers, first engines; its answer is the reference flow count.
    const expected = await once(port, bytes);
    // Then CLIENTS at once, twice: every engine thread (FLOWRECON_THREADS) gets work to warm up on,
    // not only the first free one.
    for (let round = 0; round < 2; round++) await Promise.all(Array.from({ length: CLIENTS }, () => once(port, bytes)));
    const before = rssOf(child.pid);

    const latencies = [];
    let uploads = 0;
    let started = 0;
    let failures = 0;
    let lost = 0;
    const start = performance.now();
    const deadline = start + SECONDS * 1000;
    // The server's responsiveness under the load: a GET /healthz every 20 ms (engine work on the
    // main thread, FLOWRECON_THREADS=0, shows here; on engine threads it should not).
    const probes = [];
    const probing = (async () => {
      while (performance.now() < deadline && started < MAX_UPLOADS) {
        const t = performance.now();
        const r = await exchange(port, "GET", "/healthz");
        if (r.status === 200) probes.push(performance.now() - t);
        await new Promise((wake) => setTimeout(wake, 20));
      }
    })();
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (performance.now() < deadline && started < MAX_UPLOADS) {
          started++;
          const t = performance.now();
          try {
            const flows = await once(port, bytes);
            if (flows !== expected) lost++;
          } catch (e) {
            failures++;
            if (failures <= 3) console.error(`api-load: ${/** @type {Error} */ (e).message}`);
          }
          latencies.push(performance.now() - t);
          uploads++;
        }
      }),
    );
    const wall = (performance.now() - start) / 1000;
    await probing;
    const after = rssOf(child.pid);
    latencies.sort((a, b) => a - b);
    probes.sort((a, b) => a - b);
    const result = {
      mode: opt.mode,
      clients: CLIENTS,
      capture_bytes: bytes.length,
      flows_per_upload: expected,
      uploads,
      failures,
      uploads_with_lost_flows: lost,
      seconds: +wall.toFixed(2),
      uploads_per_s: +(uploads / wall).toFixed(1),
      mb_per_s: +((uploads * bytes.length) / 1e6 / wall).toFixed(1),
      latency_ms: {
        p50: +percentile(latencies, 50).toFixed(1),
        p90: +percentile(latencies, 90).toFixed(1),
        p99: +percentile(latencies, 99).toFixed(1),
        max: +latencies.at(-1).toFixed(1),
      },
      healthz_ms: {
        p50: +percentile(probes, 50).toFixed(1),
        p99: +percentile(probes, 99).toFixed(1),
        max: +(probes.at(-1) ?? NaN).toFixed(1),
      },
      server_rss_mb: {
        after_warmup: +(before.rss / 1e6).toFixed(1),
        end: +(after.rss / 1e6).toFixed(1),
        peak: +(after.peak / 1e6).toFixed(1),
      },
    };
    console.log(
      `mode ${result.mode}, ${CLIENTS} clients, ${(bytes.length / 1e6).toFixed(1)} MB capture (${expected} flows), ${CHUNK}-byte upload chunks`,
    );
    console.log(
      `uploads       ${uploads} in ${result.seconds} s: ${result.uploads_per_s} uploads/s, ${result.mb_per_s} MB/s`,
    );
    console.log(
      `latency ms    p50 ${result.latency_ms.p50}  p90 ${result.latency_ms.p90}  p99 ${result.latency_ms.p99}  max ${result.latency_ms.max}`,
    );
    console.log(
      `/healthz ms   p50 ${result.healthz_ms.p50}  p99 ${result.healthz_ms.p99}  max ${result.healthz_ms.max} (${probes.length} probes)`,
    );
    console.log(`errors        ${failures} failed, ${lost} with a different flow count`);
    console.log(
      `server RSS MB after warm-up ${result.server_rss_mb.after_warmup}, at the end ${result.server_rss_mb.end}, peak ${result.server_rss_mb.peak}`,
    );
    console.log(JSON.stringify(result));
    if (failures > 0 || lost > 0) process.exitCode = 1;
  } finally {
    child.kill("SIGTERM");
    agent.destroy();
  }
}

/** One upload of --gb GiB: the capture's file header once, then its records over and over. */
async function gigabyte(port, pid, bytes) {
  const target = Number(opt.gb) * 2 ** 30;
  if (!(target > 0 && target <= 4 * 2 ** 30)) throw new Error("--gb must be in (0, 4]");
  const records = bytes.subarray(24);
  function* body() {
    yield bytes.subarray(0, 24);
    let sent = 24;
    while (sent < target) {
      for (const piece of pieces(records, CHUNK)) yield piece;
      sent += records.length;
    }
  }
  const before = rssOf(pid);
  let peak = before.rss;
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid).rss)), 100);
  const start = performance.now();
  // NDJSON: the answer streams too (a million flows would not fit a bounded buffer); the client
  // counts lines and keeps only the last one (the stats trailer).
  let lines = 0;
  let tail = "";
  const r = await exchange(
    port,
    "POST",
    "/v1/analyze",
    body(),
    "application/vnd.tcpdump.pcap",
    undefined,
    "application/x-ndjson",
    (d) => {
      for (let i = d.indexOf(10); i !== -1; i = d.indexOf(10, i + 1)) lines++;
      tail = (tail + d.toString()).slice(-4096);
    },
  );
  const wall = (performance.now() - start) / 1000;
  clearInterval(sampler);
  if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${tail.slice(0, 300)}`);
  const stats = JSON.parse(tail.trim().split("\n").at(-1) ?? "").stats;
  const result = {
    mode: "gb",
    upload_bytes: stats.bytes,
    flows: lines - 1,
    records: stats.records,
    seconds: +wall.toFixed(2),
    mb_per_s: +(stats.bytes / 1e6 / wall).toFixed(1),
    server_rss_mb: {
      before: +(before.rss / 1e6).toFixed(1),
      peak_during: +(peak / 1e6).toFixed(1),
      end: +(rssOf(pid).rss / 1e6).toFixed(1),
    },
  };
  console.log(
    `one upload of ${(stats.bytes / 2 ** 30).toFixed(2)} GiB (${stats.records} records, ${lines - 1} flows streamed back) in ${result.seconds} s: ${result.mb_per_s} MB/s`,
  );
  console.log(
    `server RSS MB before ${result.server_rss_mb.before}, peak during ${result.server_rss_mb.peak_during}, end ${result.server_rss_mb.end}`,
  );
  console.log(JSON.stringify(result));
}

main().catch((e) => {
  console.error(`api-load: ${e.stack ?? e}`);
  process.exitCode = 1;
});
