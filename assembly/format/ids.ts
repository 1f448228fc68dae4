// Flow identifiers written by the output formatter (fields.ts): the uid and Community ID v1.
// The same functions as src/ids/uid.ts and src/ids/community-id.ts (which the host keeps for
// tools and tests), written into the output buffer without a string or a digest object.
//
// uid: "C" + 17 base62 digits of four MurmurHash3 (x86_32) lanes with fixed seeds over twelve
// 32-bit words (addresses, ports, VLAN word, ts as two words), modulo 62^17.
// Community ID v1 (github.com/corelight/community-id-spec): "1:" + base64(sha1(seed:u16be, saddr,
// daddr, proto:u8, 0:u8, sport:u16be, dport:u16be)), the smaller (address, port) first, IPv4 as
// 4 bytes. SHA-1 is FIPS 180-4 §6.1.2 on one block (inputs are at most 40 bytes, §5.1.1 padding).

import { isV4Mapped } from "./text";
import { LANES_SLOT } from "./state";

/** Length of a uid. */
export const UID_LENGTH: usize = 18;

const SEED_A: u32 = 0x5a3c6e21;
const SEED_B: u32 = 0x1b873593;
const SEED_C: u32 = 0x7feb352d;
const SEED_D: u32 = 0x2c1b3c6d;
/** Base62 digits, one byte each. */
const BASE62: usize = memory.data<u8>([
  48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88,
  89, 90, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122,
]);
/** RFC 4648 §4 alphabet, one byte per character. */
const BASE64: usize = memory.data<u8>([
  65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90,
  97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122,
  48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 43, 47,
]);

/** MurmurHash3's scramble of a block (the same for every lane, so done once per word). */
@inline function scramble(k: u32): u32 { return rotl<u32>(k * 0xcc9e2d51, 15) * 0x1b873593; }

@inline function mix(h: u32, k: u32): u32 { return rotl<u32>(h ^ k, 13) * 5 + 0xe6546b64; }

@inline function finalize(h: u32): u32 {
  h ^= 48; // input length in bytes
  h ^= h >>> 16;
  h *= 0x85ebca6b;
  h ^= h >>> 13;
  h *= 0xc2b2ae35;
  return h ^ (h >>> 16);
}

/** 62^5: five base62 digits fit a u32 and a remainder shifted by 32 bits still fits a u64. */
const B62_5: u64 = 916132832;

/** The five base62 digits of `r` (< 62^5) ending at `end` (the last one at end - 1). */
@inline function digits5(end: usize, r: u32): void {
  const t = BASE62;
  // r = hi * 62^2 + lo: the last two digits from lo, the first three from hi (< 62^3), two short
  // chains of divisions by constants instead of one of five.
  const hi = r / 3844, lo = r - hi * 3844;
  const lo1 = lo / 62, hi1 = hi / 62, hi2 = hi / 3844;
  store<u8>(end - 1, load<u8>(t + <usize>(lo - lo1 * 62)));
  store<u8>(end - 2, load<u8>(t + <usize>lo1));
  store<u8>(end - 3, load<u8>(t + <usize>(hi - hi1 * 62)));
  store<u8>(end - 4, load<u8>(t + <usize>(hi1 - hi2 * 62)));
  store<u8>(end - 5, load<u8>(t + <usize>hi2));
}

/** The uid over (orig address, resp address, ports, VLAN word, ts in µs as the host's double). */
export function writeUid(p: usize, orig: usize, resp: usize, origPort: u32, respPort: u32, vlan: u32, tsUs: f64): usize {
  // The host stores ts % 2^32 and floor(ts / 2^32) into an Int32Array (ToInt32 of each). ts is an
  // integer below 2^63 in magnitude, so both are exact, and ts - floor(ts / 2^32) * 2^32 (exact,
  // in [0, 2^32)) equals ts % 2^32 modulo 2^32 without a floating-point remainder (a libm call).
  const hf = Math.floor(tsUs * (1.0 / 4294967296.0));
  const lo = <u32><i64>(tsUs - hf * 4294967296.0);
  const hi = <u32><i64>hf;
  let a = SEED_A, b = SEED_B, c = SEED_C, d = SEED_D;
  // The twelve words written out (no loop counter, no address select per word).
  let k = scramble(load<u32>(orig));
  a = mix(a, k); b = mix(b, k); c = mix(c, k); d = mix(d, k);
  k = scramble(load<u32>(orig, 4));
  a = mix(a, k); b = mix(b, k); c = mix(c, k); d = mix(d, k);
  k = scramble(load<u32>(orig, 8));
  a = mix(a, k); b = mix(b, k); c = mix(c, k); d = mix(d, k);
  k = scramble(load<u32>(orig, 12));
  a = mix(a, k); b = mix(b, k); c = mix(c, k); d = mix(d, k);
  k = scramble(load<u32>(resp));
  a = mix(a, k); b = mix(b, k); c = mix(c, k); d = mix(d, k);
  k = scramble(load<u32>(resp, 4));
  a = mix(a, k); b = mix(b, k); c = mix(c, k); d = mix(d, k);
  k = scramble(load<u32>(resp, 8));
  a = mix(a, k); b = mix(b, k); c = mix(c, k); d = mix(d, k);
  k = scramble(load<u32>(resp, 12));
  a = mix(a, k); b = mix(b, k); c = mix(c, k); d = mix(d, k);
  k = scramble((origPort << 16) | respPort);
  a = mix(a, k); b = mix(b, k); c = mix(c, k); d = mix(d, k);
  k = scramble(vlan);
  a = mix(a, k); b = mix(b, k); c = mix(c, k); d = mix(d, k);
  k = scramble(lo);
  a = mix(a, k); b = mix(b, k); c = mix(c, k); d = mix(d, k);
  k = scramble(hi);
  a = mix(a, k); b = mix(b, k); c = mix(c, k); d = mix(d, k);
  // The 128-bit value finalize(a):finalize(b):finalize(c):finalize(d) modulo 62^17 in base 62,
  // least significant digit last: three long divisions by 62^5 (a u64 dividend per 32 bits, each
  // a division by a constant, which the JIT turns into a multiplication) give three groups of
  // five digits, and what is left (below 2^128 / 62^15 < 2^39) gives the first two.
  let vh = (<u64>finalize(a) << 32) | <u64>finalize(b);
  let vl = (<u64>finalize(c) << 32) | <u64>finalize(d);
  store<u8>(p, 0x43); // "C"
  for (let end: usize = 18; end > 3; end -= 5) {
    const qh = vh / B62_5;
    let x = ((vh - qh * B62_5) << 32) | (vl >>> 32);
    const qm = x / B62_5;
    x = ((x - qm * B62_5) << 32) | (vl & 0xffffffff);
    const ql = x / B62_5;
    digits5(p + end, <u32>(x - ql * B62_5));
    vh = qh;
    vl = (qm << 32) | ql;
  }
  // vh is 0 by now; the first two digits are vl's remainder by 62^2.
  const r = <u32>(vl % 3844);
  const r1 = r / 62;
  store<u8>(p + 2, load<u8>(BASE62 + <usize>(r - r1 * 62)));
  store<u8>(p + 1, load<u8>(BASE62 + <usize>r1));
  return p + UID_LENGTH;
}

