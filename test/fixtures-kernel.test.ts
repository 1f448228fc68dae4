// Consistency of the kernel-made fixtures in test/fixtures/kernel (made by make-fixtures.sh, which
// needs root; this test does not): every scenario the README lists has its capture and expected
// file, the capture is a clean classic pcap whose checksums hold, it contains each connection the
// expected file names, and the wire shows what the scenario claims (an RST answering the SYN, SYN
// retransmissions with no answer, a zero window, keep-alive probes, crossing FINs, ...). The pcap
// walk below is independent of the decoder under test on purpose.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ANOMALIES as CATALOGUE, TCP_STATES } from "../src/anomalies/index.js";

const DIR = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "kernel");

// The names an expected file may use are the reporter's: its RFC 9293 states (less UNKNOWN, which
// only a capture that cannot tell reports; ss always knows) and its anomaly catalogue.
const STATES = TCP_STATES.filter((s) => s !== "UNKNOWN");
const SS_STATES: Record<string, string> = {
  ESTAB: "ESTABLISHED",
  "SYN-SENT": "SYN_SENT",
  "SYN-RECV": "SYN_RECEIVED",
  "FIN-WAIT-1": "FIN_WAIT_1",
  "FIN-WAIT-2": "FIN_WAIT_2",
  "CLOSE-WAIT": "CLOSE_WAIT",
  CLOSING: "CLOSING",
  "LAST-ACK": "LAST_ACK",
  "TIME-WAIT": "TIME_WAIT",
};
const ANOMALIES = CATALOGUE.map((a) => a.name);

const FIN = 0x01,
  SYN = 0x02,
  RST = 0x04,
  ACK = 0x10;

interface Endpoint {
  addr: string;
  port: number;
}
interface ConnExpect {
  kind: string;
  incarnation?: number;
  client: Endpoint;
  server: Endpoint;
  orig_state: string;
  resp_state: string;
  ss_client: string[][];
  ss_server: string[][];
  earlier_states?: {
    snapshot: string;
    orig_state: string;
    resp_state: string;
    ss_client: string[][];
    ss_server: string[][];
  }[];
  intended_anomalies: string[];
  incidental_possible_anomalies: string[];
}
interface Expected {
  scenario: string;
  description: string;
  pcap: string;
  timing_sensitive: boolean;
  client: Endpoint;
  server: Endpoint;
  orig_state: string;
  resp_state: string;
  intended_anomalies: string[];
  incidental_possible_anomalies: string[];
  connections: ConnExpect[];
  kernel: string;
}

interface Pkt {
  index: number;
  v6: boolean;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  win: number;
  payload: Uint8Array;
  checksumOk: boolean;
}
/** A packet of one connection, with its direction: C from the client, S from the server. */
type DPkt = Pkt & { dir: "C" | "S" };

// ---- classic pcap, Ethernet, IPv4/IPv6, TCP ----

function ipv6Text(b: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i] << 8) | b[i + 1]);
  let bestAt = -1,
    bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hx = (a: number[]) => a.map((x) => x.toString(16)).join(":");
  return bestAt < 0 ? hx(g) : `${hx(g.slice(0, bestAt))}::${hx(g.slice(bestAt + bestLen))}`;
}

function onesSum(bytes: Uint8Array, sum = 0): number {
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length & 1) sum += bytes[bytes.length - 1] << 8;
  return sum;
}
function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

