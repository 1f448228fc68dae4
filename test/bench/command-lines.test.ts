// Every bench script's command line (bench/lib/cli-args.mjs): `--help` prints its usage and exits 0,
// an unknown option names itself and the usage and exits 2, with no stack trace. The scripts stop
// there, before they build, generate or run anything, so each case takes one Node start.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const BENCH = join(import.meta.dirname, "..", "..", "bench");
const SCRIPTS = readdirSync(BENCH).filter((f) => f.endsWith(".mjs"));

function run(script: string, ...args: string[]) {
  return spawnSync(process.execPath, [join(BENCH, script), ...args], { encoding: "utf8", timeout: 30_000 });
}

describe("bench scripts' command lines", () => {
  it("finds the scripts", () => {
    expect(SCRIPTS).toEqual(expect.arrayContaining(["engine.mjs", "gen.mjs", "profile.mjs", "throughput.mjs"]));
  });

  for (const script of SCRIPTS) {
    it(`${script} --help prints its usage and exits 0`, () => {
      const r = run(script, "--help");
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: node bench/${script.replace(".", "\\.")}`));
      expect(r.stderr).toBe("");
    });

    it(`${script} names an unknown option, prints its usage and exits 2`, () => {
      const r = run(script, "--no-such-option");
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`${script}: Unknown option '--no-such-option'\nusage: node bench/${script}`);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    });
  }
});
