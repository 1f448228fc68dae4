/**
 * @module
 * Text form of the engine's 16-byte addresses. IPv4 is stored v4-mapped (`::ffff:a.b.c.d`, as
 * Zeek's IPBasedConnKey does) and printed dotted-quad, as Zeek prints it; IPv6 is printed in the
 * RFC 5952 canonical form: lowercase hex, no leading zeros, the longest run of two or more zero
 * groups (the first one on a tie) replaced by `::` (RFC 5952 §4.1-§4.3).
 */

const DECIMAL: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

/** True when bytes [off, off+16) are `::ffff:0:0/96` (an IPv4 address in the engine's key). */
export function isV4Mapped(u8: Uint8Array, off: number): boolean {
  return (
    u8[off + 10] === 0xff &&
    u8[off + 11] === 0xff &&
    (u8[off] | u8[off + 1] | u8[off + 2] | u8[off + 3] | u8[off + 4]) === 0 &&
    (u8[off + 5] | u8[off + 6] | u8[off + 7] | u8[off + 8] | u8[off + 9]) === 0
  );
}

/** Formats the 16-byte address at `off`. */
export function formatAddress(u8: Uint8Array, off: number): string {
  if (isV4Mapped(u8, off)) {
    return (
      DECIMAL[u8[off + 12]] + "." + DECIMAL[u8[off + 13]] + "." + DECIMAL[u8[off + 14]] + "." + DECIMAL[u8[off + 15]]
    );
  }
  return formatIpv6(u8, off);
}

function formatIpv6(u8: Uint8Array, off: number): string {
  // Longest run of zero groups (RFC 5952 §4.2.3: the first one when runs tie; §4.2.2: not for one group).
  let bestStart = -1;
  let bestLen = 1;
  let runStart = -1;
  for (let g = 0; g < 8; g++) {
    const zero = (u8[off + 2 * g] | u8[off + 2 * g + 1]) === 0;
    if (zero) {
      if (runStart < 0) runStart = g;
      const len = g - runStart + 1;
      if (len > bestLen) {
        bestLen = len;
        bestStart = runStart;
      }
    } else {
      runStart = -1;
    }
  }
  let text = "";
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      text += "::";
      g += bestLen - 1;
      continue;
    }
    if (text.length > 0 && !text.endsWith(":")) text += ":";
    text += ((u8[off + 2 * g] << 8) | u8[off + 2 * g + 1]).toString(16);
  }
  return text;
}

/**
 * Parses an IPv4 or IPv6 address into the engine's 16-byte form (IPv4 v4-mapped).
 * Accepts `::` compression and a trailing dotted quad (`::ffff:1.2.3.4`). Throws on bad input.
 */
export function parseAddress(text: string): Uint8Array {
  const out = new Uint8Array(16);
  const v4 = parseIpv4(text);
  if (v4) {
    out[10] = 0xff;
    out[11] = 0xff;
    out.set(v4, 12);
    return out;
  }
  const halves = text.split("::");
  if (halves.length > 2 || text.length === 0) throw new SyntaxError(`not an IP address: ${text}`);
  const groups = (part: string): number[] => {
    if (part === "") return [];
    const fields = part.split(":");
    const words: number[] = [];
    fields.forEach((field, i) => {
      const quad = i === fields.length - 1 ? parseIpv4(field) : undefined;
      if (quad) {
        words.push((quad[0] << 8) | quad[1], (quad[2] << 8) | quad[3]);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(field)) {
        words.push(parseInt(field, 16));
      } else {
        throw new SyntaxError(`not an IP address: ${text}`);
      }
    });
    return words;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) throw new SyntaxError(`not an IP address: ${text}`);
  const words = [...head, ...new Array<number>(missing).fill(0), ...tail];
  words.forEach((w, i) => {
    out[2 * i] = w >>> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

function parseIpv4(text: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const bytes = m.slice(1).map(Number);
  return bytes.every((b) => b <= 255) ? bytes : undefined;
}
