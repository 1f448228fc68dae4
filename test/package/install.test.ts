// What `npm install flowrecon` gets (issue 11, packaging): the built engine and host, no compiler.
// The package ships build/flowrecon.wasm and dist/, so assemblyscript (and its 94 MB binaryen) is a
// devDependency, needed only to build from a clone (`npm ci` runs `prepare`). Installing the
// packed tarball into an empty project must give a working CLI and library without it.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../host/helpers.js";

const pkg = JSON.parse(readFileSync(resolve(repoRoot, "package.json"), "utf8")) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

describe("the npm package", () => {
  it("keeps the compiler out of the runtime dependencies", () => {
    expect(Object.keys(pkg.dependencies)).not.toContain("assemblyscript");
    expect(Object.keys(pkg.devDependencies)).toContain("assemblyscript");
  });

  it("ships the built engine, the host and the command, and no sources or tests", () => {
    // --ignore-scripts: pack what the test run built (global-setup) instead of building again.
    const [report] = JSON.parse(
      execFileSync(npm, ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: repoRoot, encoding: "utf8" }),
    ) as [{ files: { path: string }[] }];
    const files = report.files.map((f) => f.path);
    for (const f of [
      "build/flowrecon.wasm",
      "bin/flowrecon.js",
      "dist/index.js",
      "dist/cli.js",
      "dist/server.js",
      "dist/output/format-worker.js",
      "package.json",
      "README.md",
    ]) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => /^(src|test|assembly|bench)\//.test(f))).toEqual([]);
  });

  describe("installed from its tarball", () => {
    const dir = mkdtempSync(join(tmpdir(), "flowrecon-install-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("runs the CLI and the library without assemblyscript", () => {
      execFileSync(npm, ["pack", "--ignore-scripts", "--pack-destination", dir], { cwd: repoRoot, stdio: "ignore" });
      const app = join(dir, "app");
      mkdirSync(app);
      writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", private: true }));
      // Dependencies come from the npm cache `npm ci` filled (CI: registry access otherwise).
      execFileSync(
        npm,
        [
          "install",
          join(dir, `flowrecon-${pkg.version}.tgz`),
          "--omit=dev",
          "--prefer-offline",
          "--no-audit",
          "--no-fund",
          "--ignore-scripts",
        ],
        { cwd: app, stdio: "ignore" },
      );
      expect(existsSync(join(app, "node_modules", "flowrecon", "build", "flowrecon.wasm"))).toBe(true);
      expect(existsSync(join(app, "node_modules", "assemblyscript"))).toBe(false);
      expect(existsSync(join(app, "node_modules", "binaryen"))).toBe(false);

      const capture = resolve(repoRoot, "test/fixtures/kernel/combined.pcap");
      const installed = spawnSync(
        join(app, "node_modules", ".bin", "flowrecon"),
        ["analyze", capture, "--format", "zeek"],
        { encoding: "utf8" },
      );
      const here = spawnSync(
        process.execPath,
        [resolve(repoRoot, "bin/flowrecon.js"), "analyze", capture, "--format", "zeek"],
        { encoding: "utf8" },
      );
      expect(installed.stderr).toBe("");
      expect(installed.status).toBe(0);
      const rows = (s: string) => s.split("\n").filter((l) => !l.startsWith("#open") && !l.startsWith("#close"));
      expect(rows(installed.stdout)).toEqual(rows(here.stdout));

      const lib = spawnSync(
        process.execPath,
        [
          "--input-type=module",
          "-e",
          `import { Reconstructor } from "flowrecon"; import { readFileSync } from "node:fs";
         const r = new Reconstructor(); const f = r.push(readFileSync(${JSON.stringify(capture)})); f.push(...r.finish()); console.log(f.length);`,
        ],
        { cwd: app, encoding: "utf8" },
      );
      expect(lib.stderr).toBe("");
      expect(Number(lib.stdout.trim())).toBeGreaterThan(0);
    }, 240_000);
  });
});
