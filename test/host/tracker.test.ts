// Records from the real flow tracker, decoded by the host: segments go in through the descriptor at
// pktPtr() and feedPacket() (the ABI's segment path), flows come out through the Reconstructor's
// drain. This checks that the host reads what the tracker writes, independently of the capture
// decoders. Descriptor offsets (P_*) are not exported, so they are read from assembly/packet.ts.
import { describe, expect, it } from "vitest";
import { Reconstructor, type ReconstructorOptions } from "../../src/reconstructor.js";
import { createEngine } from "../../src/wasm/engine.js";
import { AsciiWriter, createFormatter, flowJson } from "../../src/format/index.js";
import { communityIdOf } from "../../src/ids/community-id.js";
import { FlowDecoder, type Flow } from "../../src/flow.js";
import { FactsReader, type FlowFacts } from "../../src/anomalies/facts.js";
import { engineConstant, feedSegment } from "./helpers.js";

// Descriptor offsets and option bits, read by name from the module's exports (helpers.ts).
const OPT = {
  MSS: engineConstant("OPT_MSS"),
  WSCALE: engineConstant("OPT_WSCALE"),
  SACK_PERM: engineConstant("OPT_SACK_PERM"),
  TS: engineConstant("OPT_TS"),
};
const SYN = 0x02,
  ACK = 0x10,
  FIN = 0x01,
  PSH = 0x08;

interface Segment {
  t: number; // µs after T0
  from: "c" | "s";
  flags: number;
  seq: number;
  ack: number;
  len?: number;
  opts?: number;
  mss?: number;
  wscale?: number;
  cut?: boolean; // payload cut by the snaplen: not captured whole
}

const T0 = 1_700_000_000_123_456;
const CLIENT = "10.1.2.3",
  SERVER = "2001:db8::80";

function run(
  segments: Segment[],
  client = CLIENT,
  server = SERVER,
  vlan = 0,
  options: ReconstructorOptions = {},
): { flows: Flow[]; ndjson: string; facts: FlowFacts[] } {
  const engine = createEngine();
  const rec = new Reconstructor({ ignoreChecksums: true, ...options }, engine);
  for (const s of segments) {
    const [src, dst, sport, dport] = s.from === "c" ? [client, server, 40000, 443] : [server, client, 443, 40000];
    feedSegment(engine, { ...s, ts: BigInt(T0 + s.t), src, dst, sport, dport, vlan });
  }
  const flows: Flow[] = [];
  const out = new AsciiWriter(1024);
  const ndjson = createFormatter("ndjson", rec.layout);
  const decoder = new FlowDecoder(rec.layout);
  const factsReader = new FactsReader(rec.layout);
  const facts: FlowFacts[] = [];
  // finish() drains the tracker; the capture-level "empty input" error is expected here.
  rec.finishRecords((views, p) => {
    ndjson.record(views, p, out);
    flows.push(decoder.decode(views, p));
    facts.push(factsReader.read(views, p));
  });
  return { flows, ndjson: out.text(), facts };
}

// RFC 9293 figure 6 (basic three-way handshake), one request and response, then a normal close:
//   client                          server
//   SYN seq=1000          -->
//                         <--       SYN,ACK seq=5000 ack=1001
//   ACK seq=1001 ack=5001 -->
//   100 bytes             -->
//                         <--       200 bytes, ack=1101
//   FIN seq=1101          -->
//                         <--       FIN seq=5201 ack=1102
//   ACK ack=5202          -->
const HANDSHAKE_AND_CLOSE: Segment[] = [
  {
    t: 0,
    from: "c",
    flags: SYN,
    seq: 1000,
    ack: 0,
    opts: OPT.MSS | OPT.WSCALE | OPT.SACK_PERM | OPT.TS,
    mss: 1460,
    wscale: 7,
  },
  { t: 1000, from: "s", flags: SYN | ACK, seq: 5000, ack: 1001, opts: OPT.MSS, mss: 1380 },
  { t: 2500, from: "c", flags: ACK, seq: 1001, ack: 5001 },
  { t: 3000, from: "c", flags: PSH | ACK, seq: 1001, ack: 5001, len: 100 },
  { t: 4000, from: "s", flags: PSH | ACK, seq: 5001, ack: 1101, len: 200 },
  { t: 5000, from: "c", flags: FIN | ACK, seq: 1101, ack: 5201 },
  { t: 6000, from: "s", flags: FIN | ACK, seq: 5201, ack: 1102 },
  { t: 7000, from: "c", flags: ACK, seq: 1102, ack: 5202 },
];