function readPcap(file: string): { linktype: number; packets: Pkt[] } {
  const buf = readFileSync(file);
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const m = dv.getUint32(0, true);
  let le: boolean;
  if (m === 0xa1b2c3d4 || m === 0xa1b23c4d) le = true;
  else if (dv.getUint32(0, false) === 0xa1b2c3d4 || dv.getUint32(0, false) === 0xa1b23c4d) le = false;
  else throw new Error(`${file}: not a classic pcap`);
  const linktype = dv.getUint32(20, le) & 0xffff;
  const packets: Pkt[] = [];
  let off = 24;
  while (off < bytes.length) {
    if (off + 16 > bytes.length) throw new Error(`${file}: truncated record header at ${off}`);
    const incl = dv.getUint32(off + 8, le);
    const orig = dv.getUint32(off + 12, le);
    if (off + 16 + incl > bytes.length) throw new Error(`${file}: truncated record at ${off}`);
    if (incl !== orig) throw new Error(`${file}: record at ${off} is not a full packet (${incl} of ${orig})`);
    const f = bytes.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    packets.push(parseFrame(f, packets.length + 1));
  }
  return { linktype, packets };
}

function parseFrame(f: Uint8Array, index: number): Pkt {
  const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
  const ethertype = dv.getUint16(12);
  let v6: boolean, src: string, dst: string, seg: Uint8Array, sum: number;
  if (ethertype === 0x0800) {
    const ip = f.subarray(14);
    const ihl = (ip[0] & 0x0f) * 4;
    const total = dv.getUint16(14 + 2);
    if (ip[0] >> 4 !== 4 || ip[9] !== 6) throw new Error(`packet ${index}: not IPv4/TCP`);
    if (fold(onesSum(ip.subarray(0, ihl))) !== 0xffff) throw new Error(`packet ${index}: bad IPv4 header checksum`);
    v6 = false;
    src = Array.from(ip.subarray(12, 16)).join(".");
    dst = Array.from(ip.subarray(16, 20)).join(".");
    seg = ip.subarray(ihl, total);
    sum = onesSum(ip.subarray(12, 20), 6 + seg.length);
  } else if (ethertype === 0x86dd) {
    const ip = f.subarray(14);
    if (ip[6] !== 6) throw new Error(`packet ${index}: IPv6 next header ${ip[6]}, not TCP`);
    v6 = true;
    src = ipv6Text(ip.subarray(8, 24));
    dst = ipv6Text(ip.subarray(24, 40));
    seg = ip.subarray(40, 40 + dv.getUint16(14 + 4));
    sum = onesSum(ip.subarray(8, 40), 6 + seg.length);
  } else {
    throw new Error(`packet ${index}: ethertype 0x${ethertype.toString(16)}`);
  }
  const t = new DataView(seg.buffer, seg.byteOffset, seg.byteLength);
  const dataOff = (seg[12] >> 4) * 4;
  return {
    index,
    v6,
    src,
    dst,
    sport: t.getUint16(0),
    dport: t.getUint16(2),
    seq: t.getUint32(4),
    ack: t.getUint32(8),
    flags: seg[13],
    win: t.getUint16(14),
    payload: seg.subarray(dataOff),
    checksumOk: fold(onesSum(seg, sum)) === 0xffff,
  };
}

// ---- sequence-space helpers ----

/** a - b in sequence space (signed 32-bit). */
const sdiff = (a: number, b: number) => (a - b) | 0;
const seqEnd = (p: Pkt) => (p.seq + p.payload.length + (p.flags & SYN ? 1 : 0) + (p.flags & FIN ? 1 : 0)) >>> 0;
const has = (p: Pkt, f: number) => (p.flags & f) === f;
const isSyn = (p: Pkt) => (p.flags & (SYN | ACK)) === SYN;
const isSynAck = (p: Pkt) => has(p, SYN | ACK);
const text = (pk: DPkt[], dir: "C" | "S") => {
  // payload in sequence order, each byte range once (retransmissions are not repeated)
  const seen = new Map<number, Uint8Array>();
  for (const p of pk) if (p.dir === dir && p.payload.length > 0 && !seen.has(p.seq)) seen.set(p.seq, p.payload);
  const parts = [...seen.entries()].sort((a, b) => sdiff(a[0], b[0]));
  return parts.map(([, d]) => Buffer.from(d).toString("latin1")).join("");
};

