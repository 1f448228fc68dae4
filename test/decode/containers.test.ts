// Containers: the same packets as classic pcap (both byte orders, µs and ns) and pcapng (both byte
// orders, several sections with different byte orders, if_tsresol and if_tsoffset), fed whole and in
// chunks of 1, 7 and 4096 bytes, must give identical counters, the same last descriptor, and the
// timestamps the container says (truncated to µs).
//
// Timestamps are observed through the feed path itself: with 1-byte chunks every call completes at
// most one record, so each call that tracks one segment shows that segment's descriptor. The expected
// list comes from replaying the records through decodeFrame with timestamps computed here, in BigInt.

import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CORPUS, Engine, type FeedResult, LAYOUT } from "./wasm-harness.js";
import {
  type NgBlock,
  type NgSection,
  type PcapRecord,
  parsePcap,
  recordTsUs,
  writePcap,
  writePcapng,
} from "./capture-io.js";
import { concat, ether, ipv4Tcp, u32 } from "./builders.js";

const engine = new Engine();

/** A mixed Ethernet capture from corpus cases: VLAN/MPLS, QinQ+PPPoE, FabricPath, Teredo, GTP with outer fragments, AYIYA. */
const MIXED: Array<{ tsUs: bigint; data: Uint8Array; wirelen: number }> = (() => {
  const out: Array<{ tsUs: bigint; data: Uint8Array; wirelen: number }> = [];
  for (const c of [
    "vlan-mpls",
    "pppoe-qinq-rxmit",
    "cisco-fabricpath-syn-retx",
    "teredo-ipv6",
    "gtp-outer-ip-frag",
    "ayiya-ipv6",
  ]) {
    const f = parsePcap(new Uint8Array(readFileSync(join(CORPUS, `${c}.pcap`))));
    for (const r of f.records) out.push({ tsUs: recordTsUs(f, r), data: r.data, wirelen: r.wirelen });
  }
  return out;
})();

function pcapVariant(bigEndian: boolean, nanos: boolean): Uint8Array {
  const records: PcapRecord[] = MIXED.map((r) => ({
    tsSec: Number(r.tsUs / 1_000_000n),
    // ns files carry 999 extra nanoseconds that the decoder must truncate away.
    tsFrac: nanos ? Number(r.tsUs % 1_000_000n) * 1000 + 999 : Number(r.tsUs % 1_000_000n),
    wirelen: r.wirelen,
    data: r.data,
  }));
  return writePcap({ linktype: 1, snaplen: 65535, nanos, bigEndian, records });
}

/** if_tsresol ticks for `us`, and the µs the decoder must compute back from them. */
function ticksFor(us: bigint, resol: number, offsetS: bigint): { ticks: bigint; us: bigint } {
  const base = us - offsetS * 1_000_000n;
  const n = BigInt(resol & 0x7f);
  if (resol & 0x80) {
    const ticks = ((base << n) + 999_999n) / 1_000_000n; // round up so truncating back is exact
    return { ticks, us: ((ticks * 1_000_000n) >> n) + offsetS * 1_000_000n };
  }
  const ticks = n >= 6n ? base * 10n ** (n - 6n) + (n > 6n ? 10n ** (n - 6n) - 1n : 0n) : base / 10n ** (6n - n);
  const back = n >= 6n ? ticks / 10n ** (n - 6n) : ticks * 10n ** (6n - n);
  return { ticks, us: back + offsetS * 1_000_000n };
}

interface SectionPlan {
  bigEndian: boolean;
  resol?: number;
  offsetS?: bigint;
  from: number;
  to: number;
}

/** pcapng with the MIXED records split into sections; returns the file and each record's expected µs. */
function pcapngVariant(plan: SectionPlan[]): { bytes: Uint8Array; expectedUs: bigint[] } {
  const sections: NgSection[] = [];
  const expectedUs: bigint[] = [];
  for (const s of plan) {
    const blocks: NgBlock[] = [];
    // A decoy interface 0 with another link type; packets use interface 1.
    blocks.push({ kind: "raw", type: 4, body: new Uint8Array(8) }); // name resolution block: skipped
    for (const r of MIXED.slice(s.from, s.to)) {
      const t = ticksFor(r.tsUs, s.resol ?? 6, s.offsetS ?? 0n);
      expectedUs.push(t.us);
      blocks.push({ kind: "epb", iface: 1, ticks: t.ticks, data: r.data, wirelen: r.wirelen });
    }
    sections.push({
      bigEndian: s.bigEndian,
      interfaces: [{ linktype: 147 }, { linktype: 1, snaplen: 65535, tsresol: s.resol, tsoffset: s.offsetS }],
      blocks,
    });
  }
  return { bytes: writePcapng(sections), expectedUs };
}

