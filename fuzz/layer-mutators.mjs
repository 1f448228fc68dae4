/**
 * Structure-aware mutators for the layers of issue 12 (assembly/layers/: geneve, gre, pbb, vntag,
 * llc, ieee802_11, radiotap, nflog, ppp, fddi, IP-in-IP / 6in4 in ip.ts). Each one knows the fields
 * that drive its layer's parsing and changes those: Geneve's option length and option chain
 * (class, type, length), GRE's flag bits with the optional fields they announce, its version and
 * protocol type, ERSPAN's version and session fields and the type III platform sub-header (O
 * flag), 802.11 frame control (type/subtype, To DS/From DS with the fourth address, order,
 * protected, QoS with its control field and A-MSDU bit) and A-MSDU subframe lengths and padding,
 * Radiotap's it_len and chains of extended presence bitmaps with field alignment, NFLOG TLV
 * lengths, types and 4-byte padding, PPP address/control/protocol and HDLC framing, LLC
 * DSAP/SSAP/control and the SNAP OUI/protocol and 802.3 length, the PBB I-TAG, VN-Tag fields and
 * stacks, FDDI frame control and the header it skips, and the inner header lengths of IP-in-IP
 * and 6in4 (and their nesting depth). `encapsulate` puts a plain Ethernet frame into PBB, VN-Tag
 * or LLC/SNAP, so every seed can reach those layers (the tunnels are in frames.mjs `wrap`).
 *
 * A mutator either keeps the frame consistent around its change (an inserted field is announced
 * by its flag, the enclosing lengths and checksums follow: adjustSpans, fixChecksums) so the
 * decoder gets past the outer checks to the mutated field, or, less often, lets the lengths lie.
 * Every mutator names what it did in its `op`.
 *
 * @module
 */

import { concat, packets, parse } from "./capture-model.mjs";
import {
  GRE_PROTOS,
  LINKTYPES,
  NEW_LAYERS,
  PPP_PROTOS,
  adjustSpans,
  fixChecksums,
  geneveOptions,
  ipLength,
  ipv4Header,
  walk,
} from "./frames.mjs";

/**
 * How often a mutator keeps the frame consistent around its change (the flag announces the field
 * it added, lengths and checksums follow); the rest of the time the lengths are left to lie.
 * Every consistency decision draws `r.chance(CONSISTENT)`, so a test can force them all.
 */
export const CONSISTENT = 0.85;

/** @typedef {import("./mutate.mjs").Rng} Rng */
/** @typedef {{ data: Uint8Array, op: string, at?: number, delta?: number }} Edit */
/** @typedef {{ f: Uint8Array, w: import("./frames.mjs").Walk, e: import("./frames.mjs").LayerEntry, r: Rng }} Target */

/** `f` with `remove` bytes at `at` replaced by `insert`; `at`/`delta` tell adjustSpans what moved. */
function splice(f, at, remove, insert = new Uint8Array(0), op = "") {
  at = Math.min(at, f.length);
  remove = Math.max(0, Math.min(remove, f.length - at));
  return { data: concat([f.subarray(0, at), insert, f.subarray(at + remove)]), op, at, delta: insert.length - remove };
}
const get16 = (f, o, le = false) => (o + 2 <= f.length ? (le ? f[o] | (f[o + 1] << 8) : (f[o] << 8) | f[o + 1]) : 0);
function set16(f, o, v, le = false) {
  if (o + 2 > f.length) return;
  v = ((v % 65536) + 65536) % 65536;
  f[o + (le ? 0 : 1)] = v & 255;
  f[o + (le ? 1 : 0)] = v >> 8;
}
const bytes = (r, n) => Uint8Array.from({ length: n }, () => r.int(256));
/** A length at its edges: 0, tiny, one off either way, the room left and one past it, the maximum. */
function lengthEdge(r, cur, room, max = 0xffff) {
  const v = r.pick([
    0,
    1,
    2,
    3,
    4,
    5,
    7,
    8,
    cur - 1,
    cur + 1,
    cur + 2,
    cur + 3,
    cur + 4,
    cur - 4,
    cur * 2,
    room - 1,
    room,
    room + 1,
    max >> 1,
    max,
  ]);
  return Math.max(0, Math.min(max, v));
}
/** Where the bytes of the layer at `at` end: the innermost length field around it, else the frame's end. */
function limit(w, f, at) {
  let end = f.length;
  for (const s of w.spans) if (s.from <= at && at < s.end && s.off < at) end = Math.min(end, s.end);
  return end;
}
/** The GRE header the entry `e` sits in (the last one the walk entered before it). */
function greOf(w, e) {
  let g = -1;
  for (const l of w.layers) if (l.name === "gre" && l.off <= e.off) g = l.off;
  return g;
}
/** Offset of GRE's optional field `bit` (checksum, key, sequence, acknowledgement, in that order). */
function greFieldAt(f, g, bit) {
  const flags = get16(f, g);
  let o = g + 4;
  for (const b of [0x8000, 0x2000, 0x1000, 0x0080]) {
    if (b === bit) return o;
    if (flags & b) o += 4;
  }
  return o;
}
function greHeaderEnd(f, g) {
  const flags = get16(f, g);
  return g + 4 + 4 * [0x8000, 0x2000, 0x1000, 0x0080].filter((b) => flags & b).length;
}

