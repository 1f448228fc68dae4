// Shared test fixtures: paths, the real engine's layout, and a writer for synthetic flow records
// (the records the engine's output ring carries; layout from assembly/flow/record.ts, read by name).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll } from "vitest";
import { sharedPath } from "../../bench/lib/shared.mjs";
import { generateCapture, type GeneratorOptions } from "../../bench/lib/traffic.mjs";
import { createEngine, type Engine } from "../../src/wasm/engine.js";
import { parseAddress } from "../../src/net/address.js";
import type { Layout } from "../../src/wasm/layout.js";
import { FlowDecoder } from "../../src/flow.js";
import { Reconstructor, type ReconstructorOptions } from "../../src/reconstructor.js";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * A constant the engine exports as a WebAssembly global (descriptor offsets P_*, option bits OPT_*,
 * record sizes), read by name from a module instance of its own, so a test states no offset twice.
 */
export function engineConstant(name: string): number {
  const g = engineGlobals()[name];
  if (!(g instanceof WebAssembly.Global)) throw new Error(`${name} is not exported by the engine`);
  return Number(g.value);
}

let globalsCache: Record<string, unknown> | undefined;
function engineGlobals(): Record<string, unknown> {
  globalsCache ??= createEngine().exports as unknown as Record<string, unknown>;
  return globalsCache;
}

/** One TCP segment for the engine's packet descriptor (assembly/packet.ts P_*), as feedPacket() takes it. */
export interface SegmentDescriptor {
  ts: bigint; // µs
  src: string;
  dst: string;
  sport: number;
  dport: number;
  flags: number;
  seq: number;
  ack: number;
  len?: number; // payload bytes
  vlan?: number;
  opts?: number; // OPT_* bits
  wscale?: number;
  mss?: number;
  cut?: boolean; // payload cut by the snaplen: not captured whole
}

let descriptorOffsets: Record<string, number> | undefined;
/**
 * Writes `s` into the engine's packet descriptor and feeds it (the ABI's segment path): checksums
 * not checked, a 20-byte TCP header, window 65535, the payload "captured" from the input window
 * unless `cut`.
 */
export function feedSegment(engine: Engine, s: SegmentDescriptor): void {
  descriptorOffsets ??= Object.fromEntries(
    [
      "P_TS",
      "P_SRC",
      "P_DST",
      "P_SPORT",
      "P_DPORT",
      "P_VLAN",
      "P_IPVER",
      "P_FLAGS",
      "P_CSUM",
      "P_THLEN",
      "P_SEQ",
      "P_ACK",
      "P_WIN",
      "P_OPTS",
      "P_WSCALE",
      "P_MSS",
      "P_IPLEN",
      "P_PAYLEN",
      "P_PAYPTR",
      "P_PAYCAP",
      "P_WHOLE",
    ].map((n) => [n, engineConstant(n)]),
  );
  const P = descriptorOffsets;
  const ex = engine.exports as Required<Engine["exports"]>;
  const v6 = s.src.includes(":") || s.dst.includes(":");
  const len = s.len ?? 0;
  const base = ex.pktPtr();
  const { u8 } = engine.views();
  const dv = new DataView(u8.buffer);
  u8.fill(0, base, base + 128);
  dv.setBigInt64(base + P.P_TS, s.ts, true);
  u8.set(parseAddress(s.src), base + P.P_SRC);
  u8.set(parseAddress(s.dst), base + P.P_DST);
  dv.setUint16(base + P.P_SPORT, s.sport, true);
  dv.setUint16(base + P.P_DPORT, s.dport, true);
  dv.setUint32(base + P.P_VLAN, s.vlan ?? 0, true);
  u8[base + P.P_IPVER] = v6 ? 6 : 4;
  u8[base + P.P_FLAGS] = s.flags;
  u8[base + P.P_CSUM] = 3; // Csum.NotChecked
  u8[base + P.P_THLEN] = 20;
  dv.setUint32(base + P.P_SEQ, s.seq, true);
  dv.setUint32(base + P.P_ACK, s.ack, true);
  dv.setUint16(base + P.P_WIN, 65535, true);
  u8[base + P.P_OPTS] = s.opts ?? 0;
  u8[base + P.P_WSCALE] = s.wscale ?? 0;
  dv.setUint16(base + P.P_MSS, s.mss ?? 0, true);
  dv.setUint32(base + P.P_IPLEN, (v6 ? 40 : 20) + 20 + len, true);
  dv.setUint32(base + P.P_PAYLEN, len, true);
  dv.setUint32(base + P.P_PAYPTR, ex.inputPtr(), true);
  dv.setUint32(base + P.P_PAYCAP, s.cut ? 0 : len, true);
  dv.setUint8(base + P.P_WHOLE, s.cut ? 0 : 1);
  ex.feedPacket();
}

