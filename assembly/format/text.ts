// Text writers of the output formatter (fields.ts): numbers, seconds and addresses as ASCII.
//
// Contract: every writer takes the write position `p` in linear memory and returns the position
// after what it wrote; the caller guarantees room (state.ts keeps FMT_RECORD_ROOM bytes free past
// the flush mark before each record). No writer allocates or keeps state.
//
// Numbers mirror the host's JavaScript arithmetic bit for bit (src/format/ascii.ts, JSON.stringify):
// values arrive as f64 exactly as the host read them (a u64 field as hi * 2^32 + lo), and the
// digit loops use the same f64 operations, so even a 64-bit timestamp past 2^53 µs (a pcapng
// if_tsoffset far from the epoch) prints the same digits on both sides.

import { dtoa_buffered } from "util/number";

/** Writes one byte. */
@inline export function byte(p: usize, c: u32): usize { store<u8>(p, c); return p + 1; }

/** Writes the ASCII of a string literal (code units below 128; the literals here are ASCII). */
export function str(p: usize, s: string): usize {
  const src = changetype<usize>(s);
  const n = <usize>s.length;
  // SAFETY: a string's UTF-16 code units lie at [src, src + 2n).
  for (let i: usize = 0; i < n; i++) store<u8>(p + i, load<u16>(src + (i << 1)));
  return p + n;
}

/**
 * Copies n bytes (n <= 64) eight at a time: it may write up to 7 bytes past p + n, which the next
 * write overwrites (the buffer keeps room past every record, state.ts) and reads past src + n
 * (source tables are padded to 8 bytes, state.ts).
 */
@inline export function copy(p: usize, src: usize, n: usize): usize {
  for (let i: usize = 0; i < n; i += 8) store<u64>(p + i, load<u64>(src + i));
  return p + n;
}

/**
 * Copies n bytes (n <= 64) from a table whose 32 bytes at src may be read: up to 32 with two
 * 16-byte stores (it may write up to 32 - n bytes past p + n, as copy() does), more with two more
 * that end at n. No loop: the row functions inline this for every key (fields.ts jsonColumn), and
 * V8 unrolls each small loop it finds, so the Zeek JSON row (41 keys) compiled in 17 ms with a
 * copy() loop per key against 9 ms with none. `short`: the caller knows n <= 32 (no test of n).
 */
@inline export function copy32(p: usize, src: usize, n: usize, short: bool = false): usize {
  v128.store(p, v128.load(src));
  v128.store(p, v128.load(src, 16), 16);
  if (!short && n > 32) {
    // SAFETY: 32 < n <= 64, so [n - 32, n) lies in [0, n) and the two cover [32, n).
    v128.store(p + n - 32, v128.load(src + n - 32));
    v128.store(p + n - 16, v128.load(src + n - 16));
  }
  return p + n;
}

/**
 * Writes a short literal (up to 8 bytes) given as its bytes in little-endian order, with one
 * store: it may write up to 8 - n bytes past p + n, which the next write overwrites.
 */
@inline export function lit(p: usize, bytes: u64, n: usize): usize {
  store<u64>(p, bytes);
  return p + n;
}

const TWO32: f64 = 4294967296.0;

/** A little-endian u64 at `at`, as the host reads it: hi * 2^32 + lo in doubles (src/wasm/record.ts). */
@inline export function u64f(at: usize): f64 { return <f64>load<u32>(at, 4) * TWO32 + <f64>load<u32>(at); }
/** A little-endian i64 at `at`, as the host reads it: hi (signed) * 2^32 + lo in doubles. */
@inline export function i64f(at: usize): f64 { return <f64>load<i32>(at, 4) * TWO32 + <f64>load<u32>(at); }

