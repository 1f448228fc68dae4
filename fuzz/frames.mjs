/**
 * The fuzzer's view of one frame: `walk` follows the same layers the engine decodes (assembly/layers:
 * Ethernet with VLAN/QinQ, MPLS, PPPoE, FabricPath, 802.1ah PBB, VN-Tag and 802.3 LLC/SNAP; Linux
 * SLL and SLL2; BSD NULL/LOOP; raw IP; PPP and PPP in HDLC framing; FDDI; IEEE 802.11 with QoS and
 * A-MSDU; Radiotap; NFLOG; IPv4 with options and fragments; IPv6 with extension headers; IP-in-IP
 * and 6in4; GRE with ERSPAN I/II/III, TEB, Aruba WLAN and PPTP; UDP with the Teredo, GTP-U, AYIYA,
 * VXLAN, Geneve and GRE-in-UDP tunnels; TCP with its option chain) and lists every header field a
 * decoder reads, each with its role (`len`, `count`, `type`, `flags`, `off`, `opt`) and byte order,
 * so the mutators can aim at lengths, counts, protocol selectors and option chains instead of
 * random bytes. It records each layer it enters (`layers`: the campaign's per-layer reach count
 * and the layer mutators' targets, layer-mutators.mjs), the length fields that enclose a byte
 * (`spans`, so an inserted header keeps the lengths around it true) and the UDP headers (`udps`,
 * whose checksums must follow), and knows where the IP packets start, so `wrap` can nest a packet
 * in another tunnel or header.
 *
 * A walker, not a validator: it stops quietly where the bytes stop making sense.
 *
 * @module
 */

import { concat } from "./capture-model.mjs";

export const LINKTYPES = {
  NULL: 0,
  ETHERNET: 1,
  PPP: 9,
  FDDI: 10,
  RAW_12: 12,
  RAW_14: 14,
  PPP_HDLC: 50,
  RAW: 101,
  IEEE802_11: 105,
  LOOP: 108,
  SLL: 113,
  RADIOTAP: 127,
  IPV4: 228,
  IPV6: 229,
  NFLOG: 239,
  SLL2: 276,
};

/** Values a `type` field is most interesting at: every selector some decoder branches on. */
export const ETHERTYPES = [
  0x0800, 0x86dd, 0x8100, 0x88a8, 0x9100, 0x8847, 0x8848, 0x8864, 0x8903, 0x6558, 0x880b, 0x0806, 0x88e7, 0x8926,
  0x05dc, 0x0040,
];
export const IP_PROTOS = [6, 17, 4, 41, 47, 0, 43, 44, 60, 51, 59, 1, 58];
export const UDP_PORTS = [3544, 2152, 5072, 4789, 6081, 4754, 53, 0];
/** GRE protocol types the GRE decoder branches on (gre.ts), Aruba's included. */
export const GRE_PROTOS = [
  0x0800, 0x86dd, 0x6558, 0x88be, 0x22eb, 0x8200, 0x8210, 0x8300, 0x8370, 0x8380, 0x9000, 0x880b, 0x0806,
];
/** PPP protocol numbers (ppp.ts, gre.ts): IPv4, IPv6, MPLS, then LCP, IPCP, IPv6CP, CDP. */
export const PPP_PROTOS = [0x0021, 0x0057, 0x0281, 0xc021, 0x8021, 0x8057, 0x0207, 0x0000, 0xffff];

/**
 * The layers of issue 12 (assembly/layers/): the walker names each as it enters it, and the
 * campaign counts how many inputs reached each one.
 */
export const NEW_LAYERS = [
  "geneve",
  "gre-udp",
  "gre-teb",
  "erspan-i",
  "erspan-ii",
  "erspan-iii",
  "gre-aruba",
  "gre-ppp",
  "pbb",
  "vntag",
  "llc",
  "snap",
  "ieee802_11",
  "qos",
  "amsdu",
  "radiotap",
  "nflog",
  "ppp",
  "ppp-hdlc",
  "fddi",
  "ipip",
  "6in4",
];
export const TCP_OPTION_KINDS = [0, 1, 2, 3, 4, 5, 8, 19, 28, 29, 30, 34, 254, 255];

