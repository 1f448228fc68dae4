// Route mode: the reading thread's engine frames the capture and assigns each frame to one of N
// shards (src/shards/). Shard 0 is the reading engine itself: it decodes and tracks its share inline,
// as one engine would, with no copy; shards 1..N-1 are engines on worker threads, fed frame records.
// So N threads run N engines, and on a machine with N cores no thread waits for a core while the
// reading thread only routes (its routing costs one outer-header decode and hash per frame).
//
// The shard key: the symmetric pair of the frame's OUTERMOST IP addresses. Everything one engine
// groups together must land in one shard:
//   - both directions of a connection: the pair is unordered (keyHash sorts the endpoints);
//   - every IP fragment of a datagram (layers/fragments.ts keys reassembly by the fragmented
//     header's addresses and id): later fragments carry no ports, so the key has none; fragments of
//     the outermost header share its addresses, and fragments of an inner header ride in packets
//     between the same tunnel endpoints;
//   - a tunnelled connection (keyed by its inner 5-tuple, tracker.ts): all its packets cross the
//     same tunnel, whose outer addresses stay the same in both directions, while an outer fragment
//     after the first carries no inner header at all. So the outermost pair, not the innermost, is
//     the one key every frame of a tunnelled connection and of its fragments has.
// What would split (the flows of such a capture differ from one engine's; the README says so):
//   - one inner connection seen through two different outer address pairs (a tunnel that moves, or
//     one direction tunnelled and the other not);
//   - an IPv6 type-0 routing header, whose final destination keys the connection instead of the
//     header's (ipv6.ts), when the two directions do not carry the same one;
//   - an 802.11 A-MSDU whose subframes carry different connections: the record goes where its
//     first subframe's addresses send it.
// Frames without an IP header (ARP, unsupported links, cut headers) key nothing; they are spread by
// record number (their counters still add up).
//
// The decoders are the engine's own (layers/link.ts and every link layer under it): in route mode
// decodeIpv4/decodeIpv6 stop at their first call, the outermost IP header, via routeIp(). The common
// Ethernet frame (one 802.1Q tag at most, then IP) takes a straight path to its address pair instead
// (routeEthStraight), as the tracker's decode has one (layers/straight.ts): the generic walk through
// decodeLink cost the reading thread more than the hash.
// The hash is a keyed SipHash under the flow table's key (flow/table.ts), so this process's key: a
// capture cannot be crafted to put every connection in one shard (pairHash below). The shard is taken from the hash's range,
// not its low bits, so the shard engines' own table indexes (a different hash, with ports) see their
// whole index space: hashes below ROUTE.ownBelow stay here (shard 0: the reading engine's share,
// which the host makes smaller than 1/N because this engine also routes every frame), the rest split
// evenly over shards 1..N-1.
//
// Contract: routeInit(n) allocates staging areas for shards 1..n-1 (once per engine) and turns route
// mode on; each frame of shard 0 is decoded and tracked here (capture/frame.ts deliverRoutedFrame),
// each other frame is appended as a frame record (shard/frames.ts) to its shard's area. Once an area
// holds ROUTE_FLUSH bytes routeFull() is true and the reader stops before the next record, so any
// record (at most MAX_RECORD_BYTES) still fits; the host copies the areas out and routeClear()s.

import { decodeLink, LINKTYPE_ETHERNET } from "../layers/link";
import { ETH_HDR, ETH_TYPE, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_VLAN, VLAN_TAG, VLAN_TYPE } from "../layers/ethernet";
import { IP_VERSION_4, IP_VERSION_6 } from "../layers/ip";
import { MAX_RECORD_BYTES } from "../capture/pcap";
import { alloc, be16 } from "../mem";
import { writeFrameRecord } from "./frames";
import { deliverRoutedFrame } from "../capture/frame";
import { ROUTE } from "../state";
import { sipHash } from "../hash/siphash";

