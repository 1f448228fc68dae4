// The benchmark traffic generator (bench/lib/traffic.mjs): deterministic output, valid capture
// structure, correct checksums and TCP sequence numbers, and flow counts that the JavaScript
// references reproduce. The checks below re-parse the files independently of the generator's own
// code (plain Buffer reads, naive one's-complement sums), so a bug in its incremental checksum or
// in the writer cannot hide behind itself.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCapture } from "../../bench/lib/traffic.mjs";
import { analyzeMap } from "../../bench/ref/js-map.mjs";
import { analyzeTyped } from "../../bench/ref/js-typed.mjs";
import type { Sidecar } from "../../bench/lib/traffic.mjs";

const SEGMENTS = 50_000;
const CONCURRENT = 2000;
const SEED = 7;

/** Per-record checks: vitest's expect() costs microseconds a call, too slow for 50k records. */
function check(cond: boolean, msg: string): void {
  if (!cond) throw new Error(msg);
}

interface Rec {
  tsUs: number;
  caplen: number;
  origLen: number;
  off: number;
}

/** Walk a little-endian microsecond pcap with nothing but Buffer reads. */
function pcapRecords(buf: Buffer): { snaplen: number; linktype: number; recs: Rec[] } {
  expect(buf.readUInt32LE(0)).toBe(0xa1b2c3d4);
  expect(buf.readUInt16LE(4)).toBe(2);
  expect(buf.readUInt16LE(6)).toBe(4);
  const snaplen = buf.readUInt32LE(16);
  const linktype = buf.readUInt32LE(20);
  const recs: Rec[] = [];
  let p = 24;
  while (p < buf.length) {
    check(p + 16 <= buf.length, `record header past the end at ${p}`);
    const sec = buf.readUInt32LE(p);
    const usec = buf.readUInt32LE(p + 4);
    const caplen = buf.readUInt32LE(p + 8);
    const origLen = buf.readUInt32LE(p + 12);
    check(usec < 1_000_000, `usec ${usec} at ${p}`);
    recs.push({ tsUs: sec * 1e6 + usec, caplen, origLen, off: p + 16 });
    p += 16 + caplen;
  }
  expect(p).toBe(buf.length);
  return { snaplen, linktype, recs };
}

/** Walk a pcapng file: SHB, IDB, then EPBs only (what the generator writes). */
function pcapngRecords(buf: Buffer): { snaplen: number; recs: Rec[] } {
  expect(buf.readUInt32LE(0)).toBe(0x0a0d0d0a);
  expect(buf.readUInt32LE(8)).toBe(0x1a2b3c4d);
  let p = buf.readUInt32LE(4);
  expect(buf.readUInt32LE(p)).toBe(1); // IDB
  expect(buf.readUInt16LE(p + 8)).toBe(1); // Ethernet
  const snaplen = buf.readUInt32LE(p + 12);
  p += buf.readUInt32LE(p + 4);
  const recs: Rec[] = [];
  while (p < buf.length) {
    check(buf.readUInt32LE(p) === 6, `not an EPB at ${p}`);
    const len = buf.readUInt32LE(p + 4);
    check(len % 4 === 0 && buf.readUInt32LE(p + len - 4) === len, `bad EPB length at ${p}`);
    const tsUs = buf.readUInt32LE(p + 12) * 2 ** 32 + buf.readUInt32LE(p + 16);
    const caplen = buf.readUInt32LE(p + 20);
    check(28 + caplen + 4 <= len, `EPB caplen past its block at ${p}`);
    recs.push({ tsUs, caplen, origLen: buf.readUInt32LE(p + 24), off: p + 28 });
    p += len;
  }
  expect(p).toBe(buf.length);
  return { snaplen, recs };
}