/**
 * @typedef {{ off: number, size: number, role: string, layer: string, le?: boolean, pool?: number[] }} Field
 * @typedef {{ name: string, off: number }} LayerEntry  a layer entered, at its first header byte
 * @typedef {{ off: number, size: number, le: boolean, from: number, end: number }} Span  a length field
 *   at `off` that counts the bytes [from, end)
 * @typedef {{ frame: Uint8Array, dv: DataView, fields: Field[], ips: { off: number, v: number }[], tcp: number, depth: number,
 *   layers: LayerEntry[], spans: Span[], udps: { off: number, ip: number }[] }} Walk
 */

/**
 * Fields of `frame` decoded as `linktype`: {fields: [{off, size, role, layer, le?, pool?}], ips: [{off, v}],
 * tcp: off | -1, layers: [{name, off}], spans, udps}.
 * @returns {Walk}
 */
export function walk(linktype, frame) {
  /** @type {Walk} */
  const w = {
    frame,
    dv: new DataView(frame.buffer, frame.byteOffset, frame.byteLength),
    fields: [],
    ips: [],
    tcp: -1,
    depth: 0,
    layers: [],
    spans: [],
    udps: [],
  };
  try {
    link(w, linktype);
  } catch {
    // a field beyond the captured bytes: the walk ends there
  }
  return w;
}

/** @param {Walk} w @param {{ le?: boolean, pool?: number[] }} [extra] */
function field(w, off, size, role, layer, extra) {
  if (off + size <= w.frame.length) w.fields.push({ off, size, role, layer, ...extra });
}

/** A layer entered at `off` (counted once its first byte is captured: its decoder runs). */
function enter(w, name, off) {
  if (off < w.frame.length) w.layers.push({ name, off });
}

/** A length field at `off` whose value counts the bytes from `from` (plus `bias`). */
function span(w, off, size, from, le = false, bias = 0) {
  if (off + size > w.frame.length) return;
  const v = size === 1 ? w.frame[off] : w.dv.getUint16(off, le);
  w.spans.push({ off, size, le, from, end: from + v + bias });
}

function u8(w, o) {
  if (o >= w.frame.length) throw new RangeError("short");
  return w.frame[o];
}
function u16(w, o) {
  return w.dv.getUint16(o, false);
}
function u16le(w, o) {
  return w.dv.getUint16(o, true);
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
    case LINKTYPES.PPP:
      enter(w, "ppp", 0);
      if (u8(w, 0) === 0xff && u8(w, 1) === 0x03) return pppHdlc(w, 0, "ppp");
      field(w, 0, 2, "type", "ppp", { pool: PPP_PROTOS });
      return pppProtocol(w, 2, u16(w, 0));
    case LINKTYPES.PPP_HDLC:
      enter(w, "ppp-hdlc", 0);
      return pppHdlc(w, 0, "ppp-hdlc");
    case LINKTYPES.FDDI:
      // frame control, DA, SA, then an LLC/SNAP header the decoder skips unread (fddi.ts)
      enter(w, "fddi", 0);
      field(w, 0, 1, "flags", "fddi");
      field(w, 13, 1, "type", "fddi-llc");
      field(w, 19, 2, "type", "fddi-snap");
      return ip(w, 21);
    case LINKTYPES.IEEE802_11:
      return wlan(w, 0);
    case LINKTYPES.RADIOTAP: {
      enter(w, "radiotap", 0);
      field(w, 0, 1, "type", "radiotap"); // version
      field(w, 2, 2, "len", "radiotap", { le: true });
      for (let o = 4, n = 0; n < 8 && o + 4 <= w.frame.length; o += 4, n++) {
        field(w, o, 4, "flags", "radiotap-present", { le: true });
        if ((w.dv.getUint32(o, true) & 0x80000000) === 0) break;
      }
      return wlan(w, u16le(w, 2));
    }
    case LINKTYPES.NFLOG:
      return nflog(w, 0);
  }
}

function pppHdlc(w, p, layer) {
  field(w, p, 1, "type", layer, { pool: [0xff, 0x00, 0x0f, 0x8f] }); // address
  field(w, p + 1, 1, "type", layer, { pool: [0x03, 0x00, 0x13] }); // control
  field(w, p + 2, 2, "type", layer, { pool: PPP_PROTOS });
  return pppProtocol(w, p + 4, u16(w, p + 2));
}

