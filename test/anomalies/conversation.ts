// Builds a small real capture (Ethernet/IPv4/TCP, valid checksums) from a script of segments, so a
// test can state a wire situation in a few lines and run it through the real decoder and tracker.

import { Reconstructor } from "../../src/index.js";
import type { Flow } from "../../src/flow.js";
import { ether, ipv4Tcp } from "../decode/builders.js";
import { writePcap, type PcapRecord } from "../decode/capture-io.js";

export const FIN = 0x01,
  SYN = 0x02,
  RST = 0x04,
  PSH = 0x08,
  ACK = 0x10,
  URG = 0x20;

export interface Seg {
  /** "c" client (10.0.0.1:40000) or "s" server (10.0.0.2:80). */
  from: "c" | "s";
  flags: number;
  /** Sequence number relative to the sender's ISN (the SYN is 0). */
  seq: number;
  /** Acknowledgement relative to the peer's ISN. */
  ack?: number;
  len?: number;
  win?: number;
  /** Seconds since the first segment. */
  t: number;
}

const CLIENT_ISN = 1_000_000;
const SERVER_ISN = 5_000_000;

export function capture(segs: Seg[]): Uint8Array {
  const t0 = 1_700_000_000;
  const records: PcapRecord[] = segs.map((s) => {
    const fromClient = s.from === "c";
    const payload = new Uint8Array(s.len ?? 0).fill(0x61);
    const ip = ipv4Tcp(
      {
        sport: fromClient ? 40000 : 80,
        dport: fromClient ? 80 : 40000,
        seq: ((fromClient ? CLIENT_ISN : SERVER_ISN) + s.seq) >>> 0,
        ack: s.ack === undefined ? 0 : ((fromClient ? SERVER_ISN : CLIENT_ISN) + s.ack) >>> 0,
        flags: s.flags,
        win: s.win ?? 8192,
        payload,
      },
      { src: fromClient ? "10.0.0.1" : "10.0.0.2", dst: fromClient ? "10.0.0.2" : "10.0.0.1" },
    );
    const frame = ether(0x0800, ip);
    const us = Math.round(s.t * 1e6);
    return { tsSec: t0 + Math.floor(us / 1e6), tsFrac: us % 1e6, wirelen: frame.length, data: frame };
  });
  return writePcap({ linktype: 1, records });
}

/** The flows of the scripted conversation, through the real engine. */
export function run(segs: Seg[]): Flow[] {
  const rec = new Reconstructor({});
  const flows = [...rec.push(capture(segs)), ...rec.finish()];
  if (rec.error) throw new Error(rec.error.message);
  return flows;
}

/** A complete handshake, then whatever follows; data sequence numbers start at 1. */
export function handshake(): Seg[] {
  return [
    { from: "c", flags: SYN, seq: 0, t: 0 },
    { from: "s", flags: SYN | ACK, seq: 0, ack: 1, t: 0.01 },
    { from: "c", flags: ACK, seq: 1, ack: 1, t: 0.02 },
  ];
}

export function types(f: Flow): string[] {
  return [...new Set(f.anomalies.map((a) => a.type))].sort();
}