/**
 * The uid of a tunnel's outer connection (src/ids/uid.ts writeTunnelUid): the uid function over
 * the outer endpoints in canonical order (lower address, then lower port, first), time 0 and the
 * IP protocol in the VLAN word's top byte.
 */
export function writeTunnelUid(p: usize, src: usize, dst: usize, sport: u32, dport: u32, proto: u32, vlan: u32): usize {
  let swap = false;
  for (let i: usize = 0; i < 16; i++) {
    const x = load<u8>(src + i), y = load<u8>(dst + i);
    if (x != y) {
      swap = x > y;
      break;
    }
    if (i == 15) swap = sport > dport;
  }
  const vlanWord = ((proto & 0xff) << 24) | (vlan & 0xffffff);
  return swap ? writeUid(p, dst, src, dport, sport, vlanWord, 0) : writeUid(p, src, dst, sport, dport, vlanWord, 0);
}

/** A big-endian u32 at `at` (network order, as SHA-1 reads its message words). */
@inline function be32(at: usize): u32 { return bswap<u32>(load<u32>(at)); }

/** Base64 of the 24 bits `g`, four characters stored at once. */
@inline function b64x4(p: usize, t: usize, g: u32): void {
  store<u32>(
    p,
    <u32>load<u8>(t + <usize>(g >>> 18)) |
      (<u32>load<u8>(t + <usize>((g >>> 12) & 63)) << 8) |
      (<u32>load<u8>(t + <usize>((g >>> 6) & 63)) << 16) |
      (<u32>load<u8>(t + <usize>(g & 63)) << 24),
  );
}

/**
 * SHA-1 (FIPS 180-4 §6.1.2) of one padded block given as its sixteen big-endian words, written as
 * `1:` and the base64 of the digest (RFC 4648 §4: 20 bytes, 27 characters and one `=`). The rounds
 * are unrolled with the message schedule in a rolling window of sixteen locals (§6.1.3) and the
 * working variables renamed each round instead of moved, so nothing goes through memory; inlined
 * at each call site, the constant padding words of the IPv4 input fold away.
 */