export const MAX_SHARDS: i32 = 256;
/** An area is handed to the host once it holds this many bytes. */
export const ROUTE_FLUSH: usize = 1 << 20;
/** Room for one more record of any size past ROUTE_FLUSH: its header (FM_HDR, 40) and padding fit in 64. */
const AREA_BYTES: usize = ROUTE_FLUSH + <usize>MAX_RECORD_BYTES + 64;

/** On in the reading thread's engine: frames are routed, not tracked. */
ROUTE.routing = false;
ROUTE.shards = 1;
ROUTE.ownBelow = 0;
ROUTE.full = false;
const AREAS: usize = memory.data(MAX_SHARDS * 4, 16);   // u32 base of each area
const FILLS: usize = memory.data(MAX_SHARDS * 4, 16);   // u32 bytes used in each area

/** The outermost IP header's addresses (v4-mapped for IPv4), when routeIp() saw one. */
const ADDR_A: usize = memory.data(16, 16);
const ADDR_B: usize = memory.data(16, 16);
ROUTE.sawIp = false;
/** What routeIp() returns: the decode stops there (any code; route mode ignores it). */
const ROUTED: i32 = -1;

const IPV4_SRC: usize = 12;
const IPV4_DST: usize = 16;
const IPV4_HDR: i32 = 20;
const IPV6_SRC: usize = 8;
const IPV6_DST: usize = 24;
const IPV6_HDR: i32 = 40;
const V4MAPPED_MID: u32 = 0xFFFF0000;   // bytes 8..11 of ::ffff:a.b.c.d, read little-endian

/** `ownShare`: the share of the hash range (so of the connections) this engine tracks itself, in [0, 1]. */
export function routeInit(n: i32, ownShare: f64): void {
  const count = <u32>max(1, min(n, MAX_SHARDS));
  // With one shard, or a share of 1, every hash (< 2^32) is below: all frames stay here.
  const share = count == 1 ? 1.0 : min(max(ownShare, 0.0), 1.0);
  ROUTE.ownBelow = <u64>Math.floor(share * 4294967296.0);
  // Shard 0 is tracked inline: it has no area (routeAreaLen(0) stays 0).
  for (let i: u32 = 1; i < count; i++) {
    const slot = AREAS + (<usize>i << 2);
    if (load<u32>(slot) == 0) store<u32>(slot, <u32>alloc(AREA_BYTES));
  }
  ROUTE.shards = count;
  ROUTE.routing = true;
  routeClear();
}

export function routeClear(): void {
  memory.fill(FILLS, 0, <usize>MAX_SHARDS * 4);
  ROUTE.full = false;
}

@inline export function routeFull(): bool { return ROUTE.routing && ROUTE.full; }
export function routeAreaPtr(i: i32): usize { return <usize>load<u32>(AREAS + (<usize>i << 2)); }
export function routeAreaLen(i: i32): i32 { return <i32>load<u32>(FILLS + (<usize>i << 2)); }

/** Called by decodeIpv4/decodeIpv6 in route mode with p at the outermost IP header. */
export function routeIp(p: usize, cap: i32, v6: bool): i32 {
  if (v6) {
    if (cap < IPV6_HDR) return ROUTED;
    // SAFETY: cap >= 40 covers both addresses.
    memory.copy(ADDR_A, p + IPV6_SRC, 16);
    memory.copy(ADDR_B, p + IPV6_DST, 16);
  } else {
    if (cap < IPV4_HDR) return ROUTED;
    store<u64>(ADDR_A, 0);
    store<u32>(ADDR_A + 8, V4MAPPED_MID);
    // SAFETY: cap >= 20 covers both addresses.
    store<u32>(ADDR_A + 12, load<u32>(p + IPV4_SRC));
    store<u64>(ADDR_B, 0);
    store<u32>(ADDR_B + 8, V4MAPPED_MID);
    store<u32>(ADDR_B + 12, load<u32>(p + IPV4_DST));
  }
  ROUTE.sawIp = true;
  return ROUTED;
}

