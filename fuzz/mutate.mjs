/**
 * Structure-aware mutation of one capture: a stack of 1-6 operators chosen among
 * - container operators on the parsed model (capture-model.mjs): pcap header and record fields,
 *   byte order and nanosecond conversions, pcapng block fields, option chains (if_tsresol,
 *   if_tsoffset, lengths that lie, missing opt_endofopt, long chains), block lengths and trailers,
 *   sections that switch byte order, extra or missing IDBs, EPB <-> PB/SPB, unknown blocks, and
 *   record order, duplication, drops and IPv4 fragmentation;
 * - frame operators (frames.mjs): a header field of any layer set to a boundary value or another
 *   protocol selector, VLAN/MPLS stacks, IP packets nested in every tunnel the engine unwraps (to
 *   any depth), TCP option chains, snaplen cuts;
 * - layer operators (layer-mutators.mjs) for the layers of issue 12: Geneve options, GRE flags and
 *   versions, ERSPAN, 802.11 and A-MSDU, Radiotap, NFLOG, PPP, LLC/SNAP, PBB, VN-Tag, FDDI, IP-in-IP;
 * - byte havoc on the serialised file (bit flips, boundary integers, cuts, duplicated slices,
 *   splices with another seed), as a last resort for what the model cannot express.
 * Every operator applied is named in the returned `ops`, so a finding says how it was made.
 *
 * @module
 */

import {
  BT_EPB,
  BT_IDB,
  BT_PB,
  BT_SHB,
  BT_SPB,
  concat,
  packets,
  parse,
  pcapToPcapng,
  serialise,
} from "./capture-model.mjs";
import {
  ETHERTYPES,
  IP_PROTOS,
  LINKTYPES,
  TCP_OPTION_KINDS,
  UDP_PORTS,
  WRAPPERS,
  ipChecksum,
  ipLength,
  walk,
  wrap,
} from "./frames.mjs";
import { hasNewLayer, mutateLayer } from "./layer-mutators.mjs";
import { mulberry32 } from "../bench/lib/prng.mjs";

const U32_EDGES = [
  0, 1, 2, 3, 4, 7, 8, 11, 12, 13, 15, 16, 19, 20, 24, 28, 31, 32, 0x3f, 0x40, 0x7f, 0x80, 0xff, 0x100, 0x3ff, 0xfff,
  0xffff, 0x10000, 0x40000, 0x7fffff, 0x800000, 0x800001, 999999, 1000000, 999999999, 1000000000, 0x7ffffffe,
  0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
];
const U16_EDGES = [
  0, 1, 2, 3, 4, 7, 8, 19, 20, 39, 40, 41, 60, 64, 0x7f, 0x80, 0xff, 0x100, 0x5dc, 0x5dd, 0x7fff, 0x8000, 0xfffe,
  0xffff,
];
const U8_EDGES = [0, 1, 2, 3, 4, 5, 8, 15, 16, 0x3f, 0x40, 0x45, 0x46, 0x4f, 0x60, 0x7f, 0x80, 0xf0, 0xfe, 0xff];

/** Every link type the engine decodes, plus two it does not. */
const ALL_LINKTYPES = [...Object.values(LINKTYPES), 105, 147];

export class Rng {
  constructor(seed) {
    /** mulberry32: [0, 1) */
    this.next = mulberry32(seed >>> 0 || 1);
  }
  int(n) {
    return Math.floor(this.next() * n);
  }
  pick(list) {
    return list[this.int(list.length)];
  }
  chance(p) {
    return this.next() < p;
  }
}

function edge(r, size, current) {
  const near = [current - 1, current + 1, current + 4, current - 4, current * 2, current + 0x100];
  const table = size === 1 ? U8_EDGES : size === 2 ? U16_EDGES : U32_EDGES;
  const max = size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
  const v = r.chance(0.25) ? r.pick(near) : r.chance(0.85) ? r.pick(table) : r.int(max + 1);
  return ((v % (max + 1)) + (max + 1)) % (max + 1);
}

