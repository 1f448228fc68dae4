/**
 * The fuzzer's view of one frame: `walk` follows the same layers the engine decodes (assembly/layers:
 * Ethernet with VLAN/QinQ, MPLS, PPPoE and FabricPath; Linux SLL and SLL2; BSD NULL/LOOP; raw IP;
 * IPv4 with options and fragments; IPv6 with extension headers; GRE; UDP with the Teredo, GTP-U,
 * AYIYA and VXLAN tunnels; TCP with its option chain) and lists every header field a decoder reads,
 * each with its role (`len`, `count`, `type`, `flags`, `off`, `opt`), so the mutators can aim at
 * lengths, counts, protocol selectors and option chains instead of random bytes. It also knows
 * where the IP packets start, so `wrap` can nest a packet in another tunnel or header.
 *
 * A walker, not a validator: it stops quietly where the bytes stop making sense.
 *
 * @module
 */

import { concat } from "./capture-model.mjs";

export const LINKTYPES = { NULL: 0, ETHERNET: 1, RAW_12: 12, RAW_14: 14, RAW: 101, LOOP: 108, SLL: 113, IPV4: 228, IPV6: 229, SLL2: 276 };

/** Values a `type` field is most interesting at: every selector some decoder branches on. */
export const ETHERTYPES = [0x0800, 0x86dd, 0x8100, 0x88a8, 0x9100, 0x8847, 0x8848, 0x8864, 0x8903, 0x6558, 0x880b, 0x0806];
export const IP_PROTOS = [6, 17, 4, 41, 47, 0, 43, 44, 60, 51, 59, 1, 58];
export const UDP_PORTS = [3544, 2152, 5072, 4789, 53, 0];
export const TCP_OPTION_KINDS = [0, 1, 2, 3, 4, 5, 8, 19, 28, 29, 30, 34, 254, 255];

/**
 * Fields of `frame` decoded as `linktype`: {fields: [{off, size, role, layer}], ips: [{off, v}], tcp: off | -1}.
 */
export function walk(linktype, frame) {
  /** @type {{ frame: Uint8Array, dv: DataView, fields: { off: number, size: number, role: string, layer: string }[], ips: { off: number, v: number }[], tcp: number, depth: number }} */
  const w = { frame, dv: new DataView(frame.buffer, frame.byteOffset, frame.byteLength), fields: [], ips: [], tcp: -1, depth: 0 };
  try {
    link(w, linktype);
  } catch {
    // a field beyond the captured bytes: the walk ends there
  }
  return w;
}

function field(w, off, size, role, layer) {
  if (off + size <= w.frame.length) w.fields.push({ off, size, role, layer });
}

function u8(w, o) {
  if (o >= w.frame.length) throw new RangeError("short");
  return w.frame[o];
}
function u16(w, o) {
  return w.dv.getUint16(o, false);
}

function link(w, lt) {
  switch (lt) {
    case LINKTYPES.ETHERNET:
      return ether(w, 0);
    case LINKTYPES.SLL:
      field(w, 0, 2, "type", "sll");
      field(w, 4, 2, "len", "sll");
      field(w, 14, 2, "type", "sll");
      return byEthertype(w, 16, u16(w, 14));
    case LINKTYPES.SLL2:
      field(w, 0, 2, "type", "sll2");
      field(w, 10, 1, "type", "sll2");
      field(w, 11, 1, "len", "sll2");
      return byEthertype(w, 20, u16(w, 0));
    case LINKTYPES.NULL:
    case LINKTYPES.LOOP:
      field(w, 0, 4, "type", "null");
      return ip(w, 4);
    case LINKTYPES.RAW:
    case LINKTYPES.RAW_12:
    case LINKTYPES.RAW_14:
    case LINKTYPES.IPV4:
    case LINKTYPES.IPV6:
      return ip(w, 0);
  }
}

function ether(w, o) {
  if (++w.depth > 16) return;
  let type = u16(w, o + 12);
  field(w, o + 12, 2, "type", "ethernet");
  let p = o + 14;
  if (type === 0x8903) {
    // FabricPath: outer header, then the classic Ethernet frame inside
    field(w, o + 14, 2, "flags", "fabricpath");
    return ether(w, o + 16);
  }
  for (let tags = 0; tags < 32 && (type === 0x8100 || type === 0x88a8 || type === 0x9100); tags++) {
    field(w, p, 2, "flags", "vlan");
    field(w, p + 2, 2, "type", "vlan");
    type = u16(w, p + 2);
    p += 4;
  }
  return byEthertype(w, p, type);
}

