// The route key (assembly/shard/route.ts pairHash) against a reference written from its definition:
// SipHash-1-2 (one round per message word, v2 ^= 0xFF, two rounds; the round is figure 2 of
// Aumasson and Bernstein 2012) under the flow table's key, over the frame's outermost address pair
// in a fixed order: one word for two IPv4 addresses, four for IPv6. routeKey starts from the state
// the flow table keys once (hash/siphash.ts sipKeyState); this test fails if that state, the message
// or the rounds drift, for any key (so the routing of a given key stays what it was).

import { describe, expect, it } from "vitest";
import { Engine } from "../decode/wasm-harness.js";
import * as F from "../decode/fixtures.js";
import { LINKTYPE } from "../decode/fixtures.js";
import { mulberry32 } from "../../bench/lib/prng.mjs";
import { le64, sipHashRef } from "../siphash-reference.js";

/** SipHash-1-2 of the 64-bit words `m` under (k0, k1), no length block, folded to 32 bits. */
const sip12 = (k0: bigint, k1: bigint, m: bigint[]): bigint => sipHashRef(1, 2, k0, k1, m) & 0xffffffffn;

/** The reference key of a pair of addresses (4 bytes each: IPv4; 16: IPv6). */
function refKey(k0: bigint, k1: bigint, a: Uint8Array, b: Uint8Array): bigint {
  const mapped = (x: Uint8Array): Uint8Array => {
    if (x.length === 16) return x;
    const out = new Uint8Array(16);
    out.set([0xff, 0xff], 10);
    out.set(x, 12);
    return out;
  };
  let [x, y] = [mapped(a), mapped(b)];
  const [x0, x1, y0, y1] = [le64(x, 0), le64(x, 8), le64(y, 0), le64(y, 8)];
  if (x0 > y0 || (x0 === y0 && x1 > y1)) [x, y] = [y, x];
  // Two IPv4 addresses: one word, the first address in its low half.
  if (a.length === 4 && b.length === 4) return sip12(k0, k1, [(le64(x, 8) >> 32n) | ((le64(y, 8) >> 32n) << 32n)]);
  return sip12(k0, k1, [le64(x, 0), le64(x, 8), le64(y, 0), le64(y, 8)]);
}

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);

describe("the route key is SipHash-1-2 of the outermost address pair under the table's key", () => {
  const engine = new Engine();

  function key(frame: Uint8Array): bigint {
    const mem = engine.mem();
    const ptr = mem.length - frame.length;
    mem.set(frame, ptr);
    return engine.ex.routeKey(LINKTYPE.ETHERNET, ptr, frame.length, frame.length, 1) as bigint;
  }

  it(`matches the reference for random keys and addresses (seed ${SEED})`, () => {
    const rnd = mulberry32(SEED);
    const word = (): bigint => (BigInt(Math.floor(rnd() * 2 ** 32)) << 32n) | BigInt(Math.floor(rnd() * 2 ** 32));
    const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => Math.floor(rnd() * 256));
    for (let i = 0; i < 200; i++) {
      const k0 = word();
      const k1 = word();
      engine.ex.setHashKey(k0, k1);
      engine.ex.init(engine.ex.inputSize());
      engine.ex.routeInit(2, 0.5);
      // IPv4 (plain and tagged) at 14 + 12 and 14 + 16 (18 + ... with the tag), IPv6 at 14 + 8 and 14 + 24.
      const v4 = F.ETH_IPV4_SYN.slice();
      const [s4, d4] = [bytes(4), i % 7 === 0 ? bytes(0) : bytes(4)];
      const d4x = d4.length === 0 ? s4 : d4; // equal addresses now and then
      v4.set(s4, 26);
      v4.set(d4x, 30);
      expect(key(v4), `IPv4 pair ${i}`).toBe(refKey(k0, k1, s4, d4x));
      const tagged = F.ETH_VLAN_SYN.slice();
      tagged.set(s4, 30);
      tagged.set(d4x, 34);
      expect(key(tagged), `802.1Q IPv4 pair ${i}`).toBe(refKey(k0, k1, s4, d4x));
      const v6 = F.ETH_IPV6_SYN.slice();
      const s6 = bytes(16);
      // Now and then the same first half, so the order falls to the second.
      const d6 = i % 5 === 0 ? Uint8Array.from([...s6.subarray(0, 8), ...bytes(8)]) : bytes(16);
      v6.set(s6, 22);
      v6.set(d6, 38);
      expect(key(v6), `IPv6 pair ${i}`).toBe(refKey(k0, k1, s6, d6));
    }
  });
});