function setBE(b, off, size, v) {
  if (off + size > b.length) return;
  for (let i = size - 1; i >= 0; i--, v = Math.floor(v / 256)) b[off + i] = v & 0xff;
}
function getBE(b, off, size) {
  let v = 0;
  for (let i = 0; i < size && off + i < b.length; i++) v = v * 256 + b[off + i];
  return v;
}
/** A field in its byte order (frames.mjs marks the little-endian ones: Radiotap, NFLOG). */
function getField(b, fl) {
  if (!fl.le) return getBE(b, fl.off, fl.size);
  let v = 0;
  for (let i = fl.size - 1; i >= 0; i--) v = v * 256 + (b[fl.off + i] ?? 0);
  return v;
}
function setField(b, fl, v) {
  if (!fl.le) return setBE(b, fl.off, fl.size, v);
  if (fl.off + fl.size > b.length) return;
  for (let i = 0; i < fl.size; i++, v = Math.floor(v / 256)) b[fl.off + i] = v & 0xff;
}

// ---------------------------------------------------------------- frame operators

/** Mutates one frame (decoded as `linktype`); returns the new bytes and the operator's name. */
export function mutateFrame(frame, linktype, r) {
  const w = walk(linktype, frame);
  // ops 10+ are the layer operators: more of them on a frame that carries a layer of issue 12 (on
  // another Ethernet frame, one slot wraps it in PBB, VN-Tag or LLC/SNAP)
  const op = r.int(w.layers.length > 0 ? 16 : 11);
  const f = frame.slice();
  if (op >= 10) {
    const res = mutateLayer(frame, linktype, r);
    if (res !== null) return res;
  }
  if (op <= 3 && w.fields.length > 0) {
    const fl = r.pick(w.fields);
    const cur = getField(f, fl);
    let v;
    if (fl.pool !== undefined && r.chance(0.7)) v = r.pick(fl.pool);
    else if (fl.role === "type") {
      const pool = fl.layer.startsWith("udp")
        ? UDP_PORTS
        : fl.size === 2
          ? ETHERTYPES
          : fl.layer === "tcp-option"
            ? TCP_OPTION_KINDS
            : IP_PROTOS;
      v = r.chance(0.8) ? r.pick(pool) : edge(r, fl.size, cur);
    } else if (fl.role === "flags") v = r.chance(0.5) ? cur ^ (1 << r.int(8 * fl.size)) : edge(r, fl.size, cur);
    else v = edge(r, fl.size, cur);
    setField(f, fl, v);
    return { data: f, op: `frame-field:${fl.layer}.${fl.role}@${fl.off}=${v}` };
  }
  if (op === 4 && linktype === LINKTYPES.ETHERNET && f.length >= 14) {
    // a stack of VLAN tags (802.1Q, 802.1ad, the old 0x9100) in front of the payload type
    const n = r.chance(0.8) ? 1 + r.int(3) : 1 + r.int(40);
    const tags = [];
    for (let i = 0; i < n; i++)
      tags.push(
        Uint8Array.of(
          ...[
            [0x81, 0],
            [0x88, 0xa8],
            [0x91, 0],
          ][r.int(3)],
          r.int(16),
          r.int(256),
        ),
      );
    return { data: concat([f.subarray(0, 12), ...tags, f.subarray(12)]), op: `vlan-stack:${n}` };
  }
  if (op === 5 && linktype === LINKTYPES.ETHERNET && w.ips.length > 0 && w.ips[0].off === 14) {
    // an MPLS label stack (bottom-of-stack on the last, or missing)
    const n = r.chance(0.8) ? 1 + r.int(3) : 1 + r.int(80);
    const labels = [];
    for (let i = 0; i < n; i++) labels.push(Uint8Array.of(0, 1, 0x40 | (i === n - 1 && r.chance(0.9) ? 1 : 0), 64));
    const head = f.slice(0, 14);
    head[12] = 0x88;
    head[13] = 0x47;
    return { data: concat([head, ...labels, f.subarray(14)]), op: `mpls-stack:${n}` };
  }
  if ((op === 6 || op === 7) && w.ips.length > 0) {
    // nest an IP packet in a tunnel (the outermost one mostly, so the link layer still announces it)
    const ip = r.chance(0.8) ? w.ips[0] : r.pick(w.ips);
    const len = ipLength(f, ip.off, ip.v);
    if (len <= 0) return { data: f, op: "wrap:none" };
    const inner = f.slice(ip.off, ip.off + len);
    const how = r.pick(WRAPPERS);
    const nested = wrap(how, inner, ip.v, ip.v, () => r.next());
    return { data: concat([f.subarray(0, ip.off), nested, f.subarray(ip.off + len)]), op: `wrap:${how}@${ip.off}` };
  }
  if (op === 8 && w.tcp >= 0 && w.tcp + 20 <= f.length) {
    return tcpOptions(f, w, r);
  }
  // a snaplen cut anywhere in the headers
  const cut = r.int(Math.min(f.length, 128) + 1);
  return { data: f.slice(0, cut), op: `frame-cut:${cut}` };
}

