// Internet checksum (RFC 1071) over raw linear memory: the IPv4 header checksum (RFC 791 §3.1) and the
// TCP/UDP checksum over the IPv4/IPv6 pseudo-header (RFC 9293 §3.1, RFC 768, RFC 8200 §8.1).
//
// Contract: csumAdd(p, n, acc) reads exactly the bytes [p, p+n). The caller has checked that this range
// lies inside the captured record; nothing here reads past p+n (the SIMD loop stops 16 bytes short).
//
// Byte order: wasm loads are little-endian. The one's-complement sum is byte-order independent
// (RFC 1071 §2(B)), so we add the raw little-endian 16-bit words and never swap the data. Only the
// pseudo-header words we build from numbers (protocol, length) are moved into that domain
// (the protocol as a constant, the length by pseudoLen).
// A folded sum of 0xFFFF means "valid", in either byte order.
//
// Speed: this runs over every byte of full-packet captures, so it uses SIMD: 16 bytes per step,
// i32x4.extadd_pairwise_i16x8_u turns 8 u16 words into 4 u32 lane sums. A lane grows by at most
// 2 * 0xFFFF per step, so lanes are flushed into the u64 accumulator every LANE_FLUSH_STEPS steps,
// long before they could overflow (2^32 / 0x1FFFE = 32768 steps).

const SIMD_STEP: usize = 16;
const LANE_FLUSH_STEPS: usize = 16384;
/**
 * Below this many bytes the sum is taken with scalar 4-byte loads: a 20-byte IPv4 header or the
 * 20-60 byte TCP header of a pure ACK is five to fifteen loads, and the SIMD loop's set-up and lane
 * extraction would cost more than the sum itself.
 */
const SIMD_MIN: usize = 128;

/**
 * Adds [p, p+n) to `acc` with 4-byte loads: each u32 is added whole (a 32-bit little-endian word
 * is congruent to the sum of its two 16-bit words modulo 0xFFFF, so the folded result is the same
 * as adding 16-bit words). Inlined where the length is small (headers): n < 128, so there are at
 * most 31 whole words, entered by their count through one jump table (a switch whose cases fall
 * through, last word first), then the 2 and 1 bytes the bits of n say are left; no loop runs (each
 * pass of a wasm loop also pays V8's interrupt check) and no test is made a word block. A u32 word
 * is one zero-extending load and one add (an 8-byte word split in its halves took six
 * instructions for two of them).
 */
@inline export function csumAddSmall(p: usize, n: usize, acc: u64): u64 {
  if (SIMD_MIN > 128) ERROR("csumAddSmall takes n < 128");
  let sum = acc;
  // SAFETY: word k (from 0) is read only when n >= 4 * (k + 1), so every load stays below p + n.
  switch (<u32>(n >> 2)) {
    case 31: sum += <u64>load<u32>(p, 120);
    case 30: sum += <u64>load<u32>(p, 116);
    case 29: sum += <u64>load<u32>(p, 112);
    case 28: sum += <u64>load<u32>(p, 108);
    case 27: sum += <u64>load<u32>(p, 104);
    case 26: sum += <u64>load<u32>(p, 100);
    case 25: sum += <u64>load<u32>(p, 96);
    case 24: sum += <u64>load<u32>(p, 92);
    case 23: sum += <u64>load<u32>(p, 88);
    case 22: sum += <u64>load<u32>(p, 84);
    case 21: sum += <u64>load<u32>(p, 80);
    case 20: sum += <u64>load<u32>(p, 76);
    case 19: sum += <u64>load<u32>(p, 72);
    case 18: sum += <u64>load<u32>(p, 68);
    case 17: sum += <u64>load<u32>(p, 64);
    case 16: sum += <u64>load<u32>(p, 60);
    case 15: sum += <u64>load<u32>(p, 56);
    case 14: sum += <u64>load<u32>(p, 52);
    case 13: sum += <u64>load<u32>(p, 48);
    case 12: sum += <u64>load<u32>(p, 44);
    case 11: sum += <u64>load<u32>(p, 40);
    case 10: sum += <u64>load<u32>(p, 36);
    case 9: sum += <u64>load<u32>(p, 32);
    case 8: sum += <u64>load<u32>(p, 28);
    case 7: sum += <u64>load<u32>(p, 24);
    case 6: sum += <u64>load<u32>(p, 20);
    case 5: sum += <u64>load<u32>(p, 16);
    case 4: sum += <u64>load<u32>(p, 12);
    case 3: sum += <u64>load<u32>(p, 8);
    case 2: sum += <u64>load<u32>(p, 4);
    case 1: sum += <u64>load<u32>(p, 0);
    default:
  }
  // SAFETY: the tail blocks follow the words (i = n rounded down to 4), each read when its bit of n is set.
  let i = n & ~3;
  if ((n & 2) != 0) { sum += <u64>load<u16>(p + i); i += 2; }
  // An odd last byte is padded with a zero byte after it (RFC 1071 §4.1): as a little-endian
  // word that is just the byte itself.
  if ((n & 1) != 0) sum += <u64>load<u8>(p + i);
  return sum;
}

