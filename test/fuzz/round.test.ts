// The CI round of the fuzzing campaign (fuzz/run.mjs, issue 11): 60 seconds of structure-aware
// mutants of every capture under test/fixtures and ../shared/corpus, in process and through the
// CLI, against every oracle, with the 10 s hang watchdog. Fails on any finding that is not a known
// defect (fuzz/known.mjs), naming the minimised input it saved. FUZZ_SEED replays a round;
// FUZZ_SECONDS changes its length. The round draws from the layer mutators of issue 12
// (fuzz/layer-mutators.mjs): its first inputs take every seed that carries such a layer through
// one of them, so every layer must be reached in the round, and some layer operators applied.

import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../host/helpers.js";
import { NEW_LAYERS } from "../../fuzz/frames.mjs";

const SECONDS = Number(process.env.FUZZ_SECONDS ?? 60);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

interface Summary {
  inputs: number;
  cliRuns: number;
  findings: { signature: string; known: string | null; files: string[] }[];
  byLayer: Record<string, number>;
  byOp: Record<string, number>;
}

describe(`fuzz round (FUZZ_SEED=${SEED}, ${SECONDS} s)`, () => {
  it(
    "no trap, throw, hang, exit 3, unbounded memory, offset-less error or chunk/prefix/CLI difference",
    () => {
      const out = mkdtempSync(join(tmpdir(), "flowrecon-fuzz-round-"));
      const run = spawnSync(
        process.execPath,
        [
          "fuzz/run.mjs",
          "--seconds",
          String(SECONDS),
          "--workers",
          "1",
          "--seed",
          String(SEED),
          "--out",
          out,
          "--cli-every",
          "10",
          "--minimise-seconds",
          "20",
          "--quiet",
        ],
        {
          cwd: repoRoot,
          encoding: "utf8",
          timeout: (SECONDS + 120) * 1000,
        },
      );
      expect(run.error, run.stderr).toBeUndefined();
      const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as Summary;
      const open = summary.findings.filter((f) => f.known === null);
      const notes = open.flatMap((f) =>
        f.files
          .slice(0, 1)
          .map((file) => `${f.signature}: ${file}\n${readFileSync(file.replace(/\.[a-z]+$/, ".json"), "utf8")}`),
      );
      expect(notes, `replay with FUZZ_SEED=${SEED}; minimised inputs in ${out}`).toEqual([]);
      expect(open.map((f) => f.signature)).toEqual([]);
      expect(summary.inputs).toBeGreaterThan(10);
      expect(summary.cliRuns).toBeGreaterThan(0);
      // every layer of issue 12 reached by some input, and layer operators among the mutations
      expect(
        (NEW_LAYERS as string[]).filter((l) => !(summary.byLayer[l] > 0)),
        JSON.stringify(summary.byLayer),
      ).toEqual([]);
      const layerOps = Object.entries(summary.byOp).filter(([op]) => op.startsWith("layer:"));
      expect(layerOps.length, JSON.stringify(summary.byOp)).toBeGreaterThan(5);
    },
    (SECONDS + 180) * 1000,
  );
});