function pppProtocol(w, p, proto) {
  if (proto === 0x0021 || proto === 0x0057) return ip(w, p);
  if (proto === 0x0281) return byEthertype(w, p, 0x8847, false);
}

function nflog(w, p) {
  enter(w, "nflog", p);
  field(w, p, 1, "type", "nflog", { pool: [2, 10, 0, 7] }); // address family
  field(w, p + 1, 1, "type", "nflog", { pool: [0, 1] }); // version
  let o = p + 4;
  for (let n = 0; n < 64 && o + 4 < w.frame.length; n++) {
    field(w, o, 2, "len", "nflog-tlv", { le: true });
    field(w, o + 2, 2, "type", "nflog-tlv", { le: true, pool: [9, 1, 10, 2, 0, 0x8009] });
    const len = u16le(w, o);
    if (u16le(w, o + 2) === 9) {
      span(w, o, 2, o, true);
      return ip(w, o + 4);
    }
    if (len < 4) return;
    o += (len + 3) & ~3;
  }
}

/** IEEE 802.11 data frame (ieee802_11.ts): QoS, four addresses, A-MSDU subframes, LLC/SNAP. */
function wlan(w, p) {
  enter(w, "ieee802_11", p);
  field(w, p, 1, "flags", "ieee802_11", { pool: [0x08, 0x88, 0x48, 0xc8, 0x28, 0x00, 0x80, 0x04, 0x0c, 0x8c] }); // type/subtype
  field(w, p + 1, 1, "flags", "ieee802_11", { pool: [0x01, 0x02, 0x03, 0x00, 0x40, 0x41, 0x80, 0x83] }); // DS, protected, order
  const fc = u8(w, p);
  const flags = u8(w, p + 1);
  if ((fc & 0x08) === 0 || (fc & 0x40) !== 0) return;
  let hl = 24 + ((flags & 3) === 3 ? 6 : 0);
  let amsdu = false;
  if (fc & 0x80) {
    enter(w, "qos", p + hl);
    field(w, p + hl, 1, "flags", "qos", { pool: [0x00, 0x80, 0x85, 0x07, 0xff] });
    amsdu = (u8(w, p + hl) & 0x80) !== 0;
    hl += 2;
  }
  const q = p + hl;
  if (!amsdu) return msdu(w, q);
  enter(w, "amsdu", q);
  // every subframe: DA, SA, length, body, padding to length % 4 (Zeek's rule, ieee802_11.ts)
  let o = q;
  for (let n = 0; n < 64 && o + 14 <= w.frame.length; n++) {
    field(w, o + 12, 2, "len", "amsdu");
    span(w, o + 12, 2, o + 14);
    const len = u16(w, o + 12);
    msdu(w, o + 14);
    o += 14 + len + (len & 3);
  }
}

function msdu(w, p) {
  field(w, p, 1, "type", "wlan-llc", { pool: [0xaa, 0x00, 0xff] });
  field(w, p + 6, 2, "type", "wlan-llc");
  const t = u16(w, p + 6);
  if (u8(w, p) === 0xaa && (t === 0x0800 || t === 0x86dd)) return ip(w, p + 8);
}

/** IEEE 802.3 length frame (llc.ts): LLC, SNAP with OUI 0 and an IP protocol. */
function llc(w, p, length) {
  enter(w, "llc", p);
  field(w, p, 1, "type", "llc", { pool: [0xaa, 0xff, 0x42, 0xe0, 0xf0, 0x06, 0x00] }); // DSAP
  field(w, p + 1, 1, "type", "llc", { pool: [0xaa, 0xff, 0x42, 0xe0, 0xf0, 0x06, 0x00] }); // SSAP
  field(w, p + 2, 1, "flags", "llc", { pool: [0x03, 0x00, 0x01, 0x02, 0x13, 0xf3] }); // control: U or I/S format
  if (u8(w, p) !== 0xaa || u8(w, p + 1) !== 0xaa) return;
  const l = (u8(w, p + 2) & 3) === 3 ? 3 : 4;
  enter(w, "snap", p + l);
  field(w, p + l, 1, "type", "snap", { pool: [0x00, 0x08, 0x80] }); // OUI (first byte)
  field(w, p + l + 2, 1, "type", "snap", { pool: [0x00, 0x07, 0xf8] }); // OUI (last byte)
  field(w, p + l + 3, 2, "type", "snap");
  const oui = (u8(w, p + l) << 16) | (u8(w, p + l + 1) << 8) | u8(w, p + l + 2);
  const t = u16(w, p + l + 3);
  if (length >= 0 && oui === 0 && (t === 0x0800 || t === 0x86dd)) return ip(w, p + l + 5);
}

