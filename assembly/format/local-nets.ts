// Zeek's Site::is_local_addr for the local_orig/local_resp columns (fields.ts), over the networks
// the host installed (abi.ts fmtLocalNets, built by src/net/local-nets.ts from `--local-nets`):
// IPv4 networks as (net, mask) word pairs compared against a v4-mapped address's last word, the
// others as four address words then four mask words. Words are in host order of the big-endian
// address bytes, as LocalNets keeps them.

import { isV4Mapped } from "./text";
import { S_NETS, S_NETS_V4, S_NETS_V6, S_NETS_MAPPED, S_NETS_OCTET } from "./state";

@inline function be32(p: usize): u32 { return bswap<u32>(load<u32>(p)); }

/** S_NETS_MAPPED: not worked out since fmtLocalNets (the host writes the networks after it returns). */
export const MAPPED_UNKNOWN: u8 = 0;
const MAPPED_NONE: u8 = 1;
const MAPPED_SOME: u8 = 2;

/**
 * The first-octet table at S_NETS_OCTET: what the IPv4 networks say of an IPv4 address from its
 * first octet alone, one byte per octet. Most addresses are settled there (Zeek's default list
 * has 10.0.0.0/8 and 127.0.0.0/8, and no other network shares the first octet of 8.8.8.8), the
 * rest are compared with the networks that can hold them: one (172.16.0.0/12 for 172.x) or all.
 */
export const OCTET_TABLE: usize = 256;
/** No IPv4 network holds an address with this first octet. */
const OCTET_NONE: u8 = 0;
/** A network of prefix length 8 or less holds every address with this first octet. */
const OCTET_ALL: u8 = 0xff;
/** Several networks may hold one: compare with every one. */
const OCTET_SCAN: u8 = 0xfe;
// 1 to 0xfd: only the network of that index + 1 may hold one.

/**
 * Whether one of the non-IPv4 networks can hold a v4-mapped address (`::ffff:a.b.c.d`: words 0,
 * 0, 0x0000ffff, then the IPv4 address): one whose first three words, masked, are those. Zeek's
 * default list has none, so an IPv4 address is then looked up among the IPv4 networks only.
 */
function mappedNets(s: usize): u8 {
  const n6 = <usize>load<u32>(s + S_NETS_V6);
  const v6 = <usize>load<u32>(s + S_NETS) + (<usize>load<u32>(s + S_NETS_V4) << 3);
  for (let i: usize = 0; i < n6; i++) {
    const e = v6 + (i << 5);
    if (load<u32>(e) == 0 && load<u32>(e, 4) == 0 && (0x0000ffff & load<u32>(e, 24)) == load<u32>(e, 8)) return MAPPED_SOME;
  }
  return MAPPED_NONE;
}

/** Fills the first-octet table from the IPv4 networks and works out S_NETS_MAPPED; returns the latter. */
function prepare(s: usize): u8 {
  const nets = <usize>load<u32>(s + S_NETS);
  const n4 = <usize>load<u32>(s + S_NETS_V4);
  const table = <usize>load<u32>(s + S_NETS_OCTET);
  for (let o: u32 = 0; o < 256; o++) {
    let entry = OCTET_NONE;
    for (let i: usize = 0; i < n4 && entry != OCTET_ALL; i++) {
      const net = load<u32>(nets + (i << 3)), mask = load<u32>(nets + (i << 3), 4);
      if ((net & ~mask) != 0 || (o & (mask >>> 24)) != net >>> 24) continue; // holds no address with first octet o
      if ((mask & 0x00ffffff) == 0) entry = OCTET_ALL;
      else entry = entry == OCTET_NONE && i + 1 < <usize>OCTET_SCAN ? <u8>(i + 1) : OCTET_SCAN;
    }
    store<u8>(table + o, entry);
  }
  firstWords(s, table + OCTET_TABLE);
  const mapped = mappedNets(s);
  store<u8>(s + S_NETS_MAPPED, mapped);
  return mapped;
}