/** "00" to "99": two digits per division (the counts and ports of a line are mostly 2-5 digits). */
const DIGIT_PAIRS: usize = memory.data<u8>([48,48,48,49,48,50,48,51,48,52,48,53,48,54,48,55,48,56,48,57,49,48,49,49,49,50,49,51,49,52,49,53,49,54,49,55,49,56,49,57,50,48,50,49,50,50,50,51,50,52,50,53,50,54,50,55,50,56,50,57,51,48,51,49,51,50,51,51,51,52,51,53,51,54,51,55,51,56,51,57,52,48,52,49,52,50,52,51,52,52,52,53,52,54,52,55,52,56,52,57,53,48,53,49,53,50,53,51,53,52,53,53,53,54,53,55,53,56,53,57,54,48,54,49,54,50,54,51,54,52,54,53,54,54,54,55,54,56,54,57,55,48,55,49,55,50,55,51,55,52,55,53,55,54,55,55,55,56,55,57,56,48,56,49,56,50,56,51,56,52,56,53,56,54,56,55,56,56,56,57,57,48,57,49,57,50,57,51,57,52,57,53,57,54,57,55,57,56,57,57]);

/** 10^i for i in 0..9 (digit counts of a u32). */
const POW10: usize = memory.data<u32>([1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000]);

/**
 * A u32 in decimal. The digit count comes without branches (log10 from the bit length, then one
 * comparison with a power of ten): the lengths of a line's counts vary from flow to flow, and a
 * mispredicted branch per number cost more than the digits.
 */
@inline export function uint32(p: usize, x: u32): usize {
  const t = ((32 - clz<u32>(x | 1)) * 1233) >>> 12; // floor(log10(2^bits)), bits the bit length
  const digits = <usize>(t + 1 - <u32>((x | 1) < load<u32>(POW10 + (<usize>t << 2))));
  let q = p + digits;
  while (x >= 100) {
    const d = x / 100;
    q -= 2;
    store<u16>(q, load<u16>(DIGIT_PAIRS + (<usize>(x - d * 100) << 1)));
    x = d;
  }
  if (x >= 10) store<u16>(q - 2, load<u16>(DIGIT_PAIRS + (<usize>x << 1)));
  else store<u8>(q - 1, 48 + x);
  return p + digits;
}

/** The little-endian u64 count at `at` in decimal: uint(u64f(at)), the high word tested first. */
@inline export function count64(p: usize, at: usize): usize {
  return load<u32>(at, 4) == 0 ? uint32(p, load<u32>(at)) : uint(p, u64f(at));
}

/** A non-negative integer (below 2^64) in decimal: AsciiWriter.uint's digit loop. */
export function uint(p: usize, n: f64): usize {
  if (n < 4294967296.0) return uint32(p, <u32>n);
  let digits: usize = 1;
  for (let t: f64 = 10; t <= n; t *= 10) digits++;
  let q = p + digits;
  if (n < 2147483648) {
    let x = <u32>n;
    while (x >= 10) {
      const d = x / 10;
      store<u8>(--q, 48 + (x - d * 10));
      x = d;
    }
    store<u8>(--q, 48 + x);
  } else {
    let x = n;
    while (x >= 10) {
      const d = Math.floor(x / 10);
      store<u8>(--q, <u8><i32>(48 + (x - d * 10)));
      x = d;
    }
    store<u8>(--q, <u8><i32>(48 + x));
  }
  return p + digits;
}

/**
 * The whole seconds of `t` µs (0 <= t < 2^53): integer division by 10^6 gives the digits the
 * double path gives (floor(us / 1e6) is exact there).
 */
@inline function wholeSeconds(p: usize, whole: u64): usize {
  return whole < 4294967296 ? uint32(p, <u32>whole) : uint(p, <f64>whole);
}

/** The six digits of `f` (< 10^6) after a point at p, in three pairs. */
@inline function sixDigits(p: usize, f: u32): void {
  const hi = f / 10000, rest = f - hi * 10000, mid = rest / 100;
  store<u8>(p, 0x2e);
  store<u16>(p + 1, load<u16>(DIGIT_PAIRS + (<usize>hi << 1)));
  store<u16>(p + 3, load<u16>(DIGIT_PAIRS + (<usize>mid << 1)));
  store<u16>(p + 5, load<u16>(DIGIT_PAIRS + (<usize>(rest - mid * 100) << 1)));
}