function ether(w, o) {
  if (++w.depth > 16) return;
  const type = u16(w, o + 12);
  field(w, o + 12, 2, "type", "ethernet");
  const p = o + 14;
  if (type === 0x8903) {
    // FabricPath: outer header, then the classic Ethernet frame inside
    field(w, o + 14, 2, "flags", "fabricpath");
    return ether(w, o + 16);
  }
  return byEthertype(w, p, type, true);
}

/** What follows an EtherType (ethernet.ts decodeEthPayload); `lengthField`: 802.3 lengths allowed. */
function byEthertype(w, p, type, lengthField = false) {
  for (let tags = 0; tags < 32; tags++) {
    if (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
      field(w, p, 2, "flags", "vlan");
      field(w, p + 2, 2, "type", "vlan");
      type = u16(w, p + 2);
      p += 4;
      lengthField = true;
    } else if (type === 0x8926) {
      // VN-Tag (vntag.ts): direction/pointer/destination VIF, source VIF, then a VLAN EtherType
      enter(w, "vntag", p);
      field(w, p, 2, "flags", "vntag");
      field(w, p + 2, 2, "flags", "vntag");
      field(w, p + 4, 2, "type", "vntag", { pool: [0x8100, 0x88a8, 0x9100, 0x0800, 0x8926] });
      type = u16(w, p + 4);
      p += 6;
    } else break;
  }
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
      span(w, p + 4, 2, p + 6);
      field(w, p + 6, 2, "type", "ppp");
      return ip(w, p + 8);
    case 0x6558:
      return ether(w, p);
    case 0x88e7:
      // 802.1ah (pbb.ts): the I-TAG (PCP/DEI/UCA, I-SID), then the customer's Ethernet frame
      enter(w, "pbb", p);
      field(w, p, 1, "flags", "pbb");
      field(w, p + 1, 3, "count", "pbb"); // I-SID
      return ether(w, p + 4);
  }
  if (lengthField && type <= 1500) {
    const before = w.spans.length;
    span(w, p - 2, 2, p);
    if (w.spans.length === before) return;
    return llc(w, p, type);
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
  span(w, p + 2, 2, p);
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
  span(w, p + 4, 2, p + 40);
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
      // IP-in-IP and 6in4 (ip.ts): the inner header's version nibble decides
      enter(w, u8(w, p) >> 4 === 6 ? "6in4" : "ipip", p);
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
  span(w, p + 4, 2, p);
  w.udps.push({ off: p, ip: w.ips[w.ips.length - 1]?.off ?? -1 });
  const sport = u16(w, p);
  const dport = u16(w, p + 2);
  const q = p + 8;
  const port = (x) => sport === x || dport === x;
  if (port(4789)) {
    field(w, q, 1, "flags", "vxlan");
    return ether(w, q + 8);
  }
  if (port(6081)) return geneve(w, q);
  if (port(4754)) {
    enter(w, "gre-udp", q);
    return gre(w, q);
  }
  if (port(2152)) {
    field(w, q, 1, "flags", "gtp");
    field(w, q + 1, 1, "type", "gtp");
    field(w, q + 2, 2, "len", "gtp");
    span(w, q + 2, 2, q + 8);
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

/** Geneve (geneve.ts): version/option length, protocol type, options (class, type, length) chain. */
function geneve(w, q) {
  enter(w, "geneve", q);
  field(w, q, 1, "len", "geneve"); // version (2 bits) and option length (6 bits, words)
  field(w, q + 2, 2, "type", "geneve", { pool: [0x6558, 0x0800, 0x86dd, 0x0806, 0x0000] });
  const hl = 8 + (u8(w, q) & 0x3f) * 4;
  for (let o = q + 8, n = 0; o + 4 <= q + hl && n < 64; n++) {
    field(w, o, 2, "type", "geneve-option"); // option class
    field(w, o + 2, 1, "type", "geneve-option"); // type (critical bit 0x80)
    field(w, o + 3, 1, "len", "geneve-option"); // reserved (3 bits), length (5 bits, words)
    o += 4 + (u8(w, o + 3) & 0x1f) * 4;
  }
  if (u8(w, q) >> 6) return;
  const proto = u16(w, q + 2);
  if (proto === 0x6558) return ether(w, q + hl);
  if (proto === 0x0800 || proto === 0x86dd) return ip(w, q + hl);
}

/** GRE (gre.ts): flags and version, then TEB, ERSPAN I/II/III, Aruba 802.11, PPTP's PPP, or IP. */
function gre(w, p) {
  enter(w, "gre", p);
  field(w, p, 2, "flags", "gre");
  field(w, p + 2, 2, "type", "gre", { pool: GRE_PROTOS });
  const flags = u16(w, p);
  const proto = u16(w, p + 2);
  let o = p + 4;
  if (flags & 0x8000) o += 4;
  if (flags & 0x2000) o += 4;
  if (flags & 0x1000) o += 4;
  if (flags & 0x0080) o += 4;
  const version = flags & 7;
  if (version === 1) {
    enter(w, "gre-ppp", o);
    field(w, o, 1, "type", "gre-ppp", { pool: [0xff, 0x00] });
    field(w, o + 2, 2, "type", "gre-ppp", { pool: PPP_PROTOS });
    return ip(w, o + 4);
  }
  if (version !== 0) return;
  if (proto === 0x6558) {
    enter(w, "gre-teb", o);
    return ether(w, o);
  }
  if (proto === 0x88be) {
    if (!(flags & 0x1000)) {
      enter(w, "erspan-i", o);
      return ether(w, o);
    }
    // ERSPAN II: version (4 bits), VLAN, COS/En/T, session id (10 bits), reserved, index
    enter(w, "erspan-ii", o);
    field(w, o, 1, "flags", "erspan-ii", { pool: [0x10, 0x20, 0x00, 0xf0] });
    field(w, o + 2, 2, "flags", "erspan-ii");
    return ether(w, o + 8);
  }
  if (proto === 0x22eb) {
    // ERSPAN III: version, VLAN, COS/BSO/T, session id, timestamp, SGT, P/FT/HW/D/Gra/O
    enter(w, "erspan-iii", o);
    field(w, o, 1, "flags", "erspan-iii", { pool: [0x20, 0x10, 0x00, 0xf0] });
    field(w, o + 2, 2, "flags", "erspan-iii");
    field(w, o + 11, 1, "flags", "erspan-iii", { pool: [0x00, 0x01, 0x07, 0xfe, 0xff] });
    const sub = u8(w, o + 11) & 1 ? 8 : 0;
    if (sub) field(w, o + 12, 1, "flags", "erspan-iii-platform"); // platform id (6 bits)
    return ether(w, o + 12 + sub);
  }
  if (
    ((proto & 0x8200) === 0x8200 && (proto & 0x0f) === 0) ||
    ((proto & 0x8300) === 0x8300 && (proto & 0x0f) === 0 && proto <= 0x8370) ||
    proto === 0x9000
  ) {
    enter(w, "gre-aruba", o);
    return wlan(w, o);
  }
  return ip(w, o); // every other type: raw IP by the version nibble (Zeek's IPTunnel)
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
export const WRAPPERS = [
  "ipip",
  "gre",
  "gre-teb",
  "vxlan",
  "gtp",
  "gtp-ext",
  "teredo",
  "ayiya",
  "ipv6-ext",
  "ipv6-frag0",
  "geneve",
  "geneve-ip",
  "gre-udp",
  "erspan-i",
  "erspan-ii",
  "erspan-iii",
  "gre-aruba",
  "pptp",
];

/** A Geneve option chain (RFC 8926 §3.5): class, type, 5-bit length in words, data. */
export function geneveOptions(n, r) {
  const parts = [];
  for (let i = 0; i < n; i++) {
    const words = Math.floor(r() * 4);
    const o = new Uint8Array(4 + 4 * words);
    o[0] = r() < 0.5 ? 0x01 : 0xff;
    o[1] = Math.floor(r() * 256);
    o[2] = r() < 0.3 ? 0x80 : Math.floor(r() * 128);
    o[3] = words;
    for (let k = 4; k < o.length; k++) o[k] = Math.floor(r() * 256);
    parts.push(o);
  }
  return concat(parts);
}

/** An 802.11 data frame header (To DS), optionally QoS with the A-MSDU bit. */
export function wlanHeader(qos, amsdu) {
  const h = new Uint8Array(24 + (qos ? 2 : 0));
  h[0] = qos ? 0x88 : 0x08;
  h[1] = 0x01;
  h.set([2, 0, 0, 0, 0, 0xaa, 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2], 4);
  if (qos && amsdu) h[24] = 0x80;
  return h;
}

/** LLC/SNAP (RFC 1042) for an IP packet of version `v`. */
export function llcSnap(v) {
  return Uint8Array.of(0xaa, 0xaa, 0x03, 0, 0, 0, v === 4 ? 0x08 : 0x86, v === 4 ? 0x00 : 0xdd);
}

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
      return outerIp(
        outerV,
        17,
        udpDatagram(
          outerV,
          (40000 + r() * 1000) | 0,
          4789,
          concat([Uint8Array.of(8, 0, 0, 0, 0, 0, 42, 0), ethHead, inner]),
        ),
      );
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
    case "geneve":
    case "geneve-ip": {
      const opts = geneveOptions(how === "geneve" ? Math.floor(r() * 4) : 0, r);
      const eth = how === "geneve";
      const h = Uint8Array.of(
        opts.length / 4,
        0,
        eth ? 0x65 : v === 4 ? 0x08 : 0x86,
        eth ? 0x58 : v === 4 ? 0x00 : 0xdd,
        0,
        0x10,
        0x92,
        0,
      );
      return outerIp(
        outerV,
        17,
        udpDatagram(outerV, (40000 + r() * 1000) | 0, 6081, concat([h, opts, ...(eth ? [ethHead] : []), inner])),
      );
    }
    case "gre-udp":
      return outerIp(
        outerV,
        17,
        udpDatagram(
          outerV,
          (40000 + r() * 1000) | 0,
          4754,
          concat([Uint8Array.of(0, 0, v === 4 ? 0x08 : 0x86, v === 4 ? 0x00 : 0xdd), inner]),
        ),
      );
    case "erspan-i":
      return outerIp(outerV, 47, concat([Uint8Array.of(0, 0, 0x88, 0xbe), ethHead, inner]));
    case "erspan-ii":
      // GRE with a sequence number, ERSPAN II: version 1, VLAN, COS/En/T, session id, index
      return outerIp(
        outerV,
        47,
        concat([
          Uint8Array.of(0x10, 0, 0x88, 0xbe, 0, 0, 0, 1),
          Uint8Array.of(0x10, 0, 0, 5, 0, 0, 0, 0),
          ethHead,
          inner,
        ]),
      );
    case "erspan-iii": {
      // ERSPAN III: version 2, session id, timestamp, SGT, flags (O: an 8-byte platform subheader)
      const o = r() < 0.5;
      const h = Uint8Array.of(0x20, 0, 0, 6, 0, 0, 0, 1, 0, 0, 0, o ? 1 : 0);
      return outerIp(
        outerV,
        47,
        concat([
          Uint8Array.of(0x10, 0, 0x22, 0xeb, 0, 0, 0, 1),
          h,
          ...(o ? [Uint8Array.of(0x0c, 0, 0, 0, 0, 0, 0, 2)] : []),
          ethHead,
          inner,
        ]),
      );
    }
    case "gre-aruba": {
      const type = [0x8200, 0x9000, 0x8300, 0x8210][Math.floor(r() * 4)];
      return outerIp(
        outerV,
        47,
        concat([Uint8Array.of(0, 0, type >> 8, type & 255), wlanHeader(r() < 0.5, false), llcSnap(v), inner]),
      );
    }
    case "pptp": {
      // enhanced GRE (RFC 2637 §4.1): K and version 1, PPP protocol type, key = payload length and call id
      const ppp = concat([Uint8Array.of(0xff, 0x03, 0, v === 4 ? 0x21 : 0x57), inner]);
      return outerIp(
        outerV,
        47,
        concat([Uint8Array.of(0x30, 0x01, 0x88, 0x0b, ppp.length >> 8, ppp.length & 255, 0, 7, 0, 0, 0, 1), ppp]),
      );
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

// ---------------------------------------------------------------- keeping a mutated frame consistent

/**
 * After `delta` bytes were inserted (or, negative, removed) at byte `at` of a frame, the length
 * fields (walk().spans of the frame before the edit) that count across `at` grow or shrink with it,
 * so the enclosing IP, UDP, GTP, PPPoE, 802.3, A-MSDU and NFLOG lengths still tell the truth and
 * the decoders reach the mutated layer instead of stopping at an outer length check.
 * @param {Uint8Array} f the edited frame  @param {Span[]} spans  @param {number} at  @param {number} delta
 */
export function adjustSpans(f, spans, at, delta) {
  const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
  for (const s of spans) {
    if (s.off + s.size > at || s.from > at || at >= s.end || s.off + s.size > f.length) continue;
    const max = s.size === 1 ? 0xff : 0xffff;
    const v = (s.size === 1 ? f[s.off] : dv.getUint16(s.off, s.le)) + delta;
    if (v < 0 || v > max) continue;
    if (s.size === 1) f[s.off] = v;
    else dv.setUint16(s.off, v, s.le);
  }
}

/** Internet checksum of `parts` (RFC 1071), as a number to store big-endian. */
function checksumOf(parts) {
  let s = 0;
  let odd = -1;
  for (const b of parts) {
    for (let i = 0; i < b.length; i++) {
      if (odd < 0) odd = b[i];
      else {
        s += (odd << 8) | b[i];
        odd = -1;
      }
    }
  }
  if (odd >= 0) s += odd << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/**
 * Recomputes every IPv4 header checksum and every non-zero UDP checksum of a frame (innermost UDP
 * first: an inner datagram is part of the outer one's payload), so a mutant is not simply dropped
 * as BadIpChecksum / BadTunnelChecksum before the layer it mutated. Edits `f` in place.
 */
export function fixChecksums(f, linktype) {
  const w = walk(linktype, f);
  const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
  for (const ip of w.ips) {
    if (ip.v !== 4) continue;
    const ihl = (f[ip.off] & 15) * 4;
    if (ihl < 20 || ip.off + ihl > f.length) continue;
    dv.setUint16(ip.off + 10, 0);
    dv.setUint16(ip.off + 10, checksumOf([f.subarray(ip.off, ip.off + ihl)]));
  }
  for (const u of [...w.udps].sort((a, b) => b.off - a.off)) {
    if (u.ip < 0 || u.off + 8 > f.length || dv.getUint16(u.off + 6) === 0) continue;
    const v = f[u.ip] >> 4;
    if (v === 4 && (dv.getUint16(u.ip + 6) & 0x2000) !== 0) continue; // a first fragment: the sum covers the whole datagram
    const ipEnd = v === 4 ? u.ip + dv.getUint16(u.ip + 2) : u.ip + 40 + dv.getUint16(u.ip + 4);
    const len = ipEnd - u.off;
    if (len < 8 || ipEnd > f.length || len > 0xffff) continue;
    const pseudo =
      v === 4
        ? concat([f.subarray(u.ip + 12, u.ip + 20), Uint8Array.of(0, 17, len >> 8, len & 255)])
        : concat([f.subarray(u.ip + 8, u.ip + 40), Uint8Array.of(0, 0, len >> 8, len & 255, 0, 0, 0, 17)]);
    dv.setUint16(u.off + 6, 0);
    const sum = checksumOf([pseudo, f.subarray(u.off, ipEnd)]);
    dv.setUint16(u.off + 6, sum === 0 ? 0xffff : sum);
  }
}
