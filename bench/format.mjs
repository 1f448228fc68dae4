#!/usr/bin/env node
/**
 * Format cost per flow of the engine's formatter (assembly/format/, src/format/engine-lines.ts) on
 * finished records. The JavaScript formatter it replaced is no longer a baseline here: it left src/
 * and lives on only as the differential tests' oracle (test/host/js-record-writers.ts, TypeScript
 * that node does not run by itself); README's figures from before say what it cost.
 *
 * The capture (a path, or the generator's anomaly-rich one when none is given) runs through the
 * engine once; up to a window's worth of its finished records are copied into the engine's input
 * window, where the formatter reads them as it reads the output ring. It then writes every record
 * `--reps` times (after one warm-up pass), its bytes moved out of its buffer as the CLI moves them;
 * the best pass counts, in CPU time (user + system) of the process. Records go to the formatter as
 * many at a call as it takes (EngineLines.records), or one per call with `--single` (EngineLines.record).
 *
 *   node bench/format.mjs [capture.pcap] [--reps 20] [--format ndjson|zeek|all] [--single]
 *     -> one JSON line per format: {format, records, bytesPerFlow, engineNsPerFlow, loadavg}
 *
 * Needs `npm run build`.
 * @module
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseCommandLine } from "./lib/cli-args.mjs";
import { cpuNs, recordsInWindow } from "./lib/format-records.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const USAGE = "usage: node bench/format.mjs [capture.pcap] [--reps 20] [--format ndjson|zeek|all] [--single]";

async function main() {
  const { values, positionals } = parseCommandLine(USAGE, {
    allowPositionals: true,
    options: { reps: { type: "string" }, format: { type: "string" }, single: { type: "boolean" } },
  });
  const reps = Number(values.reps ?? 20);
  const formats = values.format === undefined || values.format === "all" ? ["ndjson", "zeek"] : [values.format];

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

  const records = await recordsInWindow(ROOT, bytes);
  const n = records.n;

  for (const format of formats) {
    const run = records.format(format, values.single === true);
    // The bytes of one pass (bytesPerFlow).
    const b = run.all();
    // Best pass in CPU time of this process.
    let engineBest = Infinity;
    run.pass();
    for (let r = 0; r < reps; r++) engineBest = Math.min(engineBest, cpuNs(run.pass));
    const engineNs = engineBest / n;
    console.log(
      JSON.stringify({
        format,
        records: n,
        bytesPerFlow: Math.round(b.length / n),
        engineNsPerFlow: Math.round(engineNs),
        loadavg: loadavg().map((x) => Number(x.toFixed(2))),
      }),
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