/**
 * The first-word table past the first-octet table: the non-IPv4 networks' first address words and
 * first mask words, in groups of four networks (four nets, then their four masks; the last group
 * padded with a net no address matches), so that an address's first word is compared with four
 * networks at once and only those that hold it are compared word by word. Zeek's default list has
 * 26 of them, and 2001:db8:: matches the first word of one.
 */
function firstWords(s: usize, words: usize): void {
  const n6 = <usize>load<u32>(s + S_NETS_V6);
  const v6 = <usize>load<u32>(s + S_NETS) + (<usize>load<u32>(s + S_NETS_V4) << 3);
  for (let i: usize = 0; i < ((n6 + 3) & ~3); i++) {
    const g = words + ((i >>> 2) << 5) + ((i & 3) << 2);
    store<u32>(g, i < n6 ? load<u32>(v6 + (i << 5)) : 1, 0); // (w & 0) == 1 never holds
    store<u32>(g, i < n6 ? load<u32>(v6 + (i << 5), 16) : 0, 16);
  }
}

/** Bytes of the first-word table for `n6` networks (abi.ts fmtLocalNets makes room for it). */
export function firstWordsBytes(n6: u32): u32 { return ((n6 + 3) & ~3) << 3; }

/** Whether the IPv4 address `w` (host order) is in one of the first `n4` IPv4 networks at `nets`. */
function scanV4(nets: usize, n4: usize, w: u32): bool {
  // Four (net, mask) pairs at a time: the nets in one vector, the masks in another.
  const ws = i32x4.splat(w);
  let i: usize = 0;
  for (; i + 4 <= n4; i += 4) {
    const x = v128.load(nets + (i << 3)), y = v128.load(nets + (i << 3), 16);
    const net = i32x4.shuffle(x, y, 0, 2, 4, 6), mask = i32x4.shuffle(x, y, 1, 3, 5, 7);
    if (v128.any_true(i32x4.eq(v128.and(ws, mask), net))) return true;
  }
  for (; i < n4; i++) {
    const e = nets + (i << 3);
    if ((w & load<u32>(e, 4)) == load<u32>(e)) return true;
  }
  return false;
}

/** Whether the 16-byte address at `a` is in one of the networks. */
export function containsLocal(s: usize, a: usize): bool {
  const nets = <usize>load<u32>(s + S_NETS);
  let mapped = load<u8>(s + S_NETS_MAPPED);
  if (mapped == MAPPED_UNKNOWN) mapped = prepare(s);
  if (isV4Mapped(a)) {
    const entry = load<u8>(<usize>load<u32>(s + S_NETS_OCTET) + <usize>load<u8>(a, 12));
    if (entry == OCTET_ALL) return true;
    if (entry != OCTET_NONE) {
      const w = be32(a + 12);
      if (entry == OCTET_SCAN) {
        if (scanV4(nets, <usize>load<u32>(s + S_NETS_V4), w)) return true;
      } else {
        const e = nets + ((<usize>entry - 1) << 3);
        if ((w & load<u32>(e, 4)) == load<u32>(e)) return true;
      }
    }
    if (mapped == MAPPED_NONE) return false;
  }
  const n6 = <usize>load<u32>(s + S_NETS_V6);
  if (n6 == 0) return false;
  const v6 = nets + (<usize>load<u32>(s + S_NETS_V4) << 3);
  const words = <usize>load<u32>(s + S_NETS_OCTET) + OCTET_TABLE;
  const w0 = be32(a);
  const ws = i32x4.splat(w0);
  for (let i: usize = 0; i < n6; i += 4) {
    // The first words of four networks at once; the rest compared for those that hold w0.
    const g = words + (i << 3);
    let hit = i32x4.bitmask(i32x4.eq(v128.and(ws, v128.load(g, 16)), v128.load(g)));
    while (hit != 0) {
      const e = v6 + ((i + <usize>ctz(hit)) << 5);
      if ((be32(a + 4) & load<u32>(e, 20)) == load<u32>(e, 4) && (be32(a + 8) & load<u32>(e, 24)) == load<u32>(e, 8) &&
        (be32(a + 12) & load<u32>(e, 28)) == load<u32>(e, 12)) return true;
      hit &= hit - 1;
    }
  }
  return false;
}