/** Integer µs as seconds with exactly six decimals (Zeek TSV `time`/`interval`): AsciiWriter.fixed6. */
export function fixed6(p: usize, us: f64): usize {
  if (us < 0) {
    p = byte(p, 0x2d);
    us = -us;
  }
  if (us < 9007199254740992.0) {
    // Below 2^53 whole µs convert exactly: integer digits, no double division.
    const t = <u64><i64>us, whole = t / 1000000;
    p = wholeSeconds(p, whole);
    sixDigits(p, <u32>(t - whole * 1000000));
    return p + 7;
  }
  const whole = Math.floor(us / 1e6);
  let frac = us - whole * 1e6;
  p = uint(p, whole);
  store<u8>(p, 0x2e);
  for (let i: usize = 6; i >= 1; i--) {
    const q = <f64><i32>(frac / 10);
    store<u8>(p + i, <u8><i32>(48 + (frac - q * 10)));
    frac = q;
  }
  return p + 7;
}

/**
 * Integer µs as seconds in the shortest form (`1324071333.493287`, `0.5`, `300`): AsciiWriter.seconds,
 * which equals JSON.stringify(us / 1e6) for any time below 2^32 s.
 */
export function seconds(p: usize, us: f64): usize {
  if (us < 0) {
    p = byte(p, 0x2d);
    us = -us;
  }
  if (us < 9007199254740992.0) {
    // Below 2^53 whole µs convert exactly: integer digits, no double division.
    const t = <u64><i64>us, whole = t / 1000000;
    p = wholeSeconds(p, whole);
    const f = <u32>(t - whole * 1000000);
    if (f == 0) return p;
    // Six digits, then the trailing zeros dropped (f > 0: one digit is not zero).
    sixDigits(p, f);
    let end = p + 7;
    while (load<u8>(end - 1) == 48) end--;
    return end;
  }
  const whole = Math.floor(us / 1e6);
  let frac = us - whole * 1e6;
  p = uint(p, whole);
  if (frac == 0) return p;
  let digits: usize = 6;
  while (frac % 10 == 0) {
    frac /= 10;
    digits--;
  }
  store<u8>(p, 0x2e);
  for (let i = digits; i >= 1; i--) {
    const q = <f64><i32>(frac / 10);
    store<u8>(p + i, <u8><i32>(48 + (frac - q * 10)));
    frac = q;
  }
  return p + digits + 1;
}

/**
 * JSON.stringify of a double that holds whole microseconds as seconds (Math.round(x * 1e6) / 1e6,
 * the anomalies' ts and idle_s): below 2^33 s, the digits of those microseconds (two such values
 * are more than half a double's spacing apart, so these digits are the shortest that read back
 * as the double, which is what JSON.stringify prints). Beyond (a timestamp past the year 2242),
 * the shortest digits come from the standard library's Grisu conversion, written as UTF-16 past
 * the output position and narrowed in place.
 */
export function roundedSeconds(p: usize, s: f64): usize {
  if (s == 0) return byte(p, 0x30); // JSON.stringify(-0) is "0"
  if (Math.abs(s) < 8589934592.0) return seconds(p, Math.round(s * 1e6));
  const wide = p + 64;
  let n = <usize>dtoa_buffered<f64>(wide, s);
  for (let i: usize = 0; i < n; i++) store<u8>(p + i, load<u16>(wide + (i << 1)));
  // The standard library writes an integral double as "5.0"; JavaScript as "5".
  if (n >= 2 && load<u8>(p + n - 2) == 0x2e && load<u8>(p + n - 1) == 0x30) n -= 2;
  return p + n;
}

