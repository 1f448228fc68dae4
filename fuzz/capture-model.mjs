/**
 * The fuzzer's view of a capture file: pcap (both byte orders, microsecond and nanosecond magic) and
 * pcapng (sections in either byte order; SHB, IDB, EPB, SPB and the obsolete PB parsed with their
 * option chains, any other block kept raw) as plain objects that the mutators edit field by field and
 * `serialise` writes back. Fields a mutator left `null` are recomputed (captured length, block
 * lengths); a number there is written as is, so lengths can lie on purpose.
 *
 * Spec: draft-ietf-opsawg-pcap §4-5 (file header, record header), draft-ietf-opsawg-pcapng §3-4
 * (block layout, options, SHB/IDB/EPB/SPB), §4.4 of the 2016 draft for the obsolete Packet Block.
 * This is a test tool: it never decides what the engine accepts, it only has to round-trip.
 *
 * @module
 */

/**
 * @typedef {{ sec: number, frac: number, caplen: number | null, origlen: number, data: Uint8Array }} PcapRecord
 * @typedef {{ code: number, value: Uint8Array, len: number | null, le?: boolean }} BlockOption
 * @typedef {{ list: BlockOption[], end: boolean, rest: Uint8Array }} BlockOptions
 * A pcapng block: the generic fields, then the type's own (bom, linktype, iface, tsh, data, options...).
 * @typedef {{ type: number, le: boolean, len: number | null, trailer: number | null, raw?: Uint8Array, [field: string]: any }} Block
 * @typedef {{ kind: "pcap", le: boolean, nano: boolean, vmaj: number, vmin: number, zone: number, sigfigs: number, snaplen: number, linktype: number, records: PcapRecord[], trailing: Uint8Array }} PcapModel
 * @typedef {{ kind: "pcapng", blocks: Block[], trailing: Uint8Array }} PcapngModel
 * @typedef {PcapModel | PcapngModel} CaptureModel
 */

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const BT_SHB = 0x0a0d0d0a;
export const BT_IDB = 1;
export const BT_PB = 2;
export const BT_SPB = 3;
export const BT_EPB = 6;
const BOM = 0x1a2b3c4d;

/** What kind of capture the bytes start with: "pcap", "pcapng" or null. */
export function sniff(b) {
  if (b.length < 4) return null;
  const dv = view(b);
  const le = dv.getUint32(0, true);
  const be = dv.getUint32(0, false);
  if (le === BT_SHB) return "pcapng";
  if ([PCAP_MAGIC_US, PCAP_MAGIC_NS].includes(le) || [PCAP_MAGIC_US, PCAP_MAGIC_NS].includes(be)) return "pcap";
  return null;
}

