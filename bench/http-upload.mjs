#!/usr/bin/env node
/**
 * Client half of the "http" contender: uploads one capture to flowrecon's HTTP API with a streamed
 * body and reads the response to its last byte. With `--ab`, an alternated A/B comparison of two
 * built trees' servers on the same upload.
 *
 *   node bench/http-upload.mjs --port 8123 capture.pcap [--host 127.0.0.1] [--path /v1/analyze] [--client curl|node] [--accept TYPE]
 *     -> one JSON line: {client, status, elapsedMs, ttfbMs, uploadBytes, responseBytes, lines}
 *
 *   node bench/http-upload.mjs --ab A_ROOT B_ROOT capture.pcap [--pairs 4] [--client curl|node] [--accept TYPE]
 *     -> per upload and per pair: the client's time, the server's CPU (main thread, other threads,
 *        all), its peak RSS and the load; then the medians and spreads of the B/A ratios.
 *
 * elapsedMs runs from just before the request is opened to the response's last byte: upload,
 * analysis and download, on loopback, with `Accept: application/x-ndjson` (`--accept` asks for
 * another answer: application/json, application/msgpack), so the server can answer flow by flow
 * while the upload is still coming in. Two clients (`--client`):
 * - curl (the default where it is installed; the README's own example of an upload): `curl -T FILE
 *   -X POST`, the body streamed from the file with its Content-Length, the answer written to a file
 *   in bench/out/ and counted (bytes, lines) after curl exits, then deleted; elapsedMs is curl's
 *   time_total, ttfbMs null (bench/lib/curl-upload.mjs). On a 2-vCPU host the
 *   client shares the cores with the server: curl took 0.8-0.9 s of CPU for the 10M capture's upload;
 * - node: this process, a file stream (64 KiB reads) sent chunked, the response counted (bytes,
 *   lines) as it arrives and dropped; it took 2.2-3.0 s of CPU for the same upload (2026-12-05).
 *
 * In `--ab` mode each upload goes to a fresh server of its tree, started as `npm start` starts it
 * (bench/lib/harness.mjs serverStartArgs) on a free port; the pairs alternate which tree goes
 * first. The server's CPU is read per thread from /proc/PID/task/TID/stat just before the upload
 * and after its last byte (the main thread is the one whose id is the process's; the others are
 * the engine threads and V8's helpers); its peak RSS is VmHWM of /proc/PID/status after the last
 * byte (a fresh server: its whole life). The two answers must have the same size and line count.
 * Beside the CPU: its system part (sysS) and the minor page faults (thousands) of the main thread
 * and of the other threads (mainKflt, othersKflt; a fault costs ~8-10 us of system time on a
 * KVM guest). Per-thread counts miss threads that ended during the upload (none in the pool).
 *
 * @module
 */
import { spawn } from "node:child_process";
import { createReadStream, readFileSync, statSync } from "node:fs";
import { request } from "node:http";
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseCommandLine, usageError } from "./lib/cli-args.mjs";
import { defaultUploadClient, NDJSON_TYPE, uploadWithCurl } from "./lib/curl-upload.mjs";
import { freePort, serverStartArgs, waitForPort } from "./lib/harness.mjs";
import { threadCpu } from "./lib/proc-stat.mjs";
import { summarize } from "./lib/stats.mjs";

const USAGE = `usage: node bench/http-upload.mjs --port N capture [--host 127.0.0.1] [--path /v1/analyze] [--client C]
       node bench/http-upload.mjs --ab A_ROOT B_ROOT capture [--pairs 4] [--client C]
  --client C   curl (default where installed) | node
  --accept T   the answer's type (default application/x-ndjson)`;

const { values, positionals } = parseCommandLine(USAGE, {
  allowPositionals: true,
  options: {
    port: { type: "string" },
    host: { type: "string" },
    path: { type: "string" },
    ab: { type: "boolean" },
    pairs: { type: "string" },
    client: { type: "string" },
    accept: { type: "string" },
  },
});
const accept = values.accept ?? NDJSON_TYPE;
const client = values.client ?? defaultUploadClient();
if (client !== "curl" && client !== "node") usageError(USAGE, `--client must be curl or node, not ${client}`);
if (values.ab) {
  if (positionals.length !== 3) usageError(USAGE, "--ab takes two roots and a capture");
  await compare(positionals[0], positionals[1], positionals[2], Number(values.pairs ?? 4), client, accept);
} else {
  const file = positionals[0];
  if (!file || !values.port) usageError(USAGE, "a capture and --port are needed");
  const url = `http://${values.host ?? "127.0.0.1"}:${Number(values.port)}${values.path ?? "/v1/analyze"}`;
  if (client === "curl") {
    const r = await uploadWithCurl(file, url, accept);
    console.log(JSON.stringify({ client, ...r }));
    process.exitCode = r.status === 200 ? 0 : 1;
  } else upload(file, Number(values.port), values.host ?? "127.0.0.1", values.path ?? "/v1/analyze", accept);
}

