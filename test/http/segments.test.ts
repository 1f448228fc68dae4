// Segment records: the JSON/msgpack/columnar encoder (src/ingest/segments.ts) and
// Reconstructor.pushSegments / finishSome, which feed them through the engine's tracker.
import { pack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { Reconstructor } from "../../src/reconstructor.js";
import { encodeSegments, MalformedBodyError, parseSegmentBody, SegmentInputError } from "../../src/ingest/segments.js";
import type { Flow } from "../../src/flow.js";

const rec0 = new Reconstructor({});
const layout = rec0.segmentLayout;

const SYN = {
  ts: 1700000000.000001,
  src: "10.0.0.1",
  sport: 40000,
  dst: "10.0.0.2",
  dport: 80,
  flags: "S",
  seq: 1000,
  win: 64240,
  options: { mss: 1460, wscale: 7, sack_permitted: true, timestamps: true },
};
const SYNACK = {
  ts: 1700000000.0101,
  src: "10.0.0.2",
  sport: 80,
  dst: "10.0.0.1",
  dport: 40000,
  flags: "SA",
  seq: 5000,
  ack: 1001,
  win: 65160,
  options: { mss: 1400, wscale: 9 },
};
const ACK = {
  ts: 1700000000.0202,
  src: "10.0.0.1",
  sport: 40000,
  dst: "10.0.0.2",
  dport: 80,
  flags: ".",
  seq: 1001,
  ack: 5001,
  win: 502,
};
const DATA = {
  ts: 1700000000.03,
  src: "10.0.0.1",
  sport: 40000,
  dst: "10.0.0.2",
  dport: 80,
  flags: "PA",
  seq: 1001,
  ack: 5001,
  win: 502,
  len: 100,
};
const FIN = {
  ts: 1700000000.04,
  src: "10.0.0.1",
  sport: 40000,
  dst: "10.0.0.2",
  dport: 80,
  flags: "FA",
  seq: 1101,
  ack: 5001,
  win: 502,
};
const FINACK = {
  ts: 1700000000.05,
  src: "10.0.0.2",
  sport: 80,
  dst: "10.0.0.1",
  dport: 40000,
  flags: "FA",
  seq: 5001,
  ack: 1102,
  win: 510,
};
const LASTACK = {
  ts: 1700000000.06,
  src: "10.0.0.1",
  sport: 40000,
  dst: "10.0.0.2",
  dport: 80,
  flags: "A",
  seq: 1102,
  ack: 5002,
  win: 502,
};
const CONNECTION = [SYN, SYNACK, ACK, DATA, FIN, FINACK, LASTACK];

function flowsOf(values: unknown[]): Flow[] {
  const rec = new Reconstructor({});
  rec.pushSegments(encodeSegments(values, rec.segmentLayout).bytes, () => {});
  return rec.finish();
}

describe("encodeSegments", () => {
  it("writes the SEG_* layout: µs timestamp, v4-mapped addresses, flags, options", () => {
    const { bytes, count } = encodeSegments([[SYN]], layout);
    expect(count).toBe(1);
    expect(bytes.length).toBe(layout.size);
    const dv = new DataView(bytes.buffer, bytes.byteOffset);
    expect(dv.getBigInt64(layout.ts, true)).toBe(1700000000000001n);
    expect(Array.from(bytes.subarray(layout.src, layout.src + 16))).toEqual([
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 10, 0, 0, 1,
    ]);
    expect(bytes[layout.ipver]).toBe(4);
    expect(bytes[layout.flags]).toBe(0x02);
    expect(dv.getUint16(layout.mss, true)).toBe(1460);
    expect(bytes[layout.wscale]).toBe(7);
    expect(bytes[layout.opts]).toBe(layout.optMss | layout.optWscale | layout.optSackPerm | layout.optTs);
    expect(dv.getUint16(layout.sport, true)).toBe(40000);
    expect(dv.getUint32(layout.seq, true)).toBe(1000);
    expect(dv.getUint16(layout.win, true)).toBe(64240);
  });

  it("reads flags as letters (tcpdump's too) or as a bitmask", () => {
    const flags = (f: unknown) => encodeSegments([[{ ...ACK, flags: f }]], layout).bytes[layout.flags];
    expect(flags("SA")).toBe(0x12);
    expect(flags("sa")).toBe(0x12);
    expect(flags("FPU")).toBe(0x29);
    expect(flags(".")).toBe(0x10);
    expect(flags("EW")).toBe(0xc0);
    expect(flags("EC")).toBe(0xc0);
    expect(flags("")).toBe(0);
    expect(flags(0x14)).toBe(0x14);
  });

  it("takes IPv6 addresses, and refuses a mix of versions in one segment", () => {
    const { bytes } = encodeSegments([[{ ...ACK, src: "2001:db8::1", dst: "2001:db8::2" }]], layout);
    expect(bytes[layout.ipver]).toBe(6);
    expect(bytes[layout.src]).toBe(0x20);
    expect(() => encodeSegments([[{ ...ACK, dst: "2001:db8::2" }]], layout)).toThrow(
      /dst is not of the same IP version/,
    );
  });

  it("columnar batches equal row batches, with string or binary address columns", () => {
    const rows = encodeSegments([CONNECTION], layout).bytes;
    const col = (k: string, d: unknown = 0) => CONNECTION.map((r) => (r as Record<string, unknown>)[k] ?? d);
    const opts = CONNECTION.map((r) => ("options" in r ? encodeSegments([[r]], layout).bytes[layout.opts] : 0));
    const columns = {
      ts: col("ts"),
      src: col("src"),
      sport: col("sport"),
      dst: col("dst"),
      dport: col("dport"),
      flags: col("flags"),
      seq: col("seq"),
      ack: col("ack"),
      win: col("win"),
      len: col("len"),
      opts,
      mss: CONNECTION.map((r) => ("options" in r ? r.options.mss : 0)),
      wscale: CONNECTION.map((r) => ("options" in r ? r.options.wscale : 0)),
    };
    expect(encodeSegments([columns], layout).bytes).toEqual(rows);
    const binary = (k: "src" | "dst") =>
      Buffer.concat(
        CONNECTION.map((r) => Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, ...r[k].split(".").map(Number)])),
      );
    expect(encodeSegments([{ ...columns, src: binary("src"), dst: binary("dst") }], layout).bytes).toEqual(rows);
    expect(encodeSegments([{ segments: CONNECTION }], layout).bytes).toEqual(rows);
    // Through msgpack: typed and plain columns, several values in one body.
    const body = Buffer.concat([
      pack(CONNECTION.slice(0, 3)),
      pack({
        ...columns,
        ts: columns.ts.slice(3),
        src: columns.src.slice(3),
        sport: columns.sport.slice(3),
        dst: columns.dst.slice(3),
        dport: columns.dport.slice(3),
        flags: columns.flags.slice(3),
        seq: columns.seq.slice(3),
        ack: columns.ack.slice(3),
        win: columns.win.slice(3),
        len: columns.len.slice(3),
        opts: columns.opts.slice(3),
        mss: columns.mss.slice(3),
        wscale: columns.wscale.slice(3),
      }),
    ]);
    expect(encodeSegments(parseSegmentBody(body, "msgpack"), layout).bytes).toEqual(rows);
  });

  it("names the segment and the field of a bad value", () => {
    const cases: [unknown, RegExp][] = [
      [[{ ...ACK, sport: 70000 }], /segment 0: sport must be an integer in \[0, 65535\], got 70000/],
      [[ACK, { ...ACK, seq: -1 }], /segment 1: seq must be an integer/],
      [[{ ...ACK, seq: 1.5 }], /seq must be an integer/],
      [[{ ...ACK, src: "10.0.0.256" }], /src is not an IPv4 or IPv6 address/],
      [[{ ...ACK, src: 10 }], /src must be an IPv4 or IPv6 address string/],
      [[{ ...ACK, flags: "SX" }], /flags has an unknown letter "X"/],
      [[{ ...ACK, flags: 256 }], /flags must be an integer in \[0, 255\]/],
      [[{ ...ACK, ts: "now" }], /ts must be seconds since the epoch/],
      [[{ ...ACK, ts: -1 }], /ts must be seconds/],
      [[{ ...ACK, seq: undefined }], /seq must be an integer .* got nothing/],
      [[{ ...ACK, options: { mss: 70000 } }], /options.mss must be an integer/],
      [[{ ...ACK, options: { timestamps: "yes" } }], /options.timestamps must be true or false/],
      [[42], /segment 0: segment must be an object/],
      [{ nope: 1 }, /batch must be an array of segments/],
      [
        {
          ts: [1, 2],
          src: ["10.0.0.1"],
          sport: [1, 2],
          dst: ["10.0.0.2", "10.0.0.2"],
          dport: [1, 2],
          flags: [2, 2],
          seq: [1, 2],
        },
        /src column has 1 values, ts has 2/,
      ],
      [{ ts: [1], src: ["10.0.0.1"], sport: [1], dst: ["10.0.0.2"], dport: [1], flags: [2] }, /seq column is missing/],
      [
        { ts: [1], src: ["10.0.0.1"], sport: [1], dst: ["10.0.0.2"], dport: [1], flags: [2], seq: [1], opts: [1] },
        /mss column is missing but opts has the MSS bit/,
      ],
      [
        { ts: [1], src: ["10.0.0.1"], sport: [1], dst: ["10.0.0.2"], dport: [1], flags: [2], seq: [1], opts: [64] },
        /opts has unknown bits/,
      ],
    ];
    for (const [value, message] of cases) {
      let error: unknown;
      try {
        encodeSegments([value], layout);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(value)).toBeInstanceOf(SegmentInputError);
      expect((error as Error).message).toMatch(message);
    }
  });

  it("reports malformed JSON and msgpack with the byte where parsing stopped", () => {
    expect(() => parseSegmentBody(Buffer.from('[{"ts": 1,}]'), "json")).toThrow(MalformedBodyError);
    try {
      parseSegmentBody(Buffer.from('[{"ts": 1,}]'), "json");
    } catch (e) {
      expect((e as MalformedBodyError).offset).toBe(10);
    }
    expect(() => parseSegmentBody(pack(CONNECTION).subarray(0, 50), "msgpack")).toThrow(/ends inside a value/);
    expect(() => parseSegmentBody(Buffer.alloc(0), "msgpack")).toThrow(/empty/);
  });
});

