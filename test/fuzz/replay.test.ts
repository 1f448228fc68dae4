// Replays every minimised fuzzing finding kept as a regression fixture (test/fixtures/fuzz/*: the
// input, and a .json note with the oracle that failed and the engine options it ran with) through
// every oracle of the campaign (fuzz/oracles.mjs), in process and through the CLI. One case per
// fixture, failing with the oracle's own message. Findings still open are kept in fuzz/findings/
// instead, outside this test (see the README there).

import { describe, expect, it } from "vitest";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../host/helpers.js";
import { checkCli, checkInProcess } from "../../fuzz/oracles.mjs";
import { equivalentForm, Rng } from "../../fuzz/mutate.mjs";
import { knownAs } from "../../fuzz/known.mjs";

const DIR = join(repoRoot, "test", "fixtures", "fuzz");

interface Note {
  signature: string;
  options?: Record<string, unknown>;
  format?: "ndjson" | "json" | "zeek" | "table";
  stdin?: boolean;
}

const fixtures = existsSync(DIR)
  ? readdirSync(DIR)
      .filter((f) => f.endsWith(".json"))
      .map((f) => ({ name: f.replace(/\.json$/, ""), note: JSON.parse(readFileSync(join(DIR, f), "utf8")) as Note }))
  : [];

function inputOf(name: string): Uint8Array {
  const file = readdirSync(DIR).find((f) => f.startsWith(`${name}.`) && !f.endsWith(".json"));
  if (file === undefined) throw new Error(`fixture ${name} has a note but no input`);
  return new Uint8Array(readFileSync(join(DIR, file)));
}

describe("fuzzing regressions (test/fixtures/fuzz)", () => {
  it("every note has its input", () => {
    for (const { name } of fixtures) expect(() => inputOf(name)).not.toThrow();
  });

  for (const { name, note } of fixtures) {
    it(`${name} (was ${note.signature})`, () => {
      const bytes = inputOf(name);
      const options = note.options ?? {};
      const { findings, reference } = checkInProcess(bytes, options, {
        equivalent: (b: Uint8Array) => equivalentForm(b, new Rng(1)),
      });
      const open = findings.filter((f: { oracle: string }) => knownAs(f) === null);
      expect(open.map((f: { detail: string }) => f.detail)).toEqual([]);
      expect(reference).not.toBeNull();
      for (const format of note.format ? [note.format] : (["ndjson", "zeek"] as const)) {
        const cli = checkCli(bytes, format, options, reference, note.stdin ?? false).filter(
          (f: { oracle: string }) => knownAs(f) === null,
        );
        expect(cli.map((f: { detail: string }) => f.detail)).toEqual([]);
      }
    });
  }
});