@inline function sha1Base64(
  p: usize, w0: u32, w1: u32, w2: u32, w3: u32, w4: u32, w5: u32, w6: u32, w7: u32,
  w8: u32, w9: u32, w10: u32, w11: u32, w12: u32, w13: u32, w14: u32, w15: u32,
): usize {
  let a: u32 = 0x67452301, b: u32 = 0xefcdab89, c: u32 = 0x98badcfe, d: u32 = 0x10325476, e: u32 = 0xc3d2e1f0;
  // Round i: T = ROTL5(a) + f(b, c, d) + e + K + W[i]; e = d; d = c; c = ROTL30(b); b = a; a = T (§6.1.2 step 3),
  // with the names rotated so that T lands in the variable that held e.
  e = e + w0 + 0x5a827999 + (d ^ (b & (c ^ d))) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  d = d + w1 + 0x5a827999 + (c ^ (a & (b ^ c))) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  c = c + w2 + 0x5a827999 + (b ^ (e & (a ^ b))) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  b = b + w3 + 0x5a827999 + (a ^ (d & (e ^ a))) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  a = a + w4 + 0x5a827999 + (e ^ (c & (d ^ e))) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);
  e = e + w5 + 0x5a827999 + (d ^ (b & (c ^ d))) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  d = d + w6 + 0x5a827999 + (c ^ (a & (b ^ c))) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  c = c + w7 + 0x5a827999 + (b ^ (e & (a ^ b))) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  b = b + w8 + 0x5a827999 + (a ^ (d & (e ^ a))) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  a = a + w9 + 0x5a827999 + (e ^ (c & (d ^ e))) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);
  e = e + w10 + 0x5a827999 + (d ^ (b & (c ^ d))) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  d = d + w11 + 0x5a827999 + (c ^ (a & (b ^ c))) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  c = c + w12 + 0x5a827999 + (b ^ (e & (a ^ b))) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  b = b + w13 + 0x5a827999 + (a ^ (d & (e ^ a))) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  a = a + w14 + 0x5a827999 + (e ^ (c & (d ^ e))) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);
  e = e + w15 + 0x5a827999 + (d ^ (b & (c ^ d))) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  w0 = rotl<u32>(w13 ^ w8 ^ w2 ^ w0, 1);
  d = d + w0 + 0x5a827999 + (c ^ (a & (b ^ c))) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  w1 = rotl<u32>(w14 ^ w9 ^ w3 ^ w1, 1);
  c = c + w1 + 0x5a827999 + (b ^ (e & (a ^ b))) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  w2 = rotl<u32>(w15 ^ w10 ^ w4 ^ w2, 1);
  b = b + w2 + 0x5a827999 + (a ^ (d & (e ^ a))) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  w3 = rotl<u32>(w0 ^ w11 ^ w5 ^ w3, 1);
  a = a + w3 + 0x5a827999 + (e ^ (c & (d ^ e))) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);
  w4 = rotl<u32>(w1 ^ w12 ^ w6 ^ w4, 1);
  e = e + w4 + 0x6ed9eba1 + (b ^ c ^ d) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  w5 = rotl<u32>(w2 ^ w13 ^ w7 ^ w5, 1);
  d = d + w5 + 0x6ed9eba1 + (a ^ b ^ c) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  w6 = rotl<u32>(w3 ^ w14 ^ w8 ^ w6, 1);
  c = c + w6 + 0x6ed9eba1 + (e ^ a ^ b) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  w7 = rotl<u32>(w4 ^ w15 ^ w9 ^ w7, 1);
  b = b + w7 + 0x6ed9eba1 + (d ^ e ^ a) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  w8 = rotl<u32>(w5 ^ w0 ^ w10 ^ w8, 1);
  a = a + w8 + 0x6ed9eba1 + (c ^ d ^ e) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);
  w9 = rotl<u32>(w6 ^ w1 ^ w11 ^ w9, 1);
  e = e + w9 + 0x6ed9eba1 + (b ^ c ^ d) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  w10 = rotl<u32>(w7 ^ w2 ^ w12 ^ w10, 1);
  d = d + w10 + 0x6ed9eba1 + (a ^ b ^ c) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  w11 = rotl<u32>(w8 ^ w3 ^ w13 ^ w11, 1);
  c = c + w11 + 0x6ed9eba1 + (e ^ a ^ b) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  w12 = rotl<u32>(w9 ^ w4 ^ w14 ^ w12, 1);
  b = b + w12 + 0x6ed9eba1 + (d ^ e ^ a) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  w13 = rotl<u32>(w10 ^ w5 ^ w15 ^ w13, 1);
  a = a + w13 + 0x6ed9eba1 + (c ^ d ^ e) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);
  w14 = rotl<u32>(w11 ^ w6 ^ w0 ^ w14, 1);
  e = e + w14 + 0x6ed9eba1 + (b ^ c ^ d) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  w15 = rotl<u32>(w12 ^ w7 ^ w1 ^ w15, 1);
  d = d + w15 + 0x6ed9eba1 + (a ^ b ^ c) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  w0 = rotl<u32>(w13 ^ w8 ^ w2 ^ w0, 1);
  c = c + w0 + 0x6ed9eba1 + (e ^ a ^ b) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  w1 = rotl<u32>(w14 ^ w9 ^ w3 ^ w1, 1);
  b = b + w1 + 0x6ed9eba1 + (d ^ e ^ a) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  w2 = rotl<u32>(w15 ^ w10 ^ w4 ^ w2, 1);
  a = a + w2 + 0x6ed9eba1 + (c ^ d ^ e) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);
  w3 = rotl<u32>(w0 ^ w11 ^ w5 ^ w3, 1);
  e = e + w3 + 0x6ed9eba1 + (b ^ c ^ d) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  w4 = rotl<u32>(w1 ^ w12 ^ w6 ^ w4, 1);
  d = d + w4 + 0x6ed9eba1 + (a ^ b ^ c) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  w5 = rotl<u32>(w2 ^ w13 ^ w7 ^ w5, 1);
  c = c + w5 + 0x6ed9eba1 + (e ^ a ^ b) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  w6 = rotl<u32>(w3 ^ w14 ^ w8 ^ w6, 1);
  b = b + w6 + 0x6ed9eba1 + (d ^ e ^ a) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  w7 = rotl<u32>(w4 ^ w15 ^ w9 ^ w7, 1);
  a = a + w7 + 0x6ed9eba1 + (c ^ d ^ e) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);
  w8 = rotl<u32>(w5 ^ w0 ^ w10 ^ w8, 1);
  e = e + w8 + 0x8f1bbcdc + ((b & c) | (d & (b | c))) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  w9 = rotl<u32>(w6 ^ w1 ^ w11 ^ w9, 1);
  d = d + w9 + 0x8f1bbcdc + ((a & b) | (c & (a | b))) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  w10 = rotl<u32>(w7 ^ w2 ^ w12 ^ w10, 1);
  c = c + w10 + 0x8f1bbcdc + ((e & a) | (b & (e | a))) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  w11 = rotl<u32>(w8 ^ w3 ^ w13 ^ w11, 1);
  b = b + w11 + 0x8f1bbcdc + ((d & e) | (a & (d | e))) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  w12 = rotl<u32>(w9 ^ w4 ^ w14 ^ w12, 1);
  a = a + w12 + 0x8f1bbcdc + ((c & d) | (e & (c | d))) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);
  w13 = rotl<u32>(w10 ^ w5 ^ w15 ^ w13, 1);
  e = e + w13 + 0x8f1bbcdc + ((b & c) | (d & (b | c))) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  w14 = rotl<u32>(w11 ^ w6 ^ w0 ^ w14, 1);
  d = d + w14 + 0x8f1bbcdc + ((a & b) | (c & (a | b))) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  w15 = rotl<u32>(w12 ^ w7 ^ w1 ^ w15, 1);
  c = c + w15 + 0x8f1bbcdc + ((e & a) | (b & (e | a))) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  w0 = rotl<u32>(w13 ^ w8 ^ w2 ^ w0, 1);
  b = b + w0 + 0x8f1bbcdc + ((d & e) | (a & (d | e))) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  w1 = rotl<u32>(w14 ^ w9 ^ w3 ^ w1, 1);
  a = a + w1 + 0x8f1bbcdc + ((c & d) | (e & (c | d))) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);
  w2 = rotl<u32>(w15 ^ w10 ^ w4 ^ w2, 1);
  e = e + w2 + 0x8f1bbcdc + ((b & c) | (d & (b | c))) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  w3 = rotl<u32>(w0 ^ w11 ^ w5 ^ w3, 1);
  d = d + w3 + 0x8f1bbcdc + ((a & b) | (c & (a | b))) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  w4 = rotl<u32>(w1 ^ w12 ^ w6 ^ w4, 1);
  c = c + w4 + 0x8f1bbcdc + ((e & a) | (b & (e | a))) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  w5 = rotl<u32>(w2 ^ w13 ^ w7 ^ w5, 1);
  b = b + w5 + 0x8f1bbcdc + ((d & e) | (a & (d | e))) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  w6 = rotl<u32>(w3 ^ w14 ^ w8 ^ w6, 1);
  a = a + w6 + 0x8f1bbcdc + ((c & d) | (e & (c | d))) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);
  w7 = rotl<u32>(w4 ^ w15 ^ w9 ^ w7, 1);
  e = e + w7 + 0x8f1bbcdc + ((b & c) | (d & (b | c))) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  w8 = rotl<u32>(w5 ^ w0 ^ w10 ^ w8, 1);
  d = d + w8 + 0x8f1bbcdc + ((a & b) | (c & (a | b))) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  w9 = rotl<u32>(w6 ^ w1 ^ w11 ^ w9, 1);
  c = c + w9 + 0x8f1bbcdc + ((e & a) | (b & (e | a))) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  w10 = rotl<u32>(w7 ^ w2 ^ w12 ^ w10, 1);
  b = b + w10 + 0x8f1bbcdc + ((d & e) | (a & (d | e))) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  w11 = rotl<u32>(w8 ^ w3 ^ w13 ^ w11, 1);
  a = a + w11 + 0x8f1bbcdc + ((c & d) | (e & (c | d))) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);
  w12 = rotl<u32>(w9 ^ w4 ^ w14 ^ w12, 1);
  e = e + w12 + 0xca62c1d6 + (b ^ c ^ d) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  w13 = rotl<u32>(w10 ^ w5 ^ w15 ^ w13, 1);
  d = d + w13 + 0xca62c1d6 + (a ^ b ^ c) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  w14 = rotl<u32>(w11 ^ w6 ^ w0 ^ w14, 1);
  c = c + w14 + 0xca62c1d6 + (e ^ a ^ b) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  w15 = rotl<u32>(w12 ^ w7 ^ w1 ^ w15, 1);
  b = b + w15 + 0xca62c1d6 + (d ^ e ^ a) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  w0 = rotl<u32>(w13 ^ w8 ^ w2 ^ w0, 1);
  a = a + w0 + 0xca62c1d6 + (c ^ d ^ e) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);
  w1 = rotl<u32>(w14 ^ w9 ^ w3 ^ w1, 1);
  e = e + w1 + 0xca62c1d6 + (b ^ c ^ d) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  w2 = rotl<u32>(w15 ^ w10 ^ w4 ^ w2, 1);
  d = d + w2 + 0xca62c1d6 + (a ^ b ^ c) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  w3 = rotl<u32>(w0 ^ w11 ^ w5 ^ w3, 1);
  c = c + w3 + 0xca62c1d6 + (e ^ a ^ b) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  w4 = rotl<u32>(w1 ^ w12 ^ w6 ^ w4, 1);
  b = b + w4 + 0xca62c1d6 + (d ^ e ^ a) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  w5 = rotl<u32>(w2 ^ w13 ^ w7 ^ w5, 1);
  a = a + w5 + 0xca62c1d6 + (c ^ d ^ e) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);
  w6 = rotl<u32>(w3 ^ w14 ^ w8 ^ w6, 1);
  e = e + w6 + 0xca62c1d6 + (b ^ c ^ d) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  w7 = rotl<u32>(w4 ^ w15 ^ w9 ^ w7, 1);
  d = d + w7 + 0xca62c1d6 + (a ^ b ^ c) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  w8 = rotl<u32>(w5 ^ w0 ^ w10 ^ w8, 1);
  c = c + w8 + 0xca62c1d6 + (e ^ a ^ b) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  w9 = rotl<u32>(w6 ^ w1 ^ w11 ^ w9, 1);
  b = b + w9 + 0xca62c1d6 + (d ^ e ^ a) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  w10 = rotl<u32>(w7 ^ w2 ^ w12 ^ w10, 1);
  a = a + w10 + 0xca62c1d6 + (c ^ d ^ e) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);
  w11 = rotl<u32>(w8 ^ w3 ^ w13 ^ w11, 1);
  e = e + w11 + 0xca62c1d6 + (b ^ c ^ d) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  w12 = rotl<u32>(w9 ^ w4 ^ w14 ^ w12, 1);
  d = d + w12 + 0xca62c1d6 + (a ^ b ^ c) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  w13 = rotl<u32>(w10 ^ w5 ^ w15 ^ w13, 1);
  c = c + w13 + 0xca62c1d6 + (e ^ a ^ b) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  w14 = rotl<u32>(w11 ^ w6 ^ w0 ^ w14, 1);
  b = b + w14 + 0xca62c1d6 + (d ^ e ^ a) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  w15 = rotl<u32>(w12 ^ w7 ^ w1 ^ w15, 1);
  a = a + w15 + 0xca62c1d6 + (c ^ d ^ e) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);
  a += 0x67452301; b += 0xefcdab89; c += 0x98badcfe; d += 0x10325476; e += 0xc3d2e1f0;
  return digestBase64(p, a, b, c, d, e);
}

