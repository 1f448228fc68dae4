#!/usr/bin/env node
/**
 * Reference contender "js-typed": carefully written JavaScript, the bar the WebAssembly path has to
 * clear. Same parsing and per-flow counters as bench/ref/js-map.mjs, but on a Uint8Array with
 * integer math, and the flow table is open addressing (linear probing) over typed-array columns:
 * a 9-word key per slot (both endpoints as four 32-bit address words, IPv4 v4-mapped, plus both
 * ports), a murmur3-style integer hash, no per-packet objects, no strings.
 *
 *   node bench/ref/js-typed.mjs capture.pcap   ->  one JSON line: {impl, flows, packets, ...}
 *
 * Contract: prints the same summary fields as js-map.mjs and must agree with it on every capture.
 * The key is canonical (lower endpoint first, compared as unsigned address words then port), so
 * both directions of a connection land in one slot. The hash seed is a constant: this is a
 * benchmark over our own captures, not a tool exposed to hash-flooding input.
 *
 * @module
 */
import { pathToFileURL } from "node:url";
import { walkCapture } from "../lib/pcap-reader.mjs";

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
const IPPROTO_TCP = 6;
const IPV6_EXT_HOP = 0;
const IPV6_EXT_ROUTING = 43;
const IPV6_EXT_DSTOPTS = 60;
const TH_FIN = 0x01;
const TH_SYN = 0x02;
const TH_RST = 0x04;

/** Key words per slot: low endpoint address (4), high endpoint address (4), lowPort << 16 | highPort. */
const KW = 9;
/** Int32 counters per slot. */
const C_PACKETS = 0;
const C_SYN = 1;
const C_FIN = 2;
const C_RST = 3;
const CW = 4;
/** Float64 counters per slot. */
const B_IP = 0;
const B_PAYLOAD = 1;
const BW = 2;
const HASH_SEED = 0x2f0e1a5b;

/** Open-addressing flow table over typed-array columns; grows x2 at load factor 1/2. */
class FlowTable {
  constructor(initialCapacity = 1 << 16) {
    this.alloc(initialCapacity);
  }

  alloc(cap) {
    this.cap = cap;
    this.mask = cap - 1;
    this.size = 0;
    this.keys = new Int32Array(cap * KW);
    this.hashes = new Int32Array(cap);
    this.used = new Uint8Array(cap);
    this.counts = new Int32Array(cap * CW);
    this.bytes = new Float64Array(cap * BW);
  }

  /** Slot of key k (hash h), inserted if absent. */
  slot(k, h) {
    const keys = this.keys;
    const hashes = this.hashes;
    const used = this.used;
    let i = h & this.mask;
    for (;;) {
      if (used[i] === 0) {
        if ((this.size + 1) * 2 > this.cap) {
          this.grow();
          return this.slot(k, h);
        }
        used[i] = 1;
        hashes[i] = h;
        const b = i * KW;
        for (let j = 0; j < KW; j++) keys[b + j] = k[j];
        this.size++;
        return i;
      }
      if (hashes[i] === h) {
        const b = i * KW;
        if (keys[b] === k[0] && keys[b + 1] === k[1] && keys[b + 2] === k[2] && keys[b + 3] === k[3] &&
            keys[b + 4] === k[4] && keys[b + 5] === k[5] && keys[b + 6] === k[6] && keys[b + 7] === k[7] &&
            keys[b + 8] === k[8]) return i;
      }
      i = (i + 1) & this.mask;
    }
  }

  grow() {
    const { cap, keys, hashes, used, counts, bytes } = this;
    this.alloc(cap * 2);
    for (let i = 0; i < cap; i++) {
      if (!used[i]) continue;
      let j = hashes[i] & this.mask;
      while (this.used[j]) j = (j + 1) & this.mask;
      this.used[j] = 1;
      this.hashes[j] = hashes[i];
      this.keys.set(keys.subarray(i * KW, i * KW + KW), j * KW);
      this.counts.set(counts.subarray(i * CW, i * CW + CW), j * CW);
      this.bytes.set(bytes.subarray(i * BW, i * BW + BW), j * BW);
      this.size++;
    }
  }
}

