// Writes a capture of one long TCP connection: handshake, `segments` data segments from the
// client each acknowledged by the server (so 2 x segments + 6 frames in all), a retransmission at
// segment `rtxAt`, then an ordinary close. Ethernet/IPv4/TCP frames with zero checksums: read it
// with ignoreChecksums. Built on the benchmark harness's capture writer.

import { closeSync, openSync } from "node:fs";
import { CaptureWriter } from "../../bench/lib/pcap-writer.mjs";

const CLIENT = [10, 1, 0, 1],
  SERVER = [10, 1, 0, 2];
const CPORT = 52528,
  SPORT = 80;
const ISN_C = 1000,
  ISN_S = 5000;

export function writeLongConnection(path: string, segments: number, payload = 100, rtxAt = -1): { frames: number } {
  const fd = openSync(path, "w");
  const w = new CaptureWriter(fd, { format: "pcap", chunkBytes: 8 << 20 });
  let t = 1_700_000_000_000_000;
  let cseq = ISN_C,
    sseq = ISN_S;
  const frame = (fromClient: boolean, flags: number, seq: number, ack: number, len: number, syn = false) => {
    const hl = syn ? 24 : 20;
    const total = 14 + 20 + hl + len;
    const b: Buffer = w.buf;
    const o = w.begin(t, total);
    b.fill(0, o, o + total);
    b.writeUInt16BE(0x0800, o + 12);
    const ip = o + 14;
    b[ip] = 0x45;
    b.writeUInt16BE(20 + hl + len, ip + 2);
    b[ip + 8] = 64;
    b[ip + 9] = 6;
    b.set(fromClient ? CLIENT : SERVER, ip + 12);
    b.set(fromClient ? SERVER : CLIENT, ip + 16);
    const tcp = ip + 20;
    b.writeUInt16BE(fromClient ? CPORT : SPORT, tcp);
    b.writeUInt16BE(fromClient ? SPORT : CPORT, tcp + 2);
    b.writeUInt32BE(seq >>> 0, tcp + 4);
    b.writeUInt32BE(ack >>> 0, tcp + 8);
    b[tcp + 12] = (hl / 4) << 4;
    b[tcp + 13] = flags;
    b.writeUInt16BE(64240, tcp + 14);
    if (syn) {
      b[tcp + 20] = 2;
      b[tcp + 21] = 4;
      b.writeUInt16BE(1460, tcp + 22); // MSS
    }
    w.end(total);
    t += 10;
  };
  frame(true, 0x02, cseq, 0, 0, true);
  frame(false, 0x12, sseq, cseq + 1, 0, true);
  cseq++;
  sseq++;
  frame(true, 0x10, cseq, sseq, 0);
  for (let i = 0; i < segments; i++) {
    if (i === rtxAt) frame(true, 0x18, cseq - payload, sseq, payload); // the previous segment again
    frame(true, 0x18, cseq, sseq, payload);
    cseq += payload;
    frame(false, 0x10, sseq, cseq, 0);
  }
  frame(true, 0x11, cseq, sseq, 0);
  frame(false, 0x11, sseq, cseq + 1, 0);
  frame(true, 0x10, cseq + 1, sseq + 1, 0);
  w.flush();
  closeSync(fd);
  return { frames: w.packets };
}