function byEthertype(w, p, type) {
  switch (type) {
    case 0x0800:
    case 0x86dd:
      return ip(w, p);
    case 0x8847:
    case 0x8848:
      for (let n = 0; n < 64; n++) {
        field(w, p + 2, 1, "flags", "mpls"); // TC and bottom-of-stack bit
        const bos = u8(w, p + 2) & 1;
        p += 4;
        if (bos) break;
      }
      return ip(w, p);
    case 0x8864:
      field(w, p, 1, "flags", "pppoe");
      field(w, p + 1, 1, "type", "pppoe");
      field(w, p + 4, 2, "len", "pppoe");
      field(w, p + 6, 2, "type", "ppp");
      return ip(w, p + 8);
    case 0x6558:
      return ether(w, p);
  }
}

function ip(w, p) {
  if (++w.depth > 16) return;
  const v = u8(w, p) >> 4;
  if (v === 4) return ipv4(w, p);
  if (v === 6) return ipv6(w, p);
}

function ipv4(w, p) {
  w.ips.push({ off: p, v: 4 });
  const ihl = (u8(w, p) & 15) * 4;
  field(w, p, 1, "len", "ipv4"); // version + IHL
  field(w, p + 2, 2, "len", "ipv4");
  field(w, p + 6, 2, "off", "ipv4"); // flags + fragment offset
  field(w, p + 9, 1, "type", "ipv4");
  for (let o = p + 20; o + 1 < p + ihl; ) {
    const kind = u8(w, o);
    if (kind === 0) break;
    if (kind === 1) {
      o++;
      continue;
    }
    field(w, o + 1, 1, "opt", "ipv4-option");
    const len = u8(w, o + 1);
    if (len < 2) break;
    o += len;
  }
  if ((u16(w, p + 6) & 0x1fff) !== 0) return; // a non-first fragment
  return transport(w, p + ihl, u8(w, p + 9));
}

function ipv6(w, p) {
  w.ips.push({ off: p, v: 6 });
  field(w, p + 4, 2, "len", "ipv6");
  field(w, p + 6, 1, "type", "ipv6");
  let next = u8(w, p + 6);
  let o = p + 40;
  for (let n = 0; n < 16; n++) {
    if (next === 0 || next === 43 || next === 60) {
      field(w, o, 1, "type", "ipv6-ext");
      field(w, o + 1, 1, "len", "ipv6-ext");
      next = u8(w, o);
      o += (u8(w, o + 1) + 1) * 8;
    } else if (next === 44) {
      field(w, o, 1, "type", "ipv6-frag");
      field(w, o + 2, 2, "off", "ipv6-frag");
      const frag = u16(w, o + 2);
      next = u8(w, o);
      o += 8;
      if ((frag & 0xfff8) !== 0) return;
    } else if (next === 51) {
      field(w, o, 1, "type", "ipv6-ah");
      field(w, o + 1, 1, "len", "ipv6-ah");
      next = u8(w, o);
      o += (u8(w, o + 1) + 2) * 4;
    } else break;
  }
  return transport(w, o, next);
}

function transport(w, p, proto) {
  switch (proto) {
    case 6:
      return tcp(w, p);
    case 17:
      return udp(w, p);
    case 4:
    case 41:
      return ip(w, p);
    case 47:
      return gre(w, p);
  }
}

function tcp(w, p) {
  w.tcp = p;
  field(w, p + 12, 1, "len", "tcp"); // data offset
  field(w, p + 13, 1, "flags", "tcp");
  field(w, p + 14, 2, "count", "tcp"); // window
  field(w, p + 4, 4, "count", "tcp"); // seq
  field(w, p + 8, 4, "count", "tcp"); // ack
  const end = p + (u8(w, p + 12) >> 4) * 4;
  for (let o = p + 20; o < end && o < w.frame.length; ) {
    const kind = w.frame[o];
    field(w, o, 1, "type", "tcp-option");
    if (kind === 0) break;
    if (kind === 1) {
      o++;
      continue;
    }
    field(w, o + 1, 1, "opt", "tcp-option");
    const len = u8(w, o + 1);
    if (len < 2) break;
    o += len;
  }
}

