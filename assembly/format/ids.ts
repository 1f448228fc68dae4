// Flow identifiers written by the output formatter (fields.ts): the uid and Community ID v1.
// The same functions as src/ids/uid.ts and src/ids/community-id.ts (which the host keeps for
// tools and tests), written into the output buffer without a string or a digest object.
//
// uid: "C" + 17 base62 digits of four MurmurHash3 (x86_32) lanes with fixed seeds over twelve
// 32-bit words (addresses, ports, VLAN word, ts as two words), modulo 62^17.
// Community ID v1 (github.com/corelight/community-id-spec): "1:" + base64(sha1(seed:u16be, saddr,
// daddr, proto:u8, 0:u8, sport:u16be, dport:u16be)), the smaller (address, port) first, IPv4 as
// 4 bytes. SHA-1 is FIPS 180-4 §6.1.2 on one block (inputs are at most 40 bytes, §5.1.1 padding).

import { byte, isV4Mapped } from "./text";
import { fmtState, S_SHA1 } from "./state";

/** Length of a uid. */
export const UID_LENGTH: usize = 18;

const SEED_A: u32 = 0x5a3c6e21;
const SEED_B: u32 = 0x1b873593;
const SEED_C: u32 = 0x7feb352d;
const SEED_D: u32 = 0x2c1b3c6d;
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

@inline function mix(h: u32, k: u32): u32 {
  k *= 0xcc9e2d51;
  k = rotl<u32>(k, 15);
  k *= 0x1b873593;
  h ^= k;
  h = rotl<u32>(h, 13);
  return h * 5 + 0xe6546b64;
}

@inline function finalize(h: u32): u32 {
  h ^= 48; // input length in bytes
  h ^= h >>> 16;
  h *= 0x85ebca6b;
  h ^= h >>> 13;
  h *= 0xc2b2ae35;
  return h ^ (h >>> 16);
}