// ---------------------------------------------------------------- one mutator per layer

function geneve({ f, w, e, r }) {
  const q = e.off;
  if (q + 8 > f.length) return null;
  const hl = 8 + (f[q] & 0x3f) * 4;
  switch (r.int(6)) {
    case 0: {
      const v = lengthEdge(r, f[q] & 0x3f, (limit(w, f, q) - q - 8) >> 2, 0x3f);
      f[q] = (f[q] & 0xc0) | v;
      return { data: f, op: `geneve-optlen=${v}` };
    }
    case 1: {
      // a new option chain in place of the old one; the option length follows it (mostly)
      const n = r.chance(0.8) ? r.int(5) : 1 + r.int(20);
      const chain = geneveOptions(n, () => r.next()).subarray(0, 252);
      const out = splice(f, q + 8, hl - 8, chain, "");
      const words = r.chance(CONSISTENT) ? chain.length / 4 : lengthEdge(r, chain.length / 4, 63, 0x3f);
      out.data[q] = (out.data[q] & 0xc0) | (words & 0x3f);
      out.op = `geneve-options:${n}/${chain.length}b/optlen=${words & 0x3f}`;
      return out;
    }
    case 2: {
      const opts = w.fields.filter((x) => x.layer === "geneve-option" && x.role === "len");
      if (!opts.length) return null;
      const o = r.pick(opts).off;
      const v = r.chance(0.8) ? lengthEdge(r, f[o] & 0x1f, 31, 0x1f) : r.int(256);
      f[o] = r.chance(0.8) ? (f[o] & 0xe0) | (v & 0x1f) : v;
      return { data: f, op: `geneve-option-len@${o}=${f[o]}` };
    }
    case 3: {
      const opts = w.fields.filter((x) => x.layer === "geneve-option" && x.role === "type");
      if (!opts.length) return null;
      const o = r.pick(opts);
      if (o.size === 2) set16(f, o.off, r.pick([0x0000, 0x0100, 0x0101, 0xffff, 0xfff0, r.int(65536)]));
      else f[o.off] = r.pick([0x00, 0x80, 0x7f, 0xff, 0x01]);
      return { data: f, op: `geneve-option-class-type@${o.off}` };
    }
    case 4:
      f[q] = (f[q] & 0x3f) | ((1 + r.int(3)) << 6);
      return { data: f, op: `geneve-version=${f[q] >> 6}` };
    default: {
      // nothing after the header and options (geneve_empty_packet), or a cut inside the options
      const keep = r.chance(0.5) ? hl : 8 + r.int(Math.max(1, hl - 7));
      return splice(f, q + keep, limit(w, f, q) - (q + keep), undefined, `geneve-empty:${keep}`);
    }
  }
}

function gre({ f, w, e, r }) {
  const g = e.name === "gre" ? e.off : greOf(w, e);
  if (g < 0 || g + 4 > f.length) return null;
  const flags = get16(f, g);
  switch (r.int(6)) {
    case 0:
    case 1: {
      // a checksum, key, sequence or acknowledgement field appears or goes, with its flag (mostly)
      const bit = r.pick([0x8000, 0x2000, 0x1000, 0x0080]);
      const at = greFieldAt(f, g, bit);
      set16(f, g, flags ^ bit);
      const name = "CKSA"[[0x8000, 0x2000, 0x1000, 0x0080].indexOf(bit)];
      if (r.chance(0.3)) return { data: f, op: `gre-flag-lie:${name}` };
      if (flags & bit) return splice(f, at, 4, undefined, `gre-field-drop:${name}`);
      return splice(f, at, 0, r.chance(0.5) ? bytes(r, 4) : Uint8Array.of(0, 0, 0, r.int(4)), `gre-field-add:${name}`);
    }
    case 2: {
      const bit = r.pick([0x4000, 0x0040, 0x0020, 0x0010, 0x0008, 0x0800, 0x0400]);
      set16(f, g, flags ^ bit);
      return { data: f, op: `gre-flag:${bit.toString(16)}` };
    }
    case 3: {
      const v = r.pick([0, 1, 1, 2, 3, 7]);
      set16(f, g, (flags & ~7) | v);
      return { data: f, op: `gre-version=${v}` };
    }
    case 4: {
      const v = r.chance(0.85) ? r.pick(GRE_PROTOS) : r.int(65536);
      set16(f, g + 2, v);
      return { data: f, op: `gre-proto=${v.toString(16)}` };
    }
    default: {
      // PPTP's enhanced GRE (version 1, K, protocol 0x880B) with a PPP header in front of what followed
      const end = greHeaderEnd(f, g);
      const proto = r.chance(0.8) ? r.pick([0x0021, 0x0057]) : r.pick(PPP_PROTOS);
      const seq = r.chance(0.5);
      const ack = r.chance(0.3);
      const head = concat([
        Uint8Array.of(0x20 | (seq ? 0x10 : 0), 0x01 | (ack ? 0x80 : 0), 0x88, 0x0b, 0, 0, 0, 7),
        seq ? bytes(r, 4) : new Uint8Array(0),
        ack ? bytes(r, 4) : new Uint8Array(0),
      ]);
      const ppp = r.chance(0.85)
        ? Uint8Array.of(0xff, 0x03, proto >> 8, proto & 255)
        : Uint8Array.of(r.int(256), r.int(256), proto >> 8, proto & 255);
      return splice(
        f,
        g,
        end - g,
        concat([head, ppp]),
        `gre-to-pptp:${proto.toString(16)}${seq ? "+S" : ""}${ack ? "+A" : ""}`,
      );
    }
  }
}

