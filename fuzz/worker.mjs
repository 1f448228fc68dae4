/**
 * One fuzzing worker (a child process of run.mjs): mutates seeds, runs every oracle in process and,
 * every `cliEvery` inputs, through the CLI; minimises each new kind of failure and saves it under
 * the output folder. Before each input it writes the input to `.current-<id>.bin` and tells the
 * runner, so a hang (the runner's watchdog kills this process) still leaves the input behind.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { renameSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FORMAT_NAMES } from "../dist/index.js";
import { packets, parse, sniff } from "./capture-model.mjs";
import { knownAs } from "./known.mjs";
import { minimise } from "./minimise.mjs";
import { hasNewLayer, layersReached } from "./layer-mutators.mjs";
import { equivalentForm, mutate, mutateLayerFocused, mutateLayerStack, Rng } from "./mutate.mjs";
import { MAX_INPUT_BYTES, checkCli, checkInProcess, cleanupScratch, runInProcess } from "./oracles.mjs";
import { loadSeeds } from "./seeds.mjs";

/** How often a seed is drawn among those that carry a layer of issue 12 (else among all seeds). */
const LAYERED_SHARE = 0.35;

/** Engine options a mutant runs with: the defaults mostly, sometimes what changes the decoders' paths. */
export function randomOptions(r) {
  const o = {};
  if (r.chance(0.5)) o.ignoreChecksums = true;
  if (r.chance(0.15)) o.vlanInKey = true;
  if (r.chance(0.15)) o.likelyServerPorts = false;
  if (r.chance(0.1)) o.reportGapsForPartial = true;
  // a small table evicts mid-input (issue 11 defect 5's path); otherwise a table far above the
  // mutants' flow counts, which keeps each fresh engine small and fast
  o.flowCap = r.chance(0.2) ? 1 + r.int(4) : 4096;
  return o;
}

export function extensionOf(bytes) {
  const kind = sniff(bytes);
  return kind === "pcapng" ? "pcapng" : kind === "pcap" ? "pcap" : "bin";
}

