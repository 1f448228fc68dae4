// Container damage: each case gets the right Err code, the byte offset of the damage (from the start
// of the stream) and the record number, whether fed whole or byte by byte, and everything before the
// damage is decoded and tracked.

import { describe, expect, it } from "vitest";
import { Engine, type FeedResult } from "./wasm-harness.js";
import { writePcap, writePcapng, type NgBlock } from "./capture-io.js";
import { concat, ether, ipv4Tcp, ipv6Tcp } from "./builders.js";

const engine = new Engine();
const errName = (code: number) => engine.enumNames("Err")[code];
const frame = ether(0x0800, ipv4Tcp({ sport: 5 }));
const rec = (i: number) => ({ tsSec: 1_600_000_000 + i, tsFrac: 0, wirelen: frame.length, data: frame });

/** Feeds whole and in 1-byte chunks; both must agree. Returns the whole-input result. */
function feedBoth(bytes: Uint8Array): FeedResult {
  engine.reset();
  const whole = engine.feedAll(bytes);
  engine.reset();
  const bytewise = engine.feedAll(bytes, 1);
  expect(bytewise.err).toEqual(whole.err);
  expect(bytewise.stats).toEqual(whole.stats);
  return whole;
}

function expectError(r: FeedResult, name: string, offset: number, record: number): void {
  expect({ err: errName(r.err.code), offset: r.err.offset, record: r.err.record }).toEqual({
    err: name,
    offset,
    record,
  });
}

