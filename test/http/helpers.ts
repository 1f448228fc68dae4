// Shared fixtures for the HTTP API tests: an app per test file, corpus captures, request helpers,
// and a converter from a capture to segment records through the engine's own frame decoder.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Unpackr } from "msgpackr";
import { createApp, type Api } from "../../src/http/app.js";
import type { ApiConfig, ServerConfig } from "../../src/http/config.js";
import { createLogger, type Logger } from "../../src/http/log.js";
import { startServer, type RunningServer } from "../../src/server.js";
import { createEngine } from "../../src/wasm/engine.js";
import { formatAddress } from "../../src/net/address.js";
import { corpus } from "../host/helpers.js";

export { corpus, corpusDir, repoRoot } from "../host/helpers.js";

export const PCAP = "application/vnd.tcpdump.pcap";
export const PCAPNG = "application/x-pcapng";
export const JSON_TYPE = "application/json";
export const MSGPACK = "application/msgpack";
export const NDJSON = "application/x-ndjson";

/** A small clean IPv4 capture: 3 connections, no tunnels, good checksums. */
export const RXMIT = "http-range-rxmit.pcap";

export function capture(name: string): Buffer {
  return readFileSync(corpus(name));
}

/** A fresh data directory (stored captures, session files), so test apps never share one. */
export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), "flowrecon-test-"));
}

/**
 * Engine threads of test apps: `FLOWRECON_THREADS` when set (run a suite with `FLOWRECON_THREADS=0`
 * to check it on the main thread too), else the default; a test's own `threads` wins.
 */
const THREADS = process.env.FLOWRECON_THREADS ? { threads: Number(process.env.FLOWRECON_THREADS) } : {};

/**
 * An app for one test file, with a data directory of its own; its log is silent unless a logger is
 * given (see {@link logLines}). One engine thread per upload unless the test asks for more
 * (`uploadShards`): many tests compare answers byte for byte, in the order one engine finishes its
 * flows, and a request made here has no Content-Length, so any body over 1 MiB would be sharded.
 */
export function testApp(config: Partial<ApiConfig> = {}, logger?: Logger): Api {
  return createApp(
    { sessionTtlMs: 60_000, logLevel: "silent", dataDir: tempDataDir(), uploadShards: 1, ...THREADS, ...config },
    { logger },
  );
}

/**
 * A real server on a free loopback port, with a data directory of its own and a silent log, once
 * its engine threads (if any) are ready to take a request.
 */
export async function testServer(config: Partial<ServerConfig> = {}): Promise<RunningServer> {
  const server = await startServer({
    port: 0,
    host: "127.0.0.1",
    dataDir: tempDataDir(),
    logLevel: "silent",
    ...config,
  });
  await server.api.context.enginePool?.ready();
  return server;
}

/** A logger at info that keeps its lines, parsed, in `lines`. */
export function logLines(): { logger: Logger; lines: Json[] } {
  const lines: Json[] = [];
  return {
    lines,
    logger: createLogger("info", { write: (line: string) => void lines.push(JSON.parse(line) as Json) }),
  };
}

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON bodies, read field by field in assertions
export type Json = Record<string, any>;

/**
 * A request body as the tests hold it: bytes from readFileSync or msgpackr are Buffers over an
 * ArrayBufferLike, which the DOM lib's BodyInit no longer accepts (TypeScript 5.7+) though fetch
 * and Hono take them.
 */
export type RequestBody = BodyInit | Uint8Array | null;

export async function post(
  api: Api,
  path: string,
  body: RequestBody,
  type?: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return api.app.request(path, {
    method: "POST",
    body: body as BodyInit | null,
    headers: { ...(type ? { "content-type": type } : {}), ...headers },
  });
}

export async function json(res: Response): Promise<Json> {
  return (await res.json()) as Json;
}

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
export async function msgpack(res: Response): Promise<Json> {
  return unpackr.unpack(Buffer.from(await res.arrayBuffer())) as Json;
}

/** NDJSON lines parsed: flows (with uid) and the trailer objects. */
export async function ndjson(res: Response): Promise<{ flows: Json[]; trailers: Json[] }> {
  const lines = (await res.text())
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Json);
  return { flows: lines.filter((l) => "uid" in l), trailers: lines.filter((l) => !("uid" in l)) };
}

