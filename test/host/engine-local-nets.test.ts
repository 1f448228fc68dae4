// local_orig/local_resp as the engine's formatter answers them (assembly/format/local-nets.ts: a
// first-octet table settles most IPv4 addresses, the rest are compared with the networks) must be
// LocalNets.contains (src/net/local-nets.ts) for every first octet, the octets around prefix
// boundaries, IPv6 and v4-mapped networks, and lists longer than the table's network indexes.

import { describe, expect, it } from "vitest";
import { Reconstructor } from "../../src/index.js";
import { AsciiWriter } from "../../src/format/ascii.js";
import { RecordLines } from "../../src/format/engine-lines.js";
import { LocalNets } from "../../src/net/local-nets.js";
import { parseAddress } from "../../src/net/address.js";
import type { MemoryViews } from "../../src/wasm/engine.js";

const layout = new Reconstructor({}).layout;
const { FR_SIZE, FR_ORIG_ADDR, FR_RESP_ADDR } = layout.constants;

/** IPv4 addresses: every first octet, with second octets either side of the usual prefix boundaries. */
function v4Addresses(): string[] {
  const out: string[] = [];
  for (let a = 0; a < 256; a++)
    for (const b of [0, 1, 15, 16, 31, 32, 63, 64, 100, 127, 128, 168, 254, 255])
      out.push(`${a}.${b}.${(a * 7 + b) & 255}.${(a + b * 3) & 255}`);
  return out;
}

const V6 = [
  "::",
  "::1",
  "::2",
  "fe80::1",
  "fec0::1",
  "fc00::5",
  "fd12:3456::1",
  "2002:a00::1",
  "2002:c0a8:101::1",
  "2001::1",
  "2001:db8::1",
  "2001:db8:1::9",
  "2001:db8:2::9",
  "2001:4860:0:2001::68",
  "64:ff9b:1::1",
  "100::1",
  "::ffff:0:1",
  "::fffe:a00:1",
];

/** Formats one record per pair of addresses and returns [local_orig, local_resp] of each line. */
function engineAnswers(spec: string | undefined, addrs: readonly string[]): (boolean | undefined)[] {
  const lines = new RecordLines({ format: "ndjson", jsonStyle: "zeek", localNets: spec }, FR_SIZE);
  const u8 = new Uint8Array(FR_SIZE);
  const views = { u8 } as MemoryViews;
  const out = new AsciiWriter(1 << 12);
  const answers: (boolean | undefined)[] = [];
  for (let i = 0; i < addrs.length; i += 2) {
    u8.set(parseAddress(addrs[i]), FR_ORIG_ADDR);
    u8.set(parseAddress(addrs[i + 1] ?? addrs[0]), FR_RESP_ADDR);
    out.pos = 0;
    lines.write(views, 0, out);
    const line = JSON.parse(out.text()) as { local_orig?: boolean; local_resp?: boolean };
    answers.push(line.local_orig, line.local_resp);
  }
  return answers.slice(0, addrs.length);
}

function expectContains(spec: string | undefined, v6First = false): void {
  const nets = new LocalNets(spec);
  const addrs = v6First ? [...V6, ...v4Addresses()] : [...v4Addresses(), ...V6];
  const got = engineAnswers(spec, addrs);
  const wrong = addrs.filter((a, i) => got[i] !== nets.contains(parseAddress(a), 0));
  expect(wrong).toEqual([]);
}

describe("engine local_orig/local_resp = LocalNets.contains", () => {
  it.each([
    ["Zeek's private address space", undefined],
    ["a list with the private space", "10.0.0.0/8,2001:db8:1::/48,192.168.1.7"],
    ["several networks under one first octet", "-,172.16.0.0/12,172.20.0.0/14,172.16.5.0/24,10.1.0.0/16"],
    ["prefixes shorter than 8", "-,240.0.0.0/4,64.0.0.0/2,1.2.3.4/32"],
    ["everything", "-,0.0.0.0/0"],
    ["IPv4 held by an IPv6 network", "-,::ffff:0:0/95,10.0.0.0/8"],
    ["IPv6 only", "-,2001:db8::/32,fe80::/10"],
    // The IPv6 networks' first words are compared four networks at a time: a last group of one,
    // prefixes that end inside the first word, at it and past it, and networks that share it.
    ["five IPv6 networks", "-,fc00::/7,2001:db8:1::/48,2001:db8:2::/64,::/96,2002::/16"],
    [
      "nine IPv6 networks",
      `-,${Array.from({ length: 8 }, (_, i) => `2001:db8:${i}::/48`).join(",")},fe80::/10,10.0.0.0/8`,
    ],
    ["every IPv6 address", "-,::/0"],
    [
      "more IPv4 networks than the table indexes",
      `-,${Array.from({ length: 300 }, (_, i) => `${(i * 37) & 255}.${i & 255}.0.0/16`).join(",")}`,
    ],
  ])("%s", (_name, spec) => {
    expectContains(spec);
  });

  // The tables are filled at the first address looked up, whichever its family.
  it.each([
    ["Zeek's private address space", undefined],
    ["IPv6 only", "-,2001:db8::/32,fe80::/10"],
  ])("%s, an IPv6 address first", (_name, spec) => {
    expectContains(spec, true);
  });
});
