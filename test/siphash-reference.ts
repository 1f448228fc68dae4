// SipHash written from its definition (Aumasson and Bernstein 2012: the round is figure 2, the
// compression one message word at a time, then v2 ^= 0xFF and the finalisation rounds), in BigInt,
// as the reference the engine's hashes are tested against (test/host/table-hash.test.ts: the flow
// table's SipHash-1-3; test/shards/route-hash.test.ts: the routing SipHash-1-2).
// table-hash.test.ts checks this reference against the paper's SipHash-2-4 test vector.

const M64 = (1n << 64n) - 1n;
const rotl = (x: bigint, b: bigint): bigint => ((x << b) | (x >> (64n - b))) & M64;

/** SipHash-c-d of the 64-bit words `m` (the caller's words include any length block) under (k0, k1): all 64 bits. */
export function sipHashRef(c: number, d: number, k0: bigint, k1: bigint, m: bigint[]): bigint {
  let v0 = k0 ^ 0x736f6d6570736575n;
  let v1 = k1 ^ 0x646f72616e646f6dn;
  let v2 = k0 ^ 0x6c7967656e657261n;
  let v3 = k1 ^ 0x7465646279746573n;
  const round = (): void => {
    v0 = (v0 + v1) & M64;
    v1 = rotl(v1, 13n) ^ v0;
    v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & M64;
    v3 = rotl(v3, 16n) ^ v2;
    v0 = (v0 + v3) & M64;
    v3 = rotl(v3, 21n) ^ v0;
    v2 = (v2 + v1) & M64;
    v1 = rotl(v1, 17n) ^ v2;
    v2 = rotl(v2, 32n);
  };
  for (const w of m) {
    v3 ^= w;
    for (let i = 0; i < c; i++) round();
    v0 ^= w;
  }
  v2 ^= 0xffn;
  for (let i = 0; i < d; i++) round();
  return v0 ^ v1 ^ v2 ^ v3;
}

/** The little-endian 64-bit word at `at` of `b`. */
export const le64 = (b: Uint8Array, at: number): bigint =>
  new DataView(b.buffer, b.byteOffset + at).getBigUint64(0, true);