/** The Zeek corpus: `../shared/corpus/zeek` beside the repository (bench/lib/shared.mjs). */
export const corpusDir = sharedPath("corpus", "zeek");

export function corpus(name: string): string {
  return resolve(corpusDir, name);
}

/** The capture files (.pcap, .pcapng) of a folder, sorted by name. */
export function captureFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.pcap(ng)?$/.test(f))
    .sort();
}

/** Each capture of a folder as [`label/file`, its bytes], read one at a time (label: the folder's name). */
export function* folderCaptures(dir: string, label = basename(dir)): Generator<[name: string, bytes: Uint8Array]> {
  for (const f of captureFiles(dir)) yield [`${label}/${f}`, readFileSync(join(dir, f))];
}

/**
 * Captures of the traffic generator (bench/lib/traffic.mjs) for one describe block: written to a
 * temporary folder before its tests and read back, under their shape's name, into the record
 * returned here (empty until then); the folder is removed after the block.
 */
export function generatedCaptures(
  prefix: string,
  shapes: Record<string, Omit<GeneratorOptions, "out" | "sidecar">>,
): Record<string, Uint8Array> {
  const generated: Record<string, Uint8Array> = {};
  let dir: string | undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
    for (const [name, o] of Object.entries(shapes)) {
      const out = join(dir, `${name}.pcap`);
      generateCapture({ out, sidecar: false, ...o });
      generated[name] = readFileSync(out);
    }
  });
  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });
  return generated;
}

/** What a run of a capture leaves: every finished record's bytes, its flow as NDJSON, the counters and the error. */
export interface RecordsRun {
  records: Buffer[];
  ndjson: string[];
  stats: Record<string, number>;
  error: string | null;
}

/**
 * Pushes the capture in 1 MiB chunks (window boundaries fall anywhere) on `engine` (default: a new
 * one) and keeps every finished record: for differential tests of two ways to run one capture.
 */
export function runRecords(bytes: Uint8Array, options: ReconstructorOptions, engine?: Engine): RecordsRun {
  const rec = new Reconstructor(options, engine);
  const size = rec.layout.constants.FR_SIZE;
  const decoder = new FlowDecoder(rec.layout);
  const records: Buffer[] = [];
  const ndjson: string[] = [];
  const sink = (v: { u8: Uint8Array }, p: number) => {
    records.push(Buffer.from(v.u8.subarray(p, p + size)));
    ndjson.push(JSON.stringify(decoder.decode(v as never, p)));
  };
  for (let off = 0; off < bytes.length; off += 1 << 20) rec.pushRecords(bytes.subarray(off, off + (1 << 20)), sink);
  rec.finishRecords(sink);
  const stats = { ...rec.stats } as Record<string, number>;
  return { records, ndjson, stats, error: rec.error === null ? null : JSON.stringify(rec.error) };
}

let shared: Engine | undefined;
/** One real engine for reading the layout (do not feed it). */
export function layoutEngine(): Engine {
  return (shared ??= createEngine());
}
export function realLayout(): Layout {
  return layoutEngine().layout;
}

export interface EndpointSpec {
  pkts?: number;
  ipBytes?: number;
  bytes?: number;
  missed?: number;
  mss?: number;
  wscale?: number;
  /** OPT_* bits. */
  opts?: number;
}