describe("Reconstructor.pushSegments", () => {
  it("tracks a whole connection from segment records", () => {
    const flows = flowsOf([CONNECTION]);
    expect(flows).toHaveLength(1);
    const f = flows[0];
    expect(f["id.orig_h"]).toBe("10.0.0.1");
    expect(f.conn_state).toBe("SF");
    expect(f.history).toBe("ShADFf");
    expect(f.orig_bytes).toBe(100);
    expect(f.orig_pkts).toBe(5);
    expect(f.orig_ip_bytes).toBe(5 * 40 + 100);
    expect(f.orig_tcp_options).toEqual({ mss: 1460, wscale: 7, sack_permitted: true, timestamps: true });
    expect(f.resp_tcp_options).toEqual({ mss: 1400, wscale: 9, sack_permitted: false, timestamps: false });
    expect(f.handshake_rtt).toBeCloseTo(0.020199, 6);
  });

  it("gives the same flows in any split, and counts the records", () => {
    const whole = flowsOf([CONNECTION]);
    const rec = new Reconstructor({});
    for (const s of CONNECTION) rec.pushSegments(encodeSegments([[s]], rec.segmentLayout).bytes, () => {});
    expect(rec.segmentsIn).toBe(CONNECTION.length);
    expect(rec.finish()).toEqual(whole);
    expect(rec.stats.segments).toBe(CONNECTION.length);
  });

  it("an empty segment input finishes without the empty-capture error", () => {
    const rec = new Reconstructor({});
    rec.pushSegments(new Uint8Array(0), () => {});
    expect(rec.finish()).toEqual([]);
    expect(rec.error).toBeNull();
  });

  it("a record the engine rejects sets BadSegmentRecord with its index", () => {
    const rec = new Reconstructor({});
    const { bytes } = encodeSegments([CONNECTION], rec.segmentLayout);
    bytes[2 * layout.size + layout.ipver] = 5;
    rec.pushSegments(bytes, () => {});
    expect(rec.error).toMatchObject({ code: "bad_segment_record", record: 2 });
    expect(rec.segmentsIn).toBe(2);
  });

  it("takes one kind of input per instance, and whole records only", () => {
    const rec = new Reconstructor({});
    rec.pushSegments(encodeSegments([[SYN]], rec.segmentLayout).bytes, () => {});
    expect(() => rec.push(new Uint8Array(4))).toThrow(/takes one kind of input/);
    expect(() => rec.pushSegments(new Uint8Array(10), () => {})).toThrow(/64 bytes each/);
  });

  it("many flows cross the output ring, and finishSome emits them a ring at a time", () => {
    const rec = new Reconstructor({});
    const rows = Array.from({ length: 10_000 }, (_, i) => ({
      ...SYN,
      sport: 1024 + (i % 60000),
      src: `10.1.${i >> 8}.${i & 255}`,
    }));
    rec.pushSegments(encodeSegments([rows], rec.segmentLayout).bytes, () => {});
    let steps = 0;
    let flows = 0;
    while (!rec.finishSome(() => flows++)) steps++;
    expect(flows).toBe(10_000);
    expect(steps).toBeGreaterThanOrEqual(2);
    expect(rec.finishSome(() => flows++)).toBe(true);
    expect(flows).toBe(10_000);
  });
});
