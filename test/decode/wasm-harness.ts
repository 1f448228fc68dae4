// A small, self-contained loader for build/flowrecon.wasm, for the decoder tests only.
// It deliberately imports nothing from src/ (the host is rewritten in parallel): it instantiates the
// module with an env.abort that throws, reads the exported enum globals by name, mirrors the PKT
// descriptor layout by parsing assembly/packet.ts (so the mirror cannot drift), and drives feed()
// with the host protocol: copy a chunk behind the kept tail, feed, keep the unconsumed tail.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { sharedPath } from "../../bench/lib/shared.mjs";
import { newEngineMemory } from "../../src/wasm/engine.js";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** The Zeek corpus: ../shared beside the clone, as CI lays it out (bench/lib/shared.mjs). */
export const CORPUS = sharedPath("corpus", "zeek");

let cachedModule: WebAssembly.Module | undefined;
function wasmModule(): WebAssembly.Module {
  cachedModule ??= new WebAssembly.Module(readFileSync(join(ROOT, "build", "flowrecon.wasm")));
  return cachedModule;
}

/** Descriptor layout: P_* byte offsets parsed from assembly/packet.ts. */
export const LAYOUT: Record<string, number> = (() => {
  const src = readFileSync(join(ROOT, "assembly", "packet.ts"), "utf8");
  const out: Record<string, number> = {};
  for (const m of src.matchAll(/export const (P_[A-Z0-9_]+): usize = (\d+);/g)) out[m[1]] = Number(m[2]);
  for (const m of src.matchAll(/export const (OPT_[A-Z_]+): u8 = (\d+);/g)) out[m[1]] = Number(m[2]);
  return out;
})();

export interface Pkt {
  ts: bigint;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  vlan: number;
  ipver: number;
  flags: number;
  csum: number;
  thlen: number;
  seq: number;
  ack: number;
  win: number;
  opts: number;
  wscale: number;
  mss: number;
  tunnel: number;
  tsval: number;
  tsecr: number;
  iplen: number;
  paylen: number;
  payptr: number;
  paycap: number;
  sackn: number;
  sack: Array<[number, number]>;
}

export interface FeedResult {
  stats: Record<string, number>;
  err: { code: number; offset: number; record: number };
  /** Bytes of the descriptor after the last call (the last decoded segment, or a later skipped frame). */
  lastPkt: Uint8Array;
  /** Per feed call that tracked exactly one new segment: that segment's timestamp (µs). */
  singleSegmentTs: Array<{ segment: number; ts: bigint }>;
  calls: number;
}

// biome-ignore lint/suspicious/noExplicitAny: the exports are read by name; each use knows its signature
type Exports = Record<string, any> & { memory: WebAssembly.Memory };

function formatAddr(b: Uint8Array, ipver: number): string {
  if (ipver === 4) return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((b[i] << 8) | b[i + 1]).toString(16));
  return words.join(":");
}

export class Engine {
  readonly ex: Exports;
  private u8: Uint8Array;

  constructor(windowBytes = 8 << 20) {
    let ex!: Exports;
    const inst = new WebAssembly.Instance(wasmModule(), {
      env: {
        memory: newEngineMemory(),
        abort(msg: number, file: number, line: number, col: number): never {
          throw new Error(
            `wasm abort ${readAsString(ex.memory, msg)} at ${readAsString(ex.memory, file)}:${line}:${col}`,
          );
        },
      },
    });
    ex = inst.exports as Exports;
    this.ex = ex;
    this.u8 = new Uint8Array(ex.memory.buffer);
    ex.init(windowBytes);
  }

  /** A view of linear memory, re-created if memory grew (growth detaches the old buffer). */
  mem(): Uint8Array {
    if (this.u8.buffer !== this.ex.memory.buffer) this.u8 = new Uint8Array(this.ex.memory.buffer);
    return this.u8;
  }

  /** Value of an exported enum member, e.g. enumValue("Stat.Segments"). */
  enumValue(name: string): number {
    const g = this.ex[name];
    if (!(g instanceof WebAssembly.Global)) throw new Error(`no export ${name}`);
    return Number(g.value);
  }

  /** Names of one exported enum, in member order: enumNames("Stat") -> ["Records", ...]. */
  enumNames(prefix: string): string[] {
    return Object.keys(this.ex)
      .filter((k) => k.startsWith(prefix + ".") && this.ex[k] instanceof WebAssembly.Global)
      .map((k) => [k.slice(prefix.length + 1), this.enumValue(k)] as const)
      .sort((a, b) => a[1] - b[1])
      .map(([n]) => n);
  }

  reset(opts: { ignoreChecksums?: boolean } = {}): void {
    this.ex.setOption(this.enumValue("Option.IgnoreChecksums"), opts.ignoreChecksums ? 1 : 0);
    this.ex.init(this.ex.inputSize());
  }

  stats(): Record<string, number> {
    const out: Record<string, number> = {};
    const view = new Float64Array(this.ex.memory.buffer, this.ex.statsPtr(), this.enumValue("Stat.Count"));
    for (const name of this.enumNames("Stat")) if (name !== "Count") out[name] = view[this.enumValue(`Stat.${name}`)];
    return out;
  }

  err(): { code: number; offset: number; record: number } {
    return { code: this.ex.errCode(), offset: this.ex.errOffset(), record: this.ex.errRecord() };
  }

  /** The descriptor at `at`: by default where the next segment is decoded (decodeFrame() fills it). */
  pktBytes(at: number = this.ex.pktPtr()): Uint8Array {
    return this.mem().slice(at, at + 128);
  }