export interface RecordSpec {
  orig?: string;
  resp?: string;
  origPort?: number;
  respPort?: number;
  vlan?: number;
  tsUs?: number;
  lastUs?: number;
  rttUs?: number;
  history?: string;
  connState?: string;
  endReason?: string;
  tunnel?: string;
  o?: EndpointSpec;
  r?: EndpointSpec;
}

function setU64(dv: DataView, off: number, value: number): void {
  dv.setUint32(off, value % 2 ** 32, true);
  dv.setUint32(off + 4, Math.floor(value / 2 ** 32), true);
}
function setI64(dv: DataView, off: number, value: number): void {
  dv.setBigInt64(off, BigInt(value), true);
}

/** Writes a complete flow record at `ptr` of `buffer`, zero-filling it first. */
export function writeRecord(buffer: ArrayBuffer, ptr: number, layout: Layout, spec: RecordSpec = {}): void {
  const c = layout.constants;
  const u8 = new Uint8Array(buffer);
  const dv = new DataView(buffer);
  u8.fill(0, ptr, ptr + c.FR_SIZE);
  u8.set(parseAddress(spec.orig ?? "10.0.0.1"), ptr + c.FR_ORIG_ADDR);
  u8.set(parseAddress(spec.resp ?? "10.0.0.2"), ptr + c.FR_RESP_ADDR);
  dv.setUint16(ptr + c.FR_ORIG_PORT, spec.origPort ?? 40000, true);
  dv.setUint16(ptr + c.FR_RESP_PORT, spec.respPort ?? 80, true);
  dv.setUint32(ptr + c.FR_VLAN, spec.vlan ?? 0, true);
  const ts = spec.tsUs ?? 1_324_071_333_493_287;
  setI64(dv, ptr + c.FR_TS_START, ts);
  setI64(dv, ptr + c.FR_TS_LAST, spec.lastUs ?? ts);
  setI64(dv, ptr + c.FR_HS_RTT, spec.rttUs ?? -1);
  const history = spec.history ?? "";
  u8[ptr + c.FR_HIST_LEN] = history.length;
  for (let i = 0; i < history.length; i++) u8[ptr + c.FR_HISTORY + i] = history.charCodeAt(i);
  u8[ptr + c.FR_CONN_STATE] = layout.connState.values[spec.connState ?? "OTH"];
  u8[ptr + c.FR_END_REASON] = layout.endReason.values[spec.endReason ?? "EndOfInput"];
  u8[ptr + c.FR_TUNNEL] = layout.tunnel.values[spec.tunnel ?? "None"];
  for (const [base, ep] of [
    [c.FR_ORIG, spec.o ?? {}],
    [c.FR_RESP, spec.r ?? {}],
  ] as const) {
    const p = ptr + base;
    dv.setUint32(p + c.EP_PKTS, ep.pkts ?? 0, true);
    setU64(dv, p + c.EP_IP_BYTES, ep.ipBytes ?? 0);
    setU64(dv, p + c.EP_BYTES, ep.bytes ?? 0);
    setU64(dv, p + c.EP_MISSED, ep.missed ?? 0);
    dv.setUint16(p + c.EP_MSS, ep.mss ?? 0, true);
    u8[p + c.EP_WSCALE] = ep.wscale ?? 0xff;
    u8[p + c.EP_OPTS] = ep.opts ?? 0;
  }
}

/** xorshift32: the same sequence on every run for one seed. */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
}

/**
 * Random endpoint parts drawn from `next`: `pick` one of a list, `v4` an IPv4 address (half of
 * them in 10.0.0.0/22, so that addresses repeat), `v6` an IPv6 one with runs of zero groups.
 */
export function endpointPicker(next: () => number): {
  pick: <T>(xs: readonly T[]) => T;
  v4: () => string;
  v6: () => string;
} {
  const pick = <T>(xs: readonly T[]): T => xs[next() % xs.length] as T;
  const v4 = () => (next() & 1 ? `10.0.${next() & 3}.${next() & 3}` : [0, 0, 0, 0].map(() => next() & 255).join("."));
  const group = () => (next() % 3 === 0 ? "0" : (next() & 0xffff).toString(16));
  const v6 = () => Array.from({ length: 8 }, group).join(":");
  return { pick, v4, v6 };
}
