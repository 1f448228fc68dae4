/**
 * Seeded PRNG for the traffic generator: xoshiro128** (Blackman & Vigna, 2018), seeded through
 * splitmix32 so that any 32-bit seed (0 included) gives a well-mixed, non-zero state.
 *
 * Contract: integer-only arithmetic (Math.imul, >>> 0), so a seed yields the same sequence on
 * every platform and Node version. float() is derived from one u32 by an exact division, so it is
 * deterministic too. Nothing here uses Math.random, Math.log or other libm functions.
 *
 * @module
 */

/** splitmix32 step: returns [nextState, output]. Used only to expand the seed. */
function splitmix32(state) {
  state = (state + 0x9e3779b9) | 0;
  let z = state;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [state, (z ^ (z >>> 16)) >>> 0];
}

export class Xoshiro128 {
  /** @param {number} seed any integer; only its low 32 bits are used */
  constructor(seed) {
    let s = seed | 0;
    const out = [];
    for (let i = 0; i < 4; i++) {
      const [next, v] = splitmix32(s);
      s = next;
      out.push(v);
    }
    // splitmix32 never yields four zero words in a row, so the state is valid for xoshiro.
    this.a = out[0] | 0;
    this.b = out[1] | 0;
    this.c = out[2] | 0;
    this.d = out[3] | 0;
  }

  /** @returns {number} uniform unsigned 32-bit integer */
  next() {
    const b = this.b;
    // result = rotl(b * 5, 7) * 9
    const t5 = Math.imul(b, 5);
    const result = Math.imul((t5 << 7) | (t5 >>> 25), 9) >>> 0;
    const t = b << 9;
    this.c ^= this.a;
    this.d ^= b;
    this.b = b ^ this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = (this.d << 11) | (this.d >>> 21);
    return result;
  }

  /** @returns {number} uniform float in [0, 1) with 32 bits of resolution */
  float() {
    return this.next() / 4294967296;
  }

  /**
   * @param {number} n exclusive upper bound, 1 <= n <= 2^32
   * @returns {number} integer in [0, n). Multiply-shift (Lemire) without rejection: the bias is
   * below n / 2^32, irrelevant for traffic shapes.
   */
  below(n) {
    return Math.floor(this.float() * n);
  }
}

/**
 * mulberry32 (Tommy Ettinger): a tiny seeded generator of uniform floats in [0, 1), for the tests
 * and fuzz mutations that need replayable choices (a seed in the failure message replays them),
 * not the traffic generator's statistical quality. Integer-only arithmetic, like Xoshiro128.
 * @param {number} seed any integer; only its low 32 bits are used
 * @returns {() => number}
 */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