function erspan({ f, w, e, r }) {
  const o = e.off;
  const g = greOf(w, e);
  if (e.name === "erspan-i") {
    // type I becomes type II: a sequence number and the 8-byte ERSPAN II header (or only the flag)
    if (g < 0) return null;
    set16(f, g, get16(f, g) | 0x1000);
    if (r.chance(0.3)) return { data: f, op: "erspan-i-seq-lie" };
    const at = greFieldAt(f, g, 0x1000);
    const hdr = Uint8Array.of(r.pick([0x10, 0x10, 0x20, 0x00]), 0, r.int(4), r.int(256), 0, 0, 0, 0);
    const out = splice(f, at, 0, Uint8Array.of(0, 0, 0, 1), "");
    const res = splice(out.data, o + 4, 0, hdr, "erspan-i-to-ii");
    return { ...res, at, delta: 12 };
  }
  if (o + 12 > f.length) return null;
  const iii = e.name === "erspan-iii";
  switch (r.int(iii ? 6 : 5)) {
    case 0:
      f[o] = (r.pick([0, 1, 2, 3, 15, r.int(16)]) << 4) | (f[o] & 15);
      return { data: f, op: `${e.name}-version=${f[o] >> 4}` };
    case 1: {
      const id = r.pick([0, 1, 0x3ff, 0x200, r.int(1024)]);
      set16(f, o + 2, (get16(f, o + 2) & 0xfc00) | id);
      return { data: f, op: `${e.name}-session=${id}` };
    }
    case 2:
      f[o + 2] ^= 1 << (2 + r.int(6)); // COS, En/BSO, T
      set16(f, o, (get16(f, o) & 0xf000) | r.pick([0, 1, 0xfff, r.int(4096)])); // VLAN
      return { data: f, op: `${e.name}-cos-vlan` };
    case 3:
      if (iii) {
        // the O flag, with the 8-byte platform-specific sub-header it announces (mostly)
        const had = f[o + 11] & 1;
        f[o + 11] ^= 1;
        if (r.chance(0.3)) return { data: f, op: "erspan-iii-o-lie" };
        if (had) return splice(f, o + 12, 8, undefined, "erspan-iii-subheader-drop");
        const sub = Uint8Array.of(r.pick([0x04, 0x0c, 0x14, 0x1c, 0xfc, 0]), ...bytes(r, 7));
        return splice(f, o + 12, 0, sub, "erspan-iii-subheader-add");
      }
      // type II becomes type I: no sequence number, no ERSPAN header (or only the flag)
      if (g < 0) return null;
      set16(f, g, get16(f, g) & ~0x1000);
      if (r.chance(0.3)) return { data: f, op: "erspan-ii-seq-lie" };
      if (get16(f, g) & 0x0080) return { data: f, op: "erspan-ii-seq-lie-ack" };
      return splice(f, o - 4, 12, undefined, "erspan-ii-to-i");
    case 4:
      // the header cut short (the Ethernet frame after it starts too early)
      return splice(f, o + 1 + r.int(iii ? 11 : 7), 1 + r.int(4), undefined, `${e.name}-short`);
    default:
      // Gra bits, HW id, D, FT and the platform id
      f[o + 11] = (r.pick([0, 0x02, 0x04, 0x06, 0x80, 0xfe, r.int(256)]) & 0xfe) | (f[o + 11] & 1);
      if (f[o + 11] & 1 && o + 12 < f.length) f[o + 12] = r.pick([0, 0x04, 0x0c, 0xfc, r.int(256)]);
      return { data: f, op: "erspan-iii-flags" };
  }
}

/** An A-MSDU (IEEE 802.11-2020 §9.3.2.2) of subframes built from `msdu` (LLC/SNAP + IP) and noise. */
function amsduBody(msdu, r) {
  const n = r.chance(0.8) ? 1 + r.int(3) : 1 + r.int(40);
  const padRule = r.pick(["zeek", "standard", "none", "random"]);
  const parts = [];
  const desc = [];
  for (let i = 0; i < n; i++) {
    const body = r.chance(0.75)
      ? msdu
      : r.chance(0.5)
        ? bytes(r, r.int(9))
        : concat([Uint8Array.of(0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x06), bytes(r, r.int(28))]);
    let len = body.length;
    if (r.chance(0.12)) len = lengthEdge(r, len, len + 14);
    const head = Uint8Array.of(2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, len >> 8, len & 255);
    const pad =
      padRule === "zeek"
        ? body.length & 3
        : padRule === "standard"
          ? (4 - ((14 + body.length) & 3)) & 3
          : padRule === "none"
            ? 0
            : r.int(4);
    parts.push(head, body, new Uint8Array(i === n - 1 && r.chance(0.7) ? 0 : pad));
    desc.push(len);
  }
  return { body: concat(parts), op: `${n}x[${desc.slice(0, 4).join(",")}${n > 4 ? ",..." : ""}]/${padRule}` };
}