/** Inserts an option chain after the fixed TCP header; data offset and enclosing lengths follow (mostly). */
function tcpOptions(f, w, r) {
  const n = 1 + r.int(6);
  const opts = [];
  for (let i = 0; i < n; i++) {
    const kind = r.pick(TCP_OPTION_KINDS);
    if (kind <= 1) opts.push(kind);
    else {
      const len = r.chance(0.8) ? r.pick([2, 3, 4, 6, 8, 10, 18]) : r.pick([0, 1, 40, 255]);
      opts.push(kind, len, ...Array.from({ length: Math.max(0, Math.min(len, 16) - 2) }, () => r.int(256)));
    }
  }
  while (opts.length % 4) opts.push(1);
  const add = Uint8Array.from(opts.slice(0, 40));
  const t = w.tcp;
  const doff = f[t + 12] >> 4;
  const out = concat([f.subarray(0, t + 20), add, f.subarray(t + 20)]);
  if (r.chance(0.85)) {
    out[t + 12] = (Math.min(15, doff + add.length / 4) << 4) | (out[t + 12] & 15);
    for (const fl of w.fields) {
      if (
        fl.role === "len" &&
        fl.size === 2 &&
        fl.off < t &&
        ["ipv4", "ipv6", "udp", "gtp", "pppoe"].includes(fl.layer)
      ) {
        setBE(out, fl.off, 2, (getBE(out, fl.off, 2) + add.length) & 0xffff);
      }
    }
    for (const ip of w.ips) if (ip.v === 4 && ip.off + 20 <= out.length) fixIpv4Checksum(out, ip.off);
  }
  return { data: out, op: `tcp-options:${add.length}` };
}

function fixIpv4Checksum(f, off) {
  const ihl = (f[off] & 15) * 4;
  if (ihl < 20 || off + ihl > f.length) return;
  f[off + 10] = 0;
  f[off + 11] = 0;
  setBE(f, off + 10, 2, ipChecksum(f.subarray(off, off + ihl)));
}

/** Splits the IPv4 packet at the front of a frame into fragments; null when there is none. */
function fragment(frame, linktype, r) {
  const w = walk(linktype, frame);
  const ip = w.ips[0];
  if (ip?.v !== 4) return null;
  const ihl = (frame[ip.off] & 15) * 4;
  const len = ipLength(frame, ip.off, 4);
  const payload = frame.subarray(ip.off + ihl, ip.off + len);
  if (payload.length < 16) return null;
  const pieces = [];
  let o = 0;
  while (o < payload.length) {
    const size = Math.min(payload.length - o, 8 * (1 + r.int(Math.max(1, payload.length / 16))));
    pieces.push([o, size]);
    o += size;
  }
  if (r.chance(0.2) && pieces.length > 1) pieces.push(pieces[r.int(pieces.length)]); // a duplicate
  if (r.chance(0.3)) pieces.reverse();
  const id = r.int(65536);
  return pieces.map(([start, size]) => {
    const head = frame.slice(ip.off, ip.off + ihl);
    const more = start + size < payload.length ? 0x2000 : 0;
    setBE(head, 2, 2, ihl + size);
    setBE(head, 4, 2, id);
    setBE(head, 6, 2, more | (start >> 3));
    fixIpv4Checksum(head, 0);
    return concat([frame.subarray(0, ip.off), head, payload.subarray(start, start + size)]);
  });
}

// ---------------------------------------------------------------- container operators

