// Records no capture in the suite produces, written by hand into engine memory: each must come
// out of the engine's formatter exactly as the JavaScript formatter writes it (all three shapes).
// Full anomaly slots with lost kinds and tied times, HTTP status codes out of order and repeated,
// unknown enum values, unprintable history bytes, IPv6 zero runs, 64-bit times and counts.

import { describe, expect, it } from "vitest";
import { Reconstructor } from "../../src/index.js";
import { createEngine } from "../../src/wasm/engine.js";
import { AsciiWriter } from "../../src/format/ascii.js";
import { jsPrinter } from "./js-formatter.js";
import type { EngineLineFormat } from "../../src/format/engine-lines.js";
import type { JsonStyle } from "../../src/format/index.js";
import { parseAddress } from "../../src/net/address.js";
import { writeRecord, prng, endpointPicker, type RecordSpec } from "./helpers.js";

const SHAPES: readonly [EngineLineFormat, JsonStyle][] = [
  ["ndjson", "nested"],
  ["ndjson", "zeek"],
  ["zeek", "nested"],
];

type Extra = (u8: Uint8Array, dv: DataView, p: number, c: Reconstructor["layout"]["constants"]) => void;

/** `marks`: texts the nested line must hold, so the record really takes the branch it is for. */
function expectSame(spec: RecordSpec, extra?: Extra, marks: readonly string[] = []): void {
  const engine = createEngine();
  const rec = new Reconstructor({}, engine);
  const at = engine.exports.inputPtr();
  const c = rec.layout.constants;
  const { buffer } = engine.views();
  writeRecord(buffer, at, rec.layout, spec);
  extra?.(new Uint8Array(buffer), new DataView(buffer), at, c);
  for (const [format, jsonStyle] of SHAPES) {
    const js = jsPrinter({ format, jsonStyle, layout: rec.layout }, rec.insight);
    const out = new AsciiWriter(1 << 12);
    js.record(engine.views(), at, out);
    const lines = rec.engineLines({ format, jsonStyle });
    lines.record(at);
    expect(lines.take(), `${format}/${jsonStyle}`).toBe(out.text());
    if (format === "ndjson" && jsonStyle === "nested") for (const m of marks) expect(out.text()).toContain(m);
  }
}

/** An anomaly slot: type code, side, count, first µs after the start. */
function slot(
  dv: DataView,
  p: number,
  c: Reconstructor["layout"]["constants"],
  i: number,
  code: number,
  side: number,
  count: number,
  after: number,
): void {
  const s = p + c.FR_EXT + c.X_ANOM + 8 * i;
  dv.setUint8(s, code);
  dv.setUint8(s + 1, side);
  dv.setUint16(s + 2, count, true);
  dv.setUint32(s + 4, after, true);
}