function upload(file, port, host, path, accept) {
  const size = statSync(file).size;
  const t0 = performance.now();
  let ttfbMs = null;
  let responseBytes = 0;
  let lines = 0;
  const req = request(
    {
      host,
      port,
      path,
      method: "POST",
      headers: { "Content-Type": "application/vnd.tcpdump.pcap", Accept: accept },
    },
    (res) => {
      res.on("data", (chunk) => {
        if (ttfbMs === null) ttfbMs = performance.now() - t0;
        responseBytes += chunk.length;
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      });
      res.on("end", () => {
        const elapsedMs = performance.now() - t0;
        console.log(
          JSON.stringify({
            client: "node",
            status: res.statusCode,
            elapsedMs,
            ttfbMs,
            uploadBytes: size,
            responseBytes,
            lines,
            // this process's CPU, start-up included
            clientCpuS: (() => {
              const u = process.cpuUsage();
              return (u.user + u.system) / 1e6;
            })(),
          }),
        );
        process.exitCode = res.statusCode === 200 ? 0 : 1;
      });
    },
  );
  req.on("error", (e) => {
    console.error(`http-upload: ${e.message}`);
    process.exitCode = 1;
  });
  createReadStream(file, { highWaterMark: 1 << 16 }).pipe(req);
}

/** A live process's peak resident set (VmHWM), in MB. */
function peakRssMB(pid) {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m === null ? Number.NaN : Number(m[1]) / 1024;
}

/** One upload to a fresh server of the tree at `root`: the client's figures and the server's CPU. */
async function measure(root, file, client, accept) {
  const port = await freePort();
  const server = spawn(process.execPath, serverStartArgs(root), {
    cwd: root,
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const exited = new Promise((res) => server.once("exit", res));
  try {
    await waitForPort(port, 15_000, server);
    await new Promise((res) => setTimeout(res, 500)); // the engine threads start
    const before = threadCpu(server.pid);
    const load = loadavg()[0];
    const out = await new Promise((res, rej) => {
      const child = spawn(
        process.execPath,
        [fileURLToPath(import.meta.url), "--port", String(port), "--client", client, "--accept", accept, file],
        {
          stdio: ["ignore", "pipe", "inherit"],
        },
      );
      let text = "";
      child.stdout.on("data", (c) => (text += c));
      child.once("exit", (code) => (code === 0 ? res(JSON.parse(text)) : rej(new Error(`upload failed: ${text}`))));
    });
    const after = threadCpu(server.pid);
    const rssMB = peakRssMB(server.pid);
    let main = 0;
    let others = 0;
    let sys = 0;
    let mainFlt = 0;
    let othersFlt = 0;
    for (const [tid, s] of after) {
      const b = before.get(tid) ?? { cpu: 0, sys: 0, minflt: 0 };
      const used = s.cpu - b.cpu;
      const faults = (s.minflt - b.minflt) / 1000;
      sys += s.sys - b.sys;
      if (tid === server.pid) {
        main += used;
        mainFlt += faults;
      } else {
        others += used;
        othersFlt += faults;
      }
    }
    return {
      wallS: out.elapsedMs / 1000,
      mainS: main,
      othersS: others,
      cpuS: main + others,
      sysS: sys,
      mainKflt: mainFlt,
      othersKflt: othersFlt,
      rssMB,
      load,
      out,
    };
  } finally {
    server.kill("SIGTERM");
    await exited;
  }
}

async function compare(a, b, file, pairs, client, accept) {
  const roots = { A: resolve(a), B: resolve(b) };
  const keys = ["wallS", "mainS", "othersS", "cpuS", "sysS", "mainKflt", "othersKflt", "rssMB"];
  /** @type {Record<string, number[]>} */
  const ratios = Object.fromEntries(keys.map((k) => [k, []]));
  const fmt = (r) => keys.map((k) => `${k} ${r[k].toFixed(2)}`).join(", ");
  console.log(`A ${roots.A}\nB ${roots.B}\ncapture ${file}, ${pairs} pairs, client ${client}, accept ${accept}`);
  for (let i = 0; i < pairs; i++) {
    const order = i % 2 === 0 ? ["A", "B"] : ["B", "A"];
    const r = {};
    for (const side of order) {
      r[side] = await measure(roots[side], file, client, accept);
      console.log(`pair ${i + 1} ${side}: ${fmt(r[side])}, load ${r[side].load.toFixed(1)}`);
    }
    if (r.A.out.responseBytes !== r.B.out.responseBytes || r.A.out.lines !== r.B.out.lines)
      throw new Error(`the answers differ: A ${JSON.stringify(r.A.out)}, B ${JSON.stringify(r.B.out)}`);
    for (const k of keys) ratios[k].push(r.B[k] / r.A[k]);
    console.log(`pair ${i + 1} B/A: ${keys.map((k) => `${k} ${(r.B[k] / r.A[k]).toFixed(2)}`).join(", ")}`);
  }
  for (const k of keys) {
    const s = summarize(ratios[k]);
    console.log(`B/A ${k}: median ${s.median.toFixed(2)} (${s.min.toFixed(2)}-${s.max.toFixed(2)}, n ${s.n})`);
  }
}