function mutatePcap(m, r, ops) {
  const recs = m.records;
  switch (r.int(10)) {
    case 0:
      m.le = !m.le;
      ops.push("pcap-byte-order");
      return;
    case 1:
      if (!m.nano && r.chance(0.7)) for (const x of recs) x.frac = (x.frac * 1000) >>> 0;
      m.nano = !m.nano;
      ops.push("pcap-precision");
      return;
    case 2: {
      const k = r.pick(["vmaj", "vmin", "zone", "sigfigs", "snaplen", "linktype", "linktype", "snaplen"]);
      m[k] = k === "linktype" && r.chance(0.7) ? r.pick(ALL_LINKTYPES) : edge(r, k.startsWith("v") ? 2 : 4, m[k]);
      if (k === "zone") m.zone |= 0;
      ops.push(`pcap-header:${k}=${m[k]}`);
      return;
    }
    case 3: {
      if (!recs.length) break;
      const i = r.int(recs.length);
      const k = r.pick(["sec", "frac", "caplen", "origlen", "frac", "caplen"]);
      recs[i][k] = edge(r, 4, recs[i][k] ?? recs[i].data.length);
      ops.push(`pcap-record:${i}.${k}=${recs[i][k]}`);
      return;
    }
    case 4:
      recordOrder(recs, r, ops);
      return;
    case 5: {
      const frags = splitOne(recs, m.linktype & 0xffff, r);
      if (frags) ops.push(frags);
      return;
    }
    default: {
      const pk = packets(m);
      if (!pk.length) break;
      const p = r.pick(pk);
      const res = mutateFrame(p.rec.data, p.linktype, r);
      p.rec.data = res.data;
      if (r.chance(0.7)) p.rec.origlen = Math.max(p.rec.origlen, res.data.length);
      ops.push(res.op);
      return;
    }
  }
  ops.push("pcap-noop");
}

function splitOne(list, linktype, r) {
  const candidates = list.map((_x, i) => i).filter((i) => list[i].data !== undefined);
  if (!candidates.length) return null;
  const i = r.pick(candidates);
  const frags = fragment(list[i].data, linktype, r);
  if (!frags) return null;
  list.splice(i, 1, ...frags.map((data) => ({ ...list[i], data, caplen: null, origlen: data.length })));
  return `ipv4-fragments:${i}x${frags.length}`;
}

function recordOrder(list, r, ops) {
  if (!list.length) return;
  const i = r.int(list.length);
  switch (r.int(5)) {
    case 0:
      list.splice(i, 1);
      ops.push(`drop:${i}`);
      return;
    case 1:
      list.splice(i, 0, structuredClone(list[i]));
      ops.push(`duplicate:${i}`);
      return;
    case 2: {
      const j = r.int(list.length);
      [list[i], list[j]] = [list[j], list[i]];
      ops.push(`swap:${i},${j}`);
      return;
    }
    case 3:
      list.length = i;
      ops.push(`keep-first:${i}`);
      return;
    default: {
      const n = 1 + r.int(20);
      for (let k = 0; k < n; k++) list.splice(i, 0, structuredClone(list[i]));
      ops.push(`repeat:${i}x${n}`);
    }
  }
}

const IDB_OPTION_CODES = [9, 9, 14, 14, 2, 3, 8, 10, 11, 12, 13, 15, 0x8000, 0xffff];

function randomOption(type, r) {
  const code = type === BT_IDB ? r.pick(IDB_OPTION_CODES) : r.pick([1, 2, 3, 4, 5, 6, 0x8000, 0xffff]);
  let value;
  if (code === 9 && type === BT_IDB)
    value = Uint8Array.of(
      r.pick([0, 1, 3, 6, 9, 10, 18, 19, 20, 63, 64, 0x80, 0x80 | 10, 0x80 | 20, 0x80 | 63, 0x80 | 64, 0xff]),
    );
  else if (code === 14 && type === BT_IDB) {
    const v = new DataView(new ArrayBuffer(8));
    v.setBigInt64(
      0,
      r.pick([
        0n,
        1n,
        -1n,
        1n << 32n,
        1n << 40n,
        (1n << 62n) - 1n,
        -(1n << 62n),
        0x7fffffffffffffffn,
        -0x8000000000000000n,
        BigInt(r.int(2 ** 31)),
      ]),
      true,
    );
    value = new Uint8Array(v.buffer);
    if (r.chance(0.2)) value = value.subarray(0, r.int(8));
  } else value = Uint8Array.from({ length: r.pick([0, 1, 2, 3, 4, 8, 9, 255]) }, () => r.int(256));
  return { code, value, len: null, le: true };
}

