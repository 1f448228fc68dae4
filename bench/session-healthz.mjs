// How much a large session batch blocks the server's event loop: the session's engine on the main
// thread (FLOWRECON_THREADS=0) against the engine pool (FLOWRECON_THREADS=2), alternated in one run.
// The server runs in this process (dist/server.js); curl, a child process,
// uploads one batch of the first --mib MiB of the capture, while this process probes /healthz back
// to back and records the main thread's event-loop delay (perf_hooks) until the batch is answered.
//
//   npm run build && node bench/session-healthz.mjs capture [--mib 48] [--rounds 2]
import { spawn } from "node:child_process";
import { mkdtempSync, openSync, readSync, closeSync, writeFileSync } from "node:fs";
import { tmpdir, loadavg } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseCommandLine, usageError } from "./lib/cli-args.mjs";

const USAGE = "usage: node bench/session-healthz.mjs capture [--mib 48] [--rounds 2]";
const { values, positionals } = parseCommandLine(USAGE, {
  allowPositionals: true,
  options: { mib: { type: "string" }, rounds: { type: "string" } },
});
const file = positionals[0];
if (file === undefined) usageError(USAGE, "no capture given");
const mib = Number(values.mib ?? 48);
const rounds = Number(values.rounds ?? 2);
if (!(Number.isInteger(mib) && mib >= 1 && Number.isInteger(rounds) && rounds >= 1))
  usageError(USAGE, "--mib and --rounds take positive integers");
// Loaded once the command line is known: it starts nothing by itself, but takes a while to load.
const { startServer } = await import("../dist/server.js");

const dir = mkdtempSync(join(tmpdir(), "flowrecon-healthz-"));
const batch = Buffer.alloc(mib << 20);
const fd = openSync(file, "r");
const got = readSync(fd, batch, 0, batch.length, 0);
closeSync(fd);
const batchFile = join(dir, "batch.pcap");
writeFileSync(batchFile, batch.subarray(0, got));

const ms = (ns) => +(ns / 1e6).toFixed(1);
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

async function round(threads) {
  const server = await startServer({
    port: 0,
    host: "127.0.0.1",
    threads,
    dataDir: mkdtempSync(join(dir, "data-")),
    maxBatchBytes: got,
    logLevel: "silent",
  });
  try {
    await server.api.context.enginePool?.ready();
    const base = `http://127.0.0.1:${server.port}`;
    const { id } = await (await fetch(`${base}/v1/sessions`, { method: "POST" })).json();
    await (await fetch(`${base}/healthz`)).arrayBuffer();
    const loop = monitorEventLoopDelay({ resolution: 2 });
    const latencies = [];
    let done = false;
    const t0 = performance.now();
    loop.enable();
    const upload = spawn("curl", [
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "-H",
      "content-type: application/vnd.tcpdump.pcap",
      "--data-binary",
      `@${batchFile}`,
      `${base}/v1/sessions/${id}/batches`,
    ]);
    let status = "";
    upload.stdout.on("data", (d) => (status += d));
    const answered = new Promise((resolve) => upload.on("exit", () => resolve((done = true))));
    while (!done) {
      const t = performance.now();
      await (await fetch(`${base}/healthz`)).arrayBuffer();
      latencies.push(performance.now() - t);
    }
    await answered;
    loop.disable();
    if (status !== "200") throw new Error(`batch answered ${status}`);
    latencies.sort((a, b) => a - b);
    return {
      threads,
      batch_ms: Math.round(performance.now() - t0),
      healthz_probes: latencies.length,
      healthz_p50_ms: +quantile(latencies, 0.5).toFixed(1),
      healthz_p99_ms: +quantile(latencies, 0.99).toFixed(1),
      healthz_max_ms: +latencies[latencies.length - 1].toFixed(1),
      loop_delay_p99_ms: ms(loop.percentile(99)),
      loop_delay_max_ms: ms(loop.max),
      load1: +loadavg()[0].toFixed(1),
    };
  } finally {
    await server.close(100);
  }
}

console.log(JSON.stringify({ capture: file, batch_bytes: got, rounds }));
for (let r = 0; r < rounds; r++) for (const threads of [0, 2]) console.log(JSON.stringify(await round(threads)));
process.exit(0);