function connPackets(all: Pkt[], c: ConnExpect): DPkt[] {
  const out: DPkt[] = [];
  for (const p of all) {
    if (p.src === c.client.addr && p.sport === c.client.port && p.dst === c.server.addr && p.dport === c.server.port)
      out.push({ ...p, dir: "C" });
    else if (
      p.src === c.server.addr &&
      p.sport === c.server.port &&
      p.dst === c.client.addr &&
      p.dport === c.client.port
    )
      out.push({ ...p, dir: "S" });
  }
  return out;
}

function expectHandshake(pk: DPkt[]): void {
  const syn = pk.find((p) => p.dir === "C" && isSyn(p));
  expect(syn, "client SYN").toBeDefined();
  const sa = pk.find((p) => p.dir === "S" && isSynAck(p) && p.ack === (syn!.seq + 1) >>> 0);
  expect(sa, "SYN-ACK answering the SYN").toBeDefined();
  const third = pk.find(
    (p) => p.dir === "C" && p.index > sa!.index && !has(p, SYN) && has(p, ACK) && p.ack === (sa!.seq + 1) >>> 0,
  );
  expect(third, "third ACK of the handshake").toBeDefined();
}

function fins(pk: DPkt[], dir: "C" | "S"): DPkt[] {
  return pk.filter((p) => p.dir === dir && has(p, FIN));
}

/** Orderly close where `first` sends the first FIN; every FIN is acknowledged and nothing is reset. */
function expectOrderlyClose(pk: DPkt[], first: "C" | "S"): void {
  const second = first === "C" ? "S" : "C";
  const f1 = fins(pk, first)[0],
    f2 = fins(pk, second)[0];
  expect(f1, `${first} FIN`).toBeDefined();
  expect(f2, `${second} FIN`).toBeDefined();
  expect(f1.index).toBeLessThan(f2.index);
  expect(f2.ack, "the second FIN acknowledges the first").toBe(seqEnd(f1));
  expect(
    pk.some((p) => p.dir === first && p.index > f2.index && p.ack === seqEnd(f2)),
    "last ACK",
  ).toBe(true);
  expect(
    pk.some((p) => has(p, RST)),
    "no RST",
  ).toBe(false);
}

/** Keep-alive-shaped probes from `dir`: no SYN/FIN/RST, 0 or 1 byte, seq = (highest sequence sent) - 1. */
function probes(pk: DPkt[], dir: "C" | "S"): DPkt[] {
  let nxt: number | undefined;
  const out: DPkt[] = [];
  for (const p of pk) {
    if (p.dir !== dir) continue;
    if (nxt !== undefined && !(p.flags & (SYN | FIN | RST)) && p.payload.length <= 1 && p.seq === (nxt - 1) >>> 0)
      out.push(p);
    const end = seqEnd(p);
    if (nxt === undefined || sdiff(end, nxt) > 0) nxt = end;
  }
  return out;
}