function slug(s) {
  return s
    .replace(/[^A-Za-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 60);
}

/** Saves a finding's input and a JSON note beside it; returns the input's path. */
export function saveFinding(dir, f, bytes, meta) {
  const hash = createHash("sha1").update(bytes).digest("hex").slice(0, 10);
  const base = join(dir, `${slug(f.signature)}-${hash}`);
  const path = `${base}.${extensionOf(bytes)}`;
  writeFileSync(path, bytes);
  writeFileSync(
    `${base}.json`,
    JSON.stringify(
      { signature: f.signature, oracle: f.oracle, known: knownAs(f), detail: f.detail, bytes: bytes.length, ...meta },
      null,
      2,
    ) + "\n",
  );
  return path;
}

/**
 * Runs mutants until `endAt` (ms since the epoch). `report(msg)` receives progress and findings.
 * Returns the counters.
 * @param {{ id?: number, seed: number, endAt: number, out: string, cliEvery?: number, minimiseMs?: number,
 *   report?: (message: Record<string, unknown>) => void, seeds?: { name: string, bytes: Uint8Array }[] }} settings
 */
export function fuzzLoop({
  id = 0,
  seed,
  endAt,
  out,
  cliEvery = 25,
  minimiseMs = 60_000,
  report = () => {},
  seeds = loadSeeds(),
}) {
  const r = new Rng(seed);
  const counts = { inputs: 0, cliRuns: 0, findings: 0 };
  const seen = new Map();
  const current = join(out, `.current-${id}.bin`);
  const beat = (stage) => report({ type: "beat", stage });
  if (seeds.length === 0) throw new Error("no seed captures found");
  // The seeds that carry a layer of issue 12 (the layer fixtures, and any other capture that does):
  // the first inputs take each of them once through one layer mutator, so every layer is reached
  // in every round however short; afterwards they are drawn more often than the rest, and their
  // mutants are mostly stacks of layer operators (mutateLayerStack).
  const layered = seeds.filter((s) => {
    const m = parse(s.bytes);
    return m !== null && packets(m).some((p) => hasNewLayer(p.rec.data, p.linktype));
  });
  report({ type: "seeds", count: seeds.length, layered: layered.length });
  let progressAt = Date.now() + 60_000;
  while (Date.now() < endAt) {
    if (Date.now() >= progressAt) {
      progressAt += 60_000;
      report({ type: "progress", inputs: counts.inputs, cliRuns: counts.cliRuns, findings: counts.findings });
    }
    const first = counts.inputs < layered.length;
    const fromLayered = first || (layered.length > 0 && r.chance(LAYERED_SHARE));
    const s = first ? layered[counts.inputs] : fromLayered ? r.pick(layered) : r.pick(seeds);
    const other = r.pick(seeds).bytes;
    let { bytes, ops } = first
      ? mutateLayerFocused(s.bytes, other, r)
      : fromLayered && r.chance(0.6)
        ? mutateLayerStack(s.bytes, other, r)
        : mutate(s.bytes, other, r);
    if (bytes.length > MAX_INPUT_BYTES) bytes = bytes.subarray(0, MAX_INPUT_BYTES);
    const options = randomOptions(r);
    // written whole, then renamed: a worker killed mid-write leaves the previous input, not half of this one
    writeFileSync(`${current}.tmp`, bytes);
    renameSync(`${current}.tmp`, current);
    report({ type: "input", iter: counts.inputs, seed: s.name, ops, options, layers: layersReached(bytes) });
    const equivalent = r.chance(0.3) ? (b) => equivalentForm(b, r) : undefined;
    const { findings, reference } = checkInProcess(bytes, options, { equivalent, onStage: beat });
    counts.inputs++;
    const cli = [];
    if (reference !== null && counts.inputs % cliEvery === 0) {
      const format = r.pick(FORMAT_NAMES);
      const stdin = r.chance(0.3);
      beat(`cli-${format}`);
      cli.push(...checkCli(bytes, format, options, reference, stdin).map((f) => ({ ...f, format, stdin })));
      counts.cliRuns++;
      report({ type: "cli" });
    }
    for (const f of [...findings, ...cli]) {
      counts.findings++;
      const key = `${f.signature}|${knownAs(f)}`;
      const n = (seen.get(key) ?? 0) + 1;
      seen.set(key, n);
      if (n > 1) {
        report({ type: "repeat", signature: f.signature, known: knownAs(f) });
        continue;
      }
      const same = (candidate) => {
        let fs;
        if (f.format !== undefined) {
          const ref = runInProcess(candidate, 65536, options);
          if (ref.fault !== null) return false;
          fs = checkCli(candidate, f.format, options, ref, f.stdin);
        } else {
          fs = checkInProcess(candidate, options, {
            equivalent: equivalent && ((b) => equivalentForm(b, new Rng(1))),
          }).findings;
        }
        return fs.some((g) => g.signature === f.signature && knownAs(g) === knownAs(f));
      };
      beat("minimise");
      const small = minimise(bytes, same, { budgetMs: minimiseMs, onTry: () => beat("minimise") });
      // the finding as the minimised input shows it (its detail names the minimised bytes)
      const again =
        f.format !== undefined
          ? [f]
          : checkInProcess(small, options, {}).findings.filter((g) => g.signature === f.signature);
      const shown = again[0] ?? f;
      const path = saveFinding(out, shown, small, {
        options,
        ops,
        seed: s.name,
        format: f.format,
        stdin: f.stdin,
        originalBytes: bytes.length,
      });
      report({
        type: "finding",
        signature: f.signature,
        known: knownAs(shown),
        path,
        detail: shown.detail.slice(0, 400),
      });
    }
  }
  cleanupScratch();
  return counts;
}

// As a child process of run.mjs: argv = id, seed, endAt, out, cliEvery, minimiseMs. Reports go to
// fd 3 as JSON lines with synchronous writes, so they reach the runner even while one long
// synchronous step runs (the watchdog measures the time since the last line).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [id, seed, endAt, out, cliEvery, minimiseMs] = process.argv.slice(2);
  /** @param {Record<string, unknown>} m */
  const report = (m) => writeSync(3, JSON.stringify(m) + "\n");
  const counts = fuzzLoop({
    id: Number(id),
    seed: Number(seed),
    endAt: Number(endAt),
    out,
    cliEvery: Number(cliEvery),
    minimiseMs: Number(minimiseMs),
    report,
  });
  report({ type: "done", counts });
}
