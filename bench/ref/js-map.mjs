#!/usr/bin/env node
/**
 * Reference contender "js-map": what a Node user writes without WebAssembly. Parses
 * Ethernet / 802.1Q / IPv4 / IPv6 / TCP with a DataView, keys flows by a canonical 5-tuple string
 * in a Map<string, object>, and counts packets, bytes, SYN, FIN and RST per flow.
 *
 *   node bench/ref/js-map.mjs capture.pcap   ->  one JSON line: {impl, flows, packets, ...}
 *
 * Contract: the summary fields are the same as bench/ref/js-typed.mjs's, and both must agree on
 * every capture (the throughput harness and the generator test compare them). The key is the
 * 5-tuple only: VLAN ids are not part of it (the generator never reuses a 5-tuple across VLANs).
 * Non-first IP fragments, non-TCP packets and headers cut short by the snaplen are counted as
 * skipped, not parsed.
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

function ipv4String(dv, o) {
  return `${dv.getUint8(o)}.${dv.getUint8(o + 1)}.${dv.getUint8(o + 2)}.${dv.getUint8(o + 3)}`;
}

function ipv6String(dv, o) {
  const parts = [];
  for (let i = 0; i < 16; i += 2) parts.push(dv.getUint16(o + i).toString(16));
  return parts.join(":");
}

/**
 * @param {string} path pcap or pcapng file (Ethernet)
 * @returns {object} summary: flows and totals over all flows
 */
export function analyzeMap(path) {
  /** @type {Map<string, {packets: number, ipBytes: number, payloadBytes: number, syn: number, fin: number, rst: number, first: number, last: number}>} */
  const flows = new Map();
  let skipped = 0;

  const info = walkCapture(path, (_u8, dv, off, caplen, _wireLen, ts) => {
    const end = off + caplen;
    let o = off + 12;
    if (o + 2 > end) return void skipped++;
    let ethertype = dv.getUint16(o);
    o += 2;
    while (ethertype === ETHERTYPE_VLAN || ethertype === ETHERTYPE_QINQ) {
      if (o + 4 > end) return void skipped++;
      ethertype = dv.getUint16(o + 2);
      o += 4;
    }
    let src;
    let dst;
    let ipBytes;
    let l4Len;
    if (ethertype === ETHERTYPE_IPV4) {
      if (o + 20 > end) return void skipped++;
      const ihl = (dv.getUint8(o) & 0x0f) * 4;
      const totalLen = dv.getUint16(o + 2);
      const fragOff = dv.getUint16(o + 6) & 0x1fff;
      if (dv.getUint8(o + 9) !== IPPROTO_TCP || fragOff !== 0 || ihl < 20) return void skipped++;
      src = ipv4String(dv, o + 12);
      dst = ipv4String(dv, o + 16);
      ipBytes = totalLen;
      l4Len = totalLen - ihl;
      o += ihl;
    } else if (ethertype === ETHERTYPE_IPV6) {
      if (o + 40 > end) return void skipped++;
      const payloadLen = dv.getUint16(o + 4);
      let next = dv.getUint8(o + 6);
      src = ipv6String(dv, o + 8);
      dst = ipv6String(dv, o + 24);
      ipBytes = payloadLen + 40;
      l4Len = payloadLen;
      o += 40;
      while (next === IPV6_EXT_HOP || next === IPV6_EXT_ROUTING || next === IPV6_EXT_DSTOPTS) {
        if (o + 2 > end) return void skipped++;
        const extLen = (dv.getUint8(o + 1) + 1) * 8;
        next = dv.getUint8(o);
        o += extLen;
        l4Len -= extLen;
      }
      if (next !== IPPROTO_TCP) return void skipped++;
    } else return void skipped++;

    if (o + 20 > end) return void skipped++;
    const sport = dv.getUint16(o);
    const dport = dv.getUint16(o + 2);
    const thl = (dv.getUint8(o + 12) >> 4) * 4;
    const flags = dv.getUint8(o + 13);
    const payload = Math.max(0, l4Len - thl);

    const a = `${src}/${sport}`;
    const b = `${dst}/${dport}`;
    const key = a < b ? `${a} ${b}` : `${b} ${a}`;
    let f = flows.get(key);
    if (f === undefined) {
      f = { packets: 0, ipBytes: 0, payloadBytes: 0, syn: 0, fin: 0, rst: 0, first: ts, last: ts };
      flows.set(key, f);
    }
    f.packets++;
    f.ipBytes += ipBytes;
    f.payloadBytes += payload;
    if (flags & TH_SYN) f.syn++;
    if (flags & TH_FIN) f.fin++;
    if (flags & TH_RST) f.rst++;
    f.last = ts;
  });

  const s = newSummary("js-map", info, flows.size, skipped);
  for (const f of flows.values()) {
    s.tcpSegments += f.packets;
    s.ipBytes += f.ipBytes;
    s.payloadBytes += f.payloadBytes;
    s.synSegments += f.syn;
    s.finSegments += f.fin;
    s.rstSegments += f.rst;
    if (f.rst > 0) s.rstFlows++;
    else if (f.fin >= 2) s.finClosedFlows++;
  }
  return s;
}

runAsScript(import.meta.url, "bench/ref/js-map.mjs", analyzeMap);
