#!/usr/bin/env node
/**
 * The fuzzing campaign: `npm run fuzz -- --minutes N [--workers K] [--seed S] [--out DIR]`.
 *
 * Starts K worker processes (worker.mjs), each mutating the seed captures (seeds.mjs) with the
 * structure-aware mutators (mutate.mjs) and checking every input against the oracles (oracles.mjs)
 * in process and, every --cli-every inputs, through bin/flowrecon.js. A watchdog kills a worker
 * that has not reported for 10 s (a hang: its current input is saved as a finding) and starts a
 * fresh one. Findings are minimised and saved in --out (default fuzz/out/) with a JSON note each;
 * at the end a summary (iterations per target, inputs that reached each layer of issue 12,
 * findings) is printed and written to <out>/summary.json. Exit status 1 when a finding is not a known defect (known.mjs), else 0.
 *
 * Needs the build (`npm run build`); `npm run fuzz` builds first.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseCommandLine, usageError } from "../bench/lib/cli-args.mjs";
import { NEW_LAYERS } from "./frames.mjs";
import { WATCHDOG_MS } from "./oracles.mjs";
import { saveFinding } from "./worker.mjs";

const USAGE =
  "usage: node fuzz/run.mjs --minutes N [--seconds S] [--workers K] [--seed S] [--out DIR] [--cli-every N]\n" +
  "         [--minimise-seconds S] [--quiet]      (npm run fuzz -- [options])";
const { values } = parseCommandLine(USAGE, {
  options: {
    minutes: { type: "string" },
    seconds: { type: "string" },
    workers: { type: "string", default: "1" },
    seed: { type: "string" },
    out: { type: "string" },
    "cli-every": { type: "string", default: "25" },
    "minimise-seconds": { type: "string", default: "60" },
    quiet: { type: "boolean", default: false },
  },
});

const seconds = values.seconds !== undefined ? Number(values.seconds) : Number(values.minutes ?? "1") * 60;
const workers = Number(values.workers);
if (!(seconds > 0) || !(workers >= 1))
  usageError(USAGE, "--minutes (or --seconds) and --workers take positive numbers");
const seed = values.seed !== undefined ? Number(values.seed) : Date.now() % 2 ** 31;
const out = resolve(values.out ?? fileURLToPath(new URL("out", import.meta.url)));
mkdirSync(out, { recursive: true });
const WORKER = fileURLToPath(new URL("worker.mjs", import.meta.url));
const startedAt = Date.now();
const endAt = startedAt + seconds * 1000;
const log = (s) => values.quiet || console.log(`[fuzz ${((Date.now() - startedAt) / 1000).toFixed(0)}s] ${s}`);

/** byLayer: how many inputs reached each layer of issue 12 (frames.mjs walk, layer-mutators.mjs layersReached). */
const totals = { inputs: 0, engineRuns: 0, cliRuns: 0, hangs: 0, restarts: 0, byLayer: {}, byOp: {} };
/** signature|known -> {signature, known, count, files} */
const findings = new Map();
let seedsShown = false;
let lastProgress = Date.now();

function note(signature, known, path) {
  const key = `${signature}|${known}`;
  const e = findings.get(key) ?? { signature, known, count: 0, files: [] };
  e.count++;
  if (path) e.files.push(path);
  findings.set(key, e);
}

/** Running workers, stopped on SIGINT/SIGTERM (the summary is still written). */
const children = new Set();
let stopping = false;
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    stopping = true;
    log(`${sig}: stopping the workers and writing the summary`);
    for (const c of children) c.kill("SIGKILL");
  });
}

