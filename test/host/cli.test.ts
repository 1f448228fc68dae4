// The flowrecon command end to end, through `node bin/flowrecon.js` as users run it.
import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { generateCapture } from "../../bench/lib/traffic.mjs";
import { corpus, repoRoot } from "./helpers.js";

const BIN = resolve(repoRoot, "bin", "flowrecon.js");
const tmp = mkdtempSync(join(tmpdir(), "flowrecon-cli-"));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], input?: Uint8Array | number): Result {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: repoRoot,
    input: typeof input === "number" ? undefined : input,
    stdio: [typeof input === "number" ? input : "pipe", "pipe", "pipe"],
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tmpFile(name: string, bytes: Uint8Array | string): string {
  const path = join(tmp, name);
  writeFileSync(path, bytes);
  return path;
}

/** A clean failure: one "flowrecon: " line, no stack trace. */
function expectOneLineError(r: Result, code: number, pattern: RegExp): void {
  expect(r.code).toBe(code);
  expect(r.stderr).toMatch(/^flowrecon: /);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr).not.toMatch(/Error:/);
}

describe("flowrecon --help / --version", () => {
  it("prints usage and exits 0", () => {
    for (const args of [["--help"], ["-h"], ["help"], ["analyze", "--help"]]) {
      const r = run(args);
      expect(r.code, args.join(" ")).toBe(0);
      expect(r.stdout).toContain("Usage: flowrecon analyze <capture|->");
      expect(r.stdout).toContain("--ignore-checksums");
      expect(r.stderr).toBe("");
    }
  });

  it("prints the package version", () => {
    const { version } = JSON.parse(readFileSync(resolve(repoRoot, "package.json"), "utf8"));
    expect(run(["--version"])).toEqual({ code: 0, stdout: `flowrecon ${version}\n`, stderr: "" });
  });
});

describe("usage errors exit 2", () => {
  const cases: [string[], RegExp][] = [
    [[], /missing command/],
    [["frobnicate"], /unknown command 'frobnicate'/],
    [["analyze"], /needs a capture file/],
    [["analyze", "a.pcap", "b.pcap"], /takes one capture/],
    [["analyze", "x.pcap", "--bogus"], /unknown option '--bogus'/],
    [["analyze", "x.pcap", "--format", "xml"], /unknown format 'xml' \(choose ndjson, json, zeek, table\)/],
    [["analyze", "x.pcap", "--format"], /argument missing/],
    [["analyze", "x.pcap", "--flow-cap", "many"], /--flow-cap needs a positive whole number, got 'many'/],
    [["analyze", "x.pcap", "--flow-cap", "0"], /--flow-cap needs a positive whole number/],
  ];
  for (const [args, pattern] of cases) {
    it(`flowrecon ${args.join(" ")}`, () => {
      const r = run(args);
      expectOneLineError(r, 2, pattern);
      expect(r.stderr).toContain("Try 'flowrecon --help'");
      expect(r.stdout).toBe("");
    });
  }
});