describe("records written by the real tracker", () => {
  const { flows, ndjson } = run(HANDSHAKE_AND_CLOSE);

  it("decode to the connection that was fed", () => {
    expect(flows).toHaveLength(1);
    const f = flows[0];
    expect(f).toMatchObject({
      ts: T0 / 1e6,
      "id.orig_h": CLIENT,
      "id.orig_p": 40000,
      "id.resp_h": SERVER,
      "id.resp_p": 443,
      proto: "tcp",
      conn_state: "SF",
      history: "ShADdFf", // no "a": the server never sent a pure ACK (its data packet is "d")
      orig_bytes: 100,
      resp_bytes: 200,
      missed_bytes: 0,
      orig_pkts: 5,
      resp_pkts: 3,
      handshake_rtt: 0.0025,
      orig_tcp_options: { mss: 1460, wscale: 7, sack_permitted: true, timestamps: true },
      resp_tcp_options: { mss: 1380, sack_permitted: false, timestamps: false },
      end_reason: "end_of_input",
    });
    // Zeek's last_time stops once both sides closed: the trailing ACK does not extend the duration.
    expect(f.duration).toBe(0.006);
    expect(f.orig_ip_bytes).toBe(5 * 60 + 100);
    expect(f.resp_ip_bytes).toBe(3 * 60 + 200);
    expect(f.community_id).toBe(communityIdOf(CLIENT, 40000, SERVER, 443));
    expect(f).not.toHaveProperty("vlan");
    expect(f).not.toHaveProperty("tunnel");
  });

  it("write the same NDJSON from the record as from the decoded flow", () => {
    expect(ndjson).toBe(flows.map((f) => flowJson(f) + "\n").join(""));
  });

  it("keep the VLAN of the key", () => {
    const { flows: tagged } = run(HANDSHAKE_AND_CLOSE, "192.0.2.1", "192.0.2.2", 42 | (7 << 12));
    expect(tagged[0]).toMatchObject({ vlan: 42, inner_vlan: 7, "id.orig_h": "192.0.2.1" });
  });

  it("omit duration and bytes for a lone SYN", () => {
    const { flows: lone } = run([HANDSHAKE_AND_CLOSE[0]]);
    expect(lone).toHaveLength(1);
    expect(lone[0]).toMatchObject({ conn_state: "S0", history: "S", orig_pkts: 1, resp_pkts: 0 });
    expect(lone[0]).not.toHaveProperty("duration");
    expect(lone[0]).not.toHaveProperty("orig_bytes");
    expect(lone[0]).not.toHaveProperty("handshake_rtt");
  });

  it("flip a lone SYN-ACK by the likely_server_ports the options set", () => {
    const synAck = [HANDSHAKE_AND_CLOSE[1]]; // from port 443 to port 40000
    const history = (likelyServerPorts: boolean | number[]) => {
      const { flows: f } = run(synAck, CLIENT, SERVER, 0, { likelyServerPorts });
      return [f[0].history, f[0]["id.orig_p"]];
    };
    expect(history(true)).toEqual(["^h", 40000]); // 443 is in Zeek's default set: flipped at creation
    expect(history(false)).toEqual(["H", 443]); // zeek -b: the SYN-ACK's sender stays the originator
    expect(history([443])).toEqual(["^h", 40000]);
    expect(history([8080])).toEqual(["H", 443]);
  });
});

