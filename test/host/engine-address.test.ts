// id.orig_h/id.resp_h as the engine's formatter writes them (assembly/format/text.ts address: a
// table of zero-group runs and two hex digits per byte) must be formatAddress's text
// (src/net/address.ts, RFC 5952 §4) for every set of zero groups, groups of one to four digits,
// and every IPv4 octet.

import { describe, expect, it } from "vitest";
import { Reconstructor } from "../../src/index.js";
import { AsciiWriter } from "../../src/format/ascii.js";
import { RecordLines } from "../../src/format/engine-lines.js";
import { formatAddress, parseAddress } from "../../src/net/address.js";
import type { MemoryViews } from "../../src/wasm/engine.js";

const { FR_SIZE, FR_ORIG_ADDR, FR_RESP_ADDR } = new Reconstructor({}).layout.constants;

/** Nonzero group values of one to four hex digits, with zeros inside and at the end. */
const GROUPS = [0x1, 0xa, 0x10, 0xf0, 0x100, 0xabc, 0xf00, 0x1000, 0xbeef, 0xffff, 0x8000, 0x0a0b];

/** Addresses (16 bytes) with each set of zero groups (bit g: group g is 0), the rest from GROUPS. */
function v6Addresses(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let zeros = 0; zeros < 256; zeros++)
    for (let k = 0; k < 3; k++) {
      const a = new Uint8Array(16);
      for (let g = 0; g < 8; g++) {
        const w = (zeros >> g) & 1 ? 0 : GROUPS[(zeros * 5 + g * 7 + k * 3) % GROUPS.length];
        a[2 * g] = w >> 8;
        a[2 * g + 1] = w & 0xff;
      }
      out.push(a);
    }
  return out;
}

function v4Addresses(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o < 256; o++) out.push(parseAddress(`${o}.${255 - o}.${(o * 7) & 255}.${(o + 100) & 255}`));
  return out;
}

/** The engine's text of each address, as id.orig_h and id.resp_h of one record per pair. */
function engineTexts(addrs: readonly Uint8Array[]): string[] {
  const lines = new RecordLines({ format: "ndjson", jsonStyle: "zeek" }, FR_SIZE);
  const u8 = new Uint8Array(FR_SIZE);
  const views = { u8 } as MemoryViews;
  const out = new AsciiWriter(1 << 12);
  const texts: string[] = [];
  for (let i = 0; i < addrs.length; i += 2) {
    u8.set(addrs[i], FR_ORIG_ADDR);
    u8.set(addrs[i + 1] ?? addrs[0], FR_RESP_ADDR);
    out.pos = 0;
    lines.write(views, 0, out);
    const line = JSON.parse(out.text()) as Record<string, string>;
    texts.push(line["id.orig_h"], line["id.resp_h"]);
  }
  return texts.slice(0, addrs.length);
}

describe("engine address text = formatAddress", () => {
  it.each([
    ["IPv6, every set of zero groups", v6Addresses()],
    ["IPv4, every octet", v4Addresses()],
  ])("%s", (_name, addrs) => {
    const got = engineTexts(addrs);
    const wrong = addrs
      .map((a, i) => ({ want: formatAddress(a, 0), got: got[i] }))
      .filter(({ want, got }) => want !== got);
    expect(wrong).toEqual([]);
  });
});