/** Wire facts each kind of connection must show in its own packets. */
const KIND_CHECKS: Record<string, (pk: DPkt[], c: ConnExpect) => void> = {
  "normal-close-client-first": (pk) => {
    expectHandshake(pk);
    expectOrderlyClose(pk, "C");
  },
  "normal-close-server-first": (pk) => {
    expectHandshake(pk);
    expectOrderlyClose(pk, "S");
  },
  ipv6: (pk) => {
    expect(pk.every((p) => p.v6)).toBe(true);
    expectHandshake(pk);
    expectOrderlyClose(pk, "C");
  },
  refused: (pk) => {
    const syn = pk.find((p) => p.dir === "C" && isSyn(p))!;
    expect(syn).toBeDefined();
    const rst = pk.find((p) => p.dir === "S" && has(p, RST | ACK));
    expect(rst, "RST+ACK from the server").toBeDefined();
    expect(rst!.ack).toBe((syn.seq + 1) >>> 0);
    expect(rst!.index).toBeGreaterThan(syn.index);
    expect(pk.some((p) => isSynAck(p))).toBe(false);
  },
  "syn-unanswered": (pk) => {
    const syns = pk.filter((p) => p.dir === "C" && isSyn(p));
    expect(syns.length).toBeGreaterThanOrEqual(2);
    expect(new Set(syns.map((p) => p.seq)).size, "retransmissions of one SYN").toBe(1);
    expect(pk.filter((p) => p.dir === "S")).toHaveLength(0);
    expect(pk.every((p) => p.dir === "C" && isSyn(p))).toBe(true);
  },
  "synack-never-acked": (pk) => {
    expect(pk.filter((p) => p.dir === "C").every(isSyn), "the client sends nothing but its SYN").toBe(true);
    const sa = pk.filter((p) => p.dir === "S" && isSynAck(p));
    expect(sa.length).toBeGreaterThanOrEqual(2);
    expect(new Set(sa.map((p) => p.seq)).size).toBe(1);
  },
  "peer-vanished": (pk) => {
    expectHandshake(pk);
    const data = pk.filter((p) => p.dir === "C" && p.payload.length > 0);
    const last = data[data.length - 1];
    const copies = data.filter((p) => p.seq === last.seq && p.payload.length === last.payload.length);
    expect(copies.length, "the last client data is retransmitted").toBeGreaterThanOrEqual(3);
    expect(
      pk.some((p) => p.dir === "S" && p.index > copies[0].index),
      "nothing from the server after it",
    ).toBe(false);
    expect(pk.some((p) => has(p, RST) || has(p, FIN))).toBe(false);
  },
  "fin-wait-2-close-wait": (pk) => {
    expectHandshake(pk);
    const f = fins(pk, "C");
    expect(f).toHaveLength(1);
    expect(
      pk.some((p) => p.dir === "S" && p.index > f[0].index && p.ack === seqEnd(f[0])),
      "FIN acknowledged",
    ).toBe(true);
    expect(fins(pk, "S")).toHaveLength(0);
    expect(pk.some((p) => has(p, RST))).toBe(false);
  },
  "abortive-close-linger0": (pk) => {
    expectHandshake(pk);
    const rst = pk.filter((p) => has(p, RST));
    expect(rst).toHaveLength(1);
    expect(rst[0].dir).toBe("C");
    expect(rst[0].index).toBe(pk[pk.length - 1].index);
    expect(pk.some((p) => has(p, FIN))).toBe(false);
    expect(
      pk.some((p) => p.dir === "C" && p.payload.length > 0) && pk.some((p) => p.dir === "S" && p.payload.length > 0),
    ).toBe(true);
  },
  "reset-mid-stream": (pk) => {
    expectHandshake(pk);
    const rst = pk.find((p) => has(p, RST));
    expect(rst?.dir, "the server resets").toBe("S");
    expect(
      pk.filter((p) => p.dir === "C" && p.payload.length > 0 && p.index < rst!.index).length,
    ).toBeGreaterThanOrEqual(5);
    expect(pk.some((p) => has(p, FIN))).toBe(false);
  },
  "zero-window": (pk) => {
    expectHandshake(pk);
    const zw = pk.find((p) => p.dir === "S" && !has(p, SYN) && p.win === 0);
    expect(zw, "window 0 from the receiver").toBeDefined();
    const after = probes(pk, "C").filter((p) => p.index > zw!.index);
    expect(after.length, "zero-window probes").toBeGreaterThanOrEqual(2);
    for (const p of after) expect(p.seq).toBe((zw!.ack - 1) >>> 0);
    expect(pk.filter((p) => p.dir === "S" && p.index > zw!.index).every((p) => p.win === 0)).toBe(true);
  },
  keepalive: (pk) => {
    expectHandshake(pk);
    const kp = probes(pk, "C");
    expect(kp.length, "keep-alive probes").toBeGreaterThanOrEqual(2);
    for (const p of kp)
      expect(
        pk.some((q) => q.dir === "S" && q.index > p.index && q.ack === (p.seq + 1) >>> 0),
        "probe answered",
      ).toBe(true);
    expect(pk.some((p) => has(p, FIN) || has(p, RST))).toBe(false);
  },
  "port-reuse": (pk, c) => {
    const syns = pk.filter((p) => p.dir === "C" && isSyn(p));
    expect(new Set(syns.map((p) => p.seq)).size, "two SYNs with different ISNs").toBeGreaterThanOrEqual(2);
    expect(pk.filter((p) => p.dir === "S" && isSynAck(p)).length).toBeGreaterThanOrEqual(2);
    const between = pk.filter((p) => p.index > syns[0].index && p.index < syns[syns.length - 1].index);
    expect(
      between.some((p) => p.dir === "C" && has(p, FIN)) && between.some((p) => p.dir === "S" && has(p, FIN)),
      "first incarnation closed",
    ).toBe(true);
    expect(c.incarnation).toBeDefined();
  },
  "http11-keepalive": (pk) => {
    expectHandshake(pk);
    expect(pk.filter((p) => p.dir === "C" && isSyn(p))).toHaveLength(1);
    const req = text(pk, "C"),
      resp = text(pk, "S");
    expect(req.match(/GET \S+ HTTP\/1\.1\r\n/g)).toHaveLength(3);
    expect(req.match(/Connection: keep-alive\r\n/g)).toHaveLength(3);
    expect(resp.match(/HTTP\/1\.1 \d{3}/g)).toEqual(["HTTP/1.1 200", "HTTP/1.1 404", "HTTP/1.1 200"]);
    expectOrderlyClose(pk, "C");
  },
  "http10-short": (pk) => {
    expectHandshake(pk);
    expect(text(pk, "C")).toMatch(/^GET \S+ HTTP\/1\.0\r\n(.+\r\n)*\r\n$/);
    expect(text(pk, "S")).toMatch(/^HTTP\/1\.0 (200|404) /);
    expectOrderlyClose(pk, "S");
  },
  "simultaneous-close": (pk) => {
    expectHandshake(pk);
    const fc = fins(pk, "C")[0],
      fs = fins(pk, "S")[0];
    expect(fc && fs).toBeTruthy();
    // neither first FIN acknowledges the other's: both were sent before either was received
    expect(sdiff(fc.ack, fs.seq)).toBeLessThanOrEqual(0);
    expect(sdiff(fs.ack, fc.seq)).toBeLessThanOrEqual(0);
    expect(
      pk.some((p) => p.dir === "C" && p.ack === seqEnd(fs)) && pk.some((p) => p.dir === "S" && p.ack === seqEnd(fc)),
      "both FINs acknowledged in the end",
    ).toBe(true);
  },
  "simultaneous-open": (pk) => {
    const sc = pk.find((p) => p.dir === "C" && isSyn(p)),
      ss = pk.find((p) => p.dir === "S" && isSyn(p));
    expect(sc && ss, "a bare SYN from each side").toBeTruthy();
    expect(sc!.index).toBeLessThan(ss!.index);
    expect(pk.some((p) => p.dir === "S" && isSynAck(p) && p.seq === ss!.seq && p.ack === (sc!.seq + 1) >>> 0)).toBe(
      true,
    );
    expect(pk.some((p) => p.dir === "C" && isSynAck(p) && p.seq === sc!.seq && p.ack === (ss!.seq + 1) >>> 0)).toBe(
      true,
    );
    expect(
      pk.some((p) => p.dir === "C" && p.payload.length > 0) && pk.some((p) => p.dir === "S" && p.payload.length > 0),
    ).toBe(true);
  },
  "stuck-fin-wait-1": (pk) => {
    expectHandshake(pk);
    const f = fins(pk, "C");
    expect(f.length).toBeGreaterThanOrEqual(2);
    expect(new Set(f.map((p) => p.seq)).size).toBe(1);
    expect(
      pk.some((p) => p.dir === "S" && p.index > f[0].index),
      "nothing from the server after the FIN",
    ).toBe(false);
  },
  "stuck-last-ack": (pk) => {
    expectHandshake(pk);
    const fc = fins(pk, "C");
    expect(fc).toHaveLength(1);
    expect(pk.some((p) => p.dir === "S" && p.ack === seqEnd(fc[0]))).toBe(true);
    const fs = fins(pk, "S");
    expect(fs.length).toBeGreaterThanOrEqual(2);
    expect(new Set(fs.map((p) => p.seq)).size).toBe(1);
    expect(
      pk.some((p) => p.dir === "C" && p.index > fs[0].index),
      "the client's ACK never shows",
    ).toBe(false);
  },
  midstream: (pk) => {
    expect(pk.some((p) => has(p, SYN))).toBe(false);
    expect(pk.filter((p) => p.payload.length > 0).length).toBeGreaterThanOrEqual(4);
    expectOrderlyClose(pk, "C");
  },
  "capture-gap": (pk) => {
    expectHandshake(pk);
    // a client segment starts beyond everything the client was seen sending, and the server ACKs past it
    let nxt = 0,
      gapAt: DPkt | undefined;
    for (const p of pk.filter((q) => q.dir === "C")) {
      if (nxt && p.payload.length > 0 && sdiff(p.seq, nxt) > 0) gapAt ??= p;
      if (!nxt || sdiff(seqEnd(p), nxt) > 0) nxt = seqEnd(p);
    }
    expect(gapAt, "hole in the client's sequence space").toBeDefined();
    const cEnds = pk.filter((p) => p.dir === "C" && p.index < gapAt!.index).map(seqEnd);
    const seenEnd = cEnds.reduce((a, b) => (sdiff(b, a) > 0 ? b : a));
    expect(
      pk.some((p) => p.dir === "S" && p.index < gapAt!.index && sdiff(p.ack, seenEnd) > 0),
      "ACK of data never seen",
    ).toBe(true);
    expect(text(pk, "C")).not.toContain("SKIP");
    expectOrderlyClose(pk, "C");
  },
};