function udp(w, p) {
  field(w, p, 2, "type", "udp");
  field(w, p + 2, 2, "type", "udp");
  field(w, p + 4, 2, "len", "udp");
  const sport = u16(w, p);
  const dport = u16(w, p + 2);
  const q = p + 8;
  const port = (x) => sport === x || dport === x;
  if (port(4789)) {
    field(w, q, 1, "flags", "vxlan");
    return ether(w, q + 8);
  }
  if (port(2152)) {
    field(w, q, 1, "flags", "gtp");
    field(w, q + 1, 1, "type", "gtp");
    field(w, q + 2, 2, "len", "gtp");
    let o = q + 8;
    if (u8(w, q) & 0x07) {
      field(w, q + 11, 1, "type", "gtp-ext");
      let ext = u8(w, q + 11);
      o = q + 12;
      for (let n = 0; ext !== 0 && n < 16; n++) {
        field(w, o, 1, "len", "gtp-ext");
        const len = u8(w, o) * 4;
        if (len === 0) return;
        field(w, o + len - 1, 1, "type", "gtp-ext");
        ext = u8(w, o + len - 1);
        o += len;
      }
    }
    return ip(w, o);
  }
  if (port(5072)) {
    field(w, q, 1, "len", "ayiya"); // identity length/type
    field(w, q + 1, 1, "len", "ayiya"); // signature length/hash method
    field(w, q + 2, 1, "type", "ayiya"); // auth method / op code
    field(w, q + 3, 1, "type", "ayiya"); // next header
    const idLen = 1 << (u8(w, q) >> 4);
    const sigLen = (u8(w, q + 1) >> 4) * 4;
    return ip(w, q + 8 + idLen + sigLen);
  }
  if (port(3544)) {
    let o = q;
    if (u16(w, o) === 1) {
      field(w, o + 2, 1, "len", "teredo-auth");
      field(w, o + 3, 1, "len", "teredo-auth");
      o += 4 + u8(w, o + 2) + u8(w, o + 3) + 9;
    }
    if (u16(w, o) === 0) o += 8;
    return ip(w, o);
  }
}

function gre(w, p) {
  field(w, p, 2, "flags", "gre");
  field(w, p + 2, 2, "type", "gre");
  const flags = u16(w, p);
  let o = p + 4;
  if (flags & 0xc000) o += 4;
  if (flags & 0x2000) o += 4;
  if (flags & 0x1000) o += 4;
  if ((flags & 7) === 1 && flags & 0x0080) o += 4;
  const proto = u16(w, p + 2);
  if (proto === 0x880b) {
    field(w, o, 2, "type", "ppp");
    return ip(w, o + 2);
  }
  return byEthertype(w, o, proto);
}

// ---------------------------------------------------------------- building headers

export function ipv4Header(payloadLen, proto, id = 0) {
  const h = new Uint8Array(20);
  const dv = new DataView(h.buffer);
  h[0] = 0x45;
  dv.setUint16(2, 20 + payloadLen);
  dv.setUint16(4, id);
  h[8] = 64;
  h[9] = proto;
  h.set([10, 99, 0, 1, 10, 99, 0, 2], 12);
  dv.setUint16(10, ipChecksum(h));
  return h;
}

export function ipv6Header(payloadLen, next) {
  const h = new Uint8Array(40);
  const dv = new DataView(h.buffer);
  h[0] = 0x60;
  dv.setUint16(4, payloadLen);
  h[6] = next;
  h[7] = 64;
  h[8] = 0x20;
  h[9] = 0x01;
  h[15] = 1;
  h[24] = 0x20;
  h[25] = 0x01;
  h[39] = 2;
  return h;
}