// The live record is compact (assembly/flow/live.ts) and is expanded into the output record when the
// flow ends: these cases sit at the limits of the fields it holds differently.
describe("compact live records expand to the same flow", () => {
  /**
   * The handshake, one exchange and a pure ACK from the server, then `n` retransmissions of the
   * exchange from each side (T/t at the 1st, 10th, 100th, 1000th), then FINs and RSTs.
   */
  function retransmitting(n: number): Segment[] {
    const segs: Segment[] = HANDSHAKE_AND_CLOSE.slice(0, 5);
    segs.push({ t: 4500, from: "s", flags: ACK, seq: 5201, ack: 1101 });
    for (let i = 0; i < n; i++) {
      segs.push({ t: 5000 + i * 2, from: "c", flags: PSH | ACK, seq: 1001, ack: 5201, len: 100 });
      segs.push({ t: 5001 + i * 2, from: "s", flags: PSH | ACK, seq: 5001, ack: 1101, len: 200 });
    }
    const t = 5000 + n * 2;
    segs.push(
      { t, from: "c", flags: FIN | ACK, seq: 1101, ack: 5201 },
      { t: t + 1, from: "s", flags: FIN | ACK, seq: 5201, ack: 1102 },
    );
    segs.push(
      { t: t + 2, from: "c", flags: 0x04 | ACK, seq: 1102, ack: 5202 },
      { t: t + 3, from: "s", flags: 0x04, seq: 5202, ack: 0 },
    );
    return segs;
  }

  it("keep history letters past the 12 the live record holds inline (they live in the extension block)", () => {
    // 18 letters: the 13th to 18th come from the extension block's live tail.
    const { flows } = run(retransmitting(1000));
    expect(flows[0].history).toBe("ShADdaTtTtTtTtFfRr");
  });

  it("keep a history of exactly 12 letters, all inline", () => {
    const { flows } = run(retransmitting(1));
    expect(flows[0].history).toBe("ShADdaTtFfRr");
  });

  it("count bytes from a start_seq of 2^32 - 1 (the live record keeps it in 32 bits)", () => {
    // The client's ISN is 0xFFFFFFFF: its first data octet has sequence number 0 (RFC 9293 §3.4).
    const isn = 0xffffffff;
    const { flows } = run([
      { t: 0, from: "c", flags: SYN, seq: isn, ack: 0 },
      { t: 1000, from: "s", flags: SYN | ACK, seq: 5000, ack: 0 },
      { t: 2000, from: "c", flags: ACK, seq: 0, ack: 5001 },
      { t: 3000, from: "c", flags: PSH | ACK, seq: 0, ack: 5001, len: 300 },
      { t: 4000, from: "s", flags: ACK, seq: 5001, ack: 300 },
      { t: 5000, from: "c", flags: FIN | ACK, seq: 300, ack: 5001 },
      { t: 6000, from: "s", flags: FIN | ACK, seq: 5001, ack: 301 },
      { t: 7000, from: "c", flags: ACK, seq: 301, ack: 5002 },
    ]);
    expect(flows[0]).toMatchObject({ conn_state: "SF", history: "ShADaFf", orig_bytes: 300, resp_bytes: 0 });
  });

  it("count bytes of a partial connection whose first sequence number is 0 (start_seq = 2^32 - 1)", () => {
    const { flows } = run([
      { t: 0, from: "c", flags: PSH | ACK, seq: 0, ack: 7000, len: 50 },
      { t: 1000, from: "s", flags: PSH | ACK, seq: 7000, ack: 50, len: 70 },
      { t: 2000, from: "c", flags: ACK, seq: 50, ack: 7070 },
    ]);
    expect(flows[0]).toMatchObject({ orig_bytes: 50, resp_bytes: 70 });
  });

  /**
   * The handshake, then `n` segments of `len` bytes from the client (cut by the snaplen when `cut`),
   * each acknowledged by the server, every `gap` µs, then FINs: 60 + len IP bytes a segment. The
   * client's ISN is 1000, or `isn`.
   */
  function bulk(n: number, len: number, gap: number, cut: boolean, isn = 1000): Segment[] {
    const shift = (s: number) => (s + isn - 1000) >>> 0;
    const [syn, synAck, ack] = HANDSHAKE_AND_CLOSE;
    const segs: Segment[] = [
      { ...syn, seq: shift(syn.seq) },
      { ...synAck, ack: shift(synAck.ack) },
      { ...ack, seq: shift(ack.seq) },
    ];
    for (let i = 0; i < n; i++) {
      const seq = shift(1001 + i * len);
      const t = 3000 + i * gap;
      segs.push({ t, from: "c", flags: PSH | ACK, seq, ack: 5001, len, cut });
      segs.push({ t: t + 1, from: "s", flags: ACK, seq: 5001, ack: (seq + len) >>> 0 });
    }
    const end = shift(1001 + n * len);
    const t = 3000 + n * gap;
    segs.push(
      { t, from: "c", flags: FIN | ACK, seq: end, ack: 5001 },
      { t: t + 1, from: "s", flags: FIN | ACK, seq: 5001, ack: (end + 1) >>> 0 },
      { t: t + 2, from: "c", flags: ACK, seq: (end + 1) >>> 0, ack: 5002 },
    );
    return segs;
  }

  it("keep times more than 2^31 µs after the start (the live record keeps offsets from it in 32 bits)", () => {
    // A packet every 4 minutes (under the 5-minute inactivity timeout) for 3 hours, then the close:
    // last_time, the close timer and the activity time lie beyond ±35.8 minutes of the start.
    const { flows } = run(bulk(45, 10, 240_000_123, false));
    expect(flows).toHaveLength(1);
    expect(flows[0]).toMatchObject({ conn_state: "SF", history: "ShADaFf", orig_bytes: 450, handshake_rtt: 0.0025 });
    expect(flows[0].duration).toBe((3000 + 45 * 240_000_123 + 1) / 1e6);
  });

  it("reuse a closed IPv6 connection's key block for the next connection on the tuple", () => {
    // The second SYN (a new ISN after the close) ends the first record (port reuse) and creates
    // one that takes the IPv6 key block the first gave back (table.ts).
    const again = HANDSHAKE_AND_CLOSE.map((s) => ({
      ...s,
      t: s.t + 10_000_000,
      seq: s.seq + 77,
      ack: s.ack && s.ack + 77,
    }));
    for (const client of ["2001:db8::1", CLIENT]) {
      const { flows } = run([...HANDSHAKE_AND_CLOSE, ...again], client, SERVER);
      expect(flows.map((f) => [f["id.orig_h"], f["id.resp_h"], f.history, f.orig_bytes, f.resp_bytes])).toEqual([
        [client, SERVER, "ShADdFf", 100, 200],
        [client, SERVER, "ShADdFf", 100, 200],
      ]);
    }
  });

  it("count IP bytes past 2^32 on one side (the live record keeps their low 32 bits)", () => {
    const n = 70_000,
      len = 65_000;
    const { flows } = run(bulk(n, len, 10, false));
    expect(flows).toHaveLength(1);
    expect(flows[0]).toMatchObject({ conn_state: "SF", orig_bytes: n * len, missed_bytes: 0 });
    expect(flows[0].orig_ip_bytes).toBe(4 * 60 + n * (60 + len));
    expect(flows[0].resp_ip_bytes).toBe(2 * 60 + n * 60);
  });

  it("count missed bytes past 2^32 on one side (reassembly points and missed_bytes past 32 bits)", () => {
    // An ISN above 2^31: the relative sequence passes 2^31 only after the 32-bit wrap, so every ack
    // is taken (see the next case) and every cut segment is a gap; the reassembly point, the
    // acknowledged point and the FIN's sequence pass 2^32 (narrow.ts relAt) and missed_bytes its
    // low 32 bits (addWide).
    const n = 70_000,
      len = 65_000;
    for (const fastPath of [true, false]) {
      const { flows } = run(bulk(n, len, 10, true, 0xf000_0000), CLIENT, SERVER, 0, { fastPath });
      expect(flows).toHaveLength(1);
      expect(flows[0]).toMatchObject({ conn_state: "SF", orig_bytes: n * len, missed_bytes: n * len });
    }
  });

  it("stop counting missed bytes where Zeek does: an ack 2^31 past a low ISN before the wrap", () => {
    // Zeek's get_relative_seq (TCPSessionAdapter.cc) reads a sequence number 2^31 or more past
    // start_seq as an underflow while its wrap count is 0 (ISN 1000: until the 32-bit wrap at 4 GiB):
    // from there the ack is not taken (TCP_ack_underflow_or_misorder, ack_seq stays) and no later
    // gap is reported. missed_bytes stops at the last ack below 2^31: 33,038 segments of 65,000.
    const n = 70_000,
      len = 65_000;
    const { flows } = run(bulk(n, len, 10, true));
    expect(flows[0]).toMatchObject({ conn_state: "SF", orig_bytes: n * len, missed_bytes: 33_038 * len });
  });

  it("keep the last FIN's sequence apart when a FIN with RST moves FIN_seq (the F repeat rule)", () => {
    // A FIN ends at relative 101; a FIN+RST at 105 (I) moves FIN_seq but not hist_last_FIN, so the
    // FIN sent again at 101 repeats it: no second F (Zeek update_history). The live record keeps
    // hist_last_FIN as FIN_seq - 1 until such a FIN (live.ts EF2_HIST_FIN_AT_FIN).
    const RST = 0x04;
    const { flows } = run([
      ...HANDSHAKE_AND_CLOSE.slice(0, 4),
      { t: 5000, from: "c", flags: FIN | ACK, seq: 1101, ack: 5001 },
      { t: 5500, from: "c", flags: FIN | RST | ACK, seq: 1105, ack: 5001 },
      { t: 6000, from: "c", flags: FIN | ACK, seq: 1101, ack: 5001 },
    ]);
    expect(flows[0].history).toBe("ShADFI");
  });

  it("time the handshake from a retransmitted SYN (the live record keeps a SYN time after the start apart)", () => {
    // The first SYN starts the record; the second (the same ISN) is the latest before the SYN-ACK:
    // Wireshark's initial RTT runs from it. Its time is kept in the extension block (live.ts X_TS_SYN).
    const [syn, synAck, ack] = HANDSHAKE_AND_CLOSE;
    const { flows } = run([syn, { ...syn, t: 1000 }, { ...synAck, t: 2000 }, { ...ack, t: 3500 }]);
    expect(flows[0]).toMatchObject({ history: "ShA", handshake_rtt: 0.0025 });
  });

  it("count sequence wraps past 254 (the live record keeps a wrap counter in a byte)", () => {
    // The client jumps 2^31 - 1 ahead with every 1-byte segment (each a forward move), and the server
    // acks each: 300 wraps of last_seq and ack_seq, the count past 254 kept in the extension block.
    // (An ISN above 2^31, so that Zeek takes every ack: see the case above.)
    const D = 2 ** 31 - 1,
      n = 600;
    const segs = bulk(0, 1, 10, false, 0xf000_0000).slice(0, 3);
    for (let i = 0; i < n; i++) {
      const seq = (0xf000_0001 + i * D) >>> 0;
      segs.push({ t: 3000 + 10 * i, from: "c", flags: PSH | ACK, seq, ack: 5001, len: 1 });
      segs.push({ t: 3001 + 10 * i, from: "s", flags: ACK, seq: 5001, ack: (seq + 1) >>> 0 });
    }
    for (const fastPath of [true, false]) {
      const { flows } = run(segs, CLIENT, SERVER, 0, { fastPath });
      expect(flows).toHaveLength(1);
      // size = last_seq - start_seq - 1 (the SYN) in 64 bits: 1 + (n - 1) * D
      expect(flows[0]).toMatchObject({ conn_state: "S1", orig_bytes: 1 + (n - 1) * D });
    }
  });

  it("count SYNs past 254 (the live record keeps the SYN count in a byte), stopping at 65535", () => {
    // Unanswered SYNs of one ISN: the count goes into the extension block past 254 and comes back
    // exact; the output record's u16 stops at 65535, as it did before the live record narrowed it.
    const [syn] = HANDSHAKE_AND_CLOSE;
    for (const [n, want] of [
      [254, 254],
      [255, 255],
      [300, 300],
      [70_000, 65_535],
    ]) {
      const { flows, facts } = run(Array.from({ length: n }, (_, i) => ({ ...syn, t: i * 10 })));
      expect(flows).toHaveLength(1);
      expect([n, facts[0].orig.syns, facts[0].resp.syns]).toEqual([n, want, 0]);
    }
  });

  it("keep a history of HIST_CAP letters beside the other flags (the live record keeps its length in FR_FLAGS bits)", () => {
    // Each client FIN at a new sequence number repeats F (Zeek's hist_last_FIN rule): 40 of them
    // fill the 32-letter history. The length shares FR_FLAGS with the IPv6 mark and the tunnel.
    const [syn, synAck, ack] = HANDSHAKE_AND_CLOSE;
    const segs: Segment[] = [syn, synAck, ack];
    for (let i = 0; i < 40; i++) segs.push({ t: 3000 + 10 * i, from: "c", flags: FIN | ACK, seq: 1001 + i, ack: 5001 });
    for (const client of [CLIENT, "2001:db8::1"]) {
      const { flows } = run(segs, client, SERVER);
      expect(flows).toHaveLength(1);
      expect([client, flows[0].history]).toEqual([client, `ShA${"F".repeat(29)}`]);
    }
  });

  it("count content gaps past 65534 (the live record keeps the G counter in 16 bits)", () => {
    // Each server ACK acknowledges one client byte more than was seen: a 1-byte content gap each. Zeek records G at the 1st, 10th, 100th ... gap, so the 100000th adds a sixth
    // G only if the count past 65534, kept in the extension block, is exact.
    const [syn, synAck, ack] = HANDSHAKE_AND_CLOSE;
    for (const [n, gs] of [
      [99_999, 5],
      [100_000, 6],
    ]) {
      const segs: Segment[] = [syn, synAck, ack];
      for (let i = 0; i < n; i++) segs.push({ t: 3000 + 10 * i, from: "s", flags: ACK, seq: 5001, ack: 1002 + i });
      for (const fastPath of [true, false]) {
        const { flows } = run(segs, CLIENT, SERVER, 0, { fastPath });
        expect(flows).toHaveLength(1);
        expect([n, fastPath, flows[0].history?.replace(/[^G]/g, "").length]).toEqual([n, fastPath, gs]);
        expect(flows[0]).toMatchObject({ missed_bytes: n });
      }
    }
  });
});