/** `1:` and the base64 of the digest a:b:c:d:e (RFC 4648 §4: 20 bytes, 27 characters and one `=`). */
@inline function digestBase64(p: usize, a: u32, b: u32, c: u32, d: u32, e: u32): usize {
  // The digest as six 24-bit groups and the last 16 bits (three characters and "=").
  const t = BASE64;
  store<u16>(p, 0x3a31); // "1:"
  b64x4(p + 2, t, a >>> 8);
  b64x4(p + 6, t, ((a & 0xff) << 16) | (b >>> 16));
  b64x4(p + 10, t, ((b & 0xffff) << 8) | (c >>> 24));
  b64x4(p + 14, t, c & 0xffffff);
  b64x4(p + 18, t, d >>> 8);
  b64x4(p + 22, t, ((d & 0xff) << 16) | (e >>> 16));
  b64x4(p + 26, t, (e & 0xffff) << 8);
  store<u8>(p + 29, 0x3d); // "="
  return p + 30;
}

/**
 * Where a Community ID's SHA-1 block goes, chosen when compiled: Out = u32 hashes it at once and
 * writes the ID at `p` (sha1Base64, the words in locals, so the constant ones fold away); Out = u8
 * stores its sixteen words 16 bytes apart from `p`, one lane of four interleaved blocks (sha1x4Base64).
 */