export function ipChecksum(h) {
  let s = 0;
  for (let i = 0; i + 1 < h.length; i += 2) s += (h[i] << 8) | h[i + 1];
  if (h.length & 1) s += h[h.length - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** UDP header plus payload with a correct checksum over the outer IP pseudo-header. */
function udpDatagram(outer, sport, dport, payload) {
  const d = new Uint8Array(8 + payload.length);
  const dv = new DataView(d.buffer);
  dv.setUint16(0, sport);
  dv.setUint16(2, dport);
  dv.setUint16(4, d.length);
  d.set(payload, 8);
  const pseudo =
    outer === 4
      ? concat([Uint8Array.of(10, 99, 0, 1, 10, 99, 0, 2, 0, 17, d.length >> 8, d.length & 255), d])
      : concat([ipv6Header(0, 0).subarray(8, 40), Uint8Array.of(0, 0, d.length >> 8, d.length & 255, 0, 0, 0, 17), d]);
  const sum = ipChecksum(pseudo);
  dv.setUint16(6, sum === 0 ? 0xffff : sum);
  return d;
}

function outerIp(v, proto, payload) {
  return concat([v === 4 ? ipv4Header(payload.length, proto) : ipv6Header(payload.length, proto), payload]);
}

/** Tunnels `wrap` can nest an IP packet in (each is something a decoder unwraps). */
export const WRAPPERS = ["ipip", "gre", "gre-teb", "vxlan", "gtp", "gtp-ext", "teredo", "ayiya", "ipv6-ext", "ipv6-frag0"];

/**
 * Nests the IP packet `inner` (IP version `v`) in `how`, inside an outer IP header of version `outerV`
 * (the link layer in front of it announces that version). Returns the new IP packet.
 */
export function wrap(how, inner, v, outerV, r) {
  const ethHead = Uint8Array.of(2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, v === 4 ? 0x08 : 0x86, v === 4 ? 0x00 : 0xdd);
  const innerProto = v === 4 ? 4 : 41;
  switch (how) {
    case "ipip":
      return outerIp(outerV, innerProto, inner);
    case "gre":
      return outerIp(outerV, 47, concat([Uint8Array.of(0, 0, v === 4 ? 0x08 : 0x86, v === 4 ? 0x00 : 0xdd), inner]));
    case "gre-teb":
      return outerIp(outerV, 47, concat([Uint8Array.of(0x20, 0, 0x65, 0x58, 0, 0, 0, 7), ethHead, inner]));
    case "vxlan":
      return outerIp(outerV, 17, udpDatagram(outerV, 40000 + (r() * 1000) | 0, 4789, concat([Uint8Array.of(8, 0, 0, 0, 0, 0, 42, 0), ethHead, inner])));
    case "gtp": {
      const h = Uint8Array.of(0x30, 0xff, inner.length >> 8, inner.length & 255, 0, 0, 0, 9);
      return outerIp(outerV, 17, udpDatagram(outerV, 2152, 2152, concat([h, inner])));
    }
    case "gtp-ext": {
      // E flag, then a chain of extension headers (length in 4-byte units, last byte = next type)
      const n = 1 + Math.floor(r() * 4);
      const exts = [];
      for (let i = 0; i < n; i++) exts.push(Uint8Array.of(1, 0, 0, i === n - 1 ? 0 : 0x85));
      const body = concat([Uint8Array.of(0, 0, 0, 0x85), ...exts, inner]);
      const h = Uint8Array.of(0x34, 0xff, body.length >> 8, body.length & 255, 0, 0, 0, 9);
      return outerIp(outerV, 17, udpDatagram(outerV, 2152, 2152, concat([h, body])));
    }
    case "teredo": {
      if (v !== 6) return outerIp(outerV, innerProto, inner);
      const origin = Uint8Array.of(0, 0, 0x12, 0x34, 0xf5, 0x9c, 0xff, 0xfe);
      return outerIp(outerV, 17, udpDatagram(outerV, 3544, 50000, r() < 0.5 ? concat([origin, inner]) : inner));
    }
    case "ayiya": {
      // identity 16 bytes (IPv6), signature 20 bytes (SHA1), op 1 (forward), next header
      const h = new Uint8Array(8 + 16 + 20);
      h[0] = 0x42;
      h[1] = 0x52;
      h[2] = 0x11;
      h[3] = innerProto;
      return outerIp(outerV, 17, udpDatagram(outerV, 5072, 5072, concat([h, inner])));
    }
    case "ipv6-ext": {
      // a chain of hop-by-hop / destination options headers in front of the inner packet's payload
      if (v !== 6) return outerIp(outerV, innerProto, inner);
      const n = 1 + Math.floor(r() * 6);
      const next = inner[6];
      const exts = [];
      for (let i = 0; i < n; i++) exts.push(Uint8Array.of(i === n - 1 ? next : 60, 0, 1, 4, 0, 0, 0, 0));
      const body = concat([...exts, inner.subarray(40)]);
      const head = inner.slice(0, 40);
      new DataView(head.buffer).setUint16(4, body.length);
      head[6] = r() < 0.5 ? 0 : 60; // hop-by-hop (only ever first) or destination options
      return concat([head, body]);
    }
    case "ipv6-frag0": {
      // an atomic fragment (offset 0, M=0): RFC 6946
      if (v !== 6) return outerIp(outerV, innerProto, inner);
      const head = inner.slice(0, 40);
      const body = concat([Uint8Array.of(inner[6], 0, 0, 0, 0, 0, 0, 1), inner.subarray(40)]);
      new DataView(head.buffer).setUint16(4, body.length);
      head[6] = 44;
      return concat([head, body]);
    }
  }
  return inner;
}

/** The length of the IP packet at `off` as its header declares it, clamped to what was captured. */
export function ipLength(frame, off, v) {
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (off + (v === 4 ? 20 : 40) > frame.length) return frame.length - off;
  const declared = v === 4 ? dv.getUint16(off + 2) : 40 + dv.getUint16(off + 4);
  return Math.min(declared, frame.length - off);
}