describe("unreadable input exits 1", () => {
  it("names a missing file", () => {
    const r = run(["analyze", "no-such-capture.pcap"]);
    expectOneLineError(r, 1, /^flowrecon: cannot open capture 'no-such-capture.pcap': no such file or directory\n$/);
  });

  it("names a directory", () => {
    expectOneLineError(run(["analyze", tmp]), 1, /it is a directory/);
  });

  it("reports an empty file at byte 0", () => {
    const r = run(["analyze", tmpFile("empty.pcap", "")]);
    expectOneLineError(r, 1, /^flowrecon: capture is truncated at byte 0 \(record 0\): /);
  });

  it("reports empty standard input at byte 0", () => {
    expectOneLineError(run(["analyze", "-"], new Uint8Array(0)), 1, /at byte 0/);
  });

  it("reports a garbage file at byte 0", () => {
    const r = run(["analyze", tmpFile("garbage.pcap", "this is not a capture file, just some text\n".repeat(20))]);
    expectOneLineError(r, 1, /^flowrecon: not a pcap or pcapng capture: .* at byte 0/);
    expect(r.stdout).toBe("");
  });

  it("reports a bad magic number at byte 0, and a gzip file as such", () => {
    const pcap = readFileSync(corpus("tcp-syn-then-rst.pcap"));
    const bad = Uint8Array.from(pcap);
    bad[0] ^= 0xff;
    expectOneLineError(run(["analyze", tmpFile("badmagic.pcap", bad)]), 1, /no pcap or pcapng magic number at byte 0/);
    const gz = Uint8Array.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3, ...new Array(30).fill(1)]);
    expectOneLineError(run(["analyze", tmpFile("trace.pcap.gz", gz)]), 1, /gzip-compressed data: decompress it first/);
  });

  it("prints every flow before a truncation, then the offset, and exits 1", () => {
    const pcap = readFileSync(corpus("ssh-basic.pcap"));
    const cut = pcap.subarray(0, Math.floor(pcap.length * 0.6));
    const r = run(["analyze", tmpFile("cut.pcap", cut)]);
    expectOneLineError(r, 1, /^flowrecon: capture is truncated at byte \d+ \(record \d+\): /);
    const offset = Number(/at byte (\d+)/.exec(r.stderr)![1]);
    expect(offset).toBeGreaterThan(24);
    expect(offset).toBeLessThan(cut.length);
    const flows = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(flows.length).toBeGreaterThan(0);
  });
});