function mutateOptions(blk, r, ops) {
  const o = blk.options;
  switch (r.int(6)) {
    case 0: {
      const n = r.chance(0.8) ? 1 : 1 + r.int(300);
      for (let i = 0; i < n; i++) o.list.splice(r.int(o.list.length + 1), 0, randomOption(blk.type, r));
      ops.push(`option-add:${n}`);
      return;
    }
    case 1:
      if (o.list.length) {
        const x = r.pick(o.list);
        x.len = edge(r, 2, x.value.length);
        ops.push(`option-len:${x.code}=${x.len}`);
        return;
      }
      break;
    case 2:
      o.end = !o.end;
      ops.push("option-endofopt");
      return;
    case 3:
      o.rest = Uint8Array.from({ length: r.pick([1, 2, 3, 4, 8, 12]) }, () => r.int(256));
      ops.push("option-trailing-garbage");
      return;
    case 4:
      if (o.list.length) {
        o.list.splice(r.int(o.list.length), 1);
        ops.push("option-drop");
        return;
      }
      break;
    default: {
      const x = randomOption(blk.type, r);
      o.list.unshift(x);
      ops.push(`option-first:${x.code}`);
      return;
    }
  }
  ops.push("option-noop");
}

function mutatePcapng(m, r, ops) {
  const blocks = m.blocks;
  if (!blocks.length) {
    ops.push("pcapng-empty");
    return;
  }
  const i = r.int(blocks.length);
  const blk = blocks[i];
  switch (r.int(12)) {
    case 0: {
      // the section from block i's SHB on switches byte order
      let s = i;
      while (s > 0 && blocks[s].type !== BT_SHB) s--;
      const le = !blocks[s].le;
      for (let k = s; k < blocks.length && (k === s || blocks[k].type !== BT_SHB); k++) blocks[k].le = le;
      ops.push(`section-byte-order:${s}`);
      return;
    }
    case 1: {
      const k = r.pick(["len", "trailer", "trailer", "len"]);
      blk[k] = r.chance(0.5) ? edge(r, 4, 0) : r.pick([0, 4, 8, 12, 16]) + r.int(64);
      ops.push(`block-${k}:${i}=${blk[k]}`);
      return;
    }
    case 2:
      if (blk.options) {
        mutateOptions(blk, r, ops);
        return;
      }
      break;
    case 3: {
      // a fixed field of the block
      const keys = Object.keys(blk).filter(
        (k) => typeof blk[k] === "number" && !["type", "len", "trailer"].includes(k),
      );
      const k = r.pick([...keys, "caplen"]);
      if (k === "linktype" && r.chance(0.7)) blk[k] = r.pick(ALL_LINKTYPES);
      else if (k === "iface") blk[k] = r.pick([0, 1, 2, 255, 0xffff, 0xffffffff]);
      else blk[k] = edge(r, ["major", "minor", "reserved", "drops"].includes(k) ? 2 : 4, blk[k] ?? 0);
      if (typeof blk.seclen === "bigint" && r.chance(0.2)) blk.seclen = r.pick([-1n, 0n, 28n, 1n << 40n]);
      ops.push(`block-field:${i}.${k}=${blk[k]}`);
      return;
    }
    case 4:
      recordOrder(blocks, r, ops);
      return;
    case 5: {
      // another interface, of any link type, with or without timestamp options
      /** @type {import("./capture-model.mjs").Block} */
      const idb = {
        type: BT_IDB,
        le: blk.le,
        len: null,
        trailer: null,
        linktype: r.pick(ALL_LINKTYPES),
        reserved: 0,
        snaplen: r.pick([0, 65535, 262144, 0xffffffff]),
        options: { list: [], end: r.chance(0.5), rest: new Uint8Array(0) },
      };
      if (r.chance(0.5)) idb.options.list.push(randomOption(BT_IDB, r));
      blocks.splice(i, 0, idb);
      ops.push(`idb-insert:${i}:${idb.linktype}`);
      return;
    }
    case 6: {
      // a new section: a copy of the first SHB (maybe in the other byte order) and what follows
      const first = blocks.findIndex((b) => b.type === BT_SHB);
      if (first < 0) break;
      const copy = structuredClone(blocks.slice(first, Math.min(blocks.length, first + 2 + r.int(6))));
      const le = r.chance(0.5) ? !copy[0].le : copy[0].le;
      for (const b of copy) b.le = le;
      blocks.splice(i, 0, ...copy);
      ops.push(`section-insert:${i}:${le ? "le" : "be"}`);
      return;
    }
    case 7:
      if (blk.type === BT_EPB) {
        const to = r.pick([BT_PB, BT_SPB]);
        blk.type = to;
        if (to === BT_SPB) {
          delete blk.options;
          delete blk.iface;
        } else blk.drops = 0;
        ops.push(`epb-to:${to}`);
        return;
      }
      break;
    case 8: {
      const raw = Uint8Array.from({ length: 4 * r.int(8) }, () => r.int(256));
      const type = r.pick([4, 5, 7, 8, 9, 10, 0x80000001, 0x40000000, BT_SHB]);
      blocks.splice(i, 0, { type, le: blk.le, raw, len: null, trailer: null });
      ops.push(`block-insert:${type}`);
      return;
    }
    case 9: {
      const frags = splitOne(blocks, linktypeOf(m, blocks[i]), r);
      if (frags) {
        ops.push(frags);
        return;
      }
      break;
    }
  }
  const pk = packets(m);
  if (!pk.length) {
    ops.push("pcapng-noop");
    return;
  }
  const p = r.pick(pk);
  const res = mutateFrame(p.rec.data, p.linktype, r);
  p.rec.data = res.data;
  if (r.chance(0.7)) p.rec.origlen = Math.max(p.rec.origlen, res.data.length);
  ops.push(res.op);
}