function wlan({ f, w, e, r }) {
  const p = e.off;
  if (p + 24 > f.length) return null;
  const fc = f[p];
  const fl = f[p + 1];
  const qos = (fc & 0x80) !== 0;
  const addrEnd = p + 24 + ((fl & 3) === 3 ? 6 : 0);
  const hdrEnd = addrEnd + (qos ? 2 : 0);
  // an A-MSDU's subframe lengths and padding get half of the work on a frame that has them
  const subframes = w.fields.some((x) => x.layer === "amsdu");
  switch (subframes && r.chance(0.5) ? 8 + r.int(2) : r.int(10)) {
    case 0:
      f[p] = r.chance(0.85)
        ? r.pick([0x08, 0x88, 0x48, 0xc8, 0x18, 0x28, 0x98, 0x00, 0x80, 0x04, 0xd4, 0x0c, 0x8c, 0x09])
        : r.int(256);
      return { data: f, op: `wlan-fc=${f[p].toString(16)}` };
    case 1: {
      // To DS / From DS, with the fourth address they announce (mostly)
      const ds = r.int(4);
      f[p + 1] = (fl & ~3) | ds;
      const had = (fl & 3) === 3;
      const has = ds === 3;
      if (had === has || r.chance(0.3)) return { data: f, op: `wlan-ds=${ds}${had !== has ? "-lie" : ""}` };
      return has
        ? splice(f, p + 24, 0, bytes(r, 6), `wlan-ds=${ds}+addr4`)
        : splice(f, p + 24, 6, undefined, `wlan-ds=${ds}-addr4`);
    }
    case 2:
      // the order bit: an HT Control field neither Zeek nor flowrecon skips (sometimes really there)
      f[p + 1] = fl ^ 0x80;
      if (r.chance(0.5)) return splice(f, hdrEnd, 0, bytes(r, 4), "wlan-order+htc");
      return { data: f, op: "wlan-order" };
    case 3:
      f[p + 1] = fl ^ r.pick([0x40, 0x40, 0x04, 0x08, 0x10, 0x20]); // protected, more fragments, retry, power, more data
      return { data: f, op: `wlan-flags=${f[p + 1].toString(16)}` };
    case 4:
      // QoS on or off, with the 2-byte QoS control field (mostly)
      f[p] = fc ^ 0x80;
      if (r.chance(0.25)) return { data: f, op: "wlan-qos-lie" };
      return qos
        ? splice(f, addrEnd, 2, undefined, "wlan-qos-off")
        : splice(f, addrEnd, 0, Uint8Array.of(r.pick([0, 5, 7, 0x10]), 0), "wlan-qos-on");
    case 5:
      if (!qos || addrEnd >= f.length) return null;
      f[addrEnd] ^= 0x80;
      return { data: f, op: `wlan-amsdu-bit=${f[addrEnd] >> 7}` };
    case 6:
    case 7: {
      // the frame body becomes an A-MSDU of subframes (QoS control added where missing)
      const end = limit(w, f, hdrEnd);
      if (hdrEnd >= end) return null;
      const a = amsduBody(f.slice(hdrEnd, end), r);
      const head = qos ? f.slice(p, hdrEnd) : concat([f.subarray(p, addrEnd), Uint8Array.of(0, 0)]);
      head[0] |= 0x88;
      head[0] &= ~0x40;
      head[addrEnd - p] |= 0x80;
      return splice(f, p, end - p, concat([head, a.body]), `wlan-to-amsdu:${a.op}`);
    }
    case 8: {
      const lens = w.fields.filter((x) => x.layer === "amsdu");
      if (!lens.length) return null;
      const o = r.pick(lens).off;
      const v = lengthEdge(r, get16(f, o), limit(w, f, o) - o - 2);
      set16(f, o, v);
      return { data: f, op: `amsdu-len@${o}=${v}` };
    }
    default: {
      // padding after a subframe: bytes added or taken away
      const lens = w.fields.filter((x) => x.layer === "amsdu");
      if (!lens.length) return null;
      const o = r.pick(lens).off;
      const at = o + 2 + get16(f, o);
      if (at > f.length) return null;
      const k = 1 + r.int(3);
      return r.chance(0.5)
        ? splice(f, at, 0, new Uint8Array(k), `amsdu-pad+${k}`)
        : splice(f, at, k, undefined, `amsdu-pad-${k}`);
    }
  }
}