/** A web stream that hands out `bytes` in pieces of `size` (a chunked upload). */
export function chunked(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (off >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(off, off + size));
      off += size;
    },
  });
}

/** Request init for a streamed body (fetch needs duplex: "half"). */
export function streamInit(
  body: ReadableStream<Uint8Array>,
  type: string,
  headers: Record<string, string> = {},
): RequestInit {
  return { method: "POST", body, headers: { "content-type": type, ...headers }, duplex: "half" } as RequestInit;
}

/** Flows sorted by uid (then ts), for order-independent comparison. */
export function byUid(flows: Json[]): Json[] {
  return [...flows].sort((a, b) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : a.ts - b.ts));
}

/**
 * Converts a classic pcap capture into segment rows with the engine's own frame decoder
 * (decodeFrame export, descriptor at pktPtr(), P_* layout by name): one row per TCP segment.
 * Segments whose checksum the engine found bad are left out (the capture path drops them too).
 */
export function captureToSegments(bytes: Uint8Array): Json[] {
  const engine = createEngine();
  const ex = engine.exports as unknown as Json;
  const g = (name: string): number => ex[name].value as number;
  ex.init(1 << 20);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = dv.getUint32(0, true);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const nanos = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
  const linktype = dv.getUint32(20, le) & 0xffff;
  const rows: Json[] = [];
  const pkt = ex.pktPtr() as number;
  const buf = ex.inputPtr() as number;
  const csumBad = g("Csum.Bad");
  const headerOnly = [g("Csum.HeaderBad"), g("Csum.HeaderCut")];
  for (let off = 24; off + 16 <= bytes.length; ) {
    const sec = dv.getUint32(off, le);
    const frac = dv.getUint32(off + 4, le);
    const incl = dv.getUint32(off + 8, le);
    const orig = dv.getUint32(off + 12, le);
    const tsUs = sec * 1e6 + (nanos ? Math.floor(frac / 1000) : frac);
    new Uint8Array(ex.memory.buffer).set(bytes.subarray(off + 16, off + 16 + incl), buf);
    off += 16 + incl;
    if (ex.decodeFrame(linktype, buf, incl, orig, BigInt(tsUs)) !== 0) continue;
    const m = new DataView(ex.memory.buffer);
    const u8 = new Uint8Array(ex.memory.buffer);
    const p = (name: string): number => pkt + g(name);
    if (u8[p("P_CSUM")] === csumBad || headerOnly.includes(u8[p("P_CSUM")])) continue;
    const opts = u8[p("P_OPTS")];
    const options: Json = {};
    if (opts & g("OPT_MSS")) options.mss = m.getUint16(p("P_MSS"), true);
    if (opts & g("OPT_WSCALE")) options.wscale = u8[p("P_WSCALE")];
    if (opts & g("OPT_SACK_PERM")) options.sack_permitted = true;
    if (opts & g("OPT_SACK")) options.sack = true;
    if (opts & g("OPT_TS")) options.timestamps = true;
    rows.push({
      ts: Number(m.getBigInt64(p("P_TS"), true)) / 1e6,
      src: formatAddress(u8, p("P_SRC")),
      sport: m.getUint16(p("P_SPORT"), true),
      dst: formatAddress(u8, p("P_DST")),
      dport: m.getUint16(p("P_DPORT"), true),
      flags: u8[p("P_FLAGS")],
      seq: m.getUint32(p("P_SEQ"), true),
      ack: m.getUint32(p("P_ACK"), true),
      win: m.getUint16(p("P_WIN"), true),
      len: m.getUint32(p("P_PAYLEN"), true),
      ...(opts !== 0 ? { options } : {}),
      // Not part of the schema (ignored by the API): IP + TCP header bytes beyond the 40 that
      // segment records assume, so a test can account for *_ip_bytes.
      extra_header_bytes:
        m.getUint32(p("P_IPLEN"), true) - (u8[p("P_IPVER")] === 4 ? 40 : 60) - m.getUint32(p("P_PAYLEN"), true),
    });
  }
  return rows;
}
