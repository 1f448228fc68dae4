// The harness's HTTP API contender has two clients (bench/http-upload.mjs --client curl|node): both
// must send the capture whole and count the same answer, or the API's figure in the results would
// be measured on a different (or a failed) upload depending on which client the host has.
import { execFile, spawnSync } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/server.js";
import { corpus, testServer } from "../http/helpers.js";

const ROOT = join(import.meta.dirname, "..", "..");
// 1.3 MB, 23 connections (Zeek's ssh-basic.conn.tsv rows): over the server's 1 MiB mark for sharding an upload.
const CAPTURE = corpus("ssh-basic.pcap");
const HAS_CURL = spawnSync("curl", ["--version"]).status === 0;

// The server runs in this process: the client must not block its event loop (no spawnSync).
async function upload(port: number, client: string) {
  const args = [join(ROOT, "bench", "http-upload.mjs"), "--port", String(port), "--client", client, CAPTURE];
  const r = await promisify(execFile)(process.execPath, args, { encoding: "utf8", timeout: 60_000 });
  expect(r.stderr).toBe("");
  return JSON.parse(r.stdout.trim().split("\n").pop() ?? "");
}

describe("bench/http-upload.mjs clients", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await testServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it("the Node client uploads the capture and counts the answer", async () => {
    const r = await upload(server.port, "node");
    expect(r).toMatchObject({ client: "node", status: 200, uploadBytes: 1320211 });
    // One line a flow, then the stats trailer.
    expect(r.lines).toBe(24);
    expect(r.clientCpuS).toBeGreaterThan(0);
  });

  it.runIf(HAS_CURL)("curl uploads the same capture and counts the same answer", async () => {
    const node = await upload(server.port, "node");
    const curl = await upload(server.port, "curl");
    expect(curl).toMatchObject({ client: "curl", status: 200, uploadBytes: node.uploadBytes, lines: node.lines });
    expect(curl.responseBytes).toBe(node.responseBytes);
    expect(curl.elapsedMs).toBeGreaterThan(0);
    expect(curl.clientCpuS === null || curl.clientCpuS >= 0).toBe(true);
  });
});