/** True when the 16 bytes at `a` are `::ffff:0:0/96` (an IPv4 address in the engine's key). */
@inline export function isV4Mapped(a: usize): bool {
  return load<u32>(a) == 0 && load<u32>(a, 4) == 0 && load<u32>(a, 8) == 0xffff0000;
}

/** "0" to "255" for dotted quads: three ASCII bytes (zero-padded on the right), then the length. */
const OCTETS: usize = memory.data<u8>([
  48,0,0,1, 49,0,0,1, 50,0,0,1, 51,0,0,1, 52,0,0,1, 53,0,0,1, 54,0,0,1, 55,0,0,1,
  56,0,0,1, 57,0,0,1, 49,48,0,2, 49,49,0,2, 49,50,0,2, 49,51,0,2, 49,52,0,2, 49,53,0,2,
  49,54,0,2, 49,55,0,2, 49,56,0,2, 49,57,0,2, 50,48,0,2, 50,49,0,2, 50,50,0,2, 50,51,0,2,
  50,52,0,2, 50,53,0,2, 50,54,0,2, 50,55,0,2, 50,56,0,2, 50,57,0,2, 51,48,0,2, 51,49,0,2,
  51,50,0,2, 51,51,0,2, 51,52,0,2, 51,53,0,2, 51,54,0,2, 51,55,0,2, 51,56,0,2, 51,57,0,2,
  52,48,0,2, 52,49,0,2, 52,50,0,2, 52,51,0,2, 52,52,0,2, 52,53,0,2, 52,54,0,2, 52,55,0,2,
  52,56,0,2, 52,57,0,2, 53,48,0,2, 53,49,0,2, 53,50,0,2, 53,51,0,2, 53,52,0,2, 53,53,0,2,
  53,54,0,2, 53,55,0,2, 53,56,0,2, 53,57,0,2, 54,48,0,2, 54,49,0,2, 54,50,0,2, 54,51,0,2,
  54,52,0,2, 54,53,0,2, 54,54,0,2, 54,55,0,2, 54,56,0,2, 54,57,0,2, 55,48,0,2, 55,49,0,2,
  55,50,0,2, 55,51,0,2, 55,52,0,2, 55,53,0,2, 55,54,0,2, 55,55,0,2, 55,56,0,2, 55,57,0,2,
  56,48,0,2, 56,49,0,2, 56,50,0,2, 56,51,0,2, 56,52,0,2, 56,53,0,2, 56,54,0,2, 56,55,0,2,
  56,56,0,2, 56,57,0,2, 57,48,0,2, 57,49,0,2, 57,50,0,2, 57,51,0,2, 57,52,0,2, 57,53,0,2,
  57,54,0,2, 57,55,0,2, 57,56,0,2, 57,57,0,2, 49,48,48,3, 49,48,49,3, 49,48,50,3, 49,48,51,3,
  49,48,52,3, 49,48,53,3, 49,48,54,3, 49,48,55,3, 49,48,56,3, 49,48,57,3, 49,49,48,3, 49,49,49,3,
  49,49,50,3, 49,49,51,3, 49,49,52,3, 49,49,53,3, 49,49,54,3, 49,49,55,3, 49,49,56,3, 49,49,57,3,
  49,50,48,3, 49,50,49,3, 49,50,50,3, 49,50,51,3, 49,50,52,3, 49,50,53,3, 49,50,54,3, 49,50,55,3,
  49,50,56,3, 49,50,57,3, 49,51,48,3, 49,51,49,3, 49,51,50,3, 49,51,51,3, 49,51,52,3, 49,51,53,3,
  49,51,54,3, 49,51,55,3, 49,51,56,3, 49,51,57,3, 49,52,48,3, 49,52,49,3, 49,52,50,3, 49,52,51,3,
  49,52,52,3, 49,52,53,3, 49,52,54,3, 49,52,55,3, 49,52,56,3, 49,52,57,3, 49,53,48,3, 49,53,49,3,
  49,53,50,3, 49,53,51,3, 49,53,52,3, 49,53,53,3, 49,53,54,3, 49,53,55,3, 49,53,56,3, 49,53,57,3,
  49,54,48,3, 49,54,49,3, 49,54,50,3, 49,54,51,3, 49,54,52,3, 49,54,53,3, 49,54,54,3, 49,54,55,3,
  49,54,56,3, 49,54,57,3, 49,55,48,3, 49,55,49,3, 49,55,50,3, 49,55,51,3, 49,55,52,3, 49,55,53,3,
  49,55,54,3, 49,55,55,3, 49,55,56,3, 49,55,57,3, 49,56,48,3, 49,56,49,3, 49,56,50,3, 49,56,51,3,
  49,56,52,3, 49,56,53,3, 49,56,54,3, 49,56,55,3, 49,56,56,3, 49,56,57,3, 49,57,48,3, 49,57,49,3,
  49,57,50,3, 49,57,51,3, 49,57,52,3, 49,57,53,3, 49,57,54,3, 49,57,55,3, 49,57,56,3, 49,57,57,3,
  50,48,48,3, 50,48,49,3, 50,48,50,3, 50,48,51,3, 50,48,52,3, 50,48,53,3, 50,48,54,3, 50,48,55,3,
  50,48,56,3, 50,48,57,3, 50,49,48,3, 50,49,49,3, 50,49,50,3, 50,49,51,3, 50,49,52,3, 50,49,53,3,
  50,49,54,3, 50,49,55,3, 50,49,56,3, 50,49,57,3, 50,50,48,3, 50,50,49,3, 50,50,50,3, 50,50,51,3,
  50,50,52,3, 50,50,53,3, 50,50,54,3, 50,50,55,3, 50,50,56,3, 50,50,57,3, 50,51,48,3, 50,51,49,3,
  50,51,50,3, 50,51,51,3, 50,51,52,3, 50,51,53,3, 50,51,54,3, 50,51,55,3, 50,51,56,3, 50,51,57,3,
  50,52,48,3, 50,52,49,3, 50,52,50,3, 50,52,51,3, 50,52,52,3, 50,52,53,3, 50,52,54,3, 50,52,55,3,
  50,52,56,3, 50,52,57,3, 50,53,48,3, 50,53,49,3, 50,53,50,3, 50,53,51,3, 50,53,52,3, 50,53,53,3,
]);

