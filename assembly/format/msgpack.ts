// A flow as msgpack (the API's `application/msgpack` answer, src/http/flow-job.ts and flow-writer.ts): the JSON
// object the column table wrote (fields.ts; the API asks for the nested shape) transcoded token by
// token, so the fields, their order, presence and values stay the table's. The bytes are those of
// msgpackr's `pack(JSON.parse(line))` with `useRecords: false, variableMapSize: true` (the host's
// encoder):
//   - a map or array takes its smallest header (fixmap/fixarray below 16 entries, else 16-bit);
//   - a string its smallest (fixstr below 32 bytes, str8, str16, str32): every text the table
//     writes is ASCII from a safe alphabet (fields.ts), so no escape and no quote inside one;
//   - true, false, null: 0xc3, 0xc2, 0xc0;
//   - a number is the double JSON.parse reads from its text, then, as msgpackr does: an integer in
//     [0, 2^32) the smallest unsigned form (positive fixint below 128), one in [-2^31, 0) the
//     smallest signed form, anything else a float64.
// The double: an integer's digits convert exactly (or, past 2^53, round to nearest as JSON.parse
// does); a fraction is its digits m over 10^k, exact operands whose IEEE quotient is the
// correctly rounded value JSON.parse gives (Clinger's fast path: m <= 2^53, k <= 22). A number
// outside that (an exponent, more digits: a timestamp past the year 2255) is not transcoded: the
// host encodes that flow itself (fmtFallback). test/host/engine-msgpack.test.ts compares every
// flow of the suite's captures with msgpackr's bytes.

// The transcode's cursors live in linear memory, as all engine state does (test/host/engine-state
// checks for mutable globals): the JSON read cursor and its end, the msgpack write cursor, and
// whether it gave up. They are dead between calls.
const CURSORS: usize = memory.data(16, 8);
@inline function src(): usize { return <usize>load<u32>(CURSORS); }
@inline function setSrc(p: usize): void { store<u32>(CURSORS, <u32>p); }
@inline function limit(): usize { return <usize>load<u32>(CURSORS, 4); }
@inline function dst(): usize { return <usize>load<u32>(CURSORS, 8); }
@inline function setDst(p: usize): void { store<u32>(CURSORS, <u32>p, 8); }
@inline function ok(): bool { return load<u8>(CURSORS, 12) != 0; }
@inline function fail(): void { store<u8>(CURSORS, 0, 12); }

const TWO32: u64 = 0x100000000;
const TWO31: u64 = 0x80000000;
const TWO53: u64 = 0x20000000000000;
const MAX_DIGITS = 19; // below 10^19 < 2^64: the digits fit a u64

/** 10^0 .. 10^22, each exact as a double. */
const POW10: StaticArray<f64> = [
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
  1e21, 1e22,
];

/**
 * Transcodes the JSON value at [from, to) into msgpack at `out` (which must not overlap it and
 * has room for three bytes per JSON byte: a 3-byte number becomes a 9-byte float64 at most).
 * Returns the end of what it wrote, or 0 when a number is outside the exact conversion (above).
 */
export function jsonToMsgpack(from: usize, to: usize, out: usize): usize {
  setSrc(from);
  store<u32>(CURSORS, <u32>to, 4);
  setDst(out);
  store<u8>(CURSORS, 1, 12);
  value();
  return ok() && src() == to ? dst() : 0;
}

/** The JSON byte at the read cursor; 0 (no token starts with it) at the end. */
@inline function peek(): u32 {
  const p = src();
  return p < limit() ? <u32>load<u8>(p) : 0;
}

function value(): void {
  const c = peek();
  if (c == 0x7b) container(0x7d, 0x80, 0xde, true);
  else if (c == 0x5b) container(0x5d, 0x90, 0xdc, false);
  else if (c == 0x22) str();
  else if (c == 0x74) word(0xc3, 4); // true
  else if (c == 0x66) word(0xc2, 5); // false
  else if (c == 0x6e) word(0xc0, 4); // null
  else number();
}

/** A literal (`length` bytes of JSON) as its one-byte code. */
@inline function word(code: u32, length: usize): void {
  const d = dst();
  store<u8>(d, code);
  setDst(d + 1);
  setSrc(src() + length);
}

/**
 * An object (`keyed`: its members are key:value) or an array, up to `close`. Its header goes in
 * front once the entries are counted: one byte (`fix` | n) is kept for it, and below 16 entries
 * that is all; else the entries move two bytes on for the 16-bit form (`wide`, then n).
 */
function container(close: u32, fix: u32, wide: u32, keyed: bool): void {
  const head = dst();
  setDst(head + 1);
  setSrc(src() + 1);
  let n: u32 = 0;
  if (peek() == close) setSrc(src() + 1);
  else {
    while (ok()) {
      if (keyed) {
        str();
        setSrc(src() + 1); // ':'
      }
      value();
      n++;
      const c = peek();
      setSrc(src() + 1);
      if (c == close) break;
      if (c != 0x2c) fail(); // not JSON (or cut short): the table writes none
    }
  }
  if (n < 16) {
    store<u8>(head, fix | n);
    return;
  }
  if (n > 0xffff) fail(); // never: a flow has fewer than 100 members, an array fewer than 256
  const end = dst();
  memory.copy(head + 3, head + 1, end - head - 1);
  setDst(end + 2);
  store<u8>(head, wide);
  store<u16>(head + 1, bswap<u16>(<u16>n));
}

