// The CLI imports what only some runs need when a run needs it (src/cli.ts loadPrinter,
// loadFormatThreads, loadSortedRecords, the sharded run; bin/flowrecon.js loads the shard threads
// only to start some; src/net/local-nets.ts requires node:net on first use). These checks fail if
// a lazy import broke a path (every format, one engine and two, sorted or not, format threads, a
// checked --local-nets), or if an `analyze --format ndjson` of a small capture loads those modules
// again at its start.
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { FORMAT_NAMES } from "../../src/format/names.js";
import { repoRoot } from "./helpers.js";

const BIN = resolve(repoRoot, "bin", "flowrecon.js");
const CAPTURE = resolve(repoRoot, "test/fixtures/kernel/combined.pcap");
const dir = mkdtempSync(join(tmpdir(), "flowrecon-lazy-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(
  args: string[],
  env: Record<string, string> = {},
): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, "analyze", CAPTURE, ...args], {
    cwd: repoRoot,
    encoding: "utf8",
    env: { ...process.env, FLOWRECON_FORMAT_THREADS: undefined, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The output's lines in a fixed order, without Zeek's wall-clock #open/#close or json's separating commas. */
function lines(text: string): string[] {
  return text
    .split("\n")
    .filter((l) => !/^#(open|close)\t/.test(l))
    .map((l) => l.replace(/,$/, ""))
    .sort();
}

describe("paths the CLI loads on demand", () => {
  for (const format of FORMAT_NAMES) {
    it(`--format ${format}: one engine, two, sorted, format threads and --local-nets print the same flows`, () => {
      const one = run(["--format", format, "--threads", "1"]);
      expect(one.stderr).toBe("");
      expect(one.code).toBe(0);
      expect(one.stdout).toMatch(/10\.77\.0\.2/); // the flows (an address every format prints)
      const sorted1 = run(["--format", format, "--threads", "1", "--sort", "ts"]);
      const variants = [
        run(["--format", format]),
        run(["--format", format, "--threads", "2"]),
        sorted1,
        run(["--format", format, "--threads", "2", "--sort", "ts"]),
        run(["--format", format], { FLOWRECON_FORMAT_THREADS: "1" }),
        run(["--format", format, "--local-nets", "192.0.2.0/24,2001:db8::/32"]),
      ];
      for (const r of variants) {
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
      }
      for (const r of variants.slice(0, 5)) expect(lines(r.stdout)).toEqual(lines(one.stdout));
      // Sorted output is the same bytes for any engine count (the wall clock of #open/#close aside).
      expect(lines(variants[3].stdout)).toEqual(lines(sorted1.stdout));
      expect(variants[3].stdout.replace(/^#(open|close)\t.*$/gm, "")).toBe(
        sorted1.stdout.replace(/^#(open|close)\t.*$/gm, ""),
      );
      expect(variants[5].stdout.split("\n").length).toBe(one.stdout.split("\n").length);
    });
  }

  it("an analyze --format ndjson of a small capture loads none of what it does not use", () => {
    // A loader hook logs every module loaded (it runs on its own thread); an exit handler logs the
    // built-in modules (process.moduleLoadList, as hash-key.test.ts reads it) of a second run.
    const urls = join(dir, "urls.txt");
    const builtins = join(dir, "builtins.txt");
    const hooks = join(dir, "hooks.mjs");
    writeFileSync(
      hooks,
      `import { appendFileSync } from "node:fs";
export async function load(url, context, next) {
  appendFileSync(${JSON.stringify(urls)}, url + "\\n");
  return next(url, context);
}\n`,
    );
    const register = join(dir, "register.mjs");
    writeFileSync(
      register,
      `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
    );
    const onExit = join(dir, "on-exit.mjs");
    writeFileSync(
      onExit,
      `import { writeFileSync } from "node:fs";
process.on("exit", () => writeFileSync(${JSON.stringify(builtins)}, process.moduleLoadList.join("\\n")));\n`,
    );
    // stdout and stderr to files, as a pipeline stage writing one (a pipe on either loads node:net).
    const runTo = (preload: string): void => {
      const out = openSync(join(dir, "out.ndjson"), "w");
      const err = openSync(join(dir, "err.txt"), "w");
      try {
        const r = spawnSync(process.execPath, ["--import", pathToFileURL(preload).href, BIN, "analyze", CAPTURE], {
          cwd: repoRoot,
          stdio: ["ignore", out, err],
        });
        expect(readFileSync(join(dir, "err.txt"), "utf8")).toBe("");
        expect(r.status).toBe(0);
        expect(readFileSync(join(dir, "out.ndjson"), "utf8")).toMatch(/10\.77\.0\.2/);
      } finally {
        closeSync(out);
        closeSync(err);
      }
    };
    runTo(register);
    const loaded = readFileSync(urls, "utf8")
      .split("\n")
      .filter((u) => u.includes("/dist/"))
      .map((u) => u.slice(u.indexOf("/dist/") + 1));
    expect(loaded).toContain("dist/cli.js");
    expect(loaded).toContain("dist/output/engine-print.js");
    for (const unused of [
      "dist/output/printer.js",
      "dist/output/format-threads.js",
      "dist/output/sorted-records.js",
      "dist/shards/shard-threads.js",
      "dist/shards/sharded-run.js",
      "dist/shards/protocol.js",
      "dist/format/index.js",
      "dist/format/json.js",
      "dist/format/zeek.js",
      "dist/format/table.js",
      "dist/anomalies/derive.js",
    ])
      expect(loaded).not.toContain(unused);
    runTo(onExit);
    const natives = readFileSync(builtins, "utf8").split("\n");
    expect(natives).toContain("NativeModule fs");
    expect(natives).not.toContain("NativeModule worker_threads");
    expect(natives).not.toContain("NativeModule net");
  });
});