function startWorker(id, workerSeed) {
  return new Promise((done) => {
    const child = spawn(
      process.execPath,
      [
        WORKER,
        String(id),
        String(workerSeed),
        String(endAt),
        out,
        values["cli-every"],
        String(Number(values["minimise-seconds"]) * 1000),
      ],
      {
        stdio: ["ignore", "inherit", "inherit", "pipe"],
      },
    );
    children.add(child);
    let last = Date.now();
    let lastInput = null;
    /** The worker's last reported step: a CLI run has its own 10 s timeout (oracles.mjs), so it gets more here. */
    let stage = "";
    let buffered = "";
    let finished = false;
    const reports = /** @type {import("node:stream").Readable} */ (child.stdio[3]);
    reports.setEncoding("utf8");
    reports.on("data", (text) => {
      last = Date.now();
      buffered += text;
      let nl;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const m = JSON.parse(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
        stage = m.type === "beat" ? m.stage : m.type;
        if (m.type === "input") {
          lastInput = m;
          totals.inputs++;
          totals.engineRuns += 3; // one run per chunk size; prefix and equivalent-form runs come on top
          for (const op of m.ops) {
            // layer operators count under their own name ("layer:geneve-options:..." -> "layer:geneve-options")
            const k = op.startsWith("layer:") ? `layer:${op.slice(6).split(/[:@=+]/)[0]}` : op.split(/[:@=]/)[0];
            totals.byOp[k] = (totals.byOp[k] ?? 0) + 1;
          }
          for (const l of m.layers ?? []) totals.byLayer[l] = (totals.byLayer[l] ?? 0) + 1;
        } else if (m.type === "cli") totals.cliRuns++;
        else if (m.type === "seeds" && id === 0 && !seedsShown) {
          seedsShown = true;
          log(
            `${m.count} seed captures (test/fixtures/**, ../shared/corpus/**), ${m.layered} with a layer of issue 12`,
          );
        } else if (m.type === "progress" && Date.now() - lastProgress >= 300_000) {
          lastProgress = Date.now();
          log(`worker ${id}: ${m.inputs} inputs, ${m.cliRuns} CLI runs, ${m.findings} failing checks so far`);
        } else if (m.type === "repeat") note(m.signature, m.known, null);
        else if (m.type === "finding") {
          note(m.signature, m.known, m.path);
          log(
            `worker ${id}: ${m.known ? `known (${m.known})` : "FINDING"} ${m.signature} -> ${m.path}\n    ${m.detail}`,
          );
        } else if (m.type === "done") {
          finished = true;
        }
      }
    });
    const timer = setInterval(() => {
      if (stopping || Date.now() - last <= (stage.startsWith("cli") ? 2 * WATCHDOG_MS : WATCHDOG_MS)) return;
      // No report for WATCHDOG_MS: the current input hangs a decoder (or the host loops).
      clearInterval(timer);
      child.kill("SIGKILL");
      totals.hangs++;
      const current = join(out, `.current-${id}.bin`);
      if (existsSync(current)) {
        const bytes = new Uint8Array(readFileSync(current));
        const f = { signature: "hang", oracle: "hang", detail: `no progress for ${WATCHDOG_MS} ms` };
        const path = saveFinding(out, f, bytes, { ...(lastInput ?? {}), type: undefined });
        note("hang", null, path);
        log(`worker ${id}: FINDING hang -> ${path}`);
      }
    }, 1000);
    child.on("exit", (code, signal) => {
      clearInterval(timer);
      children.delete(child);
      if (stopping) finished = true;
      if (!finished && signal !== "SIGKILL") {
        totals.restarts++;
        note(`worker-exit:${code ?? signal}`, null, null);
        log(`worker ${id} died (${code ?? signal}) on input ${JSON.stringify(lastInput)}`);
        const current = join(out, `.current-${id}.bin`);
        if (existsSync(current)) copyFileSync(current, join(out, `worker-exit-${id}-${Date.now()}.bin`));
      }
      done(finished);
    });
  });
}

async function workerSlot(id) {
  let n = 0;
  // A worker killed by the watchdog is replaced (new seed) until the time is up.
  while (Date.now() < endAt - 2000) {
    const ok = await startWorker(id, (seed + id * 7919 + n++ * 104729) >>> 0);
    if (ok) return;
  }
}

log(`seed ${seed}, ${workers} worker(s), ${seconds} s, findings in ${out}`);
await Promise.all(Array.from({ length: workers }, (_, i) => workerSlot(i)));
const durationS = (Date.now() - startedAt) / 1000;
const list = [...findings.values()].sort((a, b) => b.count - a.count);
// every layer of issue 12, reached or not (a 0 says a layer went unexercised)
const byLayer = Object.fromEntries([...NEW_LAYERS, "gre"].map((l) => [l, totals.byLayer[l] ?? 0]));
const summary = {
  seed,
  workers,
  durationS,
  ...totals,
  byLayer,
  inputsPerSecond: +(totals.inputs / durationS).toFixed(2),
  findings: list,
};
writeFileSync(join(out, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
console.log(
  JSON.stringify(
    { ...summary, byOp: undefined, findings: list.map((f) => ({ ...f, files: f.files.slice(0, 3) })) },
    null,
    2,
  ),
);
process.exitCode = list.some((f) => f.known === null) ? 1 : 0;
