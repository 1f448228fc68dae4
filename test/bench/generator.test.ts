// The benchmark traffic generator (bench/lib/traffic.mjs): deterministic output, valid capture
// structure, correct checksums and TCP sequence numbers, flow counts that the JavaScript
// references reproduce, the wire shape of every injected anomaly kind against the ground truth,
// and the SYN-flood mode. The checks below re-parse the files independently of the generator's own
// code (plain Buffer reads, naive one's-complement sums), so a bug in its incremental checksum or
// in the writer cannot hide behind itself.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCapture, formatIPv6 } from "../../bench/lib/traffic.mjs";
import { analyzeMap } from "../../bench/ref/js-map.mjs";
import { analyzeTyped } from "../../bench/ref/js-typed.mjs";
import type { Sidecar, TruthEntry } from "../../bench/lib/traffic.mjs";

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
  win: number;
  payLen: number;
  payload: Buffer;
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
    win: tcp.readUInt16BE(14),
    payLen: tcp.length - (tcp[12] >> 4) * 4,
    payload: tcp.subarray((tcp[12] >> 4) * 4),
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
    // The regular-traffic checks below want connections without injected anomalies.
    const base = { segments: SEGMENTS, concurrent: CONCURRENT, seed: SEED, anomalyShare: 0 };
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

/** Address text as the truth writes it -> the hex of its bytes, as decode() keys endpoints. */
function addrHex(a: string): string {
  if (a.includes("."))
    return a
      .split(".")
      .map((x) => Number(x).toString(16).padStart(2, "0"))
      .join("");
  const [head, tail] = a.split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  return groups.map((g) => g.padStart(4, "0")).join("");
}

function truthKey(e: TruthEntry): { key: string; clientLow: boolean } {
  const a = `${addrHex(e["id.orig_h"])}/${e["id.orig_p"]}`;
  const b = `${addrHex(e["id.resp_h"])}/${e["id.resp_p"]}`;
  return { key: a < b ? `${a} ${b}` : `${b} ${a}`, clientLow: a < b };
}

interface Pkt extends Seg {
  tsUs: number;
  side: number; // 0 client (originator), 1 server
}