function mix(h, k) {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function fmix32(h) {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function be32(u8, o) {
  return (u8[o] << 24) | (u8[o + 1] << 16) | (u8[o + 2] << 8) | u8[o + 3];
}

/**
 * @param {string} path pcap or pcapng file (Ethernet)
 * @returns {object} summary with the same fields as analyzeMap
 */
export function analyzeTyped(path) {
  const table = new FlowTable();
  const ep = new Int32Array(8); // endpoint addresses as parsed: src words 0-3, dst words 4-7
  const key = new Int32Array(KW);
  let skipped = 0;

  const info = walkCapture(path, (u8, dv, off, caplen) => {
    const end = off + caplen;
    let o = off + 12;
    if (o + 2 > end) return void skipped++;
    let ethertype = (u8[o] << 8) | u8[o + 1];
    o += 2;
    while (ethertype === ETHERTYPE_VLAN || ethertype === ETHERTYPE_QINQ) {
      if (o + 4 > end) return void skipped++;
      ethertype = (u8[o + 2] << 8) | u8[o + 3];
      o += 4;
    }
    let ipBytes;
    let l4Len;
    if (ethertype === ETHERTYPE_IPV4) {
      if (o + 20 > end) return void skipped++;
      const ihl = (u8[o] & 0x0f) << 2;
      const totalLen = (u8[o + 2] << 8) | u8[o + 3];
      const fragOff = ((u8[o + 6] & 0x1f) << 8) | u8[o + 7];
      if (u8[o + 9] !== IPPROTO_TCP || fragOff !== 0 || ihl < 20) return void skipped++;
      ep[0] = 0; ep[1] = 0; ep[2] = 0xffff; ep[3] = be32(u8, o + 12);
      ep[4] = 0; ep[5] = 0; ep[6] = 0xffff; ep[7] = be32(u8, o + 16);
      ipBytes = totalLen;
      l4Len = totalLen - ihl;
      o += ihl;
    } else if (ethertype === ETHERTYPE_IPV6) {
      if (o + 40 > end) return void skipped++;
      const payloadLen = (u8[o + 4] << 8) | u8[o + 5];
      let next = u8[o + 6];
      for (let i = 0; i < 8; i++) ep[i] = be32(u8, o + 8 + 4 * i);
      ipBytes = payloadLen + 40;
      l4Len = payloadLen;
      o += 40;
      while (next === IPV6_EXT_HOP || next === IPV6_EXT_ROUTING || next === IPV6_EXT_DSTOPTS) {
        if (o + 2 > end) return void skipped++;
        const extLen = (u8[o + 1] + 1) << 3;
        next = u8[o];
        o += extLen;
        l4Len -= extLen;
      }
      if (next !== IPPROTO_TCP) return void skipped++;
    } else return void skipped++;

    if (o + 20 > end) return void skipped++;
    const sport = (u8[o] << 8) | u8[o + 1];
    const dport = (u8[o + 2] << 8) | u8[o + 3];
    const thl = (u8[o + 12] >>> 4) << 2;
    const flags = u8[o + 13];
    const payload = l4Len > thl ? l4Len - thl : 0;

    // Canonical order: compare the addresses as unsigned words, then the ports.
    let srcFirst = sport < dport;
    for (let i = 0; i < 4; i++) {
      const a = ep[i] >>> 0;
      const b = ep[4 + i] >>> 0;
      if (a !== b) {
        srcFirst = a < b;
        break;
      }
    }
    const lo = srcFirst ? 0 : 4;
    const hi = 4 - lo;
    let h = HASH_SEED;
    for (let i = 0; i < 4; i++) h = mix(h, (key[i] = ep[lo + i]));
    for (let i = 0; i < 4; i++) h = mix(h, (key[4 + i] = ep[hi + i]));
    h = mix(h, (key[8] = srcFirst ? (sport << 16) | dport : (dport << 16) | sport));
    h = fmix32(h ^ (KW * 4));

    const i = table.slot(key, h);
    const c = table.counts;
    const cb = i * CW;
    c[cb + C_PACKETS]++;
    if (flags & TH_SYN) c[cb + C_SYN]++;
    if (flags & TH_FIN) c[cb + C_FIN]++;
    if (flags & TH_RST) c[cb + C_RST]++;
    const bb = i * BW;
    table.bytes[bb + B_IP] += ipBytes;
    table.bytes[bb + B_PAYLOAD] += payload;
  });

  const s = {
    impl: "js-typed", format: info.format, flows: table.size, packets: info.packets, tcpSegments: 0, skipped,
    ipBytes: 0, payloadBytes: 0, synSegments: 0, finSegments: 0, rstSegments: 0,
    finClosedFlows: 0, rstFlows: 0,
  };
  const c = table.counts;
  for (let i = 0; i < table.cap; i++) {
    if (!table.used[i]) continue;
    const cb = i * CW;
    s.tcpSegments += c[cb + C_PACKETS];
    s.synSegments += c[cb + C_SYN];
    s.finSegments += c[cb + C_FIN];
    s.rstSegments += c[cb + C_RST];
    s.ipBytes += table.bytes[i * BW + B_IP];
    s.payloadBytes += table.bytes[i * BW + B_PAYLOAD];
    if (c[cb + C_RST] > 0) s.rstFlows++;
    else if (c[cb + C_FIN] >= 2) s.finClosedFlows++;
  }
  return s;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const path = process.argv[2];
  if (!path) {
    console.error("usage: node bench/ref/js-typed.mjs <capture.pcap|.pcapng>");
    process.exit(2);
  }
  const t0 = process.hrtime.bigint();
  const s = analyzeTyped(path);
  s.elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(JSON.stringify(s));
}