function radiotap({ f, r }) {
  if (f.length < 4) return null;
  const itlen = get16(f, 2, true);
  switch (r.int(5)) {
    case 0: {
      const v = lengthEdge(r, itlen, f.length);
      set16(f, 2, v, true);
      return { data: f, op: `radiotap-len=${v}` };
    }
    case 1: {
      // a chain of presence bitmaps (bit 31: another word follows), fields aligned to 8 or not
      const n = r.chance(0.8) ? 1 + r.int(3) : 1 + r.int(30);
      const words = [];
      for (let i = 0; i < n; i++) {
        const more = i < n - 1 || r.chance(0.1);
        const bits = r.pick([0x0000000e, 0x0000082e, 0x00000001, 0x20000000, 0x40000000, 0x3fffffff, r.int(2 ** 31)]);
        words.push(((bits & 0x7fffffff) | (more ? 0x80000000 : 0)) >>> 0);
      }
      const present = new Uint8Array(4 * n);
      const dv = new DataView(present.buffer);
      for (const [i, x] of words.entries()) dv.setUint32(4 * i, x, true);
      const align = r.chance(0.7) ? (8 - ((4 + present.length) & 7)) & 7 : 0;
      const fields = concat([new Uint8Array(align), bytes(r, r.pick([0, 1, 2, 4, 8, 12, 13, 16, 20]))]);
      const hdr = concat([f.subarray(0, 4), present, fields]);
      const len = r.chance(CONSISTENT) ? hdr.length : lengthEdge(r, hdr.length, hdr.length + 24);
      set16(hdr, 2, len, true);
      return splice(
        f,
        0,
        Math.min(itlen, f.length),
        hdr,
        `radiotap-present:${n}w/${fields.length}b${align ? "/aligned" : ""}/len=${len}`,
      );
    }
    case 2: {
      // alignment padding between the bitmaps and the fields; it_len follows (mostly)
      let o = 4;
      while (o + 4 <= Math.min(itlen, f.length) && f[o + 3] & 0x80) o += 4;
      o += 4;
      const k = 1 + r.int(7);
      const out = splice(f, Math.min(o, itlen), 0, new Uint8Array(k), `radiotap-pad+${k}`);
      if (r.chance(CONSISTENT)) set16(out.data, 2, itlen + k, true);
      return out;
    }
    case 3:
      f[0] = r.pick([0, 0, 1, 0xff]);
      f[1] = r.pick([0, 1, 0xff]);
      return { data: f, op: `radiotap-version=${f[0]}/${f[1]}` };
    default: {
      // a bit of a presence word: the extension bit (the chain runs on into the fields) or another
      const words = [];
      for (let o = 4; o + 4 <= Math.min(itlen, f.length); o += 4) {
        words.push(o);
        if (!(f[o + 3] & 0x80)) break;
      }
      if (!words.length) return null;
      const o = r.pick(words);
      const bit = r.chance(0.5) ? 31 : r.int(31);
      f[o + (bit >> 3)] ^= 1 << (bit & 7);
      return { data: f, op: `radiotap-present-bit@${o}:${bit}` };
    }
  }
}

function nflog({ f, w, r }) {
  if (f.length < 8) return null;
  const lens = w.fields.filter((x) => x.layer === "nflog-tlv" && x.role === "len");
  const types = w.fields.filter((x) => x.layer === "nflog-tlv" && x.role === "type");
  switch (r.int(6)) {
    case 0: {
      if (!lens.length) return null;
      const o = r.pick(lens).off;
      const v = lengthEdge(r, get16(f, o, true), f.length - o);
      set16(f, o, v, true);
      return { data: f, op: `nflog-tlv-len@${o}=${v}` };
    }
    case 1: {
      if (!types.length) return null;
      const o = r.pick(types).off;
      const v = r.pick([9, 9, 1, 2, 10, 0, 0xffff, 0x8009, 0x0900]);
      set16(f, o, v, true);
      return { data: f, op: `nflog-tlv-type@${o}=${v}` };
    }
    case 2: {
      // a chain of TLVs in front of the others, padded to 4 bytes (mostly)
      const n = r.chance(0.8) ? 1 + r.int(3) : 1 + r.int(60);
      const parts = [];
      for (let i = 0; i < n; i++) {
        const vlen = r.chance(0.9) ? r.int(13) : r.pick([0, 255, 1000]);
        const tlv = new Uint8Array(4 + vlen);
        set16(tlv, 0, 4 + vlen, true);
        set16(tlv, 2, r.pick([1, 2, 3, 4, 10, 11, 16, 0x8001, 0]), true);
        tlv.set(bytes(r, Math.min(vlen, 64)), 4);
        parts.push(tlv, new Uint8Array(r.chance(CONSISTENT) ? (4 - (vlen & 3)) & 3 : 0));
      }
      return splice(f, 4, 0, concat(parts), `nflog-tlvs:${n}`);
    }
    case 3: {
      // the padding after a TLV: taken away or doubled
      if (!lens.length) return null;
      const o = r.pick(lens).off;
      const at = o + get16(f, o, true);
      if (at > f.length) return null;
      const k = 1 + r.int(3);
      return r.chance(0.5)
        ? splice(f, at, k, undefined, `nflog-pad-${k}`)
        : splice(f, at, 0, new Uint8Array(k), `nflog-pad+${k}`);
    }
    case 4:
      f[0] = r.pick([2, 10, 0, 7, 255]);
      f[1] = r.pick([0, 0, 1, 255]);
      return { data: f, op: `nflog-header=${f[0]}/${f[1]}` };
    default: {
      // the payload TLV first (every other TLV gone)
      const pay = types.find((x) => get16(f, x.off, true) === 9);
      if (!pay || pay.off - 2 <= 4) return null;
      return splice(f, 4, pay.off - 2 - 4, undefined, "nflog-payload-first");
    }
  }
}

