#!/usr/bin/env node
/**
 * Client half of the "http" contender: uploads one capture to flowrecon's HTTP API with a streamed
 * body and reads the response to its last byte.
 *
 *   node bench/http-upload.mjs --port 8123 capture.pcap [--host 127.0.0.1] [--path /v1/analyze]
 *     -> one JSON line: {status, elapsedMs, ttfbMs, uploadBytes, responseBytes, lines}
 *
 * elapsedMs runs from just before the request is opened to the response's last byte: upload,
 * analysis and download, on loopback. The body is a file stream (64 KiB reads), sent chunked, with
 * `Accept: application/x-ndjson`, so the server can answer flow by flow while the upload is still
 * coming in. The response is counted (bytes, lines) and dropped.
 *
 * @module
 */
import { createReadStream, statSync } from "node:fs";
import { request } from "node:http";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { port: { type: "string" }, host: { type: "string" }, path: { type: "string" } },
});
const file = positionals[0];
if (!file || !values.port) {
  console.error("usage: node bench/http-upload.mjs --port N capture [--host 127.0.0.1] [--path /v1/analyze]");
  process.exit(2);
}

const size = statSync(file).size;
const t0 = performance.now();
let ttfbMs = null;
let responseBytes = 0;
let lines = 0;
const req = request(
  {
    host: values.host ?? "127.0.0.1",
    port: Number(values.port),
    path: values.path ?? "/v1/analyze",
    method: "POST",
    headers: { "Content-Type": "application/vnd.tcpdump.pcap", Accept: "application/x-ndjson" },
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
        JSON.stringify({ status: res.statusCode, elapsedMs, ttfbMs, uploadBytes: size, responseBytes, lines }),
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