/**
 * The symmetric keyed hash of an address pair (a0 a1, b0 b1: each address as two little-endian
 * u64, v4-mapped for IPv4): SipHash-1-2 (one round per word, two to finish: hash/siphash.ts) under
 * the flow table's key. Fewer rounds than the table's keyHash, which
 * every frame of the reading thread also pays when it routes: the shard only needs a spread that a
 * capture's author cannot steer without the key. An IPv4 pair (both v4-mapped) is one word
 * (pairHashV4), a v6 pair four. test/shards/route-hash.test.ts checks it against a reference.
 */
@inline function pairHashOf(a0: u64, a1: u64, b0: u64, b1: u64): u32 {
  if ((a0 | b0) == 0 && <u32>a1 == V4MAPPED_MID && <u32>b1 == V4MAPPED_MID) {
    // Both addresses sit in the high halves (bytes 12..15).
    return pairHashV4(<u32>(a1 >> 32), <u32>(b1 >> 32));
  }
  // Any total order will do, as long as both directions pick the same first address.
  if (a0 > b0 || (a0 == b0 && a1 > b1)) {
    const t0 = a0, t1 = a1;
    a0 = b0; a1 = b1; b0 = t0; b1 = t1;
  }
  return sipHash(4, 2, a0, a1, b0, b1, 0);
}

/**
 * pairHashOf of two IPv4 addresses (`sa`, `da` as loaded little-endian from the header): the
 * v4-mapped pair's order is that of these words, and its one message word the first in the low
 * half, the other in the high.
 */
@inline function pairHashV4(sa: u32, da: u32): u32 {
  const m = sa <= da ? <u64>sa | (<u64>da << 32) : <u64>da | (<u64>sa << 32);
  return sipHash(1, 2, m, 0, 0, 0, 0);
}

/** pairHashOf of the pair routeIp() left at ADDR_A, ADDR_B. */
@inline function pairHash(): u32 {
  return pairHashOf(load<u64>(ADDR_A), load<u64>(ADDR_A, 8), load<u64>(ADDR_B), load<u64>(ADDR_B, 8));
}

/** routeDecodeKey's answer for a frame with no IP header: spread by record number. */
const NO_KEY: i64 = -1;
/** routeEthStraight's answer for a frame it does not take (decodeLink routes it). */
const NOT_STRAIGHT: i64 = -2;

/**
 * The common Ethernet frame's outermost IP header (at most one 802.1Q tag, then the IPv4 or IPv6
 * EtherType), found as decodeEthernet, decodeEthPayload and decodeIp find it (ethernet.ts, ip.ts:
 * the version nibble, not the EtherType, picks the decoder), without their calls and the descriptor
 * writes routing has no use for: the key of its address pair read where routeIp() would read it
 * (pairHashOf, straight from the header), or NO_KEY where they stop before an IP header or routeIp
 * before the addresses (a cut tag or header, no version byte, an unknown version). NOT_STRAIGHT for
 * every other frame: the caller routes it through decodeLink. test/shards/route-straight.test.ts
 * compares the two.
 */
@inline function routeEthStraight(p: usize, cap: i32): i64 {
  if (cap < ETH_HDR) return NOT_STRAIGHT;
  // SAFETY: cap >= 14 covers the EtherType.
  let type = be16(p + ETH_TYPE);
  let off = ETH_HDR;
  if (type == ETHERTYPE_VLAN) {
    if (cap < ETH_HDR + VLAN_TAG) return NOT_STRAIGHT;
    // SAFETY: cap >= 18 covers the tag's EtherType.
    type = be16(p + <usize>ETH_HDR + VLAN_TYPE);
    off = ETH_HDR + VLAN_TAG;
  }
  if (type != ETHERTYPE_IPV4 && type != ETHERTYPE_IPV6) return NOT_STRAIGHT;
  const c = cap - off;
  if (c < 1) return NO_KEY;
  const q = p + <usize>off;
  // SAFETY: c >= 1 covers the version byte.
  const version = <u32>load<u8>(q) >> 4;
  if (version == IP_VERSION_4) {
    if (c < IPV4_HDR) return NO_KEY;
    // SAFETY: c >= 20 covers both addresses.
    return <i64>pairHashV4(load<u32>(q + IPV4_SRC), load<u32>(q + IPV4_DST));
  }
  if (version == IP_VERSION_6) {
    if (c < IPV6_HDR) return NO_KEY;
    // SAFETY: c >= 40 covers both addresses.
    return <i64>pairHashOf(load<u64>(q + IPV6_SRC), load<u64>(q + IPV6_SRC, 8), load<u64>(q + IPV6_DST),
      load<u64>(q + IPV6_DST, 8));
  }
  return NO_KEY;
}