function ppp({ f, e, r }) {
  const p = e.off;
  if (p + 4 > f.length) return null;
  const hdlc = e.name === "ppp-hdlc" || (f[p] === 0xff && f[p + 1] === 0x03) || e.name === "gre-ppp";
  const protoAt = hdlc ? p + 2 : p;
  switch (r.int(5)) {
    case 0: {
      const v = r.chance(0.85) ? r.pick(PPP_PROTOS) : r.int(65536);
      set16(f, protoAt, v);
      return { data: f, op: `ppp-proto=${v.toString(16)}` };
    }
    case 1:
      f[p] = r.pick([0xff, 0x00, 0x0f, 0x8f, 0x7e]);
      f[p + 1] = r.pick([0x03, 0x00, 0x13, 0xff]);
      return { data: f, op: `ppp-addr-ctl=${f[p].toString(16)}/${f[p + 1].toString(16)}` };
    case 2:
      // HDLC framing (FF 03) added or taken away
      return hdlc
        ? splice(f, p, 2, undefined, "ppp-unframed")
        : splice(f, p, 0, Uint8Array.of(0xff, 0x03), "ppp-framed");
    case 3: {
      // MPLS unicast: a label stack in front of the packet, bottom of stack on the last (mostly)
      const n = r.chance(0.8) ? 1 + r.int(3) : 1 + r.int(40);
      const labels = [];
      for (let i = 0; i < n; i++) labels.push(Uint8Array.of(0, 1, (i === n - 1 && r.chance(0.9) ? 1 : 0) | 0x40, 64));
      set16(f, protoAt, 0x0281);
      return splice(f, protoAt + 2, 0, concat(labels), `ppp-mpls:${n}`);
    }
    default:
      // RFC 1661 §6.5 protocol-field compression: one byte (neither Zeek nor flowrecon expects it)
      f[protoAt + 1] = r.pick([0x21, 0x57]);
      return splice(f, protoAt, 1, undefined, "ppp-pfc");
  }
}

function llc({ f, w, e, r }) {
  const p = e.name === "snap" ? (w.layers.find((l) => l.name === "llc" && l.off < e.off)?.off ?? -1) : e.off;
  if (p < 2 || p + 3 > f.length) return null;
  const l = (f[p + 2] & 3) === 3 ? 3 : 4;
  switch (r.int(6)) {
    case 0: {
      const [d, s] = r.pick([
        [0xaa, 0xaa],
        [0xff, 0xff],
        [0x42, 0x42],
        [0xe0, 0xe0],
        [0xf0, 0xf0],
        [0xaa, 0xab],
        [0xab, 0xaa],
        [0, 0],
        [0x06, 0x06],
      ]);
      f[p] = d;
      f[p + 1] = s;
      return { data: f, op: `llc-sap=${d.toString(16)}/${s.toString(16)}` };
    }
    case 1:
      // an unnumbered (1-byte) control field becomes an I/S-format (2-byte) one, or back (mostly consistent)
      if (l === 3) {
        f[p + 2] = r.pick([0x00, 0x02, 0x01, 0x10, 0xfe]);
        return r.chance(0.3)
          ? { data: f, op: "llc-control-lie=I" }
          : splice(f, p + 3, 0, Uint8Array.of(r.int(256)), "llc-control=I");
      }
      f[p + 2] = r.pick([0x03, 0x13, 0xf3, 0xaf]);
      return r.chance(0.3) ? { data: f, op: "llc-control-lie=U" } : splice(f, p + 3, 1, undefined, "llc-control=U");
    case 2: {
      const v = r.chance(0.3) ? r.pick([1500, 1501, 1535, 1536]) : lengthEdge(r, get16(f, p - 2), f.length - p, 1500);
      set16(f, p - 2, v);
      return { data: f, op: `8023-len=${v}` };
    }
    case 3: {
      if (p + l + 3 > f.length) return null;
      const oui = r.pick([0x000000, 0x00000c, 0x0000f8, 0x080007, 0xffffff, 0x000001]);
      f.set([oui >> 16, (oui >> 8) & 255, oui & 255], p + l);
      return { data: f, op: `snap-oui=${oui.toString(16)}` };
    }
    case 4: {
      const v = r.pick([0x0800, 0x86dd, 0x0806, 0x8137, 0x809b, 0x0000, 0x8100, 0x88e7]);
      set16(f, p + l + 3, v);
      return { data: f, op: `snap-proto=${v.toString(16)}` };
    }
    default:
      // the SNAP header cut or gone: an LLC header right before the IP packet
      return splice(f, p + r.int(l + 1), 1 + r.int(8), undefined, "llc-snap-short");
  }
}

function pbb({ f, e, r }) {
  const p = e.off;
  if (p + 18 > f.length) return null;
  switch (r.int(5)) {
    case 0:
      f[p] = r.pick([0x00, 0x08, 0x10, 0x70, 0xe0, 0xf8, 0xff, r.int(256)]); // PCP, DEI, UCA, reserved
      return { data: f, op: `pbb-itag-flags=${f[p].toString(16)}` };
    case 1: {
      const sid = r.pick([0, 1, 0xffffff, 0x800000, r.int(1 << 24)]);
      f.set([sid >> 16, (sid >> 8) & 255, sid & 255], p + 1);
      return { data: f, op: `pbb-isid=${sid}` };
    }
    case 2: {
      // PBB in PBB: another I-TAG and customer addresses (n deep)
      const n = r.chance(0.8) ? 1 : 1 + r.int(20);
      const layer = Uint8Array.of(0x88, 0xe7, 0, 0x12, 0x34, 0x56, 2, 0, 0, 0, 0, 3, 2, 0, 0, 0, 0, 4);
      return splice(f, p + 16, 0, concat(Array(n).fill(layer)), `pbb-nested:${n}`);
    }
    case 3:
      // the customer header cut short
      return splice(f, p + 4 + r.int(14), 1 + r.int(8), undefined, "pbb-short");
    default: {
      const v = r.pick([0x0800, 0x86dd, 0x8100, 0x88a8, 0x88e7, 0x8926, 0x05dc, 0x0040, 0x8847]);
      set16(f, p + 16, v);
      return { data: f, op: `pbb-customer-type=${v.toString(16)}` };
    }
  }
}