/** Adds the bytes [p, p+n) to the running little-endian-word sum `acc` (unfolded, 64-bit). */
export function csumAdd(p: usize, n: usize, acc: u64): u64 {
  if (n < SIMD_MIN) return csumAddSmall(p, n, acc);
  let sum = acc;
  let i: usize = 0;
  while (i + SIMD_STEP <= n) {
    let lanes = i32x4.splat(0);
    let steps: usize = 0;
    // SAFETY: i + 16 <= n, so the 16-byte load stays inside [p, p+n).
    while (i + SIMD_STEP <= n && steps < LANE_FLUSH_STEPS) {
      lanes = i32x4.add(lanes, i32x4.extadd_pairwise_i16x8_u(v128.load(p + i)));
      i += SIMD_STEP;
      steps++;
    }
    sum += <u64><u32>i32x4.extract_lane(lanes, 0) + <u64><u32>i32x4.extract_lane(lanes, 1) +
           <u64><u32>i32x4.extract_lane(lanes, 2) + <u64><u32>i32x4.extract_lane(lanes, 3);
  }
  // SAFETY: i <= n; the tail [p+i, p+n) is under 16 bytes.
  return csumAddSmall(p + i, n - i, sum);
}

/**
 * True when a 64-bit sum (csumAdd's, unfolded) folds to 0xFFFF, without the fold. Folding with
 * end-around carry (RFC 1071 §4.1) keeps the value modulo 0xFFFF (2^16 = 1 mod 0xFFFF) and never
 * folds a nonzero sum to 0, so it ends at 0xFFFF exactly when the sum is a nonzero multiple of
 * 0xFFFF. For the odd 0xFFFF that is one multiply and one compare (Granlund & Montgomery 1994 §9,
 * Hacker's Delight 10-17: x is a multiple of d when x * d^-1 mod 2^64 <= (2^64 - 1) / d), where the
 * four folding steps took some 17 instructions: x * d^-1 - 1 < (2^64 - 1) / d, 0 wrapping to the top.
 */
@inline export function csumFoldsValid(sum: u64): bool {
  return sum * CSUM_DIVISOR_INVERSE - 1 < CSUM_MULTIPLES;
}
/** A sum csumFoldsValid() accepts. */
export const CSUM_VALID: u64 = 0xFFFF;
/** 0xFFFF^-1 modulo 2^64 (0xFFFF * this = 1 mod 2^64). */
const CSUM_DIVISOR_INVERSE: u64 = 0xFFFEFFFEFFFEFFFF;
/** (2^64 - 1) / 0xFFFF: the largest quotient of a multiple of 0xFFFF. */
const CSUM_MULTIPLES: u64 = 0x0001000100010001;

/** True when the data, including its checksum field, sums to 0xFFFF. */
@inline export function csumValid(p: usize, n: usize, acc: u64): bool {
  return csumFoldsValid(n < SIMD_MIN ? csumAddSmall(p, n, acc) : csumAdd(p, n, acc));
}

/**
 * csumValid(p, 20, 0) written out for the option-less IPv4 header (RFC 791 §3.1): five 4-byte
 * loads, with no loop or length tests (the header of nearly every packet).
 */
@inline export function csumValid20(p: usize): bool {
  return csumFoldsValid(csumSum20(p));
}

/** csumAddSmall(p, 20, 0): the five 32-bit words of a 20-byte header (an IPv4 or a TCP header), added. */
@inline export function csumSum20(p: usize): u64 {
  return <u64>load<u32>(p) + <u64>load<u32>(p, 4) + <u64>load<u32>(p, 8) + <u64>load<u32>(p, 12) + <u64>load<u32>(p, 16);
}

/**
 * A 16-bit length for the pseudo-header, as a term of a sum that is only tested for validity
 * (csumValid): x << 8 is congruent modulo 0xFFFF to the byte-swapped word (hi * 2^16 = hi mod
 * 0xFFFF), every fold step keeps the sum modulo 0xFFFF, and a sum holding the nonzero protocol
 * word never folds to 0, so the verdict is the one the byte-swapped word gives, for one shift.
 */
@inline export function pseudoLen(x: u32): u64 {
  return <u64>x << 8;
}