/** The frame's route key (its outermost address pair's pairHash, or NO_KEY), through the straight path when `straight`. */
@inline function routeDecodeKey(linktype: i32, p: usize, caplen: i32, wirelen: i32, tsUs: i64, straight: bool): i64 {
  if (straight && linktype == LINKTYPE_ETHERNET) {
    const key = routeEthStraight(p, max(caplen, 0));
    if (key != NOT_STRAIGHT) return key;
  }
  ROUTE.sawIp = false;
  decodeLink(linktype, p, caplen, wirelen, tsUs);
  return ROUTE.sawIp ? <i64>pairHash() : NO_KEY;
}

/**
 * Test hook: the frame's route key, through the straight path (`straight` 1) or decodeLink alone
 * (0): pairHash() of its outermost address pair, or -1 where it has none (spread by record
 * number). Route mode must be on (routeInit).
 */
export function routeKey(linktype: i32, p: usize, caplen: i32, wirelen: i32, straight: i32): i64 {
  return routeDecodeKey(linktype, p, caplen, wirelen, 0, straight != 0);
}

/** The shard of a frame: see the header. Inlined into routeFrame, its one caller: a call a frame saved. */
@inline function shardOf(linktype: i32, p: usize, caplen: i32, wirelen: i32, tsUs: i64, frame: f64): u32 {
  const key = routeDecodeKey(linktype, p, caplen, wirelen, tsUs, true);
  if (key == NO_KEY) return <u32>(frame % <f64>ROUTE.shards);
  const h = <u64>key;
  const below = ROUTE.ownBelow;
  if (h < below) return 0;
  // below <= h < 2^32, so the range is not empty and the quotient is < shards - 1: 0 with two
  // shards, the common case (one core besides the reading thread's), without the 64-bit division.
  if (ROUTE.shards == 2) return 1;
  return 1 + <u32>(((h - below) * <u64>(ROUTE.shards - 1)) / ((<u64>1 << 32) - below));
}

/** Tracks the frame here (shard 0) or appends it to its shard's area (route mode's deliverFrame). */
export function routeFrame(linktype: i32, p: usize, caplen: i32, wirelen: i32, tsUs: i64, frame: f64, clock: i64): void {
  const s = shardOf(linktype, p, caplen, wirelen, tsUs, frame);
  if (s == 0) {
    // This engine's own share: decoded whole (route mode off, so the IP decoders go on past the
    // outermost header) and tracked, under this engine's clock, as one engine would.
    ROUTE.routing = false;
    deliverRoutedFrame(linktype, p, caplen, wirelen, tsUs, frame);
    ROUTE.routing = true;
    return;
  }
  const fillSlot = FILLS + (<usize>s << 2);
  const fill = <usize>load<u32>(fillSlot);
  // SAFETY: fill < ROUTE_FLUSH (the reader stops once an area reaches it) and caplen <= MAX_RECORD_BYTES,
  // so the record fits in AREA_BYTES.
  const n = writeFrameRecord(routeAreaPtr(<i32>s) + fill, linktype, p, max(caplen, 0), wirelen, tsUs, frame, clock);
  store<u32>(fillSlot, <u32>(fill + n));
  if (fill + n >= ROUTE_FLUSH) ROUTE.full = true;
}
