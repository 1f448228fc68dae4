/**
 * @module
 * Community ID v1 flow hash (github.com/corelight/community-id-spec): the same string that Zeek's
 * community-id policy script, Suricata and Arkime print, so a flow can be joined across tools.
 *
 *   "1:" + base64(sha1(seed:u16be, saddr, daddr, proto:u8, 0:u8, sport:u16be, dport:u16be))
 *
 * where the endpoint with the smaller (address, port) goes first, so both directions of a flow get
 * the same ID. Addresses are 4 bytes for IPv4 and 16 for IPv6 (never v4-mapped).
 */

import { isV4Mapped, parseAddress } from "../net/address.js";
import { SHA1_BLOCK, sha1Short } from "./sha1.js";

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64 = Uint8Array.from(BASE64, (c) => c.charCodeAt(0));
const DIGEST = new Int32Array(5);
const DIGEST_BYTES = new Uint8Array(20);
/** The characters of the last computed ID: "1:" + 28 base64 characters. */
const CHARS = new Uint8Array(30);
CHARS[0] = 0x31; // "1"
CHARS[1] = 0x3a; // ":"

export const PROTO_TCP = 6;
/** Length of a Community ID v1 string. */
export const COMMUNITY_ID_LENGTH = 30;

/**
 * Community ID of the flow between the 16-byte engine addresses at `u8[aOff]` and `u8[bOff]`
 * (v4-mapped for IPv4). Direction does not matter.
 */
export function communityId(
  u8: Uint8Array,
  aOff: number,
  aPort: number,
  bOff: number,
  bPort: number,
  proto: number = PROTO_TCP,
  seed = 0,
): string {
  compute(u8, aOff, aPort, bOff, bPort, proto, seed);
  return String.fromCharCode.apply(null, CHARS as unknown as number[]);
}

/** Like {@link communityId}, but writes the 30 ASCII bytes to `out[pos..]`; returns the new position. */
export function writeCommunityId(
  u8: Uint8Array,
  aOff: number,
  aPort: number,
  bOff: number,
  bPort: number,
  proto: number,
  seed: number,
  out: Uint8Array,
  pos: number,
): number {
  compute(u8, aOff, aPort, bOff, bPort, proto, seed);
  for (let i = 0; i < COMMUNITY_ID_LENGTH; i++) out[pos + i] = CHARS[i];
  return pos + COMMUNITY_ID_LENGTH;
}

function compute(
  u8: Uint8Array,
  aOff: number,
  aPort: number,
  bOff: number,
  bPort: number,
  proto: number,
  seed: number,
): void {
  const v4 = isV4Mapped(u8, aOff) && isV4Mapped(u8, bOff);
  const skip = v4 ? 12 : 0;
  // Order the endpoints: smaller address first, the smaller port breaking a tie (spec, "ordering").
  let cmp = 0;
  for (let i = skip; i < 16 && cmp === 0; i++) cmp = u8[aOff + i] - u8[bOff + i];
  if (cmp === 0) cmp = aPort - bPort;
  let sOff = aOff,
    dOff = bOff,
    sPort = aPort,
    dPort = bPort;
  if (cmp > 0) {
    sOff = bOff;
    dOff = aOff;
    sPort = bPort;
    dPort = aPort;
  }
  const block = SHA1_BLOCK;
  block[0] = (seed >>> 8) & 0xff;
  block[1] = seed & 0xff;
  let p = 2;
  for (let i = skip; i < 16; i++) block[p++] = u8[sOff + i];
  for (let i = skip; i < 16; i++) block[p++] = u8[dOff + i];
  block[p++] = proto;
  block[p++] = 0;
  block[p++] = sPort >>> 8;
  block[p++] = sPort & 0xff;
  block[p++] = dPort >>> 8;
  block[p++] = dPort & 0xff;
  sha1Short(p, DIGEST);
  base64Digest();
}

function base64Digest(): void {
  const d = DIGEST_BYTES;
  for (let i = 0; i < 5; i++) {
    const w = DIGEST[i];
    d[4 * i] = w >>> 24;
    d[4 * i + 1] = (w >>> 16) & 0xff;
    d[4 * i + 2] = (w >>> 8) & 0xff;
    d[4 * i + 3] = w & 0xff;
  }
  let c = 2;
  for (let i = 0; i < 18; i += 3) {
    const n = (d[i] << 16) | (d[i + 1] << 8) | d[i + 2];
    CHARS[c++] = B64[n >>> 18];
    CHARS[c++] = B64[(n >>> 12) & 63];
    CHARS[c++] = B64[(n >>> 6) & 63];
    CHARS[c++] = B64[n & 63];
  }
  // 20 = 6 * 3 + 2: the last two bytes make three characters and one "=".
  const n = (d[18] << 16) | (d[19] << 8);
  CHARS[c++] = B64[n >>> 18];
  CHARS[c++] = B64[(n >>> 12) & 63];
  CHARS[c++] = B64[(n >>> 6) & 63];
  CHARS[c] = 0x3d; // "="
}

/** Community ID from address text, for tools and tests: `communityIdOf("1.2.3.4", 1122, "5.6.7.8", 3344)`. */
export function communityIdOf(
  src: string,
  srcPort: number,
  dst: string,
  dstPort: number,
  proto: number = PROTO_TCP,
  seed = 0,
): string {
  const bytes = new Uint8Array(32);
  bytes.set(parseAddress(src), 0);
  bytes.set(parseAddress(dst), 16);
  return communityId(bytes, 0, srcPort, 16, dstPort, proto, seed);
}
