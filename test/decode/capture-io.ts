// Minimal pcap reader and pcap/pcapng writers for the decoder tests: they rewrite corpus captures
// into other byte orders, timestamp precisions and pcapng layouts, so every container path is tested
// against the same packets. Spec: draft-ietf-opsawg-pcap §4-5, draft-ietf-opsawg-pcapng §3-4.

import { concat } from "./builders.js";

export interface PcapRecord {
  tsSec: number;
  /** Microseconds, or nanoseconds when the file is nanosecond-precision. */
  tsFrac: number;
  wirelen: number;
  data: Uint8Array;
}

export interface PcapFile {
  linktype: number;
  snaplen: number;
  nanos: boolean;
  bigEndian: boolean;
  records: PcapRecord[];
}

export function parsePcap(bytes: Uint8Array): PcapFile {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicLE = dv.getUint32(0, true);
  let le: boolean;
  let nanos: boolean;
  if (magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d) {
    le = true;
    nanos = magicLE === 0xa1b23c4d;
  } else {
    const magicBE = dv.getUint32(0, false);
    if (magicBE !== 0xa1b2c3d4 && magicBE !== 0xa1b23c4d) throw new Error("not a pcap file");
    le = false;
    nanos = magicBE === 0xa1b23c4d;
  }
  const snaplen = dv.getUint32(16, le);
  const linktype = dv.getUint32(20, le) & 0xffff;
  const records: PcapRecord[] = [];
  let off = 24;
  while (off + 16 <= bytes.length) {
    const incl = dv.getUint32(off + 8, le);
    records.push({
      tsSec: dv.getUint32(off, le),
      tsFrac: dv.getUint32(off + 4, le),
      wirelen: dv.getUint32(off + 12, le),
      data: bytes.slice(off + 16, off + 16 + incl),
    });
    off += 16 + incl;
  }
  return { linktype, snaplen, nanos, bigEndian: !le, records };
}

export function writePcap(f: {
  linktype: number;
  snaplen?: number;
  nanos?: boolean;
  bigEndian?: boolean;
  records: PcapRecord[];
}): Uint8Array {
  const le = !f.bigEndian;
  const size = 24 + f.records.reduce((s, r) => s + 16 + r.data.length, 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, f.nanos ? 0xa1b23c4d : 0xa1b2c3d4, le);
  dv.setUint16(4, 2, le);
  dv.setUint16(6, 4, le);
  dv.setUint32(16, f.snaplen ?? 65535, le);
  dv.setUint32(20, f.linktype, le);
  let off = 24;
  for (const r of f.records) {
    dv.setUint32(off, r.tsSec, le);
    dv.setUint32(off + 4, r.tsFrac, le);
    dv.setUint32(off + 8, r.data.length, le);
    dv.setUint32(off + 12, r.wirelen, le);
    out.set(r.data, off + 16);
    off += 16 + r.data.length;
  }
  return out;
}

/** Microseconds since the epoch of a pcap record, truncating nanoseconds (what the decoder must produce). */
export function recordTsUs(f: PcapFile, r: PcapRecord): bigint {
  return BigInt(r.tsSec) * 1_000_000n + BigInt(f.nanos ? Math.floor(r.tsFrac / 1000) : r.tsFrac);
}

// ---- pcapng ----

export interface NgInterface {
  linktype: number;
  snaplen?: number;
  /** Raw if_tsresol byte (omitted = default 10^-6). */
  tsresol?: number;
  /** if_tsoffset seconds. */
  tsoffset?: bigint;
  /** Extra raw option bytes appended before opt_endofopt (for garbage tests). */
  rawOptions?: Uint8Array;
}

export type NgBlock =
  | { kind: "epb"; iface: number; ticks: bigint; data: Uint8Array; wirelen?: number }
  | { kind: "spb"; data: Uint8Array; wirelen?: number }
  | { kind: "pb"; iface: number; ticks: bigint; data: Uint8Array; wirelen?: number }
  | { kind: "raw"; type: number; body: Uint8Array };

export interface NgSection {
  bigEndian?: boolean;
  interfaces: NgInterface[];
  blocks: NgBlock[];
}