/**
 * RFC 5952 §4.2.2-4.2.3 by table: for each set of zero groups (bit g: the address's group g is 0),
 * the first longest run of two or more of them as start | length << 8, or 0 for none.
 */
const ZERO_RUNS: usize = memory.data<u16>([
  0, 0, 0, 512, 0, 0, 513, 768, 0, 0, 0, 512, 514, 514, 769, 1024,
  0, 0, 0, 512, 0, 0, 513, 768, 515, 515, 515, 512, 770, 770, 1025, 1280,
  0, 0, 0, 512, 0, 0, 513, 768, 0, 0, 0, 512, 514, 514, 769, 1024,
  516, 516, 516, 512, 516, 516, 513, 768, 771, 771, 771, 771, 1026, 1026, 1281, 1536,
  0, 0, 0, 512, 0, 0, 513, 768, 0, 0, 0, 512, 514, 514, 769, 1024,
  0, 0, 0, 512, 0, 0, 513, 768, 515, 515, 515, 512, 770, 770, 1025, 1280,
  517, 517, 517, 512, 517, 517, 513, 768, 517, 517, 517, 512, 514, 514, 769, 1024,
  772, 772, 772, 772, 772, 772, 772, 768, 1027, 1027, 1027, 1027, 1282, 1282, 1537, 1792,
  0, 0, 0, 512, 0, 0, 513, 768, 0, 0, 0, 512, 514, 514, 769, 1024,
  0, 0, 0, 512, 0, 0, 513, 768, 515, 515, 515, 512, 770, 770, 1025, 1280,
  0, 0, 0, 512, 0, 0, 513, 768, 0, 0, 0, 512, 514, 514, 769, 1024,
  516, 516, 516, 512, 516, 516, 513, 768, 771, 771, 771, 771, 1026, 1026, 1281, 1536,
  518, 518, 518, 512, 518, 518, 513, 768, 518, 518, 518, 512, 514, 514, 769, 1024,
  518, 518, 518, 512, 518, 518, 513, 768, 515, 515, 515, 512, 770, 770, 1025, 1280,
  773, 773, 773, 773, 773, 773, 773, 768, 773, 773, 773, 773, 773, 773, 769, 1024,
  1028, 1028, 1028, 1028, 1028, 1028, 1028, 1028, 1283, 1283, 1283, 1283, 1538, 1538, 1793, 2048,
]);

