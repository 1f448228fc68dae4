// The server's start command (package.json "start") sizes V8's old generation so that the body
// chunks of a large upload do not drive full collections (issue 10). Node's HTTP parser copies
// every body chunk into a Buffer of its own (node_http_parser.cc, on_body), and V8 counts that
// ArrayBuffer memory against the old generation's allocation limit, which follows the live heap:
// the main thread's heap is 10-17 MB, and a 943 MB upload cost it 55-94 mark-compacts, one per
// ~11 MB of body (--trace-gc-nvp: each an incremental and concurrent marking of that heap and an
// ArrayBuffer sweep). `--initial-old-space-size` is the embedder's floor for that limit (V8
// heap.cc: "allow V8 to skip full GCs below that threshold"); under it the same chunks are freed
// by scavenges (51-52 per upload, where the mark-compacts left 11-52). The floor must clear the
// live heap plus the body that arrives between two scavenges: 16 MB left 77-78 mark-compacts on
// that upload, 32 MB 50-58, 64 MB 1-2.
//
// Since body.ts frees the chunks an engine thread's upload copies out (freeChunk), those drive no
// collections at all; the chunks of an engine on the main thread (FLOWRECON_THREADS=0) still do.
//
// Differential: the same upload to `node dist/server.js` and to the start command, each with
// `--trace-gc`, counting the mark-compacts of the main thread's isolate.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { serverStartArgs } from "../../bench/lib/harness.mjs";
import { chunked, PCAP, repoRoot, streamInit } from "./helpers.js";

/** `npm start`'s node arguments: the flags, then the script (dist/server.js). */
const startArgs = (): string[] => serverStartArgs(repoRoot);
const start = ["node", ...startArgs()].join(" ");

/**
 * A header-only pcap of `bytes` or a little more (snap length 54, as the benchmark captures): data
 * segments of 1,400 bytes taken in turn from `flows` connections, so the engine, not the socket,
 * sets the pace and the body's chunks wait for it as a real capture's do.
 */
function bulkCapture(bytes: number, flows: number): Uint8Array {
  const payload = 1400;
  const snap = 14 + 20 + 20;
  const count = Math.ceil(bytes / (16 + snap));
  const out = Buffer.alloc(24 + count * (16 + snap));
  out.writeUInt32LE(0xa1b2c3d4, 0);
  out.writeUInt16LE(2, 4);
  out.writeUInt16LE(4, 6);
  out.writeUInt32LE(snap, 16);
  out.writeUInt32LE(1, 20); // Ethernet
  for (let i = 0, p = 24; i < count; i++, p += 16 + snap) {
    const flow = i % flows;
    const n = Math.floor(i / flows);
    out.writeUInt32LE(1_700_000_000 + Math.floor(i / 100_000), p);
    out.writeUInt32LE((i % 100_000) * 10, p + 4);
    out.writeUInt32LE(snap, p + 8);
    out.writeUInt32LE(snap + payload, p + 12);
    const f = p + 16;
    out.writeUInt16BE(0x0800, f + 12);
    const ip = f + 14;
    out[ip] = 0x45;
    out.writeUInt16BE(20 + 20 + payload, ip + 2);
    out[ip + 8] = 64;
    out[ip + 9] = 6;
    out.writeUInt32BE(0x0a000000 + flow, ip + 12);
    out.writeUInt32BE(0x0b000001, ip + 16);
    const tcp = ip + 20;
    out.writeUInt16BE(40000, tcp);
    out.writeUInt16BE(80, tcp + 2);
    out.writeUInt32BE((1000 + n * payload) >>> 0, tcp + 4);
    out.writeUInt32BE(1, tcp + 8);
    out[tcp + 12] = 5 << 4;
    out[tcp + 13] = 0x18; // PSH ACK
    out.writeUInt16BE(65535, tcp + 14);
  }
  return out;
}

/** Runs `node <args>` with --trace-gc, uploads `body`, and counts the mark-compacts it logged. */
async function markCompacts(
  flags: string[],
  body: Uint8Array,
  env: Record<string, string> = {},
): Promise<{ status: number; flows: number; mc: number }> {
  const child = spawn(process.execPath, ["--trace-gc", ...flags, "dist/server.js"], {
    cwd: repoRoot,
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", FLOWRECON_TOKEN: "", FLOWRECON_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let mc = 0;
  let main: string | undefined;
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  try {
    const base = await new Promise<string>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`the server exited (${code}) before listening`)));
      createInterface({ input: child.stdout! }).on("line", (line) => {
        // --trace-gc: "[pid:isolate] ms: Mark-Compact ...". The main thread's isolate is the first
        // to collect (module loading, before the engine threads start).
        const isolate = /^\[\d+:(0x[0-9a-f]+)\]/.exec(line)?.[1];
        if (isolate !== undefined) main ??= isolate;
        if (isolate === main && line.includes("Mark-Compact")) mc++;
        if (!line.startsWith("{")) return;
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === "listening") resolve(`http://127.0.0.1:${entry.port}`);
      });
    });
    const before = mc;
    const res = await fetch(
      `${base}/v1/analyze?ignore_checksums=true`,
      streamInit(chunked(body, 64 << 10), PCAP, { accept: "application/x-ndjson" }),
    );
    const text = await res.text();
    const flows = text.split("\n").filter((l) => l.includes('"uid"')).length;
    return { status: res.status, flows, mc: mc - before };
  } finally {
    child.kill("SIGKILL");
    await exited;
  }
}

describe("npm start's V8 heap flags", () => {
  it("an upload's body chunks drive no run of full collections under the start command", async () => {
    const flows = 100_000;
    const body = bulkCapture(256 << 20, flows);
    // The control runs the engine on the main thread (FLOWRECON_THREADS=0), whose body chunks are
    // garbage until a GC; an engine thread's upload frees its chunks as it copies them (body.ts
    // freeChunk), so there the chunks drive no collections, with the flags or without.
    const plain = await markCompacts([], body, { FLOWRECON_THREADS: "0" });
    const started = await markCompacts(startArgs().slice(0, -1), body);
    const freed = await markCompacts([], body);
    for (const run of [plain, started, freed]) expect(run).toMatchObject({ status: 200, flows });
    // The control: the plain server's main thread does collect, so the count is seen at all (3-5
    // per run here with the engine on the main thread, 2 of them under the start flags; before
    // body.ts freed the chunks, an engine thread's upload 5-19, the 10M benchmark capture 55-94;
    // the start command: 0-1).
    expect(plain.mc, "main-thread mark-compacts of node dist/server.js").toBeGreaterThan(started.mc);
    expect(started.mc, `main-thread mark-compacts of ${start}`).toBeLessThanOrEqual(2);
    // An engine thread's upload without the flags: 1-2 here, 10 before body.ts freed the chunks.
    expect(freed.mc, "main-thread mark-compacts of node dist/server.js, an engine thread's upload").toBeLessThanOrEqual(
      4,
    );
  }, 120_000);

  it("the container starts the server with the same flags", () => {
    const dockerfile = readFileSync(join(repoRoot, "Dockerfile"), "utf8");
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile);
    expect(cmd, "the Dockerfile's CMD line").not.toBeNull();
    const [node, ...args] = JSON.parse(cmd![1]) as string[];
    expect(node).toBe("node");
    expect(args.slice(0, args.indexOf("bin/flowrecon.js"))).toEqual(startArgs().slice(0, -1));
  });
});