function view(b) {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Parses a capture; null when it is neither container or too short for a file header.
 * @param {Uint8Array} b
 * @returns {CaptureModel | null}
 */
export function parse(b) {
  const kind = sniff(b);
  if (kind === "pcap" && b.length >= 24) return parsePcap(b);
  if (kind === "pcapng") return parsePcapng(b);
  return null;
}

/** @param {CaptureModel} m */
export function serialise(m) {
  return m.kind === "pcap" ? writePcap(m) : writePcapng(m);
}

// ---------------------------------------------------------------- pcap

function parsePcap(b) {
  const dv = view(b);
  const magicLE = dv.getUint32(0, true);
  const le = magicLE === PCAP_MAGIC_US || magicLE === PCAP_MAGIC_NS;
  const magic = dv.getUint32(0, le);
  /** @type {PcapModel} */
  const m = {
    kind: "pcap",
    le,
    nano: magic === PCAP_MAGIC_NS,
    vmaj: dv.getUint16(4, le),
    vmin: dv.getUint16(6, le),
    zone: dv.getInt32(8, le),
    sigfigs: dv.getUint32(12, le),
    snaplen: dv.getUint32(16, le),
    linktype: dv.getUint32(20, le),
    records: [],
    trailing: new Uint8Array(0),
  };
  let off = 24;
  while (off + 16 <= b.length) {
    const caplen = dv.getUint32(off + 8, le);
    if (off + 16 + caplen > b.length) break;
    m.records.push({
      sec: dv.getUint32(off, le),
      frac: dv.getUint32(off + 4, le),
      caplen: null,
      origlen: dv.getUint32(off + 12, le),
      data: b.slice(off + 16, off + 16 + caplen),
    });
    off += 16 + caplen;
  }
  m.trailing = b.slice(off);
  return m;
}

function writePcap(m) {
  const size = 24 + m.records.reduce((s, r) => s + 16 + r.data.length, 0) + m.trailing.length;
  const out = new Uint8Array(size);
  const dv = view(out);
  const le = m.le;
  dv.setUint32(0, m.nano ? PCAP_MAGIC_NS : PCAP_MAGIC_US, le);
  dv.setUint16(4, m.vmaj, le);
  dv.setUint16(6, m.vmin, le);
  dv.setInt32(8, m.zone, le);
  dv.setUint32(12, m.sigfigs >>> 0, le);
  dv.setUint32(16, m.snaplen >>> 0, le);
  dv.setUint32(20, m.linktype >>> 0, le);
  let off = 24;
  for (const r of m.records) {
    dv.setUint32(off, r.sec >>> 0, le);
    dv.setUint32(off + 4, r.frac >>> 0, le);
    dv.setUint32(off + 8, (r.caplen ?? r.data.length) >>> 0, le);
    dv.setUint32(off + 12, r.origlen >>> 0, le);
    out.set(r.data, off + 16);
    off += 16 + r.data.length;
  }
  out.set(m.trailing, off);
  return out;
}

// ---------------------------------------------------------------- pcapng

/** Options: [{code, value, len}] (len null = value.length), then `end` (write opt_endofopt) and raw `rest`. */
function parseOptions(b, off, end, le) {
  const dv = view(b);
  /** @type {BlockOptions} */
  const opts = { list: [], end: false, rest: new Uint8Array(0) };
  let o = off;
  while (o + 4 <= end) {
    const code = dv.getUint16(o, le);
    const len = dv.getUint16(o + 2, le);
    if (code === 0) {
      opts.end = true;
      o += 4;
      break;
    }
    const padded = (len + 3) & ~3;
    if (o + 4 + padded > end) break;
    opts.list.push({ code, value: b.slice(o + 4, o + 4 + len), len: null });
    o += 4 + padded;
  }
  opts.rest = b.slice(o, end);
  return opts;
}

/** Option values this tool knows to be numbers, by block type: swapped when a section changes byte order. */
const NUMERIC_OPTIONS = {
  [BT_IDB]: { 14: 8, 8: 8 }, // if_tsoffset (i64), if_speed (u64)
  [BT_EPB]: { 2: 4, 4: 8 }, // epb_flags (u32), epb_dropcount (u64)
};

function writeOptions(opts, le, type) {
  const parts = [];
  for (const o of opts.list) {
    const head = new Uint8Array(4);
    const dv = view(head);
    dv.setUint16(0, o.code, le);
    dv.setUint16(2, (o.len ?? o.value.length) & 0xffff, le);
    let value = o.value;
    const width = NUMERIC_OPTIONS[type]?.[o.code];
    // Values are stored in the byte order they were read in (o.le); flip numbers to the block's.
    if (width !== undefined && value.length === width && o.le !== undefined && o.le !== le)
      value = value.slice().reverse();
    parts.push(head, value, new Uint8Array((4 - (value.length & 3)) & 3));
  }
  if (opts.end) parts.push(new Uint8Array(4));
  parts.push(opts.rest);
  return concat(parts);
}

function parseBlock(b, off, type, len, le) {
  const dv = view(b);
  const bodyEnd = off + len - 4;
  const raw = { type, le, raw: b.slice(off + 8, bodyEnd), len: null, trailer: null };
  const withOpts = (o, blk) => {
    blk.options = parseOptions(b, o, bodyEnd, le);
    for (const x of blk.options.list) x.le = le;
    return blk;
  };
  const base = { type, le, len: null, trailer: null };
  switch (type) {
    case BT_SHB:
      if (len < 28) return raw;
      return withOpts(off + 24, {
        ...base,
        bom: dv.getUint32(off + 8, le),
        major: dv.getUint16(off + 12, le),
        minor: dv.getUint16(off + 14, le),
        seclen: dv.getBigInt64(off + 16, le),
      });
    case BT_IDB:
      if (len < 20) return raw;
      return withOpts(off + 16, {
        ...base,
        linktype: dv.getUint16(off + 8, le),
        reserved: dv.getUint16(off + 10, le),
        snaplen: dv.getUint32(off + 12, le),
      });
    case BT_EPB:
    case BT_PB: {
      if (len < 32) return raw;
      const caplen = dv.getUint32(off + 20, le);
      // not (caplen + 3) & ~3: a caplen of 2^31 or more would turn negative in 32-bit arithmetic
      const padded = caplen + ((4 - (caplen % 4)) % 4);
      if (off + 28 + padded > bodyEnd) return raw;
      /** @type {Block} */
      const blk = {
        ...base,
        tsh: dv.getUint32(off + 12, le),
        tsl: dv.getUint32(off + 16, le),
        caplen: null,
        origlen: dv.getUint32(off + 24, le),
        data: b.slice(off + 28, off + 28 + caplen),
      };
      if (type === BT_EPB) blk.iface = dv.getUint32(off + 8, le);
      else {
        blk.iface = dv.getUint16(off + 8, le);
        blk.drops = dv.getUint16(off + 10, le);
      }
      return withOpts(off + 28 + padded, blk);
    }
    case BT_SPB:
      if (len < 16) return raw;
      return { ...base, origlen: dv.getUint32(off + 8, le), data: b.slice(off + 12, bodyEnd) };
    default:
      return raw;
  }
}

function parsePcapng(b) {
  const dv = view(b);
  /** @type {PcapngModel} */
  const m = { kind: "pcapng", blocks: [], trailing: new Uint8Array(0) };
  let off = 0;
  let le = true;
  while (off + 12 <= b.length) {
    let type = dv.getUint32(off, le);
    if (dv.getUint32(off, true) === BT_SHB) {
      if (off + 12 > b.length) break;
      const bom = dv.getUint32(off + 8, true);
      if (bom === BOM) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else break;
      type = BT_SHB;
    }
    const len = dv.getUint32(off + 4, le);
    if (len < 12 || len % 4 !== 0 || off + len > b.length) break;
    if (dv.getUint32(off + len - 4, le) !== len) break;
    m.blocks.push(parseBlock(b, off, type, len, le));
    off += len;
  }
  m.trailing = b.slice(off);
  return m;
}

function blockBody(blk) {
  const le = blk.le;
  if (blk.raw !== undefined) return blk.raw;
  const fixed = (n, fill) => {
    const u = new Uint8Array(n);
    fill(view(u));
    return u;
  };
  switch (blk.type) {
    case BT_SHB:
      return concat([
        fixed(16, (d) => {
          d.setUint32(0, blk.bom >>> 0, le);
          d.setUint16(4, blk.major, le);
          d.setUint16(6, blk.minor, le);
          d.setBigInt64(8, BigInt.asIntN(64, blk.seclen), le);
        }),
        writeOptions(blk.options, le, blk.type),
      ]);
    case BT_IDB:
      return concat([
        fixed(8, (d) => {
          d.setUint16(0, blk.linktype & 0xffff, le);
          d.setUint16(2, blk.reserved & 0xffff, le);
          d.setUint32(4, blk.snaplen >>> 0, le);
        }),
        writeOptions(blk.options, le, blk.type),
      ]);
    case BT_EPB:
    case BT_PB:
      return concat([
        fixed(20, (d) => {
          if (blk.type === BT_EPB) d.setUint32(0, blk.iface >>> 0, le);
          else {
            d.setUint16(0, blk.iface & 0xffff, le);
            d.setUint16(2, (blk.drops ?? 0) & 0xffff, le);
          }
          d.setUint32(4, blk.tsh >>> 0, le);
          d.setUint32(8, blk.tsl >>> 0, le);
          d.setUint32(12, (blk.caplen ?? blk.data.length) >>> 0, le);
          d.setUint32(16, blk.origlen >>> 0, le);
        }),
        blk.data,
        new Uint8Array((4 - (blk.data.length & 3)) & 3),
        writeOptions(blk.options, le, blk.type),
      ]);
    case BT_SPB:
      return concat([
        fixed(4, (d) => d.setUint32(0, blk.origlen >>> 0, le)),
        blk.data,
        new Uint8Array((4 - (blk.data.length & 3)) & 3),
      ]);
    default:
      return blk.raw ?? new Uint8Array(0);
  }
}

function writePcapng(m) {
  const parts = [];
  for (const blk of m.blocks) {
    const body = blockBody(blk);
    const len = 12 + body.length;
    const head = new Uint8Array(8);
    const tail = new Uint8Array(4);
    const le = blk.le;
    // The SHB type reads the same in both orders; every other type is written in the section's order.
    view(head).setUint32(0, blk.type >>> 0, le);
    view(head).setUint32(4, (blk.len ?? len) >>> 0, le);
    view(tail).setUint32(0, (blk.trailer ?? blk.len ?? len) >>> 0, le);
    parts.push(head, body, tail);
  }
  parts.push(m.trailing);
  return concat(parts);
}

/**
 * The packets of a model, each with the link type that decodes it:
 * [{rec, linktype}] where rec has a `data` field a mutator may replace.
 * @param {CaptureModel} m
 * @returns {{ rec: PcapRecord | Block, linktype: number }[]}
 */
export function packets(m) {
  if (m.kind === "pcap") return m.records.map((rec) => ({ rec, linktype: m.linktype & 0xffff }));
  /** @type {{ rec: PcapRecord | Block, linktype: number }[]} */
  const out = [];
  let idbs = [];
  for (const blk of m.blocks) {
    if (blk.type === BT_SHB) idbs = [];
    else if (blk.type === BT_IDB && blk.raw === undefined) idbs.push(blk.linktype);
    else if (blk.data !== undefined) {
      const lt = blk.type === BT_SPB ? idbs[0] : idbs[blk.iface];
      if (lt !== undefined) out.push({ rec: blk, linktype: lt });
    }
  }
  return out;
}

/** @param {Uint8Array[]} parts */
export function concat(parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * The same packets as a pcapng model: one section in byte order `le`, one interface with the
 * pcap link type and snaplen (if_tsresol 9 for nanosecond files), one EPB per record.
 * @param {PcapModel} m
 * @param {boolean} le
 * @returns {PcapngModel}
 */
export function pcapToPcapng(m, le) {
  const base = { le, len: null, trailer: null };
  const ticksPerSecond = m.nano ? 1_000_000_000n : 1_000_000n;
  const resol = { code: 9, value: Uint8Array.of(m.nano ? 9 : 6), len: null, le };
  /** @type {Block[]} */
  const blocks = [
    {
      ...base,
      type: BT_SHB,
      bom: BOM,
      major: 1,
      minor: 0,
      seclen: -1n,
      options: { list: [], end: false, rest: new Uint8Array(0) },
    },
    {
      ...base,
      type: BT_IDB,
      linktype: m.linktype & 0xffff,
      reserved: 0,
      snaplen: m.snaplen,
      options: { list: [resol], end: true, rest: new Uint8Array(0) },
    },
  ];
  for (const r of m.records) {
    const ticks = BigInt(r.sec) * ticksPerSecond + BigInt(r.frac);
    blocks.push({
      ...base,
      type: BT_EPB,
      iface: 0,
      tsh: Number(ticks >> 32n) >>> 0,
      tsl: Number(ticks & 0xffffffffn) >>> 0,
      caplen: null,
      origlen: r.origlen,
      data: r.data,
      options: { list: [], end: false, rest: new Uint8Array(0) },
    });
  }
  return { kind: "pcapng", blocks, trailing: new Uint8Array(0) };
}