/** The uid over (orig address, resp address, ports, VLAN word, ts in µs as the host's double). */
export function writeUid(p: usize, orig: usize, resp: usize, origPort: u32, respPort: u32, vlan: u32, tsUs: f64): usize {
  // The host stores ts % 2^32 and floor(ts / 2^32) into an Int32Array (ToInt32 of each).
  const lo = <u32><i64>(tsUs % 4294967296.0);
  const hi = <u32><i64>Math.floor(tsUs / 4294967296.0);
  let a = SEED_A, b = SEED_B, c = SEED_C, d = SEED_D;
  for (let i: usize = 0; i < 12; i++) {
    let k: u32;
    if (i < 4) k = load<u32>(orig + (i << 2));
    else if (i < 8) k = load<u32>(resp + ((i - 4) << 2));
    else if (i == 8) k = (origPort << 16) | respPort;
    else if (i == 9) k = vlan;
    else if (i == 10) k = lo;
    else k = hi;
    a = mix(a, k);
    b = mix(b, k);
    c = mix(c, k);
    d = mix(d, k);
  }
  // The 128-bit value l3:l2:l1:l0 in base 62, least significant digit last, by long division in
  // 16-bit steps: dividing by 62^2 = 3844 gives two digits a pass (eight passes), then one pass by
  // 62 gives the first. Every step divides a u32 below 2^28 by a constant, which the JIT turns
  // into a multiplication (a 64-bit division costs tens of cycles, and one digit at a time needs 68).
  let l3 = finalize(a), l2 = finalize(b), l1 = finalize(c), l0 = finalize(d);
  const b62 = changetype<usize>(BASE62);
  store<u8>(p, 0x43); // "C"
  for (let i: usize = 17; i >= 3; i -= 2) {
    let hi = l3 >>> 16;
    let qh = hi / 3844;
    let lo = ((hi - qh * 3844) << 16) | (l3 & 0xffff);
    let ql = lo / 3844;
    l3 = (qh << 16) | ql;
    hi = ((lo - ql * 3844) << 16) | (l2 >>> 16);
    qh = hi / 3844;
    lo = ((hi - qh * 3844) << 16) | (l2 & 0xffff);
    ql = lo / 3844;
    l2 = (qh << 16) | ql;
    hi = ((lo - ql * 3844) << 16) | (l1 >>> 16);
    qh = hi / 3844;
    lo = ((hi - qh * 3844) << 16) | (l1 & 0xffff);
    ql = lo / 3844;
    l1 = (qh << 16) | ql;
    hi = ((lo - ql * 3844) << 16) | (l0 >>> 16);
    qh = hi / 3844;
    lo = ((hi - qh * 3844) << 16) | (l0 & 0xffff);
    ql = lo / 3844;
    l0 = (qh << 16) | ql;
    const r = lo - ql * 3844; // two digits: r / 62 then r % 62
    const r1 = r / 62;
    store<u8>(p + i, load<u16>(b62 + (<usize>(r - r1 * 62) << 1)));
    store<u8>(p + i - 1, load<u16>(b62 + (<usize>r1 << 1)));
  }
  // What is left is below 2^128 / 62^16 < 2^33: its remainder by 62 is the first digit.
  const rest = (<u64>l1 << 32) | <u64>l0; // l3 and l2 are 0 by now
  store<u8>(p + 1, load<u16>(b62 + (<usize>(rest % 62) << 1)));
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

@inline function w(W: usize, i: usize): u32 { return load<u32>(W + (i << 2)); }

/** Community ID v1 of the endpoints at `a`/`b` (16-byte engine addresses) for IP protocol `proto`. */
export function writeCommunityId(p: usize, a: usize, aPort: u32, b: usize, bPort: u32, proto: u32, seed: u32): usize {
  const v4 = isV4Mapped(a) && isV4Mapped(b);
  const skip: usize = v4 ? 12 : 0;
  let cmp = 0;
  for (let i = skip; i < 16 && cmp == 0; i++) cmp = <i32>load<u8>(a + i) - <i32>load<u8>(b + i);
  if (cmp == 0) cmp = <i32>aPort - <i32>bPort;
  let s = a, d = b, sp = aPort, dp = bPort;
  if (cmp > 0) {
    s = b; d = a; sp = bPort; dp = aPort;
  }
  // One SHA-1 block and its message schedule, in the formatter's state block (state.ts).
  const BLOCK = <usize>load<u32>(fmtState() + S_SHA1);
  const W = BLOCK + 64;
  let q = BLOCK;
  q = byte(q, (seed >>> 8) & 0xff);
  q = byte(q, seed & 0xff);
  for (let i = skip; i < 16; i++) q = byte(q, load<u8>(s + i));
  for (let i = skip; i < 16; i++) q = byte(q, load<u8>(d + i));
  q = byte(q, proto);
  q = byte(q, 0);
  q = byte(q, sp >>> 8);
  q = byte(q, sp & 0xff);
  q = byte(q, dp >>> 8);
  q = byte(q, dp & 0xff);
  const len = q - BLOCK;
  // Padding (FIPS 180-4 §5.1.1): 0x80, zeros, the length in bits as a big-endian u64.
  q = byte(q, 0x80);
  while (q < BLOCK + 60) q = byte(q, 0);
  store<u32>(BLOCK + 60, bswap<u32>(<u32>(len * 8)));
  for (let i: usize = 0; i < 16; i++) store<u32>(W + (i << 2), bswap<u32>(load<u32>(BLOCK + (i << 2))));
  for (let i: usize = 16; i < 80; i++) store<u32>(W + (i << 2), rotl<u32>(w(W, i - 3) ^ w(W, i - 8) ^ w(W, i - 14) ^ w(W, i - 16), 1));
  let h0: u32 = 0x67452301, h1: u32 = 0xefcdab89, h2: u32 = 0x98badcfe, h3: u32 = 0x10325476, h4: u32 = 0xc3d2e1f0;
  let va = h0, vb = h1, vc = h2, vd = h3, ve = h4;
  // The four round functions in four loops, so no round tests which one applies.
  for (let i: usize = 0; i < 20; i++) {
    const t = rotl<u32>(va, 5) + ((vb & vc) | (~vb & vd)) + ve + 0x5a827999 + w(W, i);
    ve = vd; vd = vc; vc = rotl<u32>(vb, 30); vb = va; va = t;
  }
  for (let i: usize = 20; i < 40; i++) {
    const t = rotl<u32>(va, 5) + (vb ^ vc ^ vd) + ve + 0x6ed9eba1 + w(W, i);
    ve = vd; vd = vc; vc = rotl<u32>(vb, 30); vb = va; va = t;
  }
  for (let i: usize = 40; i < 60; i++) {
    const t = rotl<u32>(va, 5) + ((vb & vc) | (vb & vd) | (vc & vd)) + ve + 0x8f1bbcdc + w(W, i);
    ve = vd; vd = vc; vc = rotl<u32>(vb, 30); vb = va; va = t;
  }
  for (let i: usize = 60; i < 80; i++) {
    const t = rotl<u32>(va, 5) + (vb ^ vc ^ vd) + ve + 0xca62c1d6 + w(W, i);
    ve = vd; vd = vc; vc = rotl<u32>(vb, 30); vb = va; va = t;
  }
  h0 += va; h1 += vb; h2 += vc; h3 += vd; h4 += ve;
  // The digest's 20 bytes, big-endian, into BLOCK (free again), then base64 with one "=".
  store<u32>(BLOCK, bswap<u32>(h0));
  store<u32>(BLOCK + 4, bswap<u32>(h1));
  store<u32>(BLOCK + 8, bswap<u32>(h2));
  store<u32>(BLOCK + 12, bswap<u32>(h3));
  store<u32>(BLOCK + 16, bswap<u32>(h4));
  store<u8>(BLOCK + 20, 0);
  const b64 = changetype<usize>(BASE64);
  p = byte(p, 0x31); // "1"
  p = byte(p, 0x3a); // ":"
  for (let i: usize = 0; i < 21; i += 3) {
    const n = (<u32>load<u8>(BLOCK + i) << 16) | (<u32>load<u8>(BLOCK + i + 1) << 8) | <u32>load<u8>(BLOCK + i + 2);
    p = byte(p, load<u16>(b64 + (<usize>(n >>> 18) << 1)));
    p = byte(p, load<u16>(b64 + (<usize>((n >>> 12) & 63) << 1)));
    p = byte(p, load<u16>(b64 + (<usize>((n >>> 6) & 63) << 1)));
    if (i < 18) p = byte(p, load<u16>(b64 + (<usize>(n & 63) << 1)));
  }
  return byte(p, 0x3d); // 20 = 6 * 3 + 2: the last two bytes make three characters and one "="
}
