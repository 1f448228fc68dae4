// The CLI has the API's engine options (issue 11): timeouts, reassembly limits, Community ID seed,
// flow cap and hash key; `--help` lists the anomaly names and the environment; `flowrecon serve`
// runs the API as `npm start` does. Each option is checked against the library with the same option
// (a differential test), on a capture where the option changes the output.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { Reconstructor, type ReconstructorOptions } from "../../src/reconstructor.js";
import { AsciiWriter, createFormatter } from "../../src/format/index.js";
import { ANOMALIES } from "../../src/anomalies/index.js";
import { ENV } from "../../src/http/config.js";
import { parseCommandLine } from "../../src/cli.js";
import { corpus, repoRoot } from "./helpers.js";

const BIN = resolve(repoRoot, "bin", "flowrecon.js");
const COMBINED = resolve(repoRoot, "test/fixtures/kernel/combined.pcap");

function run(
  args: string[],
  env: Record<string, string | undefined> = {},
): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: repoRoot,
    encoding: "utf8",
    env: { ...process.env, FLOWRECON_HASH_KEY: undefined, ...env },
    maxBuffer: 64 << 20,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** What the library prints as ndjson for the capture with these options. */
function library(capture: string, options: ReconstructorOptions): string {
  const rec = new Reconstructor(options);
  const f = createFormatter("ndjson", rec.layout, { insight: rec.insight, communityIdSeed: options.communityIdSeed });
  const out = new AsciiWriter(1 << 16);
  f.begin(out);
  const sink = (v: Parameters<typeof f.record>[0], p: number): void => f.record(v, p, out);
  rec.pushRecords(readFileSync(capture), sink);
  rec.finishRecords(sink);
  f.end({ stats: rec.stats, error: rec.error }, out);
  return out.text();
}