function readmeScenarios(): string[] {
  const readme = readFileSync(join(DIR, "README.md"), "utf8");
  const names = [...readme.matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1]);
  return [...new Set(names)];
}

function ssState(lines: string[][], what: string): string {
  expect(lines.length, `${what}: at most one socket`).toBeLessThanOrEqual(1);
  if (lines.length === 0) return "CLOSED";
  const word = lines[0][0].split(/\s+/)[0];
  expect(SS_STATES[word], `${what}: ss state ${word}`).toBeDefined();
  return SS_STATES[word];
}

const scenarios = readmeScenarios();

describe("kernel fixtures", () => {
  it("the README lists the scenarios, including the required ones", () => {
    for (const s of [
      "normal-close-client-first",
      "normal-close-server-first",
      "refused",
      "syn-unanswered",
      "synack-never-acked",
      "peer-vanished",
      "fin-wait-2-close-wait",
      "abortive-close-linger0",
      "reset-mid-stream",
      "zero-window",
      "keepalive",
      "port-reuse",
      "ipv6",
      "http11-keepalive",
      "http10-short",
      "simultaneous-close",
      "combined",
    ])
      expect(scenarios).toContain(s);
  });

  for (const name of scenarios) {
    it(name, () => {
      const pcapPath = join(DIR, `${name}.pcap`),
        jsonPath = join(DIR, `${name}.expected.json`);
      expect(existsSync(pcapPath), `${name}.pcap`).toBe(true);
      expect(existsSync(jsonPath), `${name}.expected.json`).toBe(true);
      const exp = JSON.parse(readFileSync(jsonPath, "utf8")) as Expected;

      // the expected file
      expect(exp.scenario).toBe(name);
      expect(exp.pcap).toBe(`${name}.pcap`);
      expect(exp.description.length).toBeGreaterThan(10);
      expect(exp.kernel).toMatch(/^\d+\.\d+/);
      expect(exp.connections.length).toBeGreaterThan(0);
      const c0 = exp.connections[0];
      expect([exp.client, exp.server, exp.orig_state, exp.resp_state]).toEqual([
        c0.client,
        c0.server,
        c0.orig_state,
        c0.resp_state,
      ]);
      const intended = new Set(exp.connections.flatMap((c) => c.intended_anomalies));
      expect(new Set(exp.intended_anomalies)).toEqual(intended);
      for (const c of exp.connections) {
        expect(STATES).toContain(c.orig_state);
        expect(STATES).toContain(c.resp_state);
        for (const a of [...c.intended_anomalies, ...c.incidental_possible_anomalies]) expect(ANOMALIES).toContain(a);
        expect(c.intended_anomalies.filter((a) => c.incidental_possible_anomalies.includes(a))).toEqual([]);
        // the states are what ss showed for that socket
        for (const st of [c, ...(c.earlier_states ?? [])]) {
          expect(ssState(st.ss_client, `${c.kind} client`)).toBe(st.orig_state);
          expect(ssState(st.ss_server, `${c.kind} server`)).toBe(st.resp_state);
          const fmt = (e: Endpoint) => (e.addr.includes(":") ? `[${e.addr}]:${e.port}` : `${e.addr}:${e.port}`);
          for (const l of st.ss_client) expect(l[0].split(/\s+/).slice(3, 5)).toEqual([fmt(c.client), fmt(c.server)]);
          for (const l of st.ss_server) expect(l[0].split(/\s+/).slice(3, 5)).toEqual([fmt(c.server), fmt(c.client)]);
        }
        expect(KIND_CHECKS[c.kind], `wire check for kind ${c.kind}`).toBeDefined();
      }

      // the capture
      const { linktype, packets } = readPcap(pcapPath);
      expect(linktype).toBe(1);
      expect(packets.length).toBeGreaterThan(0);
      expect(
        packets.filter((p) => !p.checksumOk).map((p) => p.index),
        "TCP checksums",
      ).toEqual([]);
      const claimed = new Set<number>();
      const tuples = new Map<string, ConnExpect[]>();
      for (const c of exp.connections) {
        const key = `${c.client.addr}|${c.client.port}|${c.server.addr}|${c.server.port}`;
        tuples.set(key, [...(tuples.get(key) ?? []), c]);
      }
      for (const group of tuples.values()) {
        const c = group[0];
        const pk = connPackets(packets, c);
        expect(pk.length, `${c.kind} ${c.client.port}->${c.server.port} in the capture`).toBeGreaterThan(0);
        for (const p of pk) claimed.add(p.index);
        if (group.length > 1) expect(group.every((g) => g.kind === "port-reuse")).toBe(true);
        KIND_CHECKS[c.kind](pk, c);
      }
      expect(packets.length - claimed.size, "packets outside the connections named in the expected file").toBe(0);
    });
  }

  it("combined holds every other scenario but midstream, each on its own ports", () => {
    const exp = JSON.parse(readFileSync(join(DIR, "combined.expected.json"), "utf8")) as Expected;
    const kinds = new Set(exp.connections.map((c) => c.kind));
    for (const s of scenarios) if (s !== "combined" && s !== "midstream") expect(kinds).toContain(s);
    // same kind, same kernel states as its own capture
    for (const s of kinds) {
      const own = JSON.parse(readFileSync(join(DIR, `${s}.expected.json`), "utf8")) as Expected;
      const mine = exp.connections
        .filter((c) => c.kind === s)
        .map((c) => [c.orig_state, c.resp_state, c.intended_anomalies]);
      const theirs = own.connections.map((c) => [c.orig_state, c.resp_state, c.intended_anomalies]);
      expect(mine, s).toEqual(theirs);
    }
  });
});
