// The flow-table hash key (src/hash-key.ts): random per process, settable for reproducible runs,
// and invisible in the output. Records are found by full key compare and ids, sweeps and output
// order follow the record pool, so two keys must print the same bytes, eviction order included.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Reconstructor, type ReconstructorOptions } from "../../src/reconstructor.js";
import { AsciiWriter, createFormatter } from "../../src/format/index.js";
import { HASH_KEY_ENV, parseHashKey } from "../../src/hash-key.js";
import { generateCapture } from "../../bench/lib/traffic.mjs";
import { corpusDir, loadManifest } from "../golden/corpus.js";
import { repoRoot } from "./helpers.js";

const KEYS = ["00000000000000000000000000000000", "0123456789abcdef0123456789abcdef"];

function ndjson(bytes: Uint8Array, options: ReconstructorOptions): string {
  const rec = new Reconstructor(options);
  const f = createFormatter("ndjson", rec.layout, { insight: rec.insight });
  const out = new AsciiWriter(1 << 16);
  f.begin(out);
  const sink = (v: Parameters<typeof f.record>[0], p: number): void => f.record(v, p, out);
  rec.pushRecords(bytes, sink);
  rec.finishRecords(sink);
  f.end({ stats: rec.stats, error: rec.error }, out);
  return out.text();
}

function expectKeyFree(bytes: Uint8Array, options: ReconstructorOptions = {}): void {
  const first = ndjson(bytes, { ...options, hashKey: KEYS[0] });
  expect(first.length).toBeGreaterThan(0);
  for (const hashKey of KEYS.slice(1)) expect(ndjson(bytes, { ...options, hashKey }), `key ${hashKey}`).toBe(first);
}

describe("no output depends on the hash key", () => {
  it("generated traffic under a flow cap (eviction and sweep order)", () => {
    const dir = mkdtempSync(join(tmpdir(), "flowrecon-hashkey-"));
    try {
      const out = join(dir, "t.pcap");
      generateCapture({
        out,
        seed: 11,
        segments: 20_000,
        concurrent: 2_000,
        snaplen: 96,
        ipv6Share: 0.5,
        vlanShare: 0.2,
      });
      const bytes = readFileSync(out);
      expectKeyFree(bytes, { flowCap: 500 });
      expectKeyFree(bytes);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("kernel combined.pcap with a flow cap of 2", () => {
    expectKeyFree(readFileSync(resolve(repoRoot, "test/fixtures/kernel/combined.pcap")), { flowCap: 2 });
  });

  it("the five largest Zeek corpus captures", () => {
    const sized = loadManifest()
      .map((c) => readFileSync(join(corpusDir(), c.capture)))
      .sort((a, b) => b.length - a.length);
    for (const bytes of sized.slice(0, 5)) expectKeyFree(bytes, { ignoreChecksums: true });
  });
});

describe("setting the key", () => {
  it("takes 32 hex digits, as two u64 halves", () => {
    expect(parseHashKey("0123456789abcdefFEDCBA9876543210", "k")).toEqual({
      key0: 0x0123456789abcdefn,
      key1: 0xfedcba9876543210n,
    });
  });

  it.each([
    "",
    "0123",
    "0123456789abcdef0123456789abcdef0",
    "g123456789abcdef0123456789abcdef",
    "0x23456789abcdef0123456789abcdef",
  ])("rejects %j, naming where it came from", (text) => {
    expect(() => parseHashKey(text, "--hash-key")).toThrow(/^--hash-key must be 32 hex digits/);
    expect(() => new Reconstructor({ hashKey: text })).toThrow(/option hashKey must be 32 hex digits/);
  });

  // The process key is drawn once per process, so each case runs in a process of its own.
  function processKey(env: Record<string, string | undefined>): {
    status: number | null;
    stdout: string;
    stderr: string;
  } {
    const script = `import("${resolve(repoRoot, "dist/hash-key.js")}").then((m) => { const k = m.processHashKey(); console.log(k.key0.toString(16), k.key1.toString(16)); })`;
    const r = spawnSync(process.execPath, ["-e", script], {
      env: { ...process.env, [HASH_KEY_ENV]: undefined, ...env },
      encoding: "utf8",
    });
    return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr };
  }

  it(`${HASH_KEY_ENV} fixes the process key`, () => {
    expect(processKey({ [HASH_KEY_ENV]: "0123456789abcdef00000000000000ff" }).stdout).toBe("123456789abcdef ff");
  });

  it("without it, every process draws its own", () => {
    const a = processKey({}).stdout,
      b = processKey({}).stdout;
    expect(a).toMatch(/^[0-9a-f]+ [0-9a-f]+$/);
    expect(a).not.toBe(b);
  });

  // node:crypto cost each engine thread of the CLI ~8M instructions at its start; it needs none of it.
  it("the CLI's modules draw the key and compile the engine without loading node:crypto", () => {
    const dist = (m: string): string => JSON.stringify(resolve(repoRoot, "dist", m));
    const script = `(async () => {
      await import(${dist("shards/shard-threads.js")});
      await import(${dist("cli.js")});
      await import(${dist("shards/shard-loop.js")});
      const { Reconstructor } = await import(${dist("reconstructor.js")});
      new Reconstructor();
      const { processHashKey } = await import(${dist("hash-key.js")});
      const { key0, key1 } = processHashKey();
      if (key0 === 0n && key1 === 0n) throw new Error("a zero key");
      const { engineBinary } = await import(${dist("wasm/engine.js")});
      if (engineBinary().length === 0) throw new Error("no engine binary");
      console.log(process.moduleLoadList.filter((m) => /crypto/.test(m)).join(" ") || "none");
    })();`;
    // A module script: `node -e` with a CommonJS script loads node:crypto by itself.
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      env: { ...process.env, [HASH_KEY_ENV]: undefined },
      encoding: "utf8",
    });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("none");
  });

  it(`a malformed ${HASH_KEY_ENV} is an error naming the variable`, () => {
    const r = processKey({ [HASH_KEY_ENV]: "secret" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`${HASH_KEY_ENV} must be 32 hex digits (128 bits), got 'secret'`);
  });
});