/** A string: its bytes between the quotes, with the smallest header for their count. */
function str(): void {
  const start = src() + 1;
  const end = limit();
  let q = start;
  while (q < end && load<u8>(q) != 0x22) q++;
  if (q >= end) {
    fail();
    return;
  }
  setSrc(q + 1);
  const n = q - start;
  let d = dst();
  if (n < 32) {
    store<u8>(d, 0xa0 | <u32>n);
    d += 1;
  } else if (n < 0x100) {
    store<u8>(d, 0xd9);
    store<u8>(d + 1, <u8>n);
    d += 2;
  } else if (n < 0x10000) {
    store<u8>(d, 0xda);
    store<u16>(d + 1, bswap<u16>(<u16>n));
    d += 3;
  } else {
    store<u8>(d, 0xdb);
    store<u32>(d + 1, bswap<u32>(<u32>n));
    d += 5;
  }
  memory.copy(d, start, n);
  setDst(d + n);
}

/** A number: the double JSON.parse reads from the text, encoded as msgpackr encodes it. */
function number(): void {
  const neg = peek() == 0x2d;
  if (neg) setSrc(src() + 1);
  const end = limit();
  let p = src();
  let m: u64 = 0;
  let digits = 0;
  let fraction = 0;
  let point = false;
  let c: u32 = 0;
  while (true) {
    c = p < end ? <u32>load<u8>(p) : 0;
    if (c - 0x30 < 10) {
      if (++digits > MAX_DIGITS) {
        fail();
        return;
      }
      m = m * 10 + <u64>(c - 0x30);
      if (point) fraction++;
    } else if (c == 0x2e && !point) point = true;
    else break;
    p++;
  }
  setSrc(p);
  if (digits == 0 || c == 0x65 || c == 0x45) {
    fail(); // an exponent (or no digits at all): not what the table writes
    return;
  }
  if (!point) {
    // An integer: exact below 2^32 either way; beyond, the double nearest it, as JSON.parse reads.
    if (!neg && m < TWO32) unsigned(<u32>m);
    else if (neg && m <= TWO31) signed(-<i64>m);
    else float64(neg ? -<f64>m : <f64>m);
    return;
  }
  if (m > TWO53 || fraction > 22) {
    fail();
    return;
  }
  const v = <f64>m / unchecked(POW10[fraction]);
  const x = neg ? -v : v;
  // msgpackr's tests: value >>> 0 === value (an integer in [0, 2^32); -0 passes as 0), then
  // value >> 0 === value (a negative int32), else a double.
  if (x >= 0 && x < 4294967296.0 && Math.floor(x) == x) unsigned(<u32>x);
  else if (x < 0 && x >= -2147483648.0 && Math.floor(x) == x) signed(<i64>x);
  else float64(x);
}

/** An integer in [0, 2^32), as msgpackr writes it with useRecords: false. */
function unsigned(v: u32): void {
  const d = dst();
  if (v < 0x80) {
    store<u8>(d, v);
    setDst(d + 1);
  } else if (v < 0x100) {
    store<u8>(d, 0xcc);
    store<u8>(d + 1, v);
    setDst(d + 2);
  } else if (v < 0x10000) {
    store<u8>(d, 0xcd);
    store<u16>(d + 1, bswap<u16>(<u16>v));
    setDst(d + 3);
  } else {
    store<u8>(d, 0xce);
    store<u32>(d + 1, bswap<u32>(v));
    setDst(d + 5);
  }
}

/** A negative integer in [-2^31, 0) (0 itself: unsigned), as msgpackr writes it. */
function signed(v: i64): void {
  const d = dst();
  if (v == 0) {
    store<u8>(d, 0);
    setDst(d + 1);
  } else if (v >= -0x20) {
    store<u8>(d, <u32>(0x100 + v));
    setDst(d + 1);
  } else if (v >= -0x80) {
    store<u8>(d, 0xd0);
    store<u8>(d + 1, <u32>(0x100 + v));
    setDst(d + 2);
  } else if (v >= -0x8000) {
    store<u8>(d, 0xd1);
    store<u16>(d + 1, bswap<u16>(<u16><i16>v));
    setDst(d + 3);
  } else {
    store<u8>(d, 0xd2);
    store<u32>(d + 1, bswap<u32>(<u32><i32>v));
    setDst(d + 5);
  }
}

@inline function float64(x: f64): void {
  const d = dst();
  store<u8>(d, 0xcb);
  store<u64>(d + 1, bswap<u64>(reinterpret<u64>(x)));
  setDst(d + 9);
}