describe("stream start", () => {
  it("empty input at eof: TruncatedInput at 0 (the file header never arrived)", () => {
    expectError(feedBoth(new Uint8Array(0)), "TruncatedInput", 0, 0);
  });

  it("fewer than 4 bytes: TruncatedInput if they begin a magic, else BadMagic", () => {
    expectError(feedBoth(Uint8Array.of(0xd4, 0xc3, 0xb2)), "TruncatedInput", 0, 0);
    expectError(feedBoth(Uint8Array.of(0x0a, 0x0d)), "TruncatedInput", 0, 0);
    expectError(feedBoth(Uint8Array.of(0x00, 0x01)), "BadMagic", 0, 0);
  });

  it("garbage and other file types: BadMagic at 0", () => {
    expectError(feedBoth(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n")), "BadMagic", 0, 0);
    expectError(feedBoth(Uint8Array.of(0xa1, 0xb2, 0xcd, 0x34, ...new Array(40).fill(0))), "BadMagic", 0, 0); // modified-pcap magic
  });

  it("a cut pcap file header: TruncatedInput at 0, record 0", () => {
    expectError(feedBoth(writePcap({ linktype: 1, records: [] }).subarray(0, 23)), "TruncatedInput", 0, 0);
  });

  it("a header-only pcap is a valid empty capture", () => {
    const r = feedBoth(writePcap({ linktype: 1, records: [] }));
    expect(r.err.code).toBe(0);
    expect(r.stats.Bytes).toBe(24);
  });
});

describe("classic pcap", () => {
  it("unsupported major version: BadPcapVersion at the version field", () => {
    const b = writePcap({ linktype: 1, records: [rec(0)] });
    b[4] = 3;
    expectError(feedBoth(b), "BadPcapVersion", 4, 0);
  });

  it("absurd caplen: AbsurdCaplen at the record, after the records before it were tracked", () => {
    const b = writePcap({ linktype: 1, snaplen: 65535, records: [rec(0), rec(1), rec(2)] });
    const third = 24 + 2 * (16 + frame.length);
    new DataView(b.buffer).setUint32(third + 8, 262145, true);
    const r = feedBoth(b);
    expectError(r, "AbsurdCaplen", third, 3);
    expect(r.stats.Segments).toBe(2);
    expect(r.stats.Records).toBe(2);
    expect(r.stats.Bytes).toBe(third);
  });

  it("a caplen above 262144 is fine when the file's snaplen allows it, not past the 8 MiB window", () => {
    const big = concat(frame, new Uint8Array(300_000 - frame.length));
    const ok = feedBoth(
      writePcap({ linktype: 1, snaplen: 1 << 20, records: [{ ...rec(0), data: big, wirelen: big.length }] }),
    );
    expect(ok.err.code).toBe(0);
    expect(ok.stats.Segments).toBe(1);
    const b = writePcap({ linktype: 1, snaplen: 0xffffffff, records: [rec(0), rec(1)] });
    new DataView(b.buffer).setUint32(24 + 16 + frame.length + 8, (8 << 20) - 15, true);
    const r = feedBoth(b);
    expectError(r, "AbsurdCaplen", 24 + 16 + frame.length, 2);
    expect(r.stats.Segments).toBe(1);
  });

  it("truncation inside a record body and inside a record header", () => {
    const b = writePcap({ linktype: 1, records: [rec(0), rec(1), rec(2)] });
    const third = 24 + 2 * (16 + frame.length);
    for (const cut of [third + 16 + 10, third + 5]) {
      const r = feedBoth(b.subarray(0, cut));
      expectError(r, "TruncatedInput", third, 3);
      expect(r.stats.Segments).toBe(2);
    }
  });

  it("caplen larger than the wire length is decoded as captured, without trapping", () => {
    const r = feedBoth(writePcap({ linktype: 1, records: [{ ...rec(0), wirelen: 10 }] }));
    expect(r.err.code).toBe(0);
    expect(r.stats.Segments).toBe(1);
  });

  it("a wire length of 2^31 or more is taken as 2^31 - 1, on the straight path and off it", () => {
    // The Ethernet record loop hands the straight path the wire length unclamped (compared
    // unsigned), and a frame it does not take (IPv4 options, IPv6) to the general decoders clamped:
    // as a negative i32 they would find the frame shorter than its IP packet (Truncated).
    const nop4 = Uint8Array.of(1, 1, 1, 1);
    const frames = [
      frame,
      ether(0x0800, ipv4Tcp({ sport: 6 }, { options: nop4 })),
      ether(0x86dd, ipv6Tcp({ sport: 7 })),
    ];
    for (const wirelen of [0x7fffffff, 0x80000000, 0xffffffff]) {
      const records = frames.map((data, i) => ({ ...rec(i), data, wirelen }));
      const r = feedBoth(writePcap({ linktype: 1, records }));
      expect(r.err.code).toBe(0);
      expect({ wirelen, segments: r.stats.Segments, truncated: r.stats.Truncated }).toEqual({
        wirelen,
        segments: 3,
        truncated: 0,
      });
    }
  });

  it("after an error nothing more is consumed", () => {
    engine.reset();
    engine.feedAll(Uint8Array.of(1, 2, 3, 4, 5));
    engine.mem().set(writePcap({ linktype: 1, records: [rec(0)] }), engine.ex.inputPtr());
    expect(engine.ex.feed(24 + 16 + frame.length, 1)).toBe(0);
    expect(errName(engine.ex.errCode())).toBe("BadMagic");
  });
});

describe("pcapng", () => {
  const blocks: NgBlock[] = [0, 1, 2].map((i) => ({ kind: "epb", iface: 0, ticks: BigInt(i), data: frame }));
  const good = writePcapng([{ interfaces: [{ linktype: 1 }], blocks }]);
  const shbLen = 28;
  const idbLen = 20;
  const epbLen = 12 + 20 + ((frame.length + 3) & ~3);
  const thirdEpb = shbLen + idbLen + 2 * epbLen;
  const setLen = (b: Uint8Array, at: number, v: number, trailing = true) => {
    const dv = new DataView(b.buffer, b.byteOffset);
    const old = dv.getUint32(at + 4, true);
    dv.setUint32(at + 4, v, true);
    if (trailing) dv.setUint32(at + old - 4, v, true);
  };

  it("the undamaged file decodes", () => {
    const r = feedBoth(good);
    expect(r.err.code).toBe(0);
    expect(r.stats.Segments).toBe(3);
  });

  for (const [name, len] of [
    ["shorter than 12", 8],
    ["not a multiple of 4", epbLen + 2],
    ["larger than the 8 MiB window", (8 << 20) + 4],
  ] as const) {
    it(`block total length ${name}: BadBlockLength at the block (block 5: SHB, IDB, EPB, EPB, EPB)`, () => {
      const b = good.slice();
      setLen(b, thirdEpb, len, false);
      const r = feedBoth(b);
      expectError(r, "BadBlockLength", thirdEpb, 5);
      expect(r.stats.Segments).toBe(2);
    });
  }

  it("trailing length differs: BlockLengthMismatch", () => {
    const b = good.slice();
    new DataView(b.buffer).setUint32(thirdEpb + epbLen - 4, epbLen + 4, true);
    const r = feedBoth(b);
    expectError(r, "BlockLengthMismatch", thirdEpb, 5);
    expect(r.stats.Segments).toBe(2);
  });

  it("an SHB shorter than 28 bytes, a bad byte-order magic, major version 2", () => {
    const short = good.slice();
    setLen(short, 0, 24, false);
    expectError(feedBoth(short), "BadBlockLength", 0, 1);
    const bom = good.slice();
    bom[8] = 0x4e;
    expectError(feedBoth(bom), "BadSectionMagic", 8, 1);
    const ver = good.slice();
    ver[12] = 2;
    expectError(feedBoth(ver), "BadPcapVersion", 12, 1);
  });

  it("a second section with a bad magic stops there, after the first section's packets", () => {
    const second = good.slice();
    second[8] = 0;
    const r = feedBoth(concat(good, second));
    expectError(r, "BadSectionMagic", good.length + 8, 6);
    expect(r.stats.Segments).toBe(3);
  });

  it("EPB captured length past its block, IDB body too short: BadBlockBody", () => {
    const cap = good.slice();
    new DataView(cap.buffer).setUint32(thirdEpb + 20, epbLen, true);
    expectError(feedBoth(cap), "BadBlockBody", thirdEpb, 5);
    const idb = writePcapng([{ interfaces: [], blocks: [{ kind: "raw", type: 1, body: new Uint8Array(4) }] }]);
    expectError(feedBoth(idb), "BadBlockBody", shbLen, 2);
  });

  it("a packet of an undeclared interface: UnknownInterface", () => {
    const b = writePcapng([
      {
        interfaces: [{ linktype: 1 }],
        blocks: [...blocks.slice(0, 2), { kind: "epb", iface: 1, ticks: 0n, data: frame }],
      },
    ]);
    const r = feedBoth(b);
    expectError(r, "UnknownInterface", thirdEpb, 5);
    expect(r.stats.Segments).toBe(2);
  });

  it("truncated in the middle of a block: TruncatedInput at the block", () => {
    for (const cut of [thirdEpb + 3, thirdEpb + 30, thirdEpb + epbLen - 1]) {
      const r = feedBoth(good.subarray(0, cut));
      expectError(r, "TruncatedInput", thirdEpb, 5);
      expect(r.stats.Segments).toBe(2);
    }
    expectError(feedBoth(good.subarray(0, 10)), "TruncatedInput", 0, 1);
  });
});
