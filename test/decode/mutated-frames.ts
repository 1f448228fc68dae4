// Inputs of the differential fuzz tests that hold a straight path to its general twin (the
// decoder's, test/decode/straight.test.ts; the shard router's, test/shards/route-straight.test.ts):
// real Ethernet frames from the Zeek corpus, and a mutation that flips a few header bytes.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CORPUS } from "./wasm-harness.js";
import { parsePcap } from "./capture-io.js";
import { LINKTYPE } from "./fixtures.js";

/** Captures with plain, padded, 802.1Q, MPLS, IPv6 and Teredo frames. */
const CAPTURES = ["tcp-ethernet-padding.pcap", "ftp-ipv6.pcap", "vlan-mpls.pcap", "ssh-basic.pcap", "teredo-ipv6.pcap"];

/** The first `perCapture` frames of each of CAPTURES whose link type is Ethernet. */
export function corpusEthernetFrames(perCapture = 60): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (const c of CAPTURES) {
    const pcap = parsePcap(new Uint8Array(readFileSync(join(CORPUS, c))));
    if (pcap.linktype !== LINKTYPE.ETHERNET) continue;
    for (const rec of pcap.records.slice(0, perCapture)) frames.push(rec.data);
  }
  return frames;
}

/**
 * Overwrites 0-3 bytes among the first `window` of `f` (in place), each with one of `interesting`
 * (the values the path under test compares against) 70% of the time, else a random byte.
 */
export function flipHeaderBytes(f: Uint8Array, r: () => number, interesting: readonly number[], window: number): void {
  const flips = Math.floor(r() * 4);
  for (let i = 0; i < flips; i++) {
    const at = Math.floor(r() * Math.min(f.length, window));
    f[at] = r() < 0.7 ? interesting[Math.floor(r() * interesting.length)] : Math.floor(r() * 256);
  }
}
