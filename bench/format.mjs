#!/usr/bin/env node
/**
 * Format cost per flow: the JavaScript formatter (src/format/record-writers.ts, which the formats
 * used before they read the engine's column table) against the engine's (assembly/format/, src/format/engine-lines.ts), on the same
 * finished records, in one process, so the ratio holds however busy the machine is.
 *
 * The capture (a path, or the generator's anomaly-rich one when none is given) runs through the
 * engine once; up to a window's worth of its finished records are copied into the engine's input
 * window, where both formatters read them as they read the output ring. Each formatter then writes
 * every record `--reps` times (after one warm-up pass), the engine's bytes moved out of its buffer
 * as the CLI moves them; the best pass of each counts, in CPU time (user + system) of the process.
 * Both outputs are checked equal first.
 *
 *   node bench/format.mjs [capture.pcap] [--reps 20] [--format ndjson|zeek|all]
 *     -> one JSON line per format: {format, records, jsNsPerFlow, engineNsPerFlow, speedup, loadavg}
 *
 * Needs `npm run build`.
 * @module
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { reps: { type: "string" }, format: { type: "string" } },
  });
  const reps = Number(values.reps ?? 20);
  const formats = values.format === undefined || values.format === "all" ? ["ndjson", "zeek"] : [values.format];
  const { Reconstructor } = await import(join(ROOT, "dist", "index.js"));
  const { createEngine } = await import(join(ROOT, "dist", "wasm", "engine.js"));
  const { AsciiWriter } = await import(join(ROOT, "dist", "format", "ascii.js"));
  const { JsonRecordWriter, TsvRecordWriter } = await import(join(ROOT, "dist", "format", "record-writers.js"));

  let bytes;
  if (positionals[0] !== undefined) bytes = readFileSync(positionals[0]);
  else {
    const { generateCapture } = await import(join(ROOT, "bench", "lib", "traffic.mjs"));
    const dir = mkdtempSync(join(tmpdir(), "flowrecon-format-bench-"));
    const out = join(dir, "format.pcap");
    generateCapture({
      out,
      sidecar: false,
      seed: 7,
      segments: 200_000,
      concurrent: 2_000,
      snaplen: 96,
      anomalyShare: 0.3,
      rstShare: 0.2,
    });
    bytes = readFileSync(out);
    rmSync(dir, { recursive: true, force: true });
  }

  const engine = createEngine();
  const rec = new Reconstructor({}, engine);
  const size = rec.layout.constants.FR_SIZE;
  const window = engine.exports.inputPtr();
  const capacity = Math.floor(engine.exports.inputSize() / size);
  const kept = [];
  const keep = (v, p) => {
    if (kept.length < capacity) kept.push(Buffer.from(v.u8.subarray(p, p + size)));
  };
  for (let off = 0; off < bytes.length; off += 1 << 20) rec.pushRecords(bytes.subarray(off, off + (1 << 20)), keep);
  rec.finishRecords(keep);
  // The window is free once the input is finished: the records go there, in engine memory.
  const u8 = engine.views().u8;
  for (let i = 0; i < kept.length; i++) u8.set(kept[i], window + i * size);
  const n = kept.length;

  for (const format of formats) {
    const options = { insight: rec.insight };
    const writer =
      format === "zeek"
        ? new TsvRecordWriter(rec.layout, options)
        : new JsonRecordWriter(rec.layout, "nested", options);
    const js = {
      record(v, p, out) {
        writer.write(v, p, out);
        out.byte(0x0a);
      },
    };
    const lines = rec.engineLines({ format });
    const jsOut = new AsciiWriter(4 << 20);
    const engineOut = new AsciiWriter(4 << 20);
    const jsPass = () => {
      const v = engine.views();
      jsOut.pos = 0;
      for (let i = 0; i < n; i++) {
        js.record(v, window + i * size, jsOut);
        if (jsOut.pos > 2 << 20) jsOut.pos = 0;
      }
    };
    const enginePass = () => {
      engineOut.pos = 0;
      for (let i = 0; i < n; i++) {
        if (lines.record(window + i * size) < lines.flushBytes) continue;
        lines.moveTo(engineOut);
        engineOut.pos = 0;
      }
      lines.moveTo(engineOut);
    };
    // Same bytes first (the differential test proves it on every capture; this guards the bench).
    const a = new AsciiWriter(64 << 20);
    const v = engine.views();
    for (let i = 0; i < n; i++) js.record(v, window + i * size, a);
    const b = new AsciiWriter(64 << 20);
    for (let i = 0; i < n; i++) if (lines.record(window + i * size) >= lines.flushBytes) lines.moveTo(b);
    lines.moveTo(b);
    if (a.text() !== b.text()) throw new Error(`${format}: the two formatters disagree`);
    // Interleaved passes, best of each, in CPU time of this process (user + system): other jobs on
    // a busy machine stretch the wall clock, not the CPU time a pass takes.
    let jsBest = Infinity;
    let engineBest = Infinity;
    const cpuNs = (pass) => {
      const t = process.cpuUsage();
      pass();
      const d = process.cpuUsage(t);
      return (d.user + d.system) * 1000;
    };
    jsPass();
    enginePass();
    for (let r = 0; r < reps; r++) {
      jsBest = Math.min(jsBest, cpuNs(jsPass));
      engineBest = Math.min(engineBest, cpuNs(enginePass));
    }
    const jsNs = jsBest / n;
    const engineNs = engineBest / n;
    console.log(
      JSON.stringify({
        format,
        records: n,
        bytesPerFlow: Math.round(a.length / n),
        jsNsPerFlow: Math.round(jsNs),
        engineNsPerFlow: Math.round(engineNs),
        speedup: Number((jsNs / engineNs).toFixed(2)),
        loadavg: loadavg().map((x) => Number(x.toFixed(2))),
      }),
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