describe("the engine's formatter on hand-made records", () => {
  it("eight anomaly slots, lost kinds, times that tie (sorted by name), reset details", () => {
    expectSame(
      { history: "ShADdaFfR", connState: "RSTO", o: { pkts: 5 }, r: { pkts: 4 } },
      (u8, dv, p, c) => {
        const codes = [11, 8, 13, 14, 20, 17, 12, 9];
        for (const [i, code] of codes.entries()) slot(dv, p, c, i, code, i % 2, 3 + i, i < 4 ? 500 : 1000);
        dv.setUint32(p + c.FR_EXT + c.X_ANOM_LOST, (1 << 18) | (1 << 19) | (1 << 22) | (1 << 11) | (1 << 30), true);
        // the originator's ISN was acknowledged past 1: "after data had flowed"
        dv.setUint32(p + c.FR_RESP + c.EP_ACK_SEQ, 100, true);
        u8[p + c.FR_ORIG + c.EP_FLAGS] |= c.EF_RST_SEEN;
      },
      ["slot table full", '"detail":"after data had flowed"', '"type":"simultaneous_open"'],
    );
  });

  it("HTTP: every method, both versions, status codes out of order and repeated, classes", () => {
    expectSame(
      {
        history: "ShADadFf",
        connState: "SF",
        lastUs: 1_324_071_333_993_287,
        o: { pkts: 9, bytes: 900 },
        r: { pkts: 7, bytes: 7000 },
      },
      (_u8, dv, p, c) => {
        const x = p + c.FR_EXT;
        dv.setUint16(x + c.X_HTTP_REQ, 11, true);
        dv.setUint16(x + c.X_HTTP_RESP, 9, true);
        for (let m = 0; m < 9; m++) dv.setUint16(x + c.X_HTTP_METHODS + 2 * m, m % 3 === 0 ? 0 : m + 1, true);
        dv.setUint8(x + c.X_HTTP_VERSIONS, 3);
        for (let k = 0; k < 5; k++) dv.setUint16(x + c.X_HTTP_CLASSES + 2 * k, k === 2 ? 0 : 10 + k, true);
        [
          [404, 2],
          [200, 5],
          [404, 7],
          [301, 1],
        ].forEach(([code, n], i) => {
          dv.setUint16(x + c.X_HTTP_CODES + 4 * i, code, true);
          dv.setUint16(x + c.X_HTTP_CODES + 4 * i + 2, n, true);
        });
      },
      ['"status_codes":{"200":5,"301":1,"404":7}', '"versions":["HTTP/1.0","HTTP/1.1"]'],
    );
  });

  it("unknown enum values, unprintable history bytes, a tunnel with its outer connection", () => {
    expectSame(
      {
        orig: "2001:db8::1",
        resp: "::ffff:0:1",
        history: "S\u0001a\u00ff^",
        connState: "SF",
        o: { pkts: 1 },
        r: { pkts: 1 },
      },
      (u8, dv, p, c) => {
        u8[p + c.FR_CONN_STATE] = 200;
        u8[p + c.FR_END_REASON] = 99;
        u8[p + c.FR_SERVICE] = 250;
        u8[p + c.FR_TUNNEL] = 4;
        u8[p + c.FR_HIST_LEN] = 40; // beyond HIST_CAP: capped
        const x = p + c.FR_EXT;
        u8.set(parseAddress("fe80::1:0:0:0:1"), x + c.X_OUTER_SRC);
        u8.set(parseAddress("192.0.2.9"), x + c.X_OUTER_DST);
        dv.setUint16(x + c.X_OUTER_SPORT, 4789, true);
        dv.setUint16(x + c.X_OUTER_DPORT, 51000, true);
        u8[x + c.X_OUTER_PROTO] = 17;
      },
      [
        '"conn_state":"unknown_200"',
        '"history":"S?a?^???????????????????????????"',
        '"tunnel_parents":["C',
        '"tunnel":"vxlan"',
      ],
    );
  });

  it("IPv6 zero runs (first longest, single groups kept), VLANs, options", () => {
    for (const [orig, resp] of [
      ["1:0:0:2:0:0:0:3", "0:0:1::"],
      ["::", "1:2:3:4:5:6:7:8"],
      ["1:0:2:0:3:0:4:0", "abcd:ef01::ff00:0:0"],
    ]) {
      expectSame({
        orig,
        resp,
        vlan: 5 | (7 << 12),
        rttUs: 1500,
        o: { pkts: 2, mss: 1460, wscale: 7, opts: 4 | 16 },
        r: { pkts: 0, wscale: 0, opts: 16 },
      });
    }
  });

  it("64-bit times and counts: ts past 2^53 µs, negative, byte counts past 2^32", () => {
    expectSame(
      {
        tsUs: 2 ** 62 + 12345,
        lastUs: 2 ** 62 + 99_999_999,
        o: { pkts: 1, ipBytes: 2 ** 40 + 3, bytes: 2 ** 35, missed: 2 ** 33 },
        r: { pkts: 1 },
      },
      (_u8, dv, p, c) => {
        slot(dv, p, c, 0, 22, 0, 1, 0);
      },
    );
    expectSame({ tsUs: -5_000_001, lastUs: -1, o: { pkts: 3 }, r: { pkts: 2 } }, (_u8, dv, p, c) => {
      slot(dv, p, c, 0, 11, 1, 2, 7);
    });
  });

  it("seconds: ten-digit whole parts and their ends, every count of trailing zeros in the fraction", () => {
    // Whole seconds of ten digits (10^9 to 2^32 - 1) have their own digit path, and the fraction's
    // trailing zeros are counted from its digits at once (assembly/format/text.ts).
    const wholes = [0, 7, 999_999_999, 1_000_000_000, 1_324_071_333, 2_147_483_648, 4_294_967_295, 4_294_967_296];
    const fractions = [0, 1, 10, 100, 1000, 10_000, 100_000, 120_000, 123_000, 123_400, 123_450, 123_456, 999_999];
    for (const whole of wholes) {
      for (const frac of fractions) {
        const tsUs = whole * 1e6 + frac;
        expectSame({ tsUs, lastUs: tsUs + frac * 11 + whole, rttUs: frac, o: { pkts: 1 } });
      }
    }
  });

  it("a peer that vanished while the other side retransmitted, and a lone SYN", () => {
    expectSame(
      { history: "ShADadT", connState: "S1", lastUs: 1_324_071_343_493_287, o: { pkts: 12 }, r: { pkts: 3 } },
      (u8, dv, p, c) => {
        dv.setUint16(p + c.FR_ORIG + c.EP_RTX_QUIET, 5, true);
        dv.setUint32(p + c.FR_ORIG + c.EP_SEEN, 10_000_000, true);
        dv.setUint32(p + c.FR_RESP + c.EP_SEEN, 1_250_000, true);
        dv.setBigInt64(p + c.FR_TS_ACTIVE, BigInt(1_324_071_343_493_287), true);
        u8[p + c.FR_ORIG + c.EP_FLAGS] |= c.EF_SYN_SEEN;
        u8[p + c.FR_RESP + c.EP_FLAGS] |= c.EF_SYN_SEEN;
      },
      ["responder silent for"],
    );
    expectSame(
      { history: "S", connState: "S0", o: { pkts: 1 } },
      (u8, dv, p, c) => {
        u8[p + c.FR_ORIG + c.EP_FLAGS] |= c.EF_SYN_SEEN;
        dv.setUint16(p + c.FR_ORIG + c.EP_SYNS, 1, true);
      },
      ['"detail":"1 SYN"'],
    );
  });
});

