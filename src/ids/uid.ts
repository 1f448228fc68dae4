/**
 * @module
 * Flow `uid`: "C" + 17 base62 digits of a hash of (ts, 5-tuple, VLAN), 18 characters like Zeek's
 * longest uids. Zeek draws uids from a seeded random generator, so they differ per run;
 * ours are a pure function of the flow, so the same capture gives the same uids on every run and
 * machine, and two tools (or two runs) can be joined on them.
 *
 * The hash is four MurmurHash3 (x86_32) lanes with fixed, distinct seeds over the same twelve
 * 32-bit words; the 17 digits are that 128-bit value modulo 62^17 (about 101 bits), so every digit
 * position is uniform (a 96-bit value would leave the first digit 0 or 1). It is an identifier, not
 * a defence: it is not keyed, and it does not need to be, because nothing is stored by it.
 */

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const B62 = Uint8Array.from(BASE62, (c) => c.charCodeAt(0));
const UID_DIGITS = 17;
/** Length of a uid string. */
export const UID_LENGTH = UID_DIGITS + 1;
/** The characters of the last computed uid. */
const CHARS = new Uint8Array(UID_LENGTH);
CHARS[0] = 0x43; // "C"

const SEED_A = 0x5a3c_6e21;
const SEED_B = 0x1b87_3593;
const SEED_C = 0x7feb_352d;
const SEED_D = 0x2c1b_3c6d;
const WORDS = new Int32Array(12);

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finalize(h: number): number {
  h ^= 48; // input length in bytes
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The uid of a flow. `u32` is a view on the record memory and `origWord`/`respWord` are the word
 * indexes of the two 16-byte addresses; `tsUs` is the start time in microseconds.
 */
export function flowUid(
  u32: Uint32Array,
  origWord: number,
  respWord: number,
  origPort: number,
  respPort: number,
  vlan: number,
  tsUs: number,
): string {
  compute(u32, origWord, respWord, origPort, respPort, vlan, tsUs);
  return String.fromCharCode.apply(null, CHARS as unknown as number[]);
}

/** Like {@link flowUid}, but writes the 18 ASCII bytes to `out[pos..]`; returns the new position. */
export function writeFlowUid(
  u32: Uint32Array,
  origWord: number,
  respWord: number,
  origPort: number,
  respPort: number,
  vlan: number,
  tsUs: number,
  out: Uint8Array,
  pos: number,
): number {
  compute(u32, origWord, respWord, origPort, respPort, vlan, tsUs);
  for (let i = 0; i < UID_LENGTH; i++) out[pos + i] = CHARS[i];
  return pos + UID_LENGTH;
}

/**
 * The uid of a tunnel's encapsulating connection (conn.log `tunnel_parents`), written like
 * {@link writeFlowUid}. Zeek gives the outer UDP connection (Teredo, GTP-U, AYIYA, VXLAN) its own
 * uid, and an IP tunnel (IP-in-IP, GRE) one uid for the tunnel's lifetime. flowrecon tracks no UDP
 * connections, so the outer connection's start time is unknown: its uid is the same function over
 * the outer 5-tuple with the time 0 and the IP protocol in the VLAN word's top byte (TCP flows
 * have 0 there), with the two endpoints in canonical order (lower address, then lower port,
 * first), so both directions of a tunnel and every inner connection carried by it share one uid.
 * `src`/`dst` are byte offsets of 16-byte addresses in `u8`, 4-byte aligned; `u32` views the same memory.
 */
export function writeTunnelUid(
  u8: Uint8Array,
  u32: Uint32Array,
  src: number,
  dst: number,
  sport: number,
  dport: number,
  proto: number,
  vlan: number,
  out: Uint8Array,
  pos: number,
): number {
  let swap = false;
  for (let i = 0; i < 16; i++) {
    if (u8[src + i] !== u8[dst + i]) {
      swap = u8[src + i] > u8[dst + i];
      break;
    }
    if (i === 15) swap = sport > dport;
  }
  const a = swap ? dst : src,
    b = swap ? src : dst;
  compute(
    u32,
    a >>> 2,
    b >>> 2,
    swap ? dport : sport,
    swap ? sport : dport,
    ((proto & 0xff) << 24) | (vlan & 0xffffff),
    0,
  );
  for (let i = 0; i < UID_LENGTH; i++) out[pos + i] = CHARS[i];
  return pos + UID_LENGTH;
}

function compute(
  u32: Uint32Array,
  origWord: number,
  respWord: number,
  origPort: number,
  respPort: number,
  vlan: number,
  tsUs: number,
): void {
  const w = WORDS;
  w[0] = u32[origWord];
  w[1] = u32[origWord + 1];
  w[2] = u32[origWord + 2];
  w[3] = u32[origWord + 3];
  w[4] = u32[respWord];
  w[5] = u32[respWord + 1];
  w[6] = u32[respWord + 2];
  w[7] = u32[respWord + 3];
  w[8] = (origPort << 16) | respPort;
  w[9] = vlan;
  w[10] = tsUs % 4294967296; // low 32 bits (ts is a non-negative integer below 2^53)
  w[11] = Math.floor(tsUs / 4294967296);
  let a = SEED_A,
    b = SEED_B,
    c = SEED_C,
    d = SEED_D;
  for (let i = 0; i < 12; i++) {
    const k = w[i];
    a = mix(a, k);
    b = mix(b, k);
    c = mix(c, k);
    d = mix(d, k);
  }
  // The 128-bit value l3:l2:l1:l0 in base 62 by long division, least significant digit last.
  let l3 = finalize(a),
    l2 = finalize(b),
    l1 = finalize(c),
    l0 = finalize(d);
  for (let i = UID_DIGITS; i >= 1; i--) {
    // Each step divides the four 32-bit limbs by 62; every intermediate is below 62 * 2^32 < 2^53.
    const q3 = Math.floor(l3 / 62);
    let r = l3 - q3 * 62;
    let cur = r * 4294967296 + l2;
    const q2 = Math.floor(cur / 62);
    r = cur - q2 * 62;
    cur = r * 4294967296 + l1;
    const q1 = Math.floor(cur / 62);
    r = cur - q1 * 62;
    cur = r * 4294967296 + l0;
    const q0 = Math.floor(cur / 62);
    r = cur - q0 * 62;
    l3 = q3;
    l2 = q2;
    l1 = q1;
    l0 = q0;
    CHARS[i] = B62[r];
  }
}
