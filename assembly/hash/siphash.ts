// SipHash (Aumasson & Bernstein, "SipHash: a fast short-input PRF", 2012), the one keyed hash of
// the engine: the flow table's SipHash-1-3 of a connection key (flow/table.ts keyHash) and the
// CLI's routing SipHash-1-2 of an address pair (shard/route.ts pairHash), both under the table's
// key (TABLE.k0, k1, drawn by the host per process).
//
// sipHash() is written out step by step, one SipRound (the paper's figure 2) a line pair, and not
// as a loop: AssemblyScript has no out-parameters, so a round that updates v0..v3 cannot be a
// function, and Binaryen does not unroll loops; written out, the state stays in locals and the
// steps a call does not take fold away (`words` and `finals` are constants at every call).

import { TABLE } from "../state";

/**
 * SipHash's initial state under the key (the paper's §2.1: v0..v3 = k0, k1, k0, k1 xor the
 * constants), with v0 and v1 already through the first half of the first SipRound, which reads
 * neither v2 nor v3 and so no message word: sipHash() starts each hash from here instead of
 * redoing that key-only work per hash. Same hash values.
 */
export function sipKeyState(): void {
  let v0 = TABLE.k0 ^ 0x736F6D6570736575, v1 = TABLE.k1 ^ 0x646F72616E646F6D;
  v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32);
  TABLE.sip0 = v0;
  TABLE.sip1 = v1;
  TABLE.sip2 = TABLE.k0 ^ 0x6C7967656E657261;
  TABLE.sip3 = TABLE.k1 ^ 0x7465646279746573;
}

/**
 * SipHash-1-`finals` of the 64-bit message words m0..m(words-1) (`words` 1..5, `finals` 2 or 3:
 * constants) under the table's key, folded to 32 bits: one compression round per word (v3 ^= m
 * before, v0 ^= m after), then v2 ^= 0xFF and `finals` rounds. The caller's words include any
 * length block (the paper's §2: b = len << 56 | the last len mod 8 bytes).
 */
@inline export function sipHash(words: i32, finals: i32, m0: u64, m1: u64, m2: u64, m3: u64, m4: u64): u32 {
  let v0 = TABLE.sip0, v1 = TABLE.sip1, v2 = TABLE.sip2, v3 = TABLE.sip3;
  // The first word's round starts half done (sipKeyState).
  v3 ^= m0;
  v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
  v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0; v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
  v0 ^= m0;
  // The other words, one round each.
  if (words > 1) {
    v3 ^= m1;
    v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32); v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
    v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0; v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
    v0 ^= m1;
  }
  if (words > 2) {
    v3 ^= m2;
    v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32); v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
    v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0; v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
    v0 ^= m2;
  }
  if (words > 3) {
    v3 ^= m3;
    v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32); v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
    v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0; v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
    v0 ^= m3;
  }
  if (words > 4) {
    v3 ^= m4;
    v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32); v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
    v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0; v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
    v0 ^= m4;
  }
  // The finalisation: no word.
  v2 ^= 0xFF;
  v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32); v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
  v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0; v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
  v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32); v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
  v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0; v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
  if (finals > 2) {
    v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32); v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
    v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0; v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
  }
  return <u32>(v0 ^ v1 ^ v2 ^ v3);
}