function linktypeOf(m, blk) {
  for (const p of packets(m)) if (p.rec === blk) return p.linktype;
  return LINKTYPES.ETHERNET;
}

// ---------------------------------------------------------------- bytes

function havoc(b, r, ops, other) {
  let out = b.slice();
  const pos = out.length ? r.int(out.length) : 0;
  switch (r.int(7)) {
    case 0:
      if (out.length) out[pos] ^= 1 << r.int(8);
      ops.push(`bit:${pos}`);
      break;
    case 1: {
      const size = r.pick([1, 2, 4]);
      const v = edge(r, size, 0);
      const le = r.chance(0.5);
      for (let i = 0; i < size && pos + i < out.length; i++)
        out[pos + i] = le ? (v >>> (8 * i)) & 255 : (v >>> (8 * (size - 1 - i))) & 255;
      ops.push(`int${size * 8}:${pos}=${v}`);
      break;
    }
    case 2:
      out = out.slice(0, pos);
      ops.push(`cut:${pos}`);
      break;
    case 3: {
      const len = r.int(64);
      out = concat([out.subarray(0, pos), out.subarray(pos, pos + len), out.subarray(pos)]);
      ops.push(`dup:${pos}+${len}`);
      break;
    }
    case 4: {
      const len = 1 + r.int(32);
      out = concat([out.subarray(0, pos), out.subarray(pos + len)]);
      ops.push(`del:${pos}+${len}`);
      break;
    }
    case 5: {
      const at = r.int(other.length + 1);
      out = concat([out.subarray(0, pos), other.subarray(at, at + r.int(4096))]);
      ops.push(`splice:${pos}`);
      break;
    }
    default: {
      const len = 1 + r.int(16);
      for (let k = pos; k < Math.min(out.length, pos + len); k++) out[k] = r.int(256);
      ops.push(`smash:${pos}+${len}`);
    }
  }
  return out;
}

/**
 * One mutant of `seed` (bytes): {bytes, ops}. `other` is another seed, for splicing.
 * Mostly structural (the model), sometimes followed by byte havoc.
 */
