// Builders for synthetic frames (encapsulations the corpus lacks: SLL2, LOOP, raw IP, IPv4 options,
// IPv6 extension headers, GRE, VXLAN, IP-in-IP, TFO ...). Checksums are computed here with a plain
// RFC 1071 loop, an implementation independent of the wasm one, so the decoder's Csum.Ok on these
// frames also cross-checks its SIMD checksum.

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function u16(v: number): Uint8Array {
  return Uint8Array.of((v >> 8) & 0xff, v & 0xff);
}
export function u32(v: number): Uint8Array {
  return Uint8Array.of((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

/** RFC 1071 one's-complement sum of 16-bit big-endian words, folded (not complemented). */
export function onesSum(data: Uint8Array, init = 0): number {
  let s = init;
  for (let i = 0; i + 1 < data.length; i += 2) s += (data[i] << 8) | data[i + 1];
  if (data.length & 1) s += data[data.length - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

export function ipv4Addr(s: string): Uint8Array {
  return Uint8Array.from(s.split(".").map(Number));
}

export function ipv6Addr(s: string): Uint8Array {
  const [head, tail] = s.includes("::") ? s.split("::") : [s, ""];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const words = [...h, ...Array(8 - h.length - t.length).fill("0"), ...t].map((w) => parseInt(w, 16));
  return concat(...words.map(u16));
}

export interface TcpSpec {
  sport?: number;
  dport?: number;
  seq?: number;
  ack?: number;
  flags?: number;
  win?: number;
  options?: Uint8Array;
  payload?: Uint8Array;
  /** Corrupt the checksum (adds 1). */
  badChecksum?: boolean;
}

/** TCP header + payload with a correct checksum over the pseudo-header of src/dst (4 or 16 bytes). */
export function tcp(spec: TcpSpec, src: Uint8Array, dst: Uint8Array): Uint8Array {
  const opts = spec.options ?? new Uint8Array(0);
  if (opts.length % 4) throw new Error("options must be padded to 4 bytes");
  const hl = 20 + opts.length;
  const payload = spec.payload ?? new Uint8Array(0);
  const seg = concat(
    u16(spec.sport ?? 40000),
    u16(spec.dport ?? 80),
    u32(spec.seq ?? 1000),
    u32(spec.ack ?? 0),
    Uint8Array.of((hl / 4) << 4, spec.flags ?? 0x02),
    u16(spec.win ?? 8192),
    u16(0),
    u16(0),
    opts,
    payload,
  );
  const pseudo =
    src.length === 4
      ? concat(src, dst, Uint8Array.of(0, 6), u16(seg.length))
      : concat(src, dst, u32(seg.length), Uint8Array.of(0, 0, 0, 6));
  let c = 0xffff - onesSum(seg, onesSum(pseudo));
  if (spec.badChecksum) c = (c + 1) & 0xffff;
  seg.set(u16(c), 16);
  return seg;
}

/** UDP header + payload; checksum 0 (none) unless `checksum` is given for IPv4/IPv6 pseudo-header computation. */
export function udp(
  sport: number,
  dport: number,
  payload: Uint8Array,
  addrs?: { src: Uint8Array; dst: Uint8Array; corrupt?: boolean },
): Uint8Array {
  const d = concat(u16(sport), u16(dport), u16(8 + payload.length), u16(0), payload);
  if (addrs) {
    const pseudo =
      addrs.src.length === 4
        ? concat(addrs.src, addrs.dst, Uint8Array.of(0, 17), u16(d.length))
        : concat(addrs.src, addrs.dst, u32(d.length), Uint8Array.of(0, 0, 0, 17));
    let c = 0xffff - onesSum(d, onesSum(pseudo));
    if (c === 0) c = 0xffff;
    if (addrs.corrupt) c = (c + 1) & 0xffff;
    d.set(u16(c), 6);
  }
  return d;
}

export interface Ipv4Spec {
  src?: string;
  dst?: string;
  proto?: number;
  id?: number;
  /** Fragment offset in bytes (multiple of 8). */
  fragOffset?: number;
  mf?: boolean;
  options?: Uint8Array;
  /** Override the total-length field (e.g. 0 for TSO). */
  totalLength?: number;
  badChecksum?: boolean;
  ttl?: number;
}

export function ipv4(spec: Ipv4Spec, payload: Uint8Array): Uint8Array {
  const opts = spec.options ?? new Uint8Array(0);
  const hl = 20 + opts.length;
  const h = concat(
    Uint8Array.of(0x40 | (hl / 4), 0),
    u16(spec.totalLength ?? hl + payload.length),
    u16(spec.id ?? 1),
    u16((spec.mf ? 0x2000 : 0) | ((spec.fragOffset ?? 0) >> 3)),
    Uint8Array.of(spec.ttl ?? 64, spec.proto ?? 6),
    u16(0),
    ipv4Addr(spec.src ?? "10.0.0.1"),
    ipv4Addr(spec.dst ?? "10.0.0.2"),
    opts,
  );
  let c = 0xffff - onesSum(h);
  if (spec.badChecksum) c = (c + 1) & 0xffff;
  h.set(u16(c), 10);
  return concat(h, payload);
}

export function ipv6(
  spec: { src?: string; dst?: string; nh?: number; payloadLength?: number },
  payload: Uint8Array,
): Uint8Array {
  return concat(
    Uint8Array.of(0x60, 0, 0, 0),
    u16(spec.payloadLength ?? payload.length),
    Uint8Array.of(spec.nh ?? 6, 64),
    ipv6Addr(spec.src ?? "2001:db8::1"),
    ipv6Addr(spec.dst ?? "2001:db8::2"),
    payload,
  );
}

/** Generic IPv6 extension header (hop-by-hop, routing, destination options): 8*(len+1) bytes. */
export function ext6(nh: number, body: Uint8Array): Uint8Array {
  const total = Math.ceil((body.length + 2) / 8) * 8;
  const out = new Uint8Array(total);
  out[0] = nh;
  out[1] = total / 8 - 1;
  out.set(body, 2);
  return out;
}

export function frag6(nh: number, offset: number, more: boolean, id: number): Uint8Array {
  return concat(Uint8Array.of(nh, 0), u16(offset | (more ? 1 : 0)), u32(id));
}

export function ether(type: number, payload: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), u16(type), payload);
}

/** A complete IPv4 TCP packet (IP header + TCP) from 10.0.0.1:40000 to 10.0.0.2:80 unless overridden. */
export function ipv4Tcp(t: TcpSpec = {}, ip: Ipv4Spec = {}): Uint8Array {
  return ipv4(ip, tcp(t, ipv4Addr(ip.src ?? "10.0.0.1"), ipv4Addr(ip.dst ?? "10.0.0.2")));
}

/** A complete IPv6 TCP packet from 2001:db8::1 to 2001:db8::2 unless overridden. */
export function ipv6Tcp(t: TcpSpec = {}, ip: { src?: string; dst?: string } = {}): Uint8Array {
  return ipv6({ ...ip, nh: 6 }, tcp(t, ipv6Addr(ip.src ?? "2001:db8::1"), ipv6Addr(ip.dst ?? "2001:db8::2")));
}
