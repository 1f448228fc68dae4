/**
 * @module
 * Zeek's `Site::local_nets`, behind conn.log's `local_orig` / `local_resp`
 * (scripts/base/protocols/conn/main.zeek: set only when `|Site::local_nets| > 0`).
 *
 * Zeek's default (scripts/base/utils/site.zeek): `Site::private_address_space_is_local = T`, so
 * `Site::private_address_space` (RFC 1918, loopback, link local, ULA, documentation ranges... and
 * their 6to4 forms) is always part of local_nets, and the networks a site adds come on top. So by
 * default the columns are set, and private addresses are local.
 *
 * flowrecon's spelling (`--local-nets`, `FLOWRECON_LOCAL_NETS`, API `local_nets`): a
 * comma-separated list of CIDR networks added to the private address space; a `-` entry leaves
 * the private address space out (Zeek's `private_address_space_is_local = F`). `-` alone is an
 * empty local_nets: `local_orig` and `local_resp` are then unset, as in Zeek.
 */

import { createRequire } from "node:module";

/**
 * node:net's address checks, loaded on their first use (a network or address given as text):
 * the default networks need none, and a CLI run writing to a file loads node:net for nothing
 * else (~2 ms of its start). A pipe on stdout loads it anyway.
 */
let net: typeof import("node:net") | undefined;
function ipCheck(): typeof import("node:net") {
  net ??= createRequire(import.meta.url)("node:net") as typeof import("node:net");
  return net;
}

/** Site::private_address_space at zeek/zeek a13de64 (scripts/base/utils/site.zeek), in its order. */
export const PRIVATE_ADDRESS_SPACE: readonly string[] = [
  "0.0.0.0/8",
  "2002::/24",
  "10.0.0.0/8",
  "2002:a00::/24",
  "100.64.0.0/10",
  "2002:6440::/26",
  "127.0.0.0/8",
  "2002:7f00::/24",
  "169.254.0.0/16",
  "2002:a9fe::/32",
  "172.16.0.0/12",
  "2002:ac10::/28",
  "192.0.0.0/24",
  "2002:c000::/40",
  "192.0.2.0/24",
  "2002:c000:200::/40",
  "192.168.0.0/16",
  "2002:c0a8::/32",
  "198.18.0.0/15",
  "2002:c612::/31",
  "198.51.100.0/24",
  "2002:c633:6400::/40",
  "203.0.113.0/24",
  "2002:cb00:7100::/40",
  "224.0.0.0/24",
  "2002:e000::/40",
  "239.0.0.0/8",
  "2002:ef00::/24",
  "240.0.0.0/4",
  "2002:f000::/20",
  "255.255.255.255/32",
  "2002:ffff:ffff::/48",
  "::/128",
  "::1/128",
  "64:ff9b:1::/48",
  "100::/64",
  "2001::/23",
  "2001:2::/48",
  "2001:db8::/32",
  "fc00::/7",
  "fe80::/10",
  "fec0::/10",
];

/** The spelling that means "leave the private address space out". */
export const NO_PRIVATE = "-";

export class LocalNetsError extends Error {}

/** One network as the engine stores addresses: 16 bytes (IPv4 v4-mapped) and a prefix length 0..128. */
interface Net {
  bytes: Uint8Array;
  bits: number;
}

/** 16 bytes of an IPv4 (v4-mapped) or IPv6 address in text; null when it is neither. */
export function parseAddress(text: string): Uint8Array | null {
  const { isIPv4, isIPv6 } = ipCheck();
  if (isIPv4(text)) return addressBytes(text, true);
  return isIPv6(text) ? addressBytes(text, false) : null;
}

/** The 16 bytes of text already known to be an IPv4 (`v4`) or IPv6 address. */
function addressBytes(text: string, v4Text: boolean): Uint8Array {
  const out = new Uint8Array(16);
  if (v4Text) {
    out[10] = 0xff;
    out[11] = 0xff;
    text.split(".").forEach((o, i) => {
      out[12 + i] = Number(o);
    });
    return out;
  }
  let groups: number[] = [];
  let tail = text;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let v4: number[] = [];
  if (dotted !== null) {
    v4 = dotted[1].split(".").map(Number);
    tail = text.slice(0, -dotted[1].length) + "0:0"; // two placeholder groups, filled below
  }
  const [head, rest] = tail.split("::");
  const parse = (s: string) => (s === "" ? [] : s.split(":").map((g) => parseInt(g, 16)));
  if (rest === undefined) groups = parse(head);
  else {
    const a = parse(head),
      b = parse(rest);
    groups = [...a, ...new Array(8 - a.length - b.length).fill(0), ...b];
  }
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  if (v4.length === 4) {
    v4.forEach((o, i) => {
      out[12 + i] = o;
    });
  }
  return out;
}

/**
 * One network in text. `checked` false skips the address check, for the fixed list above: Node's
 * isIPv6 compiles a large regular expression on its first call, ~13 ms of every thread's start-up.
 */
