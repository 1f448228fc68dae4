// The flow table's key hash (assembly/flow/table.ts keyHash, through the keyHashOf hook) against a
// reference written from its definition: SipHash-1-3 (one round per message word, v2 ^= 0xFF, three
// rounds; the round is figure 2 of Aumasson and Bernstein 2012) under the table's key, of the
// canonical key: the endpoint that sorts first (address, then port), then the other, then a last
// block of the VLAN ids (3 bytes), the two ports (first endpoint's high) and the message length
// (39, or 15 for two IPv4 addresses, whose message is one word: the first address high). Both
// directions must hash alike. The reference is itself checked against the paper's SipHash-2-4
// test vector, so this test fails if the rounds, the keyed state or the message drift.

import { describe, expect, it } from "vitest";
import { Engine } from "../decode/wasm-harness.js";
import { mulberry32 } from "../../bench/lib/prng.mjs";
import { le64, sipHashRef as sip } from "../siphash-reference.js";

/** The reference hash of a key; addresses of 4 bytes (IPv4) or 16 (IPv6). */
function refHash(
  k0: bigint,
  k1: bigint,
  sa: Uint8Array,
  sport: number,
  da: Uint8Array,
  dport: number,
  vlan: number,
): bigint {
  const last = (len: bigint, ports: number): bigint => (len << 56n) | (BigInt(ports) << 24n) | BigInt(vlan & 0xffffff);
  if (sa.length === 4) {
    const [s, d] = [
      BigInt(new DataView(sa.buffer).getUint32(0, true)),
      BigInt(new DataView(da.buffer).getUint32(0, true)),
    ];
    const swap = s > d || (s === d && sport > dport);
    const m0 = swap ? (d << 32n) | s : (s << 32n) | d;
    const ports = swap ? dport * 65536 + sport : sport * 65536 + dport;
    return sip(1, 3, k0, k1, [m0, last(15n, ports)]) & 0xffffffffn;
  }
  const [s0, s1, d0, d1] = [le64(sa, 0), le64(sa, 8), le64(da, 0), le64(da, 8)];
  const swap = s0 > d0 || (s0 === d0 && (s1 > d1 || (s1 === d1 && sport > dport)));
  const words = swap ? [d0, d1, s0, s1] : [s0, s1, d0, d1];
  const ports = swap ? dport * 65536 + sport : sport * 65536 + dport;
  return sip(1, 3, k0, k1, [...words, last(39n, ports)]) & 0xffffffffn;
}

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);

describe("the flow table's key hash is SipHash-1-3 of the canonical key under the table's key", () => {
  it("has a reference that gives the paper's SipHash-2-4 test vector", () => {
    // Appendix A: key 00..0f, message 00..0e (15 bytes): 0xa129ca6149be45e5.
    const key = Uint8Array.from({ length: 16 }, (_, i) => i);
    const msg = Uint8Array.from({ length: 16 }, (_, i) => (i < 15 ? i : 0));
    const words = [le64(msg, 0), le64(msg, 8) | (15n << 56n)];
    expect(sip(2, 4, le64(key, 0), le64(key, 8), words)).toBe(0xa129ca6149be45e5n);
  });

  it(`matches the reference, in both directions, for random keys and tuples (seed ${SEED})`, () => {
    const engine = new Engine();
    const rnd = mulberry32(SEED);
    const word = (): bigint => (BigInt(Math.floor(rnd() * 2 ** 32)) << 32n) | BigInt(Math.floor(rnd() * 2 ** 32));
    const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => Math.floor(rnd() * 256));
    const port = (): number => Math.floor(rnd() * 65536);
    const mapped = (a: Uint8Array): Uint8Array => {
      if (a.length === 16) return a;
      const out = new Uint8Array(16);
      out.set([0xff, 0xff], 10);
      out.set(a, 12);
      return out;
    };
    const hash = (sa: Uint8Array, sport: number, da: Uint8Array, dport: number, vlan: number): bigint => {
      const mem = engine.mem();
      const at = mem.length - 32;
      mem.set(mapped(sa), at);
      mem.set(mapped(da), at + 16);
      return BigInt(engine.ex.keyHashOf(at, sport, at + 16, dport, vlan) >>> 0);
    };
    for (let i = 0; i < 200; i++) {
      const k0 = word();
      const k1 = word();
      engine.ex.setHashKey(k0, k1);
      engine.ex.init(engine.ex.inputSize());
      const vlan = i % 3 === 0 ? 0 : Math.floor(rnd() * 2 ** 24);
      for (const n of [4, 16]) {
        const sa = bytes(n);
        // Now and then the same address (the ports decide) or the same first half (IPv6: the second does).
        const da =
          i % 7 === 0
            ? sa.slice()
            : i % 5 === 0
              ? Uint8Array.from([...sa.subarray(0, n / 2), ...bytes(n / 2)])
              : bytes(n);
        const [sport, dport] = [port(), port()];
        const want = refHash(k0, k1, sa, sport, da, dport, vlan);
        expect(hash(sa, sport, da, dport, vlan), `IPv${n === 4 ? 4 : 6} key ${i}`).toBe(want);
        expect(hash(da, dport, sa, sport, vlan), `IPv${n === 4 ? 4 : 6} key ${i}, reversed`).toBe(want);
      }
    }
  });
});