/** Timestamps of tracked segments when the records are decoded one by one with these timestamps. */
function expectedSegmentTs(tsUs: bigint[]): bigint[] {
  engine.reset();
  const out: bigint[] = [];
  MIXED.forEach((r, i) => {
    const { code } = engine.decodeFrame(1, r.data, { wirelen: r.wirelen, ts: tsUs[i] });
    if (code === 0) out.push(engine.pkt().ts);
  });
  return out;
}

function feed(bytes: Uint8Array, chunk: number): FeedResult {
  engine.reset();
  return engine.feedAll(bytes, chunk);
}

function withoutBytes(s: Record<string, number>): Record<string, number> {
  const { Bytes: _b, ...rest } = s;
  return rest;
}

describe("pcap and pcapng variants of one capture decode identically", () => {
  const reference = feed(pcapVariant(false, false), 1 << 30);
  const refTs = expectedSegmentTs(MIXED.map((r) => r.tsUs));

  it("the reference run decodes segments from every layer of the mix", () => {
    expect(reference.err.code).toBe(0);
    expect(reference.stats.Records).toBe(MIXED.length);
    expect(reference.stats.Segments).toBe(refTs.length);
    expect(reference.stats.Tunnelled).toBeGreaterThan(0);
    expect(reference.stats.Fragments).toBeGreaterThan(0);
    // Every record is explained by exactly one outcome.
    const s = reference.stats;
    expect(
      s.Segments +
        s.UnsupportedLink +
        s.NonIp +
        s.NonTcp +
        s.Fragments +
        s.Truncated +
        s.Malformed +
        s.BadIpChecksum +
        s.TunnelDepth +
        s.BadTunnelChecksum,
    ).toBe(s.Records);
  });

  const variants: Array<[string, () => { bytes: Uint8Array; expectedUs: bigint[] }]> = [
    ["pcap little-endian µs", () => ({ bytes: pcapVariant(false, false), expectedUs: MIXED.map((r) => r.tsUs) })],
    ["pcap big-endian µs", () => ({ bytes: pcapVariant(true, false), expectedUs: MIXED.map((r) => r.tsUs) })],
    ["pcap little-endian ns", () => ({ bytes: pcapVariant(false, true), expectedUs: MIXED.map((r) => r.tsUs) })],
    ["pcap big-endian ns", () => ({ bytes: pcapVariant(true, true), expectedUs: MIXED.map((r) => r.tsUs) })],
    ["pcapng little-endian", () => pcapngVariant([{ bigEndian: false, from: 0, to: MIXED.length }])],
    ["pcapng big-endian", () => pcapngVariant([{ bigEndian: true, from: 0, to: MIXED.length }])],
    [
      "pcapng sections: LE µs, BE ns, LE 2^-20 with offset, BE ms, BE 2^-30",
      () => {
        const n = MIXED.length;
        const cut = (k: number) => Math.floor((n * k) / 5);
        return pcapngVariant([
          { bigEndian: false, from: 0, to: cut(1) },
          { bigEndian: true, resol: 9, from: cut(1), to: cut(2) },
          { bigEndian: false, resol: 0x80 | 20, offsetS: 1_000_000_000n, from: cut(2), to: cut(3) },
          { bigEndian: true, resol: 3, from: cut(3), to: cut(4) },
          { bigEndian: true, resol: 0x80 | 30, offsetS: -5n, from: cut(4), to: n }, // 2^-30 s ticks since 1970 still fit in 64 bits
        ]);
      },
    ],
  ];

  for (const [name, make] of variants) {
    it(name, () => {
      const { bytes, expectedUs } = make();
      const whole = feed(bytes, 1 << 30);
      expect(whole.err.code).toBe(0);
      expect(whole.stats.Bytes).toBe(bytes.length);
      const millisecondSection = name.includes("ms");
      if (!millisecondSection) {
        // Same counters as the reference (pcapng adds only its skipped blocks).
        const { SkippedBlocks: _s, ...rest } = withoutBytes(whole.stats);
        const { SkippedBlocks: _r, ...refRest } = withoutBytes(reference.stats);
        expect(rest).toEqual(refRest);
      }
      for (const chunk of [1, 7, 4096]) {
        const r = feed(bytes, chunk);
        expect(r.stats, `chunk ${chunk}`).toEqual(whole.stats);
        // The payload pointer is where the record sat in the input window, which depends on the chunking.
        const withoutPayloadPtr = (b: Uint8Array) => {
          const c = [...b];
          c.fill(0, LAYOUT.P_PAYPTR, LAYOUT.P_PAYPTR + 4);
          return c;
        };
        expect(withoutPayloadPtr(r.lastPkt), `chunk ${chunk}`).toEqual(withoutPayloadPtr(whole.lastPkt));
        if (chunk === 1) {
          // One record per call: every segment's timestamp is observable.
          expect(r.singleSegmentTs.length).toBe(r.stats.Segments);
          const got = r.singleSegmentTs.map((x) => x.ts);
          const want = expectedSegmentTs(expectedUs);
          const bad = got.findIndex((t, i) => t !== want[i]);
          expect(bad, bad >= 0 ? `segment ${bad}: ${got[bad]} != ${want[bad]}` : "").toBe(-1);
        }
      }
    });
  }
});