@inline function emitBlock<Out>(
  p: usize, w0: u32, w1: u32, w2: u32, w3: u32, w4: u32, w5: u32, w6: u32, w7: u32,
  w8: u32, w9: u32, w10: u32, w11: u32, w12: u32, w13: u32, w14: u32, w15: u32,
): usize {
  if (sizeof<Out>() == 4) return sha1Base64(p, w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11, w12, w13, w14, w15);
  store<u32>(p, w0); store<u32>(p, w1, 16); store<u32>(p, w2, 32); store<u32>(p, w3, 48);
  store<u32>(p, w4, 64); store<u32>(p, w5, 80); store<u32>(p, w6, 96); store<u32>(p, w7, 112);
  store<u32>(p, w8, 128); store<u32>(p, w9, 144); store<u32>(p, w10, 160); store<u32>(p, w11, 176);
  store<u32>(p, w12, 192); store<u32>(p, w13, 208); store<u32>(p, w14, 224); store<u32>(p, w15, 240);
  return p;
}

/** Community ID v1's SHA-1 block for the endpoints at `a`/`b` (16-byte engine addresses) and IP protocol `proto`, to emitBlock<Out>. */
@inline function communityIdBlock<Out>(p: usize, a: usize, aPort: u32, b: usize, bPort: u32, proto: u32, seed: u32): usize {
  const v4 = isV4Mapped(a) && isV4Mapped(b);
  // The smaller (address, port) first: addresses compare as big-endian words, as bytes would.
  let cmp = 0;
  for (let i: usize = v4 ? 12 : 0; i < 16 && cmp == 0; i += 4) {
    const x = be32(a + i), y = be32(b + i);
    cmp = x < y ? -1 : x > y ? 1 : 0;
  }
  if (cmp == 0) cmp = <i32>aPort - <i32>bPort;
  let s = a, d = b, sp = aPort, dp = bPort;
  if (cmp > 0) {
    s = b; d = a; sp = bPort; dp = aPort;
  }
  // The message: seed:u16, saddr, daddr, proto:u8, 0:u8, sport:u16, dport:u16 (16 bytes for IPv4,
  // 40 for IPv6), then the padding of FIPS 180-4 §5.1.1: 0x80, zeros, the length in bits as a u64.
  const hi = (seed & 0xffff) << 16, ports = ((sp & 0xffff) << 16) | (dp & 0xffff), pr = (proto & 0xff) << 8;
  if (v4) {
    const x = be32(s + 12), y = be32(d + 12);
    return emitBlock<Out>(p, hi | (x >>> 16), (x << 16) | (y >>> 16), (y << 16) | pr, ports, 0x80000000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16 * 8);
  }
  const s0 = be32(s), s1 = be32(s + 4), s2 = be32(s + 8), s3 = be32(s + 12);
  const d0 = be32(d), d1 = be32(d + 4), d2 = be32(d + 8), d3 = be32(d + 12);
  return emitBlock<Out>(
    p, hi | (s0 >>> 16), (s0 << 16) | (s1 >>> 16), (s1 << 16) | (s2 >>> 16), (s2 << 16) | (s3 >>> 16), (s3 << 16) | (d0 >>> 16),
    (d0 << 16) | (d1 >>> 16), (d1 << 16) | (d2 >>> 16), (d2 << 16) | (d3 >>> 16), (d3 << 16) | pr, ports, 0x80000000, 0, 0, 0, 0, 40 * 8,
  );
}

/** Community ID v1 of the endpoints at `a`/`b` (16-byte engine addresses) for IP protocol `proto`. */
export function writeCommunityId(p: usize, a: usize, aPort: u32, b: usize, bPort: u32, proto: u32, seed: u32): usize {
  return communityIdBlock<u32>(p, a, aPort, b, bPort, proto, seed);
}

/** Community ID v1's block for the endpoints at `a`/`b` as lane `m` of four interleaved blocks (sha1x4Base64 hashes them). */
@inline export function communityIdLane(m: usize, a: usize, aPort: u32, b: usize, bPort: u32, proto: u32, seed: u32): void {
  communityIdBlock<u8>(m, a, aPort, b, bPort, proto, seed);
}

// ---- four messages at once ----------------------------------------------------------------------
// SHA-1 of four one-block messages side by side, one per 32-bit lane of a v128 (wasm SIMD i32x4):
// the same operations as sha1Base64, so four Community IDs cost about what one costs. The lanes
// never mix; test/host/engine-lines-batch.test.ts checks every lane against node:crypto's SHA-1.


/** rotl<u32>(x, n) in each lane. */
@inline function rotlv(x: v128, n: i32): v128 { return v128.or(i32x4.shl(x, n), i32x4.shr_u(x, 32 - n)); }