describe("engine options on the command line", () => {
  const cases: [flags: string[], options: ReconstructorOptions, capture: string][] = [
    [["--attempt-timeout", "0.5"], { attemptTimeout: 0.5 }, COMBINED],
    [["--close-timeout", "0.001"], { closeTimeout: 0.001 }, COMBINED],
    [["--inactivity-timeout", "0.2"], { inactivityTimeout: 0.2 }, COMBINED],
    [["--handshake-inactivity-timeout", "0.001"], { handshakeInactivityTimeout: 0.001 }, COMBINED],
    [
      ["--interactive-inactivity-timeout", "0.01", "-C"],
      { interactiveInactivityTimeout: 0.01, ignoreChecksums: true },
      corpus("ftp-limit-x.pcap"),
    ],
    [
      ["--excessive-data-without-acks", "1", "-C"],
      { excessiveDataWithoutAcks: 1, ignoreChecksums: true },
      corpus("tcp-ssh-dups.pcap"),
    ],
    [["--community-id-seed", "7"], { communityIdSeed: 7 }, COMBINED],
    [["--flow-cap", "2"], { flowCap: 2 }, COMBINED],
  ];
  for (const [flags, options, capture] of cases) {
    it(`${flags[0]} prints what the library prints with ${JSON.stringify(options)}`, () => {
      const r = run(["analyze", capture, ...flags]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const expected = library(capture, options);
      expect(r.stdout).toBe(expected);
      // The option made a difference, so the comparison above says the flag reached the engine.
      const { [Object.keys(options)[0] as keyof ReconstructorOptions]: _, ...rest } = options;
      expect(library(capture, rest)).not.toBe(expected);
    });
  }

  // No capture at hand changes with --max-above-hole-without-acks, so the flag -> option mapping is
  // checked for every flag directly (the option -> engine mapping: abi.test.ts).
  it.each([
    ["--flow-cap", "5", { flowCap: 5 }],
    ["--attempt-timeout", "1.5", { attemptTimeout: 1.5 }],
    ["--close-timeout", "0", { closeTimeout: 0 }],
    ["--inactivity-timeout", "30", { inactivityTimeout: 30 }],
    ["--interactive-inactivity-timeout", "60", { interactiveInactivityTimeout: 60 }],
    ["--handshake-inactivity-timeout", "2", { handshakeInactivityTimeout: 2 }],
    ["--max-above-hole-without-acks", "1", { maxAboveHoleWithoutAcks: 1 }],
    ["--excessive-data-without-acks", "0", { excessiveDataWithoutAcks: 0 }],
    ["--community-id-seed", "65535", { communityIdSeed: 65535 }],
    ["--hash-key", "0123456789abcdef0123456789ABCDEF", { hashKey: "0123456789abcdef0123456789ABCDEF" }],
  ])("%s %s sets %j", (flag, value, options) => {
    const parsed = parseCommandLine(["analyze", "x.pcap", flag, value]);
    expect(parsed.kind === "analyze" && parsed.args.options).toEqual(options);
  });

  it("--hash-key and FLOWRECON_HASH_KEY change nothing in the output", () => {
    const plain = run(["analyze", COMBINED, "--flow-cap", "2"]).stdout;
    expect(run(["analyze", COMBINED, "--flow-cap", "2", "--hash-key", "0123456789abcdef0123456789abcdef"]).stdout).toBe(
      plain,
    );
    expect(
      run(["analyze", COMBINED, "--flow-cap", "2"], { FLOWRECON_HASH_KEY: "ffffffffffffffff0000000000000000" }).stdout,
    ).toBe(plain);
  });

  it.each([
    [["--attempt-timeout", "soon"], /--attempt-timeout needs a number of seconds >= 0, got 'soon'/],
    [["--close-timeout=-1"], /--close-timeout needs a number of seconds >= 0, got '-1'/],
    [["--inactivity-timeout", ""], /--inactivity-timeout needs a number of seconds >= 0, got ''/],
    [
      ["--max-above-hole-without-acks", "1.5"],
      /--max-above-hole-without-acks needs a whole number of bytes, got '1.5'/,
    ],
    [["--community-id-seed", "65536"], /--community-id-seed needs a whole number in \[0, 65535\], got '65536'/],
    [["--hash-key", "abc"], /--hash-key must be 32 hex digits \(128 bits\), got 'abc'/],
  ])("%j is a usage error", (flags, message) => {
    const r = run(["analyze", COMBINED, ...flags]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe("");
  });

  it("a malformed FLOWRECON_HASH_KEY is a usage error naming the variable", () => {
    const r = run(["analyze", COMBINED], { FLOWRECON_HASH_KEY: "not-a-key" });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^flowrecon: FLOWRECON_HASH_KEY must be 32 hex digits \(128 bits\), got 'not-a-key'/);
  });
});

describe("flowrecon --help", () => {
  const help = run(["--help"]).stdout;

  it("lists every anomaly of the catalogue", () => {
    for (const a of ANOMALIES) expect(help).toMatch(new RegExp(`\\b${a.name}\\b`));
  });

  it("lists the environment variables of analyze and serve", () => {
    for (const name of [
      "FLOWRECON_HASH_KEY",
      "FLOWRECON_FORMAT_THREADS",
      "FLOWRECON_DEBUG",
      "HOST",
      "PORT",
      "FLOWRECON_TOKEN",
      ...ENV.map(([n]) => n),
    ]) {
      expect(help).toMatch(new RegExp(`\\b${name}\\b`));
    }
  });

  it("lists every engine option", () => {
    for (const flag of [
      "--flow-cap",
      "--attempt-timeout",
      "--close-timeout",
      "--inactivity-timeout",
      "--interactive-inactivity-timeout",
      "--handshake-inactivity-timeout",
      "--max-above-hole-without-acks",
      "--excessive-data-without-acks",
      "--community-id-seed",
      "--hash-key",
    ]) {
      expect(help).toContain(flag);
    }
  });
});

describe("flowrecon serve", () => {
  it("serves the API with the settings of npm start and stops on SIGTERM", async () => {
    // A data directory of its own: sessions are durable, and ones left in the default directory by
    // an earlier server would be reloaded and count against FLOWRECON_MAX_SESSIONS.
    const dataDir = mkdtempSync(join(tmpdir(), "flowrecon-serve-"));
    const child = spawn(process.execPath, [BIN, "serve"], {
      cwd: repoRoot,
      env: {
        ...process.env,
        PORT: "0",
        HOST: "127.0.0.1",
        FLOWRECON_TOKEN: "",
        FLOWRECON_MAX_SESSIONS: "3",
        FLOWRECON_DATA_DIR: dataDir,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
    try {
      const port = await new Promise<number>((done, fail) => {
        child.stdout.on("data", () => {
          // The server logs JSON lines (src/http/log.ts); the "listening" line carries the port.
          for (const line of stdout.split("\n")) {
            if (!line.startsWith("{")) continue;
            const entry = JSON.parse(line) as { msg?: string; port?: number };
            if (entry.msg === "listening" && entry.port !== undefined) done(entry.port);
          }
        });
        child.on("exit", (code) => fail(new Error(`serve exited ${code} before listening`)));
      });
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      // FLOWRECON_MAX_SESSIONS reached the server: the fourth session is refused.
      const codes: number[] = [];
      for (let i = 0; i < 4; i++)
        codes.push((await fetch(`http://127.0.0.1:${port}/v1/sessions`, { method: "POST" })).status);
      expect(codes).toEqual([201, 201, 201, 429]);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("exits 2 naming the setting when one is wrong (the CLI returned 0 over the server's 2)", () => {
    const r = run(["serve"], { FLOWRECON_HASH_KEY: "zz" });
    expect(r.stderr).toMatch(/FLOWRECON_HASH_KEY must be 32 hex digits/);
    expect(r.code).toBe(2);
  });

  it("takes no options", () => {
    const r = run(["serve", "--flow-cap", "3"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/serve takes no arguments or options/);
  });
});
