// Every bench script's command line, and the fuzzing campaign's (bench/lib/cli-args.mjs): `--help`
// prints its usage and exits 0, an unknown option names itself and the usage and exits 2, with no
// stack trace. The scripts stop there, before they build, generate or run anything, so each case
// takes one Node start.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const SCRIPTS = [
  ...readdirSync(join(ROOT, "bench"))
    .filter((f) => f.endsWith(".mjs"))
    .map((f) => `bench/${f}`),
  "fuzz/run.mjs",
  "fuzz/check.mjs",
];

function run(script: string, ...args: string[]) {
  return spawnSync(process.execPath, [join(ROOT, script), ...args], { encoding: "utf8", timeout: 30_000 });
}

describe("bench scripts' command lines", () => {
  it("finds the scripts", () => {
    expect(SCRIPTS).toEqual(
      expect.arrayContaining(["bench/engine.mjs", "bench/gen.mjs", "bench/profile.mjs", "bench/throughput.mjs"]),
    );
  });

  for (const script of SCRIPTS) {
    it(`${script} --help prints its usage and exits 0`, () => {
      const r = run(script, "--help");
      expect(r.status).toBe(0);
      expect(r.stdout.startsWith(`usage: node ${script}`)).toBe(true);
      expect(r.stderr).toBe("");
    });

    it(`${script} names an unknown option, prints its usage and exits 2`, () => {
      const r = run(script, "--no-such-option");
      expect(r.status).toBe(2);
      const name = script.slice(script.indexOf("/") + 1);
      expect(r.stderr).toContain(`${name}: Unknown option '--no-such-option'\nusage: node ${script}`);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    });
  }
});