  pkt(at: number = this.ex.pktPtr()): Pkt {
    const b = this.pktBytes(at);
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const L = LAYOUT;
    const ipver = b[L.P_IPVER];
    const sackn = b[L.P_SACKN];
    const sack: Array<[number, number]> = [];
    for (let i = 0; i < sackn; i++)
      sack.push([dv.getUint32(L.P_SACK + i * 8, true), dv.getUint32(L.P_SACK + i * 8 + 4, true)]);
    return {
      ts: dv.getBigInt64(L.P_TS, true),
      src: formatAddr(b.subarray(L.P_SRC, L.P_SRC + 16), ipver),
      dst: formatAddr(b.subarray(L.P_DST, L.P_DST + 16), ipver),
      sport: dv.getUint16(L.P_SPORT, true),
      dport: dv.getUint16(L.P_DPORT, true),
      vlan: dv.getUint32(L.P_VLAN, true),
      ipver,
      flags: b[L.P_FLAGS],
      csum: b[L.P_CSUM],
      thlen: b[L.P_THLEN],
      seq: dv.getUint32(L.P_SEQ, true),
      ack: dv.getUint32(L.P_ACK, true),
      win: dv.getUint16(L.P_WIN, true),
      opts: b[L.P_OPTS],
      wscale: b[L.P_WSCALE],
      mss: dv.getUint16(L.P_MSS, true),
      tunnel: b[L.P_TUNNEL],
      tsval: dv.getUint32(L.P_TSVAL, true),
      tsecr: dv.getUint32(L.P_TSECR, true),
      iplen: dv.getUint32(L.P_IPLEN, true),
      paylen: dv.getUint32(L.P_PAYLEN, true),
      payptr: dv.getUint32(L.P_PAYPTR, true),
      paycap: dv.getUint32(L.P_PAYCAP, true),
      sackn,
      sack,
    };
  }

  /**
   * Decodes one frame through the decodeFrame test hook. The frame is copied to the very end of
   * linear memory, so a read past its captured bytes traps (and fails the test) instead of reading
   * neighbouring data.
   */
  decodeFrame(
    linktype: number,
    frame: Uint8Array,
    opts: { wirelen?: number; ts?: bigint } = {},
  ): { code: number; ptr: number } {
    const mem = this.mem();
    const ptr = mem.length - frame.length;
    mem.set(frame, ptr);
    const code = this.ex.decodeFrame(linktype, ptr, frame.length, opts.wirelen ?? frame.length, opts.ts ?? 0n);
    return { code, ptr };
  }

  /** Name of a Stat code returned by decodeFrame ("Decoded" for 0). */
  codeName(code: number): string {
    if (code === 0) return "Decoded";
    return this.enumNames("Stat").find((n) => this.enumValue(`Stat.${n}`) === code) ?? `?${code}`;
  }

  /**
   * Feeds a whole capture with the host protocol. `chunk` gives the size of each chunk copied behind
   * the kept tail (a number, or a function for random sizes). Throws if feed() stops making progress
   * without reporting an error (a hang), or if memory grows beyond `maxMemory`.
   */
  feedAll(bytes: Uint8Array, chunk: number | (() => number) = 1 << 30, maxMemory = Infinity): FeedResult {
    const ex = this.ex;
    const win: number = ex.inputSize();
    const base: number = ex.inputPtr();
    const segIdx = this.enumValue("Stat.Segments");
    const segments = () => new Float64Array(ex.memory.buffer, ex.statsPtr(), segIdx + 1)[segIdx];
    const next = typeof chunk === "number" ? () => chunk : chunk;
    let tail = 0;
    let src = 0;
    let calls = 0;
    const singleSegmentTs: FeedResult["singleSegmentTs"] = [];
    for (;;) {
      const n = Math.max(0, Math.min(next(), win - tail, bytes.length - src));
      this.mem().set(bytes.subarray(src, src + n), base + tail);
      tail += n;
      src += n;
      const eof = src >= bytes.length;
      const before = segments();
      const consumed: number = ex.feed(tail, eof ? 1 : 0);
      calls++;
      ex.outClear();
      if (ex.memory.buffer.byteLength > maxMemory) throw new Error(`memory grew to ${ex.memory.buffer.byteLength}`);
      const after = segments();
      if (after === before + 1) singleSegmentTs.push({ segment: after, ts: this.pkt(this.ex.lastPacketPtr()).ts });
      if (consumed < 0 || consumed > tail) throw new Error(`feed consumed ${consumed} of ${tail}`);
      if (ex.errCode() !== 0) break;
      if (consumed > 0) {
        this.mem().copyWithin(base, base + consumed, base + tail);
        tail -= consumed;
      }
      if (eof && tail === 0) break;
      if (consumed === 0 && n === 0) throw new Error(`feed made no progress: ${tail} bytes kept, eof=${eof}`);
    }
    while (ex.finish() !== 0) ex.outClear();
    return {
      stats: this.stats(),
      err: this.err(),
      lastPkt: this.pktBytes(this.ex.lastPacketPtr()),
      singleSegmentTs,
      calls,
    };
  }
}

/** Reads an AssemblyScript string (UTF-16LE, byte length at ptr-4) for abort messages. */
function readAsString(memory: WebAssembly.Memory, ptr: number): string {
  if (!ptr) return "";
  const len = new Uint32Array(memory.buffer, ptr - 4, 1)[0];
  return Buffer.from(new Uint8Array(memory.buffer, ptr, len)).toString("utf16le");
}

/** Hex string (spaces, newlines and # comments allowed) -> bytes. */
export function hex(s: string): Uint8Array {
  const clean = s.replace(/#[^\n]*/g, "").replace(/[^0-9a-fA-F]/g, "");
  if (clean.length % 2) throw new Error("odd hex length");
  return Uint8Array.from(Buffer.from(clean, "hex"));
}