export function mutate(seed, other, r) {
  const ops = [];
  let m = parse(seed);
  // Most seeds are pcap: a third of their mutants start as the same packets in pcapng, so the
  // block, option and section operators get as much work as the pcap ones.
  if (m !== null && m.kind === "pcap" && m.trailing.length === 0 && r.chance(0.35)) {
    m = pcapToPcapng(m, r.chance(0.7));
    ops.push("as-pcapng");
  }
  const n = 1 + r.int(r.chance(0.7) ? 3 : 6);
  let bytes;
  if (m !== null && r.chance(0.85)) {
    for (let i = 0; i < n; i++) (m.kind === "pcap" ? mutatePcap : mutatePcapng)(m, r, ops);
    bytes = serialise(m);
    if (r.chance(0.15)) bytes = havoc(bytes, r, ops, other);
  } else {
    bytes = seed;
    for (let i = 0; i < n; i++) bytes = havoc(bytes, r, ops, other);
  }
  return { bytes, ops };
}

/**
 * One mutant of `seed` aimed at the layers of issue 12: a single layer operator (layer-mutators.mjs)
 * on one packet that carries such a layer, nothing else, so the input still reaches the layer (the
 * campaign's first pass gives every layer fixture one of these). Falls back to mutate().
 */
export function mutateLayerFocused(seed, other, r) {
  const m = parse(seed);
  const pk = m === null ? [] : packets(m).filter((p) => hasNewLayer(p.rec.data, p.linktype));
  if (m === null || pk.length === 0) return mutate(seed, other, r);
  const p = r.pick(pk);
  const res = mutateLayer(p.rec.data, p.linktype, r);
  if (res === null) return { bytes: seed, ops: ["layer-focus:none"] };
  p.rec.data = res.data;
  p.rec.origlen = res.data.length;
  return { bytes: serialise(m), ops: ["layer-focus", res.op] };
}

/**
 * A mutant of a seed that carries a layer of issue 12, made mostly by the layer operators: 1-6
 * of them on its packets that carry such a layer (the same packet again, often, so changes stack),
 * then sometimes a container or frame operator and byte havoc, as mutate() does.
 */
export function mutateLayerStack(seed, other, r) {
  let m = parse(seed);
  if (m === null) return mutate(seed, other, r);
  const ops = [];
  if (m.kind === "pcap" && m.trailing.length === 0 && r.chance(0.35)) {
    m = pcapToPcapng(m, r.chance(0.7));
    ops.push("as-pcapng");
  }
  const n = 1 + r.int(r.chance(0.7) ? 3 : 6);
  let last = null;
  for (let i = 0; i < n; i++) {
    const pk = packets(m).filter((p) => hasNewLayer(p.rec.data, p.linktype));
    if (!pk.length) break;
    const p =
      last !== null && pk.some((x) => x.rec === last) && r.chance(0.5) ? pk.find((x) => x.rec === last) : r.pick(pk);
    const res = mutateLayer(p.rec.data, p.linktype, r);
    if (res === null) continue;
    p.rec.data = res.data;
    p.rec.origlen = r.chance(0.8) ? res.data.length : Math.max(p.rec.origlen, res.data.length);
    last = p.rec;
    ops.push(res.op);
  }
  if (r.chance(0.25)) (m.kind === "pcap" ? mutatePcap : mutatePcapng)(m, r, ops);
  let bytes = serialise(m);
  if (r.chance(0.1)) bytes = havoc(bytes, r, ops, other);
  return { bytes, ops };
}

/** The same capture in the other byte order / precision: must decode to the same flows. */
export function equivalentForm(bytes, r) {
  const m = parse(bytes);
  if (m === null || m.trailing.length > 0) return null;
  if (m.kind === "pcap") {
    if (r.chance(0.3) && m.records.every((x) => (m.nano ? x.frac < 1e9 : x.frac < 1e6))) {
      return { bytes: serialise(pcapToPcapng(m, r.chance(0.5))), form: "pcapng" };
    }
    if (r.chance(0.5) || m.nano) m.le = !m.le;
    else {
      if (m.records.some((x) => x.frac >= 1e6)) return null;
      for (const x of m.records) x.frac *= 1000;
      m.nano = true;
    }
    return { bytes: serialise(m), form: m.nano ? "nanoseconds" : "byte-order" };
  }
  if (m.blocks.some((b) => b.raw !== undefined || b.len !== null || b.trailer !== null)) return null;
  for (const b of m.blocks) b.le = !b.le;
  return { bytes: serialise(m), form: "byte-order" };
}