function vntag({ f, e, r }) {
  const p = e.off;
  if (p + 6 > f.length) return null;
  switch (r.int(5)) {
    case 0: {
      const v = r.pick([0x0000, 0x8000, 0x4000, 0xc000, 0x3fff, 0xffff, r.int(65536)]); // direction, pointer, destination VIF
      set16(f, p, v);
      return { data: f, op: `vntag-dvif=${v.toString(16)}` };
    }
    case 1: {
      const v = r.pick([0x0000, 0x8000, 0x0fff, 0xffff, r.int(65536)]); // looped, source VIF
      set16(f, p + 2, v);
      return { data: f, op: `vntag-svif=${v.toString(16)}` };
    }
    case 2: {
      const v = r.pick([0x8100, 0x88a8, 0x9100, 0x0800, 0x86dd, 0x8926, 0x88e7, 0x0040, 0x05dc]);
      set16(f, p + 4, v);
      return { data: f, op: `vntag-next=${v.toString(16)}` };
    }
    case 3: {
      // a stack of VN-Tags, each behind a VLAN tag (Zeek takes only VLAN types after a VN-Tag),
      // or (sometimes) straight after one another
      const n = r.chance(0.8) ? 1 + r.int(2) : 1 + r.int(60);
      const tag = r.chance(0.8)
        ? Uint8Array.of(0, 9, 0, 3, 0x81, 0x00, 0, 30, 0x89, 0x26)
        : Uint8Array.of(0, 9, 0, 3, 0x89, 0x26);
      return splice(f, p, 0, concat(Array(n).fill(tag)), `vntag-stack:${n}x${tag.length}`);
    }
    default: {
      // the VLAN tag after the VN-Tag taken away: the tag then names its payload type directly
      if (p + 10 > f.length) return null;
      f.copyWithin(p + 4, p + 8, p + 10);
      return splice(f, p + 6, 4, undefined, "vntag-no-vlan");
    }
  }
}

function fddi({ f, r }) {
  if (f.length < 22) return null;
  switch (r.int(4)) {
    case 0:
      f[0] = r.pick([0x50, 0x51, 0x57, 0x40, 0x41, 0x00, 0xff, 0x80, 0xc0, r.int(256)]);
      return { data: f, op: `fddi-fc=${f[0].toString(16)}` };
    case 1:
      // the LLC/SNAP header Zeek skips unread: any bytes
      f.set(r.chance(0.5) ? bytes(r, 8) : [0xaa, 0xaa, 0x03, 0, 0, 0, 0x86, 0xdd], 13);
      return { data: f, op: "fddi-llc" };
    case 2:
      return splice(f, 13, r.pick([3, 8]), undefined, "fddi-no-snap");
    default: {
      const keep = 19 + r.int(5);
      return splice(f, keep, f.length - keep, undefined, `fddi-cut:${keep}`);
    }
  }
}

function ipip({ f, w, e, r }) {
  const p = e.off;
  if (p + 1 > f.length) return null;
  const v = f[p] >> 4;
  const room = limit(w, f, p) - p;
  switch (r.int(5)) {
    case 0:
      if (v === 4) {
        const x = lengthEdge(r, get16(f, p + 2), room);
        set16(f, p + 2, x);
        return { data: f, op: `ipip-inner-totlen=${x}` };
      } else {
        const x = lengthEdge(r, get16(f, p + 4), room - 40);
        set16(f, p + 4, x);
        return { data: f, op: `6in4-inner-paylen=${x}` };
      }
    case 1: {
      if (v !== 4) {
        // the inner version nibble says 4 while the header is IPv6 (or another value)
        f[p] = (r.pick([4, 0, 5, 15]) << 4) | (f[p] & 15);
        return { data: f, op: `6in4-inner-version=${f[p] >> 4}` };
      }
      // the inner IHL: options really there (NOPs, lengths follow) or a lie
      const ihl = r.pick([0, 1, 4, 5, 6, 7, 15]);
      const old = f[p] & 15;
      f[p] = 0x40 | ihl;
      if (ihl > old && old >= 5 && r.chance(0.7))
        return splice(f, p + old * 4, 0, new Uint8Array((ihl - old) * 4).fill(1), `ipip-inner-ihl=${ihl}+options`);
      return { data: f, op: `ipip-inner-ihl=${ihl}` };
    }
    case 2:
      f[p] = ((v === 4 ? 6 : 4) << 4) | (f[p] & 15);
      return { data: f, op: "ipip-inner-version-swap" };
    case 3: {
      // nested again: one to several more IPv4 headers (past Zeek's Tunnel::max_depth of 4)
      const n = r.chance(0.7) ? 1 + r.int(2) : 3 + r.int(6);
      const len = ipLength(f, p, v);
      let inner = f.slice(p, p + len);
      for (let i = 0; i < n; i++) inner = concat([ipv4Header(inner.length, inner[0] >> 4 === 6 ? 41 : 4), inner]);
      return splice(f, p, len, inner, `ipip-nest:${n}`);
    }
    default:
      if (v !== 4 || p + 8 > f.length) return null;
      // the inner header a fragment (first, middle or last)
      set16(f, p + 6, r.pick([0x2000, 0x2001, 0x0001, 0x4000, 0x1fff, 0x3fff]));
      return { data: f, op: `ipip-inner-frag=${get16(f, p + 6).toString(16)}` };
  }
}

