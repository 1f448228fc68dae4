#!/usr/bin/env node
/**
 * Reference contender "js-typed": carefully written JavaScript, the bar the WebAssembly path has to
 * clear. Same parsing and per-flow counters as bench/ref/js-map.mjs, but on a Uint8Array with
 * integer math, and the flow table is open addressing (linear probing) over one Int32Array of
 * 64-byte rows: hash, a 9-word key (both endpoints as four 32-bit address words, IPv4 v4-mapped,
 * plus both ports) and the counters; a murmur3-style integer hash; no per-packet objects, no strings.
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
import { walkCapture } from "../lib/pcap-reader.mjs";
import { newSummary, runAsScript } from "./summary.mjs";

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

/**
 * One 64-byte row of 16 x 32-bit words per slot, so a lookup touches one or two cache lines instead
 * of one line per column (at 256k flows the table is far larger than the caches).
 */
const ROW = 16;
const R_HASH = 0;
const R_PACKETS = 1; // 0 = empty slot (an inserted flow always has at least one packet)
const R_KEY = 2; // 9 words: low endpoint address (4), high endpoint address (4), lowPort << 16 | highPort
const KW = 9;
const R_SYN = 11;
const R_FIN = 12;
const R_RST = 13;
const R_IP_BYTES = 14; // u32; the overflow above 2^32 goes to the `high` Float64Array
const R_PAY_BYTES = 15; // u32; likewise
const TWO_POW_32 = 4294967296;
const HASH_SEED = 0x2f0e1a5b;

/** Open-addressing flow table, linear probing, rows in one ArrayBuffer; grows x2 at load factor 1/2. */
class FlowTable {
  constructor(initialCapacity = 1 << 16) {
    this.alloc(initialCapacity);
  }

  alloc(cap) {
    this.cap = cap;
    this.mask = cap - 1;
    this.size = 0;
    this.rows = new Int32Array(cap * ROW);
    this.u32 = new Uint32Array(this.rows.buffer);
    this.high = new Float64Array(cap * 2); // byte counters above 2^32: [ip, payload] per slot
  }

  /** Row offset of key k (hash h), inserted if absent. */
  row(k, h) {
    const rows = this.rows;
    let i = h & this.mask;
    for (;;) {
      const r = i * ROW;
      if (rows[r + R_PACKETS] === 0) {
        if ((this.size + 1) * 2 > this.cap) {
          this.grow();
          return this.row(k, h);
        }
        rows[r + R_HASH] = h;
        for (let j = 0; j < KW; j++) rows[r + R_KEY + j] = k[j];
        this.size++;
        return r;
      }
      if (
        rows[r + R_HASH] === h &&
        rows[r + 2] === k[0] &&
        rows[r + 3] === k[1] &&
        rows[r + 4] === k[2] &&
        rows[r + 5] === k[3] &&
        rows[r + 6] === k[4] &&
        rows[r + 7] === k[5] &&
        rows[r + 8] === k[6] &&
        rows[r + 9] === k[7] &&
        rows[r + 10] === k[8]
      )
        return r;
      i = (i + 1) & this.mask;
    }
  }

  /** Add n to the u32 counter at rows[r + field], carrying into `high`. */
  addBytes(r, field, n) {
    const v = this.u32[r + field] + n;
    if (v >= TWO_POW_32) {
      this.high[(r / ROW) * 2 + (field - R_IP_BYTES)] += TWO_POW_32;
      this.u32[r + field] = v - TWO_POW_32;
    } else this.u32[r + field] = v;
  }

  /** Counter value including its overflow. */
  bytes(r, field) {
    return this.u32[r + field] + this.high[(r / ROW) * 2 + (field - R_IP_BYTES)];
  }

  grow() {
    const { cap, rows, high } = this;
    this.alloc(cap * 2);
    for (let i = 0; i < cap; i++) {
      const r = i * ROW;
      if (rows[r + R_PACKETS] === 0) continue;
      let j = rows[r + R_HASH] & this.mask;
      while (this.rows[j * ROW + R_PACKETS] !== 0) j = (j + 1) & this.mask;
      this.rows.set(rows.subarray(r, r + ROW), j * ROW);
      this.high[j * 2] = high[i * 2];
      this.high[j * 2 + 1] = high[i * 2 + 1];
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

  const info = walkCapture(path, (u8, _dv, off, caplen) => {
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
      ep[0] = 0;
      ep[1] = 0;
      ep[2] = 0xffff;
      ep[3] = be32(u8, o + 12);
      ep[4] = 0;
      ep[5] = 0;
      ep[6] = 0xffff;
      ep[7] = be32(u8, o + 16);
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

    const r = table.row(key, h);
    const rows = table.rows;
    rows[r + R_PACKETS]++;
    if (flags & TH_SYN) rows[r + R_SYN]++;
    if (flags & TH_FIN) rows[r + R_FIN]++;
    if (flags & TH_RST) rows[r + R_RST]++;
    table.addBytes(r, R_IP_BYTES, ipBytes);
    table.addBytes(r, R_PAY_BYTES, payload);
  });

  const s = newSummary("js-typed", info, table.size, skipped);
  const rows = table.rows;
  for (let r = 0; r < rows.length; r += ROW) {
    if (rows[r + R_PACKETS] === 0) continue;
    s.tcpSegments += rows[r + R_PACKETS];
    s.synSegments += rows[r + R_SYN];
    s.finSegments += rows[r + R_FIN];
    s.rstSegments += rows[r + R_RST];
    s.ipBytes += table.bytes(r, R_IP_BYTES);
    s.payloadBytes += table.bytes(r, R_PAY_BYTES);
    if (rows[r + R_RST] > 0) s.rstFlows++;
    else if (rows[r + R_FIN] >= 2) s.finClosedFlows++;
  }
  return s;
}

runAsScript(import.meta.url, "bench/ref/js-typed.mjs", analyzeTyped);