/** Ch(x, y, z) = (x & y) ^ (~x & z): y where x has a one, z elsewhere (§4.1.1). */
@inline function ch(x: v128, y: v128, z: v128): v128 { return v128.bitselect(y, z, x); }
/** Parity(x, y, z) = x ^ y ^ z. */
@inline function parity(x: v128, y: v128, z: v128): v128 { return v128.xor(v128.xor(x, y), z); }
/** Maj(x, y, z) = (x & y) ^ (x & z) ^ (y & z): y where x and z differ, else x (= z). */
@inline function maj(x: v128, y: v128, z: v128): v128 { return v128.bitselect(y, x, v128.xor(x, z)); }

/** T = ROTL5(a) + f + e + K + W: the new working variable of a round. */
@inline function t(a: v128, f: v128, e: v128, k: v128, w: v128): v128 {
  return i32x4.add(i32x4.add(e, rotlv(a, 5)), i32x4.add(f, i32x4.add(k, w)));
}

/**
 * SHA-1 of the four interleaved blocks at `m` (256 bytes: word j of lane l at m + 16 j + 4 l, as
 * communityIdLane(m + 4 l, ...) stores it; the digests overwrite them), each digest written as
 * sha1Base64 writes it (`1:` and 28 base64 characters) at out + LANES_SLOT l.
 */
