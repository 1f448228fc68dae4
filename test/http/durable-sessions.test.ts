// Sessions survive a restart: the server runs as a child process, takes batches, is killed with
// SIGKILL between two of them, and is started again on the same data directory (FLOWRECON_DATA_DIR).
// The session goes on, and its flows at finish are identical to an uninterrupted session's. Session
// files stay tenant-scoped, and a damaged or foreign file is logged and skipped at start.
import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";
import { repoRoot } from "../host/helpers.js";
import { capture, PCAP, RXMIT, tempDataDir, type Json } from "./helpers.js";

const SERVER = join(repoRoot, "dist", "server.js");
const TOKENS = "alpha:token-a,beta:token-b";

interface Child {
  process: ChildProcess;
  base: string;
  /** Log lines, parsed. */
  lines: Json[];
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill("SIGKILL");
});

/** Starts `node dist/server.js` on a free port with `dataDir`; resolves once it logs "listening". */
function startChild(dataDir: string): Promise<Child> {
  const child = spawn(process.execPath, [SERVER], {
    cwd: repoRoot,
    env: {
      ...process.env,
      PORT: "0",
      HOST: "127.0.0.1",
      FLOWRECON_DATA_DIR: dataDir,
      FLOWRECON_TOKENS: TOKENS,
      FLOWRECON_LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  const lines: Json[] = [];
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the server exited (${code}) before listening`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      let entry: Json;
      try {
        entry = JSON.parse(line) as Json;
      } catch {
        return;
      }
      lines.push(entry);
      if (entry.msg === "listening") resolve({ process: child, base: `http://127.0.0.1:${entry.port}`, lines });
    });
  });
}

function kill(child: Child): Promise<void> {
  return new Promise((done) => {
    child.process.once("exit", () => done());
    child.process.kill("SIGKILL");
  });
}

async function call(child: Child, path: string, token: string, body?: Uint8Array, type = PCAP): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = type;
  return fetch(child.base + path, {
    method: body === undefined && !path.endsWith("/finish") && path !== "/v1/sessions" ? "GET" : "POST",
    headers,
    body: body as BodyInit | undefined,
  });
}

async function batch(child: Child, id: string, bytes: Uint8Array, token = "token-a"): Promise<Json> {
  const res = await call(child, `/v1/sessions/${id}/batches`, token, bytes);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as Json;
}

/** The capture cut in four batches, at bytes inside the file header and inside records. */
const cap = capture(RXMIT);
const cuts = [0, 30, Math.floor(cap.length / 3) + 5, Math.floor((2 * cap.length) / 3) + 11, cap.length];
const batches = cuts.slice(1).map((to, i) => cap.subarray(cuts[i], to));

describe("durable sessions", () => {
  it("a session killed with SIGKILL between two batches continues after a restart, with identical results", async () => {
    const dataDir = tempDataDir();
    const first = await startChild(dataDir);
    const created = await call(first, "/v1/sessions", "token-a");
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as Json;
    await batch(first, id, batches[0]);
    const second = await batch(first, id, batches[1]);
    const liveBefore = await (await call(first, `/v1/sessions/${id}/flows`, "token-a")).text();
    await kill(first);

    // A damaged file and a foreign one beside the real one: logged and skipped, never a crash.
    writeFileSync(join(dataDir, "sessions", "00000000-0000-4000-8000-000000000000.session"), "not a session");
    const real = join(dataDir, "sessions", `${id}.session`);
    const truncated = join(dataDir, "sessions", "11111111-1111-4111-8111-111111111111.session");
    copyFileSync(real, truncated);
    writeFileSync(truncated, readFileSync(truncated).subarray(0, 5000));

    const restarted = await startChild(dataDir);
    const skipped = restarted.lines.filter((l) => l.msg === "session file skipped: it cannot be loaded");
    expect(skipped.map((l) => [l.file.split("/").pop(), l.err.split(": ").slice(1).join(": ")]).sort()).toEqual([
      ["00000000-0000-4000-8000-000000000000.session", "not a flowrecon session file (no magic)"],
      ["11111111-1111-4111-8111-111111111111.session", "checksum mismatch (a damaged or partly written file)"],
    ]);
    expect(restarted.lines.find((l) => l.msg === "session reloaded")).toMatchObject({ session: id, batches: 2 });

    // The session is as it was acknowledged: same description, same live flows; the other tenant cannot see it.
    const described = (await (await call(restarted, `/v1/sessions/${id}`, "token-a")).json()) as Json;
    expect(described).toMatchObject({ id, batches: 2, flows_live: second.flows_live });
    expect(await (await call(restarted, `/v1/sessions/${id}/flows`, "token-a")).text()).toBe(liveBefore);
    expect((await call(restarted, `/v1/sessions/${id}`, "token-b")).status).toBe(404);

    await batch(restarted, id, batches[2]);
    await batch(restarted, id, batches[3]);
    const finished = await call(restarted, `/v1/sessions/${id}/finish`, "token-a");
    expect(finished.status).toBe(200);
    const resumed = await finished.text();
    expect(readdirSync(join(dataDir, "sessions"))).not.toContain(`${id}.session`);

    // The same batches to a session nobody interrupted, on the same server.
    const other = (await (await call(restarted, "/v1/sessions", "token-a")).json()) as Json;
    for (const b of batches) await batch(restarted, other.id, b);
    const uninterrupted = await (await call(restarted, `/v1/sessions/${other.id}/finish`, "token-a")).text();
    expect(JSON.parse(resumed)).toEqual(JSON.parse(uninterrupted));
    expect(JSON.parse(resumed).flows.length).toBeGreaterThan(0);
  }, 120_000);
});