const MUTATORS = {
  geneve,
  gre,
  "gre-udp": gre,
  "gre-teb": gre,
  "gre-aruba": gre,
  "erspan-i": erspan,
  "erspan-ii": erspan,
  "erspan-iii": erspan,
  "gre-ppp": ppp,
  ieee802_11: wlan,
  qos: wlan,
  amsdu: wlan,
  radiotap,
  nflog,
  ppp,
  "ppp-hdlc": ppp,
  llc,
  snap: llc,
  pbb,
  vntag,
  fddi,
  ipip,
  "6in4": ipip,
};

/** The owning layer of an entry whose mutator works on its parent (802.11 QoS / A-MSDU). */
function ownerOf(w, e) {
  if (e.name !== "qos" && e.name !== "amsdu") return e;
  let owner = e;
  for (const l of w.layers) if (l.name === "ieee802_11" && l.off <= e.off) owner = l;
  return owner;
}

/** Ethernet II frames into PBB, VN-Tag or 802.3 LLC/SNAP (ethernet.ts), so any seed reaches them. */
function encapsulate(f, w, r) {
  if (f.length < 14) return null;
  const type = get16(f, 12);
  switch (r.int(3)) {
    case 0: {
      const btag = r.chance(0.5) ? Uint8Array.of(0x88, 0xa8, 0, 100) : new Uint8Array(0);
      const itag = Uint8Array.of(0x88, 0xe7, r.pick([0, 0x08, 0x60]), 0x12, 0x34, 0x56);
      return splice(f, 12, 0, concat([btag, itag, f.subarray(0, 12)]), `to-pbb${btag.length ? "+btag" : ""}`);
    }
    case 1: {
      const vlan = r.chance(0.8);
      const tag = concat([
        Uint8Array.of(0x89, 0x26, 0, 9, 0, 3),
        vlan ? Uint8Array.of(0x81, 0x00, 0, 30) : new Uint8Array(0),
      ]);
      return splice(f, 12, 0, tag, `to-vntag${vlan ? "" : "-no-vlan"}`);
    }
    default: {
      if (type !== 0x0800 && type !== 0x86dd) return null;
      const ip = w.ips[0];
      if (ip?.off !== 14) return null;
      const len = 8 + ipLength(f, 14, ip.v);
      const head = Uint8Array.of(len >> 8, len & 255, 0xaa, 0xaa, 0x03, 0, 0, 0, type >> 8, type & 255);
      return splice(f, 12, 2, head, "to-llc-snap");
    }
  }
}

/**
 * One structure-aware mutation of a layer of issue 12 in `frame` (decoded as `linktype`): a layer
 * the frame carries, or (Ethernet frames without one) a new PBB, VN-Tag or LLC/SNAP layer.
 * Returns {data, op}, or null when the frame offers nothing to do.
 */
export function mutateLayer(frame, linktype, r) {
  const w = walk(linktype, frame);
  const targets = w.layers.filter((e) => MUTATORS[e.name] !== undefined);
  let res = null;
  if (targets.length > 0 && (r.chance(0.9) || linktype !== LINKTYPES.ETHERNET)) {
    const e = ownerOf(w, r.pick(targets));
    res = MUTATORS[e.name]({ f: frame.slice(), w, e, r });
  } else if (linktype === LINKTYPES.ETHERNET) res = encapsulate(frame, w, r);
  if (res === null) return null;
  if (res.delta && r.chance(CONSISTENT)) adjustSpans(res.data, w.spans, res.at ?? 0, res.delta);
  if (r.chance(CONSISTENT)) fixChecksums(res.data, linktype);
  return { data: res.data, op: `layer:${res.op}` };
}

/** Does this frame carry a layer the mutators above work on? */
export function hasNewLayer(frame, linktype) {
  return walk(linktype, frame).layers.some((e) => MUTATORS[e.name] !== undefined);
}

/**
 * The layers of issue 12 an input reaches: every layer the walk enters in any of its packets
 * (the engine decodes each packet, so it runs that layer's decoder). Sorted names; [] when the
 * bytes are no capture the model can read.
 */
export function layersReached(bytes) {
  const m = parse(bytes);
  if (m === null) return [];
  const names = new Set();
  for (const p of packets(m)) for (const l of walk(p.linktype, p.rec.data).layers) names.add(l.name);
  return [...names].filter((n) => NEW_LAYERS.includes(n) || n === "gre").sort();
}