/** "00" to "ff": two lowercase hex digits per byte. */
const HEX_PAIRS: usize = memory.data<u8>([
  48, 48, 48, 49, 48, 50, 48, 51, 48, 52, 48, 53, 48, 54, 48, 55, 48, 56, 48, 57, 48, 97, 48, 98, 48, 99, 48, 100, 48, 101, 48, 102,
  49, 48, 49, 49, 49, 50, 49, 51, 49, 52, 49, 53, 49, 54, 49, 55, 49, 56, 49, 57, 49, 97, 49, 98, 49, 99, 49, 100, 49, 101, 49, 102,
  50, 48, 50, 49, 50, 50, 50, 51, 50, 52, 50, 53, 50, 54, 50, 55, 50, 56, 50, 57, 50, 97, 50, 98, 50, 99, 50, 100, 50, 101, 50, 102,
  51, 48, 51, 49, 51, 50, 51, 51, 51, 52, 51, 53, 51, 54, 51, 55, 51, 56, 51, 57, 51, 97, 51, 98, 51, 99, 51, 100, 51, 101, 51, 102,
  52, 48, 52, 49, 52, 50, 52, 51, 52, 52, 52, 53, 52, 54, 52, 55, 52, 56, 52, 57, 52, 97, 52, 98, 52, 99, 52, 100, 52, 101, 52, 102,
  53, 48, 53, 49, 53, 50, 53, 51, 53, 52, 53, 53, 53, 54, 53, 55, 53, 56, 53, 57, 53, 97, 53, 98, 53, 99, 53, 100, 53, 101, 53, 102,
  54, 48, 54, 49, 54, 50, 54, 51, 54, 52, 54, 53, 54, 54, 54, 55, 54, 56, 54, 57, 54, 97, 54, 98, 54, 99, 54, 100, 54, 101, 54, 102,
  55, 48, 55, 49, 55, 50, 55, 51, 55, 52, 55, 53, 55, 54, 55, 55, 55, 56, 55, 57, 55, 97, 55, 98, 55, 99, 55, 100, 55, 101, 55, 102,
  56, 48, 56, 49, 56, 50, 56, 51, 56, 52, 56, 53, 56, 54, 56, 55, 56, 56, 56, 57, 56, 97, 56, 98, 56, 99, 56, 100, 56, 101, 56, 102,
  57, 48, 57, 49, 57, 50, 57, 51, 57, 52, 57, 53, 57, 54, 57, 55, 57, 56, 57, 57, 57, 97, 57, 98, 57, 99, 57, 100, 57, 101, 57, 102,
  97, 48, 97, 49, 97, 50, 97, 51, 97, 52, 97, 53, 97, 54, 97, 55, 97, 56, 97, 57, 97, 97, 97, 98, 97, 99, 97, 100, 97, 101, 97, 102,
  98, 48, 98, 49, 98, 50, 98, 51, 98, 52, 98, 53, 98, 54, 98, 55, 98, 56, 98, 57, 98, 97, 98, 98, 98, 99, 98, 100, 98, 101, 98, 102,
  99, 48, 99, 49, 99, 50, 99, 51, 99, 52, 99, 53, 99, 54, 99, 55, 99, 56, 99, 57, 99, 97, 99, 98, 99, 99, 99, 100, 99, 101, 99, 102,
  100, 48, 100, 49, 100, 50, 100, 51, 100, 52, 100, 53, 100, 54, 100, 55, 100, 56, 100, 57, 100, 97, 100, 98, 100, 99, 100, 100, 100, 101, 100, 102,
  101, 48, 101, 49, 101, 50, 101, 51, 101, 52, 101, 53, 101, 54, 101, 55, 101, 56, 101, 57, 101, 97, 101, 98, 101, 99, 101, 100, 101, 101, 101, 102,
  102, 48, 102, 49, 102, 50, 102, 51, 102, 52, 102, 53, 102, 54, 102, 55, 102, 56, 102, 57, 102, 97, 102, 98, 102, 99, 102, 100, 102, 101, 102, 102,
]);

