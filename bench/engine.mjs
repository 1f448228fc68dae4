#!/usr/bin/env node
/**
 * Contender "engine": flowrecon's engine alone, in process, through the library (`Reconstructor`
 * from dist/). A warm-up pass over the first `--warmup-mb` of the capture lets V8 tier the
 * WebAssembly up to TurboFan (assemblyscript-performance.md §4); then one measured pass reads the
 * whole capture with `readRecordsFrom` (straight into the engine's window) and `finishRecords`, with
 * a sink that only counts records: no flow objects, no formatting, no output.
 *
 *   node bench/engine.mjs capture.pcap [--warmup-mb 64] [--flow-cap N] [--probe-memory] [--census] [--no-fast-path] [--close-timeout S]
 *     -> one JSON line: {impl, flows, segments, records, elapsedMs, ...}
 *
 * `--census` makes the sink tally conn_state and end_reason of every flow (RecordReader, no
 * objects) and, when the library's Flow objects carry `anomalies`, the flows per anomaly type
 * (decoding each flow); the pass is then no longer a clean timing.
 *
 * `--probe-memory` also samples, after every read, the live flows (flows created - emitted) and
 * the WebAssembly memory size, and reports engine bytes per live flow: the growth of the linear
 * memory from just after init() to the end (it never shrinks) divided by the most flows live at
 * once. That is the flow table (records, extension blocks, index) plus anything else the engine
 * allocated, so it is an upper bound on per-flow state. The record sizes (REC_LIVE, EXT_SIZE) are
 * reported next to it.
 *
 * Needs `npm run build`. Uses the Reconstructor's second constructor argument (a prepared engine,
 * documented as internal) only to read the memory size.
 *
 * @module
 */
import { closeSync, openSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { parseCommandLine, usageError } from "./lib/cli-args.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const USAGE = `usage: node bench/engine.mjs capture.pcap [--warmup-mb 64] [--flow-cap N] [--probe-memory] [--census]
         [--no-fast-path] [--close-timeout S]`;

async function main() {
  const { values, positionals } = parseCommandLine(USAGE, {
    allowPositionals: true,
    options: {
      "warmup-mb": { type: "string" },
      "flow-cap": { type: "string" },
      "probe-memory": { type: "boolean" },
      census: { type: "boolean" },
      "no-fast-path": { type: "boolean" },
      "close-timeout": { type: "string" },
    },
  });
  const file = positionals[0];
  if (!file) usageError(USAGE, "no capture given");
  const { Reconstructor, FlowDecoder, RecordReader } = await import(join(ROOT, "dist", "index.js"));
  const { createEngine } = await import(join(ROOT, "dist", "wasm", "engine.js"));
  const warmupBytes = Number(values["warmup-mb"] ?? 64) * 1e6;
  const options = {};
  if (values["flow-cap"] !== undefined) options.flowCap = Number(values["flow-cap"]);
  if (values["no-fast-path"]) options.fastPath = false;
  // Zeek's tcp_close_delay (5 s) keeps every closed connection of the last 5 s of capture time in
  // the table; 0 removes them at once, so that with few connections open the records stay in cache.
  if (values["close-timeout"] !== undefined) options.closeTimeout = Number(values["close-timeout"]);

  // Warm-up: a separate instance over a prefix of the capture, finished so the flush path runs too.
  const tw = performance.now();
  let warmupSegments = 0;
  if (warmupBytes > 0) {
    const warm = new Reconstructor(options);
    const fd = openSync(file, "r");
    const sink = () => {};
    while (warm.bytesIn < warmupBytes && warm.readRecordsFrom(fd, sink));
    warm.finishRecords(sink);
    closeSync(fd);
    warmupSegments = warm.stats.segments;
  }
  const warmupMs = performance.now() - tw;

  const engine = createEngine();
  const rec = new Reconstructor(options, engine);
  const memBase = engine.exports.memory.buffer.byteLength;
  let flows = 0;
  let sink = () => {
    flows++;
  };
  /** @type {{ connState: Record<string, number>, endReason: Record<string, number>, anomalies: Record<string, number> | null } | null} */
  const census = values.census === true ? { connState: {}, endReason: {}, anomalies: null } : null;
  if (census) {
    const reader = new RecordReader(rec.layout);
    const decoder = new FlowDecoder(rec.layout);
    let withAnomalies = null; // decided on the first flow
    sink = (v, p) => {
      flows++;
      const cs = reader.connStateNames[reader.connState(v, p)];
      census.connState[cs] = (census.connState[cs] ?? 0) + 1;
      const er = reader.endReasonNames[reader.endReason(v, p)];
      census.endReason[er] = (census.endReason[er] ?? 0) + 1;
      if (withAnomalies === false) return;
      const f = decoder.decode(v, p);
      if (withAnomalies === null) {
        withAnomalies = Array.isArray(f.anomalies);
        if (withAnomalies) census.anomalies = {};
        else return;
      }
      const counts = census.anomalies ?? {};
      for (const type of new Set(f.anomalies.map((a) => a.type))) counts[type] = (counts[type] ?? 0) + 1;
    };
  }
  const probe = values["probe-memory"] === true;
  let liveMax = 0;
  let memAtLiveMax = memBase;
  const fd = openSync(file, "r");
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  if (probe) {
    while (rec.readRecordsFrom(fd, sink)) {
      const s = rec.stats;
      const live = s.flows_created - s.flows_emitted;
      if (live > liveMax) {
        liveMax = live;
        memAtLiveMax = engine.exports.memory.buffer.byteLength;
      }
    }
  } else {
    while (rec.readRecordsFrom(fd, sink));
  }
  rec.finishRecords(sink);
  const elapsedMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  closeSync(fd);
  const s = rec.stats;
  const out = {
    impl: options.fastPath === false ? "engine-no-fast-path" : "engine",
    flows,
    segments: s.segments,
    records: s.records,
    bytes: s.bytes,
    flowsEvicted: s.flows_evicted,
    error: rec.error?.code ?? null,
    elapsedMs,
    // CPU time of the measured pass (user + system, all threads of the process; V8's helper
    // threads add a little): on a loaded shared machine it moves far less than elapsedMs.
    cpuMs: (cpu.user + cpu.system) / 1000,
    warmupMs,
    warmupBytes,
    warmupSegments,
    wasmMemoryBytes: engine.exports.memory.buffer.byteLength,
    maxRssKb: process.resourceUsage().maxRSS,
  };
  if (census) out.census = census;
  if (probe) {
    const recLive = engine.exports.REC_LIVE?.value ?? null;
    const extSize = engine.exports.EXT_SIZE?.value ?? null;
    Object.assign(out, {
      liveMax,
      wasmBaseBytes: memBase,
      wasmAtLiveMaxBytes: memAtLiveMax,
      bytesPerLiveFlow: liveMax > 0 ? (memAtLiveMax - memBase) / liveMax : null,
      recordBytes: { REC_LIVE: recLive, EXT_SIZE: extSize },
    });
  }
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e.stack ?? String(e));
  process.exit(1);
});