export function sha1x4Base64(m: usize, out: usize): void {
  let a = i32x4.splat(0x67452301), b = i32x4.splat(<i32>0xefcdab89), c = i32x4.splat(<i32>0x98badcfe);
  let d = i32x4.splat(0x10325476), e = i32x4.splat(<i32>0xc3d2e1f0);
  // The eighty rounds written out, the names rotated as in sha1Base64 (T lands in the variable that
  // held e), the message schedule in a rolling window of sixteen locals (§6.1.3).
  let w0 = v128.load(m), w1 = v128.load(m, 16), w2 = v128.load(m, 32), w3 = v128.load(m, 48);
  let w4 = v128.load(m, 64), w5 = v128.load(m, 80), w6 = v128.load(m, 96), w7 = v128.load(m, 112);
  let w8 = v128.load(m, 128), w9 = v128.load(m, 144), w10 = v128.load(m, 160), w11 = v128.load(m, 176);
  let w12 = v128.load(m, 192), w13 = v128.load(m, 208), w14 = v128.load(m, 224), w15 = v128.load(m, 240);
  let k: v128;
  k = i32x4.splat(0x5a827999);
  e = t(a, ch(b, c, d), e, k, w0); b = rotlv(b, 30);
  d = t(e, ch(a, b, c), d, k, w1); a = rotlv(a, 30);
  c = t(d, ch(e, a, b), c, k, w2); e = rotlv(e, 30);
  b = t(c, ch(d, e, a), b, k, w3); d = rotlv(d, 30);
  a = t(b, ch(c, d, e), a, k, w4); c = rotlv(c, 30);
  e = t(a, ch(b, c, d), e, k, w5); b = rotlv(b, 30);
  d = t(e, ch(a, b, c), d, k, w6); a = rotlv(a, 30);
  c = t(d, ch(e, a, b), c, k, w7); e = rotlv(e, 30);
  b = t(c, ch(d, e, a), b, k, w8); d = rotlv(d, 30);
  a = t(b, ch(c, d, e), a, k, w9); c = rotlv(c, 30);
  e = t(a, ch(b, c, d), e, k, w10); b = rotlv(b, 30);
  d = t(e, ch(a, b, c), d, k, w11); a = rotlv(a, 30);
  c = t(d, ch(e, a, b), c, k, w12); e = rotlv(e, 30);
  b = t(c, ch(d, e, a), b, k, w13); d = rotlv(d, 30);
  a = t(b, ch(c, d, e), a, k, w14); c = rotlv(c, 30);
  e = t(a, ch(b, c, d), e, k, w15); b = rotlv(b, 30);
  w0 = rotlv(v128.xor(v128.xor(w13, w8), v128.xor(w2, w0)), 1);
  d = t(e, ch(a, b, c), d, k, w0); a = rotlv(a, 30);
  w1 = rotlv(v128.xor(v128.xor(w14, w9), v128.xor(w3, w1)), 1);
  c = t(d, ch(e, a, b), c, k, w1); e = rotlv(e, 30);
  w2 = rotlv(v128.xor(v128.xor(w15, w10), v128.xor(w4, w2)), 1);
  b = t(c, ch(d, e, a), b, k, w2); d = rotlv(d, 30);
  w3 = rotlv(v128.xor(v128.xor(w0, w11), v128.xor(w5, w3)), 1);
  a = t(b, ch(c, d, e), a, k, w3); c = rotlv(c, 30);
  k = i32x4.splat(0x6ed9eba1);
  w4 = rotlv(v128.xor(v128.xor(w1, w12), v128.xor(w6, w4)), 1);
  e = t(a, parity(b, c, d), e, k, w4); b = rotlv(b, 30);
  w5 = rotlv(v128.xor(v128.xor(w2, w13), v128.xor(w7, w5)), 1);
  d = t(e, parity(a, b, c), d, k, w5); a = rotlv(a, 30);
  w6 = rotlv(v128.xor(v128.xor(w3, w14), v128.xor(w8, w6)), 1);
  c = t(d, parity(e, a, b), c, k, w6); e = rotlv(e, 30);
  w7 = rotlv(v128.xor(v128.xor(w4, w15), v128.xor(w9, w7)), 1);
  b = t(c, parity(d, e, a), b, k, w7); d = rotlv(d, 30);
  w8 = rotlv(v128.xor(v128.xor(w5, w0), v128.xor(w10, w8)), 1);
  a = t(b, parity(c, d, e), a, k, w8); c = rotlv(c, 30);
  w9 = rotlv(v128.xor(v128.xor(w6, w1), v128.xor(w11, w9)), 1);
  e = t(a, parity(b, c, d), e, k, w9); b = rotlv(b, 30);
  w10 = rotlv(v128.xor(v128.xor(w7, w2), v128.xor(w12, w10)), 1);
  d = t(e, parity(a, b, c), d, k, w10); a = rotlv(a, 30);
  w11 = rotlv(v128.xor(v128.xor(w8, w3), v128.xor(w13, w11)), 1);
  c = t(d, parity(e, a, b), c, k, w11); e = rotlv(e, 30);
  w12 = rotlv(v128.xor(v128.xor(w9, w4), v128.xor(w14, w12)), 1);
  b = t(c, parity(d, e, a), b, k, w12); d = rotlv(d, 30);
  w13 = rotlv(v128.xor(v128.xor(w10, w5), v128.xor(w15, w13)), 1);
  a = t(b, parity(c, d, e), a, k, w13); c = rotlv(c, 30);
  w14 = rotlv(v128.xor(v128.xor(w11, w6), v128.xor(w0, w14)), 1);
  e = t(a, parity(b, c, d), e, k, w14); b = rotlv(b, 30);
  w15 = rotlv(v128.xor(v128.xor(w12, w7), v128.xor(w1, w15)), 1);
  d = t(e, parity(a, b, c), d, k, w15); a = rotlv(a, 30);
  w0 = rotlv(v128.xor(v128.xor(w13, w8), v128.xor(w2, w0)), 1);
  c = t(d, parity(e, a, b), c, k, w0); e = rotlv(e, 30);
  w1 = rotlv(v128.xor(v128.xor(w14, w9), v128.xor(w3, w1)), 1);
  b = t(c, parity(d, e, a), b, k, w1); d = rotlv(d, 30);
  w2 = rotlv(v128.xor(v128.xor(w15, w10), v128.xor(w4, w2)), 1);
  a = t(b, parity(c, d, e), a, k, w2); c = rotlv(c, 30);
  w3 = rotlv(v128.xor(v128.xor(w0, w11), v128.xor(w5, w3)), 1);
  e = t(a, parity(b, c, d), e, k, w3); b = rotlv(b, 30);
  w4 = rotlv(v128.xor(v128.xor(w1, w12), v128.xor(w6, w4)), 1);
  d = t(e, parity(a, b, c), d, k, w4); a = rotlv(a, 30);
  w5 = rotlv(v128.xor(v128.xor(w2, w13), v128.xor(w7, w5)), 1);
  c = t(d, parity(e, a, b), c, k, w5); e = rotlv(e, 30);
  w6 = rotlv(v128.xor(v128.xor(w3, w14), v128.xor(w8, w6)), 1);
  b = t(c, parity(d, e, a), b, k, w6); d = rotlv(d, 30);
  w7 = rotlv(v128.xor(v128.xor(w4, w15), v128.xor(w9, w7)), 1);
  a = t(b, parity(c, d, e), a, k, w7); c = rotlv(c, 30);
  k = i32x4.splat(<i32>0x8f1bbcdc);
  w8 = rotlv(v128.xor(v128.xor(w5, w0), v128.xor(w10, w8)), 1);
  e = t(a, maj(b, c, d), e, k, w8); b = rotlv(b, 30);
  w9 = rotlv(v128.xor(v128.xor(w6, w1), v128.xor(w11, w9)), 1);
  d = t(e, maj(a, b, c), d, k, w9); a = rotlv(a, 30);
  w10 = rotlv(v128.xor(v128.xor(w7, w2), v128.xor(w12, w10)), 1);
  c = t(d, maj(e, a, b), c, k, w10); e = rotlv(e, 30);
  w11 = rotlv(v128.xor(v128.xor(w8, w3), v128.xor(w13, w11)), 1);
  b = t(c, maj(d, e, a), b, k, w11); d = rotlv(d, 30);
  w12 = rotlv(v128.xor(v128.xor(w9, w4), v128.xor(w14, w12)), 1);
  a = t(b, maj(c, d, e), a, k, w12); c = rotlv(c, 30);
  w13 = rotlv(v128.xor(v128.xor(w10, w5), v128.xor(w15, w13)), 1);
  e = t(a, maj(b, c, d), e, k, w13); b = rotlv(b, 30);
  w14 = rotlv(v128.xor(v128.xor(w11, w6), v128.xor(w0, w14)), 1);
  d = t(e, maj(a, b, c), d, k, w14); a = rotlv(a, 30);
  w15 = rotlv(v128.xor(v128.xor(w12, w7), v128.xor(w1, w15)), 1);
  c = t(d, maj(e, a, b), c, k, w15); e = rotlv(e, 30);
  w0 = rotlv(v128.xor(v128.xor(w13, w8), v128.xor(w2, w0)), 1);
  b = t(c, maj(d, e, a), b, k, w0); d = rotlv(d, 30);
  w1 = rotlv(v128.xor(v128.xor(w14, w9), v128.xor(w3, w1)), 1);
  a = t(b, maj(c, d, e), a, k, w1); c = rotlv(c, 30);
  w2 = rotlv(v128.xor(v128.xor(w15, w10), v128.xor(w4, w2)), 1);
  e = t(a, maj(b, c, d), e, k, w2); b = rotlv(b, 30);
  w3 = rotlv(v128.xor(v128.xor(w0, w11), v128.xor(w5, w3)), 1);
  d = t(e, maj(a, b, c), d, k, w3); a = rotlv(a, 30);
  w4 = rotlv(v128.xor(v128.xor(w1, w12), v128.xor(w6, w4)), 1);
  c = t(d, maj(e, a, b), c, k, w4); e = rotlv(e, 30);
  w5 = rotlv(v128.xor(v128.xor(w2, w13), v128.xor(w7, w5)), 1);
  b = t(c, maj(d, e, a), b, k, w5); d = rotlv(d, 30);
  w6 = rotlv(v128.xor(v128.xor(w3, w14), v128.xor(w8, w6)), 1);
  a = t(b, maj(c, d, e), a, k, w6); c = rotlv(c, 30);
  w7 = rotlv(v128.xor(v128.xor(w4, w15), v128.xor(w9, w7)), 1);
  e = t(a, maj(b, c, d), e, k, w7); b = rotlv(b, 30);
  w8 = rotlv(v128.xor(v128.xor(w5, w0), v128.xor(w10, w8)), 1);
  d = t(e, maj(a, b, c), d, k, w8); a = rotlv(a, 30);
  w9 = rotlv(v128.xor(v128.xor(w6, w1), v128.xor(w11, w9)), 1);
  c = t(d, maj(e, a, b), c, k, w9); e = rotlv(e, 30);
  w10 = rotlv(v128.xor(v128.xor(w7, w2), v128.xor(w12, w10)), 1);
  b = t(c, maj(d, e, a), b, k, w10); d = rotlv(d, 30);
  w11 = rotlv(v128.xor(v128.xor(w8, w3), v128.xor(w13, w11)), 1);
  a = t(b, maj(c, d, e), a, k, w11); c = rotlv(c, 30);
  k = i32x4.splat(<i32>0xca62c1d6);
  w12 = rotlv(v128.xor(v128.xor(w9, w4), v128.xor(w14, w12)), 1);
  e = t(a, parity(b, c, d), e, k, w12); b = rotlv(b, 30);
  w13 = rotlv(v128.xor(v128.xor(w10, w5), v128.xor(w15, w13)), 1);
  d = t(e, parity(a, b, c), d, k, w13); a = rotlv(a, 30);
  w14 = rotlv(v128.xor(v128.xor(w11, w6), v128.xor(w0, w14)), 1);
  c = t(d, parity(e, a, b), c, k, w14); e = rotlv(e, 30);
  w15 = rotlv(v128.xor(v128.xor(w12, w7), v128.xor(w1, w15)), 1);
  b = t(c, parity(d, e, a), b, k, w15); d = rotlv(d, 30);
  w0 = rotlv(v128.xor(v128.xor(w13, w8), v128.xor(w2, w0)), 1);
  a = t(b, parity(c, d, e), a, k, w0); c = rotlv(c, 30);
  w1 = rotlv(v128.xor(v128.xor(w14, w9), v128.xor(w3, w1)), 1);
  e = t(a, parity(b, c, d), e, k, w1); b = rotlv(b, 30);
  w2 = rotlv(v128.xor(v128.xor(w15, w10), v128.xor(w4, w2)), 1);
  d = t(e, parity(a, b, c), d, k, w2); a = rotlv(a, 30);
  w3 = rotlv(v128.xor(v128.xor(w0, w11), v128.xor(w5, w3)), 1);
  c = t(d, parity(e, a, b), c, k, w3); e = rotlv(e, 30);
  w4 = rotlv(v128.xor(v128.xor(w1, w12), v128.xor(w6, w4)), 1);
  b = t(c, parity(d, e, a), b, k, w4); d = rotlv(d, 30);
  w5 = rotlv(v128.xor(v128.xor(w2, w13), v128.xor(w7, w5)), 1);
  a = t(b, parity(c, d, e), a, k, w5); c = rotlv(c, 30);
  w6 = rotlv(v128.xor(v128.xor(w3, w14), v128.xor(w8, w6)), 1);
  e = t(a, parity(b, c, d), e, k, w6); b = rotlv(b, 30);
  w7 = rotlv(v128.xor(v128.xor(w4, w15), v128.xor(w9, w7)), 1);
  d = t(e, parity(a, b, c), d, k, w7); a = rotlv(a, 30);
  w8 = rotlv(v128.xor(v128.xor(w5, w0), v128.xor(w10, w8)), 1);
  c = t(d, parity(e, a, b), c, k, w8); e = rotlv(e, 30);
  w9 = rotlv(v128.xor(v128.xor(w6, w1), v128.xor(w11, w9)), 1);
  b = t(c, parity(d, e, a), b, k, w9); d = rotlv(d, 30);
  w10 = rotlv(v128.xor(v128.xor(w7, w2), v128.xor(w12, w10)), 1);
  a = t(b, parity(c, d, e), a, k, w10); c = rotlv(c, 30);
  w11 = rotlv(v128.xor(v128.xor(w8, w3), v128.xor(w13, w11)), 1);
  e = t(a, parity(b, c, d), e, k, w11); b = rotlv(b, 30);
  w12 = rotlv(v128.xor(v128.xor(w9, w4), v128.xor(w14, w12)), 1);
  d = t(e, parity(a, b, c), d, k, w12); a = rotlv(a, 30);
  w13 = rotlv(v128.xor(v128.xor(w10, w5), v128.xor(w15, w13)), 1);
  c = t(d, parity(e, a, b), c, k, w13); e = rotlv(e, 30);
  w14 = rotlv(v128.xor(v128.xor(w11, w6), v128.xor(w0, w14)), 1);
  b = t(c, parity(d, e, a), b, k, w14); d = rotlv(d, 30);
  w15 = rotlv(v128.xor(v128.xor(w12, w7), v128.xor(w1, w15)), 1);
  a = t(b, parity(c, d, e), a, k, w15); c = rotlv(c, 30);
  // The digests, lane by lane (the blocks' room is free again).
  v128.store(m, i32x4.add(a, i32x4.splat(0x67452301)));
  v128.store(m, i32x4.add(b, i32x4.splat(<i32>0xefcdab89)), 16);
  v128.store(m, i32x4.add(c, i32x4.splat(<i32>0x98badcfe)), 32);
  v128.store(m, i32x4.add(d, i32x4.splat(0x10325476)), 48);
  v128.store(m, i32x4.add(e, i32x4.splat(<i32>0xc3d2e1f0)), 64);
  for (let l: usize = 0; l < 4; l++) {
    const at = m + (l << 2);
    digestBase64(out + l * LANES_SLOT, load<u32>(at), load<u32>(at, 16), load<u32>(at, 32), load<u32>(at, 48), load<u32>(at, 64));
  }
}