describe("bench traffic generator: injected anomalies and the ground truth", () => {
  let dir: string;
  let side: Sidecar;
  const truth: TruthEntry[] = [];
  const opts = { segments: 80_000, concurrent: 1000, seed: 5, anomalyShare: 0.5 };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "flowrecon-gen-anom-"));
    side = generateCapture({
      ...opts,
      out: join(dir, "a1.pcap"),
      truth: join(dir, "a1.truth.ndjson"),
      onTruth: (e: TruthEntry) => truth.push(e),
    });
    generateCapture({ ...opts, out: join(dir, "a2.pcap"), truth: join(dir, "a2.truth.ndjson") });
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("formats IPv6 addresses as RFC 5952 text", () => {
    expect(formatIPv6([0x2001, 0xdb8, 0xc1, 0, 0, 0, 0xa00, 0x7e])).toBe("2001:db8:c1::a00:7e");
    expect(formatIPv6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1])).toBe("2001:db8::1:0:0:1");
    expect(formatIPv6([1, 0, 2, 0, 3, 0, 4, 0])).toBe("1:0:2:0:3:0:4:0");
    expect(formatIPv6([0, 0, 0, 0, 0, 0, 0, 1])).toBe("::1");
  });

  it("the truth has one entry per connection, agrees with the sidecar, and is deterministic", () => {
    expect(truth.length).toBe(side.totals.connections);
    expect(new Set(truth.map((e) => e.id)).size).toBe(truth.length);
    expect(truth.reduce((n, e) => n + e.pkts, 0)).toBe(SEGMENTS_OF(side));
    const states: Record<string, number> = {};
    const kinds: Record<string, number> = {};
    for (const e of truth) {
      states[e.conn_state] = (states[e.conn_state] ?? 0) + 1;
      if (e.kind !== "regular") kinds[e.kind] = (kinds[e.kind] ?? 0) + 1;
    }
    expect(states).toEqual(side.expectedConnState);
    expect(kinds).toEqual(side.totals.anomalies);
    expect(sha256(join(dir, "a1.truth.ndjson"))).toBe(sha256(join(dir, "a2.truth.ndjson")));
    expect(sha256(join(dir, "a1.pcap"))).toBe(sha256(join(dir, "a2.pcap")));
    const lines = readFileSync(join(dir, "a1.truth.ndjson"), "utf8").trim().split("\n");
    expect(lines.map((l) => JSON.parse(l))).toEqual(truth);
  });

  it("every record, anomalies included, has correct IPv4 and TCP checksums", () => {
    const buf = readFileSync(join(dir, "a1.pcap"));
    const { recs } = pcapRecords(buf);
    expect(recs.length).toBe(opts.segments);
    for (let i = 0; i < recs.length; i++) {
      const s = decode(buf.subarray(recs[i].off, recs[i].off + recs[i].caplen));
      check(s.tcpOk && s.ipOk !== false, `checksum of record ${i}`);
    }
  });

  it("each anomaly kind has its wire shape; regular connections end in FIN or RST", () => {
    const buf = readFileSync(join(dir, "a1.pcap"));
    const { recs } = pcapRecords(buf);
    const byKey = new Map<string, (Seg & { tsUs: number })[]>();
    for (const r of recs) {
      const s = decode(buf.subarray(r.off, r.off + r.caplen));
      let list = byKey.get(s.key);
      if (!list) byKey.set(s.key, (list = []));
      list.push({ ...s, tsUs: r.tsUs });
    }
    expect(byKey.size).toBe(truth.length);
    const checked: Record<string, number> = {};
    for (const e of truth) {
      const { key, clientLow } = truthKey(e);
      const raw = byKey.get(key);
      check(raw !== undefined, `no packets for ${key}`);
      const pk: Pkt[] = raw!.map((s) => ({ ...s, side: s.fromLow === clientLow ? 0 : 1 }));
      const where = `${e.kind} ${key}`;
      check(pk.length === e.pkts, `${where}: ${pk.length} packets, truth says ${e.pkts}`);
      check(pk[0].side === 0 && pk[0].flags === 0x02, `${where}: does not open with the client's SYN`);
      const isn = pk[0].seq;
      // X: the side that shows the anomaly (for a zero window, the prober; the receiver is the other).
      const xType = e.kind === "zero_window" ? "zero_window_probe" : undefined;
      const x = e.anomalies.find((a) => (xType ? a.type === xType : a.type !== "reset"))?.side === "resp" ? 1 : 0;
      const fins = pk.filter((p) => p.flags & 0x01);
      const rsts = pk.filter((p) => p.flags & 0x04);
      switch (e.kind) {
        case "syn_unanswered":
          check(pk.length >= 2 && pk.length <= 3, `${where}: ${pk.length} SYNs`);
          check(
            pk.every((p) => p.side === 0 && p.flags === 0x02 && p.seq === isn),
            `${where}: not the same SYN again`,
          );
          for (let i = 1; i < pk.length; i++)
            check(pk[i].tsUs - pk[i - 1].tsUs >= 1e6 * 2 ** (i - 1), `${where}: retransmission ${i} too early`);
          check(pk[pk.length - 1].tsUs - pk[0].tsUs < 5e6, `${where}: retransmissions outside the 5 s attempt window`);
          break;
        case "refused":
          check(pk.length === 2 && pk[1].side === 1 && pk[1].flags === 0x14, `${where}: SYN not answered by RST+ACK`);
          check(pk[1].seq === 0 && pk[1].ack === (isn + 1) >>> 0 && pk[1].win === 0, `${where}: RST fields`);
          break;
        case "handshake_incomplete":
          check(pk.length >= 3 && pk.length <= 4, `${where}: ${pk.length} packets`);
          check(
            pk
              .slice(1)
              .every((p) => p.side === 1 && p.flags === 0x12 && p.seq === pk[1].seq && p.ack === (isn + 1) >>> 0),
            `${where}: not the same SYN-ACK again`,
          );
          for (let i = 2; i < pk.length; i++)
            check(pk[i].tsUs - pk[i - 1].tsUs >= 1e6, `${where}: SYN-ACK retransmission too early`);
          break;
        case "peer_vanished": {
          // The connection ends with one new segment from X sent 4-6 times (3-5 retransmissions
          // with a doubling RTO), and nothing from Y since before the first copy.
          check(fins.length === 0 && rsts.length === 0, `${where}: closed`);
          const last = pk[pk.length - 1];
          let i = pk.length;
          while (i > 0 && pk[i - 1].side === x && pk[i - 1].seq === last.seq && pk[i - 1].payLen > 0) i--;
          const copies = pk.slice(i);
          check(copies.length >= 4 && copies.length <= 6, `${where}: ${copies.length} copies of the last segment`);
          check(
            copies.every((p) => p.payLen === last.payLen && p.payLen >= 2 && p.payload.equals(last.payload)),
            `${where}: the copies differ`,
          );
          for (let j = 1; j < copies.length; j++)
            check(copies[j].tsUs - copies[j - 1].tsUs >= 2e5 * 2 ** (j - 1), `${where}: retransmission ${j} too early`);
          check(
            pk.slice(0, i).some((p) => p.side !== x),
            `${where}: the peer never spoke`,
          );
          break;
        }
        case "fin_wait_2": {
          check(rsts.length === 0 && fins.length === 1, `${where}: ${fins.length} FINs, ${rsts.length} RSTs`);
          const [fin, ack] = pk.slice(-2);
          check(fin.side === x && fin.flags === 0x11, `${where}: the FIN is not the second last packet`);
          check(
            ack.side !== x && ack.flags === 0x10 && ack.ack === (fin.seq + 1) >>> 0,
            `${where}: the FIN is not acknowledged`,
          );
          break;
        }
        case "retransmission": {
          const data = pk.filter((p) => p.payLen > 0);
          const rx = data.findIndex((p, j) =>
            data
              .slice(0, j)
              .some(
                (q) =>
                  q.side === p.side &&
                  q.seq === p.seq &&
                  q.payLen === p.payLen &&
                  q.payload.equals(p.payload) &&
                  p.tsUs - q.tsUs >= 2e5,
              ),
          );
          check(
            rx >= 0 && data[rx].side === x && data[rx].payLen >= 2,
            `${where}: no data segment repeated one RTO later`,
          );
          break;
        }
        case "zero_window": {
          const zi = pk.findIndex((p) => p.win === 0 && p.flags === 0x10 && p.payLen === 0);
          check(zi > 0 && pk[zi].side !== x, `${where}: no zero-window ACK from the receiver`);
          const probes = pk
            .slice(zi + 1)
            .filter((p) => p.side === x && p.flags === 0x10 && p.payLen === 0 && p.seq === (pk[zi].ack - 1) >>> 0);
          check(probes.length >= 1 && probes.length <= 3, `${where}: ${probes.length} probes`);
          const reopen = pk[zi + 1 + probes.length];
          check(
            reopen.side !== x && reopen.win > 0 && reopen.ack === pk[zi].ack,
            `${where}: the window does not reopen after the probes`,
          );
          break;
        }
        default:
          check(e.kind === "regular", `${where}: unknown kind`);
      }
      if (e.teardown?.startsWith("fin")) {
        check(
          pk
            .slice(-4)
            .map((p) => p.flags)
            .join() === "17,16,17,16",
          `${where}: does not end in FIN, ACK, FIN, ACK`,
        );
        check(pk[pk.length - 4].side === (e.teardown === "fin_orig" ? 0 : 1), `${where}: the wrong side closes first`);
      } else if (e.teardown?.startsWith("rst")) {
        const last = pk[pk.length - 1];
        check(
          rsts.length === 1 && last.flags === 0x14 && last.side === (e.teardown === "rst_orig" ? 0 : 1),
          `${where}: not one RST+ACK at the end`,
        );
      }
      checked[e.kind] = (checked[e.kind] ?? 0) + 1;
    }
    for (const kind of [
      "regular",
      "syn_unanswered",
      "refused",
      "handshake_incomplete",
      "peer_vanished",
      "fin_wait_2",
      "retransmission",
      "zero_window",
    ]) {
      expect(checked[kind] ?? 0, kind).toBeGreaterThan(50);
    }
  });
});

