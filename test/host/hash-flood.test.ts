// issue-11 defect 1: hash flooding. Under the flow-table hash of 0.1.0 (a fixed seed, and a
// finaliser anyone can invert) an uploader could pick IPv6 clients in one /64 whose connections all
// got the same 32-bit key hash, so every lookup walked one probe chain holding every connection
// (quadratic: 40k such connections took 11.7 s against 0.67 s for 40k random ones). The keyed
// hash (SipHash-1-3 under a per-process random key) gives those tuples no advantage: they must
// cost about what as many random tuples of the same /64 cost.
//
// The figure compared is a ratio of two times taken in this process, alternated, best of a few
// rounds: the crafted capture fails the 1.5x bound by a wide margin on the old hash (about 30x
// at this size), and sits near 1x on a keyed one.
import { describe, expect, it } from "vitest";
import { Reconstructor } from "../../src/reconstructor.js";
import { concat, ether, tcp, u16 } from "../decode/builders.js";
import { writePcap } from "../decode/capture-io.js";

const M64 = (1n << 64n) - 1n;
const N = 12_000;
const PREFIX = Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0x00, 0x0b, 0x00, 0x0c); // 2001:db8:b:c::/64
const SERVER = Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
const CLIENT_PORT = 40000;

function leU64(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  return v;
}
function leBytes(v: bigint): Uint8Array {
  const out = new Uint8Array(8);
  for (let i = 0; i < 8; i++) out[i] = Number((v >> BigInt(8 * i)) & 0xffn);
  return out;
}
/** Multiplicative inverse of an odd number mod 2^64 (Newton's iteration). */
function inverse(c: bigint): bigint {
  let x = c;
  for (let i = 0; i < 6; i++) x = (x * (2n - ((c * x) & M64))) & M64;
  return x;
}

// The endpoint hash of 0.1.0 (assembly/flow/table.ts): the two address halves and the port
// (XORed with the constant seed 0x2545F491 the host never changed) multiplied by odd constants,
// XORed, then x ^= x >> 32; x *= C4; x ^= x >> 29, truncated to 32 bits. Every step inverts.
const OLD_SEED = 0x2545f491n;
const C1 = 0x9e3779b97f4a7c15n,
  C2 = 0xc2b2ae3d27d4eb4fn,
  C3 = 0x165667b19e3779f9n,
  C4 = 0xd6e8feb86659fd93n;

/**
 * Interface ids for N clients of the /64 whose endpoint hashes under the old hash are all equal:
 * pick finaliser outputs that share their low 32 bits, run the finaliser backwards, and solve for
 * the address half that produces each input.
 */
function craftedInterfaceIds(n: number): Uint8Array[] {
  const a = ((leU64(PREFIX) * C1) & M64) ^ (((BigInt(CLIENT_PORT) ^ OLD_SEED) * C3) & M64);
  const invC2 = inverse(C2),
    invC4 = inverse(C4);
  const ids: Uint8Array[] = [];
  for (let j = 1; j <= n; j++) {
    const y = (BigInt(j) << 32n) | 0x5eed1e55n;
    let x = y ^ (y >> 29n) ^ (y >> 58n); // undoes x ^= x >> 29
    x = (x * invC4) & M64;
    x ^= x >> 32n;
    ids.push(leBytes(((x ^ a) * invC2) & M64));
  }
  return ids;
}

/** Interface ids of the same /64 from a fixed-seed xorshift (as random as an attacker's are not). */
function randomInterfaceIds(n: number): Uint8Array[] {
  let s = 0x9e3779b97f4a7c15n;
  const ids: Uint8Array[] = [];
  for (let j = 0; j < n; j++) {
    s ^= (s << 13n) & M64;
    s ^= s >> 7n;
    s ^= (s << 17n) & M64;
    ids.push(leBytes(s));
  }
  return ids;
}

/** One SYN per client to [SERVER]:443, 10 µs apart: N connections, all live until the end. */
function synCapture(ids: Uint8Array[]): Uint8Array {
  const records = ids.map((id, i) => {
    const src = concat(PREFIX, id);
    const seg = tcp({ sport: CLIENT_PORT, dport: 443, seq: 1000 + i, flags: 0x02 }, src, SERVER);
    const ip = concat(Uint8Array.of(0x60, 0, 0, 0), u16(seg.length), Uint8Array.of(6, 64), src, SERVER, seg);
    const frame = ether(0x86dd, ip);
    return {
      tsSec: 1_700_000_000 + Math.floor(i / 100_000),
      tsFrac: (i % 100_000) * 10,
      wirelen: frame.length,
      data: frame,
    };
  });
  return writePcap({ linktype: 1, records });
}

/** Milliseconds to reconstruct the capture on a new engine instance (set up untimed), all flows out. */
function runMs(bytes: Uint8Array): { ms: number; flows: number } {
  const rec = new Reconstructor({ windowBytes: 1 << 20 });
  const t0 = performance.now();
  let flows = 0;
  const sink = (): void => {
    flows++;
  };
  rec.pushRecords(bytes, sink);
  rec.finishRecords(sink);
  return { ms: performance.now() - t0, flows };
}

describe("issue-11: hash flooding", () => {
  it(`${N} IPv6 clients of one /64 crafted to collide under the old hash cost no more than 1.5x as many random ones`, () => {
    const crafted = synCapture(craftedInterfaceIds(N));
    const random = synCapture(randomInterfaceIds(N));
    expect(runMs(crafted).flows).toBe(N); // warm-up, and every crafted tuple is a connection of its own
    expect(runMs(random).flows).toBe(N);
    let bestCrafted = Infinity,
      bestRandom = Infinity;
    for (let round = 0; round < 5; round++) {
      bestRandom = Math.min(bestRandom, runMs(random).ms);
      bestCrafted = Math.min(bestCrafted, runMs(crafted).ms);
      // Three rounds settle a pass; a crafted run several times slower than the random one fails now.
      if ((round >= 2 && bestCrafted < 1.5 * bestRandom) || bestCrafted > 4 * bestRandom) break;
    }
    expect(
      bestCrafted / bestRandom,
      `crafted ${bestCrafted.toFixed(1)} ms, random ${bestRandom.toFixed(1)} ms`,
    ).toBeLessThan(1.5);
  });
});