describe("the engine's identifiers and addresses over random endpoints", () => {
  it("uid, Community ID (IPv4, IPv6, mixed, equal addresses, every seed width) and address text", () => {
    const next = prng(20261203);
    const { pick, v4, v6 } = endpointPicker(next);
    const engine = createEngine();
    const rec = new Reconstructor({}, engine);
    const at = engine.exports.inputPtr();
    const c = rec.layout.constants;
    for (const seed of [0, 1, 7, 0x1234, 0xffff]) {
      for (const [format, jsonStyle] of SHAPES) {
        const js = jsPrinter({ format, jsonStyle, layout: rec.layout, communityIdSeed: seed }, rec.insight);
        const lines = rec.engineLines({ format, jsonStyle, communityIdSeed: seed });
        for (let i = 0; i < 400; i++) {
          const kind = next() % 4;
          const orig = kind === 1 ? v6() : v4();
          const resp = kind === 0 ? v4() : kind === 1 ? v6() : kind === 2 ? v6() : orig;
          const port = () => pick([0, 1, 80, 443, 65535, next() & 0xffff]);
          const spec: RecordSpec = {
            orig,
            resp,
            origPort: port(),
            respPort: port(),
            vlan: next() & 0xffffff,
            tsUs: pick([0, 1, -1, 2 ** 53 + 2, -(2 ** 40) - 3, (next() % 2 ** 21) * 2 ** 31 + next()]),
          };
          writeRecord(engine.views().buffer, at, rec.layout, spec);
          const dv = new DataView(engine.views().buffer);
          if (next() & 1) dv.setUint32(at + c.FR_FLAGS, c.FF_VLAN_KEY, true);
          // i64 extremes: the host reads 2^63 - 1 as the double 2^63
          if (i % 100 === 0) dv.setBigInt64(at + c.FR_TS_START, i % 200 === 0 ? 2n ** 63n - 1n : -(2n ** 63n), true);
          const out = new AsciiWriter(1 << 12);
          js.record(engine.views(), at, out);
          lines.record(at);
          expect(lines.take(), `${format}/${jsonStyle} seed ${seed} ${JSON.stringify(spec)}`).toBe(out.text());
        }
      }
    }
  });
});