class Writer {
  private chunks: Uint8Array[] = [];
  constructor(private le: boolean) {}
  block(type: number, body: Uint8Array): void {
    const padded = (body.length + 3) & ~3;
    const total = 12 + padded;
    const b = new Uint8Array(total);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, type, this.le);
    dv.setUint32(4, total, this.le);
    b.set(body, 8);
    dv.setUint32(total - 4, total, this.le);
    this.chunks.push(b);
  }
  bytes(): Uint8Array[] {
    return this.chunks;
  }
}

function option(code: number, value: Uint8Array, le: boolean): Uint8Array {
  const b = new Uint8Array(4 + ((value.length + 3) & ~3));
  const dv = new DataView(b.buffer);
  dv.setUint16(0, code, le);
  dv.setUint16(2, value.length, le);
  b.set(value, 4);
  return b;
}

export function writePcapng(sections: NgSection[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const s of sections) {
    const le = !s.bigEndian;
    const w = new Writer(le);
    const shb = new Uint8Array(16);
    const sdv = new DataView(shb.buffer);
    sdv.setUint32(0, 0x1a2b3c4d, le);
    sdv.setUint16(4, 1, le);
    sdv.setUint16(6, 0, le);
    sdv.setBigInt64(8, -1n, le);
    w.block(0x0a0d0d0a, shb);
    for (const i of s.interfaces) {
      const opts: Uint8Array[] = [];
      if (i.tsresol !== undefined) opts.push(option(9, Uint8Array.of(i.tsresol), le));
      if (i.tsoffset !== undefined) {
        const v = new Uint8Array(8);
        new DataView(v.buffer).setBigInt64(0, i.tsoffset, le);
        opts.push(option(14, v, le));
      }
      if (i.rawOptions) opts.push(i.rawOptions);
      if (opts.length) opts.push(new Uint8Array(4)); // opt_endofopt
      const fixed = new Uint8Array(8);
      const fdv = new DataView(fixed.buffer);
      fdv.setUint16(0, i.linktype, le);
      fdv.setUint32(4, i.snaplen ?? 0, le);
      w.block(1, concat(fixed, ...opts));
    }
    for (const b of s.blocks) {
      if (b.kind === "epb" || b.kind === "pb") {
        const fixed = new Uint8Array(20);
        const dv = new DataView(fixed.buffer);
        if (b.kind === "epb") dv.setUint32(0, b.iface, le);
        else dv.setUint16(0, b.iface, le);
        dv.setUint32(4, Number(b.ticks >> 32n), le);
        dv.setUint32(8, Number(b.ticks & 0xffffffffn), le);
        dv.setUint32(12, b.data.length, le);
        dv.setUint32(16, b.wirelen ?? b.data.length, le);
        w.block(b.kind === "epb" ? 6 : 2, concat(fixed, b.data));
      } else if (b.kind === "spb") {
        const fixed = new Uint8Array(4);
        new DataView(fixed.buffer).setUint32(0, b.wirelen ?? b.data.length, le);
        w.block(3, concat(fixed, b.data));
      } else {
        w.block(b.type, b.body);
      }
    }
    parts.push(...w.bytes());
  }
  return concat(...parts);
}

/** Microseconds for `us` expressed in if_tsresol units (exact for the resolutions the tests use). */
export function usToTicks(us: bigint, tsresol: number | undefined): bigint {
  const r = tsresol ?? 6;
  const n = BigInt(r & 0x7f);
  if (r & 0x80) return (us << n) / 1_000_000n;
  return n >= 6n ? us * 10n ** (n - 6n) : us / 10n ** (6n - n);
}

/**
 * A classic pcap rewritten as pcapng moved past the year 2255 (if_tsoffset 9e9 s): every `ts` then
 * has 16 digits and a fraction, which the engine's msgpack transcoder leaves to the host
 * (assembly/format/msgpack.ts), so each flow of an msgpack answer is packed by the host in its place.
 */
export function pastYear2255(pcap: Uint8Array): Uint8Array {
  const f = parsePcap(pcap);
  const blocks = f.records.map((r) => ({
    kind: "epb" as const,
    iface: 0,
    ticks: recordTsUs(f, r),
    data: r.data,
    wirelen: r.wirelen,
  }));
  return writePcapng([{ interfaces: [{ linktype: f.linktype, tsoffset: 9_000_000_000n }], blocks }]);
}