function SEGMENTS_OF(s: Sidecar): number {
  return s.totals.segments;
}

describe("bench traffic generator: SYN flood", () => {
  it("writes bare SYNs from distinct sources to one victim, each an S0 in the truth", () => {
    const dir = mkdtempSync(join(tmpdir(), "flowrecon-gen-flood-"));
    try {
      const n = 30_000;
      const truth: TruthEntry[] = [];
      const side = generateCapture({
        out: join(dir, "f.pcap"),
        mode: "synflood",
        segments: n,
        onTruth: (e: TruthEntry) => truth.push(e),
      });
      expect(side.totals.connections).toBe(n);
      expect(side.expectedConnState).toEqual({ S0: n });
      expect(side.expectedAnomalies).toEqual({ syn_unanswered: n });
      expect(truth.length).toBe(n);
      expect(truth.every((e) => e.conn_state === "S0" && e.kind === "syn_unanswered")).toBe(true);
      const buf = readFileSync(join(dir, "f.pcap"));
      const { recs } = pcapRecords(buf);
      expect(recs.length).toBe(n);
      const sources = new Set<string>();
      for (const r of recs) {
        const s = decode(buf.subarray(r.off, r.off + r.caplen));
        check(s.tcpOk && s.ipOk === true && s.flags === 0x02 && s.payLen === 0, "not a bare SYN with good checksums");
        const [a, b] = s.key.split(" ");
        const victim = "ac100050/80";
        check(a === victim || b === victim, `not sent to the victim: ${s.key}`);
        sources.add((a === victim ? b : a).split("/")[0]);
      }
      expect(sources.size).toBe(n);
      expect(new Set(truth.map((e) => `${e["id.orig_h"]}:${e["id.orig_p"]}`)).size).toBe(n);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