/**
 * Group `g` of the address at `a` in lowercase hex without leading zeros (RFC 5952 §4.1): the
 * group's four digits stored at once, shifted past its leading zeros (the bytes past its digits
 * are overwritten by what follows).
 */
@inline function hexGroup(p: usize, a: usize, g: usize): usize {
  const hi = <usize>load<u8>(a + (g << 1)), lo = <usize>load<u8>(a + (g << 1) + 1);
  const digits = <usize>((35 - clz<u32>(<u32>((hi << 8) | lo | 1))) >>> 2); // (bit length + 3) / 4
  const text = <u32>load<u16>(HEX_PAIRS + (hi << 1)) | (<u32>load<u16>(HEX_PAIRS + (lo << 1)) << 16);
  store<u32>(p, text >>> ((4 - <u32>digits) << 3));
  return p + digits;
}

/**
 * The engine's 16-byte address at `a`: dotted quad for v4-mapped, else RFC 5952 §4 (lowercase
 * hex, no leading zeros, the first longest run of two or more zero groups as `::`), as
 * src/net/address.ts prints it.
 */
export function address(p: usize, a: usize): usize {
  if (isV4Mapped(a)) {
    // Each octet's four table bytes stored at once (the unused ones are overwritten by what follows).
    let o = OCTETS + (<usize>load<u8>(a, 12) << 2);
    store<u32>(p, load<u32>(o));
    p += <usize>load<u8>(o, 3);
    store<u8>(p++, 0x2e);
    o = OCTETS + (<usize>load<u8>(a, 13) << 2);
    store<u32>(p, load<u32>(o));
    p += <usize>load<u8>(o, 3);
    store<u8>(p++, 0x2e);
    o = OCTETS + (<usize>load<u8>(a, 14) << 2);
    store<u32>(p, load<u32>(o));
    p += <usize>load<u8>(o, 3);
    store<u8>(p++, 0x2e);
    o = OCTETS + (<usize>load<u8>(a, 15) << 2);
    store<u32>(p, load<u32>(o));
    return p + <usize>load<u8>(o, 3);
  }
  // IPv6: the groups before the first longest run of zero groups, `::`, the groups after it.
  const zeros = i16x8.bitmask(i16x8.eq(v128.load(a), i16x8.splat(0)));
  const run = <usize>load<u16>(ZERO_RUNS + (<usize>zeros << 1));
  const start = run & 0xff, after = start + (run >>> 8);
  const head: usize = run == 0 ? 8 : start;
  for (let g: usize = 0; g < head; g++) {
    if (g > 0) p = byte(p, 0x3a);
    p = hexGroup(p, a, g);
  }
  if (run == 0) return p;
  store<u16>(p, 0x3a3a); // ::
  p += 2;
  for (let g = after; g < 8; g++) {
    if (g > after) p = byte(p, 0x3a);
    p = hexGroup(p, a, g);
  }
  return p;
}