function parseNet(text: string, checked: boolean): Net {
  const slash = text.lastIndexOf("/");
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const bytes = checked ? parseAddress(addrText) : addressBytes(addrText, !addrText.includes(":"));
  if (bytes === null)
    throw new LocalNetsError(`'${text}' is not an IPv4 or IPv6 network (e.g. 10.1.0.0/16, 2001:db8::/32)`);
  const v4 = checked ? ipCheck().isIPv4(addrText) : !addrText.includes(":");
  const max = v4 ? 32 : 128;
  const lenText = slash < 0 ? String(max) : text.slice(slash + 1);
  const len = Number(lenText);
  if (!/^\d+$/.test(lenText) || len > max) throw new LocalNetsError(`'${text}' has a bad prefix length (0-${max})`);
  return { bytes, bits: v4 ? 96 + len : len };
}

let privateParsed: readonly Net[] | undefined;

/**
 * PRIVATE_ADDRESS_SPACE parsed, once per process (its nets are only read): a CLI run builds a
 * LocalNets for the reconstructor and one for the engine's formatter (and one to check
 * --local-nets), each parsing the 43 networks in the interpreter.
 */
function privateNets(): readonly Net[] {
  privateParsed ??= PRIVATE_ADDRESS_SPACE.map((s) => parseNet(s, false));
  return privateParsed;
}

/** Networks considered local; `contains()` answers Zeek's `Site::is_local_addr`. */
export class LocalNets {
  readonly #count: number;
  /** IPv4 networks (v4-mapped ones): address and mask as 32-bit numbers, pairwise. */
  readonly #v4: Uint32Array;
  /** The other networks: four address words, then four mask words, per network. */
  readonly #v6: Uint32Array;
  /** The list as given (for the format threads, which rebuild the set from it). */
  readonly spec: string;

  /** @param spec the `--local-nets` list (see the module comment); undefined = Zeek's default. */
  constructor(spec: string | undefined = undefined) {
    this.spec = spec ?? "";
    const entries = (spec ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    const withPrivate = !entries.includes(NO_PRIVATE);
    const nets = entries.filter((s) => s !== NO_PRIVATE).map((s) => parseNet(s, true));
    if (withPrivate) nets.push(...privateNets());
    this.#count = nets.length;
    // A v4-mapped network (::ffff:0:0/96 and longer) holds only IPv4 addresses: compared as one word.
    const v4 = nets.filter((n) => n.bits >= 96 && isV4MappedNet(n.bytes));
    const v6 = nets.filter((n) => !v4.includes(n));
    this.#v4 = new Uint32Array(
      v4.flatMap((n) => [(word(n.bytes, 3) & maskWord(n.bits, 3)) >>> 0, maskWord(n.bits, 3)]),
    );
    this.#v6 = new Uint32Array(
      v6.flatMap((n) =>
        [0, 1, 2, 3]
          .map((w) => word(n.bytes, w) & maskWord(n.bits, w))
          .concat([0, 1, 2, 3].map((w) => maskWord(n.bits, w))),
      ),
    );
  }

  /** Zeek's `|Site::local_nets| > 0`: without networks, local_orig/local_resp stay unset. */
  get empty(): boolean {
    return this.#count === 0;
  }

  /** The networks as the engine's formatter takes them (assembly/format/local-nets.ts): v4 pairs, v6 octets of words. */
  get tables(): { v4: Uint32Array; v6: Uint32Array } {
    return { v4: this.#v4, v6: this.#v6 };
  }

  /** Whether the 16-byte address at `u8[off..off+16)` is in one of the networks. */
  contains(u8: Uint8Array, off: number): boolean {
    if (isV4MappedAt(u8, off)) {
      const a = ((u8[off + 12] << 24) | (u8[off + 13] << 16) | (u8[off + 14] << 8) | u8[off + 15]) >>> 0;
      const v4 = this.#v4;
      for (let i = 0; i < v4.length; i += 2) if ((a & v4[i + 1]) >>> 0 === v4[i]) return true;
    }
    const v6 = this.#v6;
    if (v6.length === 0) return false;
    const w0 = be32(u8, off),
      w1 = be32(u8, off + 4),
      w2 = be32(u8, off + 8),
      w3 = be32(u8, off + 12);
    for (let i = 0; i < v6.length; i += 8) {
      if (
        (w0 & v6[i + 4]) >>> 0 === v6[i] &&
        (w1 & v6[i + 5]) >>> 0 === v6[i + 1] &&
        (w2 & v6[i + 6]) >>> 0 === v6[i + 2] &&
        (w3 & v6[i + 7]) >>> 0 === v6[i + 3]
      )
        return true;
    }
    return false;
  }
}

const be32 = (u8: Uint8Array, o: number) => ((u8[o] << 24) | (u8[o + 1] << 16) | (u8[o + 2] << 8) | u8[o + 3]) >>> 0;
const word = (b: Uint8Array, w: number) => be32(b, 4 * w);
/** The 32-bit mask of word `w` (0..3) of a /bits prefix. */
const maskWord = (bits: number, w: number) => {
  const n = Math.max(0, Math.min(32, bits - 32 * w));
  return n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
};
const isV4MappedAt = (u8: Uint8Array, o: number) =>
  u8[o + 10] === 0xff &&
  u8[o + 11] === 0xff &&
  (u8[o] |
    u8[o + 1] |
    u8[o + 2] |
    u8[o + 3] |
    u8[o + 4] |
    u8[o + 5] |
    u8[o + 6] |
    u8[o + 7] |
    u8[o + 8] |
    u8[o + 9]) ===
    0;
const isV4MappedNet = (b: Uint8Array) => isV4MappedAt(b, 0);