/** One's-complement sum of big-endian 16-bit words (odd tail padded with zero), folded to 16 bits. */
function onesSum(bufs: Buffer[]): number {
  let sum = 0;
  for (const b of bufs) {
    for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
    if (b.length % 2) sum += b[b.length - 1] << 8;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

interface Seg {
  key: string;
  fromLow: boolean;
  flags: number;
  seq: number;
  ack: number;
  payLen: number;
  ipOk: boolean | null;
  tcpOk: boolean;
}

/** Decode one full (untruncated) Ethernet frame down to TCP and verify both checksums. */
function decode(frame: Buffer): Seg {
  let o = 12;
  let ethertype = frame.readUInt16BE(o);
  o += 2;
  if (ethertype === 0x8100) {
    ethertype = frame.readUInt16BE(o + 2);
    o += 4;
  }
  let src: Buffer;
  let dst: Buffer;
  let tcp: Buffer;
  let ipOk: boolean | null = null;
  let pseudoLen: Buffer;
  if (ethertype === 0x0800) {
    const ihl = (frame[o] & 0x0f) * 4;
    const total = frame.readUInt16BE(o + 2);
    check(frame[o + 9] === 6, "IPv4 protocol is not TCP");
    ipOk = onesSum([frame.subarray(o, o + ihl)]) === 0xffff;
    src = frame.subarray(o + 12, o + 16);
    dst = frame.subarray(o + 16, o + 20);
    tcp = frame.subarray(o + ihl, o + total);
    pseudoLen = Buffer.from([0, 6, tcp.length >> 8, tcp.length & 0xff]);
  } else {
    check(ethertype === 0x86dd && frame[o + 6] === 6, "neither IPv4 nor IPv6 carrying TCP");
    const payloadLen = frame.readUInt16BE(o + 4);
    src = frame.subarray(o + 8, o + 24);
    dst = frame.subarray(o + 24, o + 40);
    tcp = frame.subarray(o + 40, o + 40 + payloadLen);
    pseudoLen = Buffer.from([0, 0, tcp.length >> 8, tcp.length & 0xff, 0, 0, 0, 6]);
  }
  const tcpOk = onesSum([src, dst, pseudoLen, tcp]) === 0xffff;
  const sport = tcp.readUInt16BE(0);
  const dport = tcp.readUInt16BE(2);
  const a = `${src.toString("hex")}/${sport}`;
  const b = `${dst.toString("hex")}/${dport}`;
  return {
    key: a < b ? `${a} ${b}` : `${b} ${a}`,
    fromLow: a < b,
    flags: tcp[13],
    seq: tcp.readUInt32BE(4),
    ack: tcp.readUInt32BE(8),
    payLen: tcp.length - (tcp[12] >> 4) * 4,
    ipOk,
    tcpOk,
  };
}

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

describe("bench traffic generator", () => {
  let dir: string;
  // Sidecars of the generated captures.
  let headers: Sidecar;
  let full: Sidecar;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "flowrecon-gen-test-"));
    const base = { segments: SEGMENTS, concurrent: CONCURRENT, seed: SEED };
    headers = generateCapture({ ...base, out: join(dir, "h1.pcap"), snaplen: 96 });
    generateCapture({ ...base, out: join(dir, "h2.pcap"), snaplen: 96 });
    generateCapture({ ...base, out: join(dir, "other-seed.pcap"), snaplen: 96, seed: SEED + 1 });
    full = generateCapture({ ...base, out: join(dir, "full.pcap") });
    generateCapture({ ...base, out: join(dir, "h.pcapng"), snaplen: 96, format: "pcapng" });
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("same seed and options give a byte-identical capture and sidecar; another seed does not", () => {
    expect(sha256(join(dir, "h1.pcap"))).toBe(sha256(join(dir, "h2.pcap")));
    expect(readFileSync(join(dir, "h1.pcap.json"), "utf8")).toBe(readFileSync(join(dir, "h2.pcap.json"), "utf8"));
    expect(sha256(join(dir, "other-seed.pcap"))).not.toBe(sha256(join(dir, "h1.pcap")));
  });

  it("headers-only pcap: exact segment count, non-decreasing timestamps, caplen = min(len, 96)", () => {
    const buf = readFileSync(join(dir, "h1.pcap"));
    const { snaplen, linktype, recs } = pcapRecords(buf);
    expect(snaplen).toBe(96);
    expect(linktype).toBe(1);
    expect(recs.length).toBe(SEGMENTS);
    expect(headers.totals.segments).toBe(SEGMENTS);
    expect(headers.totals.bytes).toBe(buf.length);
    let prev = 0;
    let truncated = 0;
    for (const r of recs) {
      check(r.tsUs >= prev, `timestamp goes back at ${r.off}`);
      prev = r.tsUs;
      check(r.caplen === Math.min(r.origLen, 96), `caplen ${r.caplen} for length ${r.origLen} at ${r.off}`);
      if (r.caplen < r.origLen) truncated++;
    }
    expect(truncated).toBe(headers.totals.truncatedRecords);
    expect(truncated).toBeGreaterThan(SEGMENTS / 4); // data segments are cut, so it is headers-only
  });

  it("pcapng: same records as the pcap of the same seed", () => {
    const ng = pcapngRecords(readFileSync(join(dir, "h.pcapng")));
    const classic = pcapRecords(readFileSync(join(dir, "h1.pcap")));
    expect(ng.snaplen).toBe(96);
    expect(ng.recs.length).toBe(SEGMENTS);
    const a = readFileSync(join(dir, "h.pcapng"));
    const b = readFileSync(join(dir, "h1.pcap"));
    for (let i = 0; i < SEGMENTS; i += 101) {
      const x = ng.recs[i];
      const y = classic.recs[i];
      expect([x.tsUs, x.caplen, x.origLen]).toEqual([y.tsUs, y.caplen, y.origLen]);
      expect(a.subarray(x.off, x.off + x.caplen).equals(b.subarray(y.off, y.off + y.caplen))).toBe(true);
    }
  });

  it("full packets: IPv4 header and TCP checksums are correct (every 7th record)", () => {
    const buf = readFileSync(join(dir, "full.pcap"));
    const { recs } = pcapRecords(buf);
    let v4 = 0;
    let v6 = 0;
    let withPayload = 0;
    for (let i = 0; i < recs.length; i += 7) {
      const r = recs[i];
      check(r.caplen === r.origLen, `record ${i} is truncated`);
      const s = decode(buf.subarray(r.off, r.off + r.caplen));
      check(s.tcpOk, `TCP checksum of record ${i}`);
      if (s.ipOk === null) v6++;
      else {
        check(s.ipOk, `IPv4 checksum of record ${i}`);
        v4++;
      }
      if (s.payLen > 0) withPayload++;
    }
    // The sample covers both IP versions and data segments, odd payload lengths included.
    expect(v4).toBeGreaterThan(1000);
    expect(v6).toBeGreaterThan(100);
    expect(withPayload).toBeGreaterThan(1000);
  });

  it("every connection: 3-way handshake, in-order seq/ack both ways, FIN 4-way or RST close", () => {
    const buf = readFileSync(join(dir, "full.pcap"));
    const { recs } = pcapRecords(buf);
    // Per flow: next sequence number each side must send, and the flag history.
    const flows = new Map<string, { next: [number, number]; n: number; clientLow: boolean; flags: number[] }>();
    let maxLive = 0;
    let live = 0;
    for (const r of recs) {
      const s = decode(buf.subarray(r.off, r.off + r.caplen));
      let f = flows.get(s.key);
      if (!f) {
        check(s.flags === 0x02, `connection ${s.key} does not start with a bare SYN`);
        f = { next: [0, 0], n: 0, clientLow: s.fromLow, flags: [] };
        flows.set(s.key, f);
        live++;
        maxLive = Math.max(maxLive, live);
      }
      const side = s.fromLow === f.clientLow ? 0 : 1; // 0 client, 1 server
      if (f.n === 1) {
        check(side === 1 && s.flags === 0x12, `${s.key}: second segment is not the server's SYN+ACK`);
        f.next[1] = s.seq;
      }
      if (f.n > 0) {
        check(s.seq === f.next[side], `${s.key} segment ${f.n}: seq does not continue the sender's stream`);
        check(s.ack === f.next[side ^ 1], `${s.key} segment ${f.n}: ack does not cover what the peer sent`);
      }
      const adv = s.payLen + (s.flags & 0x02 ? 1 : 0) + (s.flags & 0x01 ? 1 : 0);
      f.next[side] = (s.seq + adv) >>> 0;
      f.flags.push(s.flags);
      f.n++;
      if (s.flags & 0x04 || (s.flags === 0x10 && f.flags.filter((x) => x & 0x01).length === 2)) live--;
    }
    expect(flows.size).toBe(full.totals.connections);
    let fin = 0;
    let rst = 0;
    for (const [key, f] of flows) {
      check(f.flags[2] === 0x10, `${key}: third segment is not the handshake ACK`);
      const last = f.flags[f.flags.length - 1];
      if (last & 0x04) {
        rst++;
        check(f.flags.filter((x) => x & 0x04).length === 1, `${key}: RST is not the only reset and the last segment`);
      } else {
        fin++;
        check(f.flags.slice(-4).join() === "17,16,17,16", `${key}: does not end in FIN, ACK, FIN, ACK`);
      }
    }
    expect(fin).toBe(full.expectedConnState.SF);
    expect(rst).toBe(full.expectedConnState.RSTO + full.expectedConnState.RSTR);
    expect(rst).toBeGreaterThan(0);
    // Connections overlap as asked: nearly all of the pool is open at the busiest moment.
    expect(maxLive).toBeGreaterThan(CONCURRENT * 0.9);
    expect(maxLive).toBeLessThanOrEqual(CONCURRENT);
  });

  it("js-map and js-typed references find exactly the generated connections", () => {
    for (const file of ["h1.pcap", "h.pcapng"]) {
      const m = analyzeMap(join(dir, file));
      const t = analyzeTyped(join(dir, file));
      expect(m.flows).toBe(headers.totals.connections);
      expect(m.packets).toBe(SEGMENTS);
      expect(m.skipped).toBe(0);
      expect(m.synSegments).toBe(headers.totals.synSegments);
      expect(m.finClosedFlows).toBe(headers.expectedConnState.SF);
      expect(m.payloadBytes).toBe(headers.totals.origPayloadBytes + headers.totals.respPayloadBytes);
      expect({ ...t, impl: "" }).toEqual({ ...m, impl: "" });
    }
  });
});
