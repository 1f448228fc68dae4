// bench/lib/run-child.mjs, the harness's runner: stdout written to a file (the "cli" contender's
// mode, `cmd > FILE`) is counted after the child exits exactly as a pipe read while it runs is
// (bytes, lines, needles across the 1 MiB read chunks, the kept prefix), the file is deleted
// afterwards whatever happened, and the child's exit code and wall time are still reported.
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runMeasured, splitCommand } from "../../bench/lib/run-child.mjs";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "flowrecon-run-child-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// 60,000 lines of 50 bytes (3,000,000 bytes: three 1 MiB read chunks, lines cut across them), each
// with one " <-> " needle, written in 4 KiB pieces; then a last line without its LF.
const LINES = 60_000;
const WRITER = `
const line = (i) => String(i).padStart(20, "0") + " <-> " + "x".repeat(24) + "\\n";
let buf = "";
for (let i = 0; i < ${LINES}; i++) {
  buf += line(i);
  if (buf.length >= 4096) { process.stdout.write(buf); buf = ""; }
}
process.stdout.write(buf + "tail");
`;
const EXPECTED_BYTES = LINES * 50 + 4;

describe("runMeasured, stdout to a file", () => {
  it("counts bytes, lines and needles as the pipe does, keeps the prefix, and deletes the file", async () => {
    const file = join(dir, "out.tmp");
    const argv = [process.execPath, "-e", WRITER];
    const opts = { countNeedle: " <-> ", keepStdout: 30 };
    const viaFile = await runMeasured(argv, { ...opts, stdoutFile: file });
    const viaPipe = await runMeasured(argv, opts);
    for (const r of [viaFile, viaPipe]) {
      expect(r.exitCode).toBe(0);
      expect(r.outBytes).toBe(EXPECTED_BYTES);
      expect(r.outLines).toBe(LINES);
      expect(r.needleCount).toBe(LINES);
      expect(r.stdout).toBe("00000000000000000000 <-> xxxxx");
      expect(r.wallMs).toBeGreaterThan(0);
    }
    expect(existsSync(file)).toBe(false);
  });

  it("reports the child's exit code and its time, and still deletes the file", async () => {
    const file = join(dir, "fail.tmp");
    const r = await runMeasured(
      [process.execPath, "-e", 'process.stdout.write("a\\nb\\n"); setTimeout(() => process.exit(3), 300)'],
      { stdoutFile: file },
    );
    expect(r.exitCode).toBe(3);
    expect(r.signal).toBeNull();
    expect(r.wallMs).toBeGreaterThanOrEqual(290);
    expect(r.outBytes).toBe(4);
    expect(r.outLines).toBe(2);
    expect(r.needleCount).toBeNull();
    expect(r.maxRssKb).toBeGreaterThan(0);
    expect(existsSync(file)).toBe(false);
  });

  it("truncates a file that is already there rather than appending to it", async () => {
    const file = join(dir, "again.tmp");
    const argv = [process.execPath, "-e", 'process.stdout.write("one line\\n")'];
    await runMeasured(argv, { stdoutFile: file });
    const r = await runMeasured(argv, { stdoutFile: file });
    expect([r.outBytes, r.outLines]).toEqual([9, 1]);
  });

  it("deletes the file when the command cannot start", async () => {
    const file = join(dir, "enoent.tmp");
    await expect(runMeasured([join(dir, "no-such-command")], { rss: "node-hook", stdoutFile: file })).rejects.toThrow(
      /ENOENT/,
    );
    expect(existsSync(file)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("refuses stdoutFile together with discardStdout", async () => {
    await expect(
      runMeasured([process.execPath, "-e", ""], { stdoutFile: join(dir, "x.tmp"), discardStdout: true }),
    ).rejects.toThrow(/exclude each other/);
  });
});

describe("splitCommand", () => {
  it("splits on whitespace and groups quotes", () => {
    expect(splitCommand(`node bin/flowrecon.js analyze {file} --format 'nd json' "a\\"b"`)).toEqual([
      "node",
      "bin/flowrecon.js",
      "analyze",
      "{file}",
      "--format",
      "nd json",
      'a"b',
    ]);
  });
});

describe("runMeasured, the child's environment", () => {
  it("drops NODE_EXTRA_CA_CERTS (a machine setting every Node contender would pay for at start), unless opts.env sets it", async () => {
    const saved = process.env.NODE_EXTRA_CA_CERTS;
    process.env.NODE_EXTRA_CA_CERTS = "/nonexistent/ca.pem";
    try {
      const argv = [process.execPath, "-e", "process.stdout.write(String(process.env.NODE_EXTRA_CA_CERTS))"];
      const plain = await runMeasured(argv, { keepStdout: 100 });
      expect(plain.stdout).toBe("undefined");
      const given = await runMeasured(argv, { keepStdout: 100, env: { NODE_EXTRA_CA_CERTS: "/x.pem" } });
      expect(given.stdout).toBe("/x.pem");
    } finally {
      if (saved === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
      else process.env.NODE_EXTRA_CA_CERTS = saved;
    }
  });
});