describe("analyze", () => {
  const ssh = corpus("ssh-basic.pcap");

  it("reads standard input (pipe and redirected file) like a file", () => {
    const fromFile = run(["analyze", ssh]);
    expect(fromFile.code).toBe(0);
    expect(fromFile.stderr).toBe("");
    const fromPipe = run(["analyze", "-"], readFileSync(ssh));
    expect(fromPipe).toEqual(fromFile);
    const fd = openSync(ssh, "r");
    try {
      expect(run(["analyze", "-"], fd)).toEqual(fromFile);
    } finally {
      closeSync(fd);
    }
  });

  it("writes one JSON document with --format json", () => {
    const r = run(["analyze", ssh, "--format", "json", "-C"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(Array.isArray(doc.flows)).toBe(true);
    expect(doc.stats).toHaveProperty("records");
    expect(doc).not.toHaveProperty("error");
  });

  it("writes a Zeek log with --format zeek", () => {
    const r = run(["analyze", ssh, "-f", "zeek"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe("#separator \\x09");
    expect(lines[4]).toBe("#path\tconn");
    expect(lines[6]).toMatch(/^#fields\tts\tuid\tid\.orig_h\tid\.orig_p\tid\.resp_h\tid\.resp_p\tproto\t/);
    expect(lines.at(-1)).toMatch(/^#close\t\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d$/);
  });

  it("prints statistics on stderr with --stats", () => {
    const r = run(["analyze", ssh, "--stats", "-b", "--vlan-key", "--flow-cap", "1000"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stderr.split("\n")[0])).toHaveProperty("segments");
  });

  it("exits quietly when the reader of stdout goes away (EPIPE)", async () => {
    const child = spawn(process.execPath, [BIN, "analyze", ssh, "--format", "json"], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const code = await new Promise((done) => child.on("close", done));
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });

  describe("writes every byte to a reader that starts late (it ends the process once stdout is written)", () => {
    // About 1.6 MB of NDJSON, far more than a pipe holds, so most of it is still queued in the
    // process when the run ends; exiting before the queue drained would cut it short.
    const capture = join(tmp, "late-reader.pcap");
    generateCapture({ out: capture, sidecar: false, segments: 30_000, concurrent: 500, snaplen: 96, seed: 7 });

    for (const threads of ["1", "2"]) {
      it(`--threads ${threads}`, async () => {
        const args = [BIN, "analyze", capture, "--format", "ndjson", "--threads", threads];
        const eager = spawnSync(process.execPath, args, { cwd: repoRoot, encoding: "utf8", maxBuffer: 64 << 20 });
        const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
        child.stdout.pause();
        await new Promise((r) => setTimeout(r, 300));
        const chunks: Buffer[] = [];
        child.stdout.on("data", (d: Buffer) => chunks.push(d));
        child.stdout.resume();
        const code = await new Promise((done) => child.on("close", done));
        const late = Buffer.concat(chunks).toString("utf8");
        expect(code).toBe(0);
        expect(eager.stdout.length).toBeGreaterThan(1 << 20);
        // Two engines print in their own order; the lines are the same.
        expect(late.split("\n").sort()).toEqual(eager.stdout.split("\n").sort());
      });
    }
  });

  it("loads no ladder or extract module (src/connection-commands.ts is imported only for those)", () => {
    // A module hook that refuses connection-commands.js: analyze still runs, ladder cannot.
    const hooks = tmpFile(
      "refuse-hooks.mjs",
      `export async function resolve(spec, ctx, next) {
        if (spec.includes("connection-commands")) throw new Error("connection-commands refused");
        return next(spec, ctx);
      }`,
    );
    const register = tmpFile(
      "refuse-register.mjs",
      `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
    );
    const withHook = (args: string[]) =>
      spawnSync(process.execPath, ["--import", pathToFileURL(register).href, BIN, ...args], {
        cwd: repoRoot,
        encoding: "utf8",
      });
    const analyzed = withHook(["analyze", ssh]);
    expect(analyzed.stderr).toBe("");
    expect(analyzed.status).toBe(0);
    expect(analyzed.stdout).toBe(run(["analyze", ssh]).stdout);
    const ladder = withHook(["ladder", "--help"]);
    expect(ladder.status).not.toBe(0);
    expect(ladder.stderr).toContain("connection-commands refused");
  });

  it("stops early and quietly under | head -n 1", () => {
    const r = spawnSync("sh", ["-c", `"${process.execPath}" "${BIN}" analyze "${ssh}" | head -n 1`], {
      encoding: "utf8",
    });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n")).toHaveLength(2);
    expect(JSON.parse(r.stdout)).toHaveProperty("uid");
  });
});

/** Rows of a Zeek TSV log as objects keyed by #fields. */
function parseZeekLog(text: string): Record<string, string>[] {
  let fields: string[] = [];
  const rows: Record<string, string>[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("#fields\t")) fields = line.split("\t").slice(1);
    if (line === "" || line.startsWith("#")) continue;
    const cells = line.split("\t");
    rows.push(Object.fromEntries(fields.map((f, i) => [f, cells[i]])));
  }
  return rows;
}

const COMPARED = [
  "ts",
  "id.orig_h",
  "id.orig_p",
  "id.resp_h",
  "id.resp_p",
  "proto",
  "duration",
  "orig_bytes",
  "resp_bytes",
  "conn_state",
  "missed_bytes",
  "history",
  "orig_pkts",
  "orig_ip_bytes",
  "resp_pkts",
  "resp_ip_bytes",
];

describe("zeek output matches Zeek's conn.log (corpus)", () => {
  // case, capture, flowrecon flags equivalent to the Zeek run (see each .conn.tsv #corpus_options).
  const cases: [string, string, string[]][] = [
    ["ssh-basic", "ssh-basic.pcap", []],
    ["tcp-missing-syn", "tcp-missing-syn.pcap", ["-C"]],
    ["ftp-ipv6", "ftp-ipv6.pcap", []],
    ["vlan-mpls", "vlan-mpls.pcap", ["-C"]],
    ["ldap-krbtgt-rstr", "ldap-krbtgt-rstr.pcapng", ["-C"]],
    ["tcp-miss-end-data", "tcp-miss-end-data.pcap", ["--report-gaps-for-partial"]],
    ["wikipedia-bare", "wikipedia-bare.pcap", ["-b", "-C"]],
  ];
  for (const [name, capture, flags] of cases) {
    it(name, () => {
      const r = run(["analyze", corpus(capture), "--format", "zeek", ...flags]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const key = (row: Record<string, string>) => COMPARED.map((f) => row[f]).join(" ");
      const ours = parseZeekLog(r.stdout).map(key).sort();
      const zeek = parseZeekLog(readFileSync(corpus(`${name}.conn.tsv`), "utf8"))
        .map(key)
        .sort();
      expect(ours).toEqual(zeek);
    });
  }
});