describe("pcapng blocks", () => {
  const frame = ether(0x0800, ipv4Tcp({ sport: 1 }));

  it("Simple Packet Blocks use interface 0, caplen = min(block body, original length), the previous timestamp", () => {
    const bytes = writePcapng([
      {
        interfaces: [{ linktype: 1 }],
        blocks: [
          { kind: "epb", iface: 0, ticks: 1_500_000_000_123_456n, data: frame },
          { kind: "spb", data: concat(frame, Uint8Array.of(0xee, 0xee, 0xee)), wirelen: frame.length },
        ],
      },
    ]);
    engine.reset();
    const r = engine.feedAll(bytes, 1);
    expect(r.err.code).toBe(0);
    expect(r.stats.Records).toBe(2);
    expect(r.stats.Segments).toBe(2);
    expect(r.singleSegmentTs.map((x) => x.ts)).toEqual([1_500_000_000_123_456n, 1_500_000_000_123_456n]);
    expect(engine.pkt().paycap).toBe(0);
  });

  it("obsolete Packet Blocks are decoded; unknown blocks are skipped and counted", () => {
    const bytes = writePcapng([
      {
        interfaces: [{ linktype: 1 }],
        blocks: [
          { kind: "raw", type: 5, body: new Uint8Array(20) }, // interface statistics
          { kind: "raw", type: 0x40000bad, body: concat(u32(32473), Uint8Array.of(1, 2, 3)) }, // custom
          { kind: "pb", iface: 0, ticks: 42n, data: frame },
        ],
      },
    ]);
    engine.reset();
    const r = engine.feedAll(bytes, 3);
    expect(r.err.code).toBe(0);
    expect(r.stats.SkippedBlocks).toBe(2);
    expect(r.stats.Segments).toBe(1);
    expect(engine.pkt().ts).toBe(42n);
  });

  it("interfaces are forgotten at a new section", () => {
    const bytes = concat(
      writePcapng([{ interfaces: [{ linktype: 1 }], blocks: [{ kind: "epb", iface: 0, ticks: 1n, data: frame }] }]),
      writePcapng([{ bigEndian: true, interfaces: [], blocks: [{ kind: "epb", iface: 0, ticks: 2n, data: frame }] }]),
    );
    engine.reset();
    const r = engine.feedAll(bytes);
    expect(r.stats.Segments).toBe(1);
    expect(engine.enumNames("Err")[r.err.code]).toBe("UnknownInterface");
  });

  it("garbage IDB options stop option parsing but keep the interface", () => {
    const bytes = writePcapng([
      {
        interfaces: [{ linktype: 1, tsresol: 9, rawOptions: Uint8Array.of(0x0e, 0x00, 0xff, 0x7f) }],
        blocks: [{ kind: "epb", iface: 0, ticks: 5_000_999n, data: frame }],
      },
    ]);
    engine.reset();
    const r = engine.feedAll(bytes);
    expect(r.err.code).toBe(0);
    expect(engine.pkt().ts).toBe(5_000n);
  });
});
