// The tracker's steady-state fast path (assembly/flow/steady.ts) must not change one byte of output.
// Every capture the suite has (the Zeek corpus with each case's options, the kernel fixtures, the
// Wireshark corpus, test/fixtures/pcap and test/fixtures/anomalies, the generator's anomaly
// captures header-only and whole, and seeded mutations of them) is run with the fast path on and off; the finished records
// (every byte of the live part and the extension), their decoded flows as NDJSON, the statistics
// (but the fast path's own counter) and the capture error must be identical. The fast path must
// also be taken (otherwise the comparison proves nothing). FASTPATH_SEED replays the mutations.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../bench/lib/prng.mjs";
import { sharedPath } from "../../bench/lib/shared.mjs";
import type { ReconstructorOptions } from "../../src/index.js";
import { corpusCaptures } from "../golden/corpus.js";
import { ACK, FIN, PSH, RST, SYN, URG, type Seg, capture, handshake } from "../anomalies/conversation.js";
import { folderCaptures, generatedCaptures, repoRoot, runRecords } from "./helpers.js";

const SEED = Number(process.env.FASTPATH_SEED ?? 20261202);
/** Each case runs every capture twice; on a loaded 2-vCPU machine that takes minutes, not the default 60 s. */
const SLOW = 300_000;

let steadyTotal = 0;
let segmentsTotal = 0;

/** Runs both ways and asserts one output; returns how many segments took the fast path. */
function expectSameBothWays(name: string, bytes: Uint8Array, options: ReconstructorOptions = {}): void {
  const on = runRecords(bytes, { ...options, fastPath: true });
  const off = runRecords(bytes, { ...options, fastPath: false });
  expect(off.stats.steady_segments, `${name}: the switch turns the fast path off`).toBe(0);
  steadyTotal += on.stats.steady_segments;
  segmentsTotal += on.stats.segments;
  const { steady_segments: _a, ...statsOn } = on.stats;
  const { steady_segments: _b, ...statsOff } = off.stats;
  expect(statsOn, `${name}: statistics`).toEqual(statsOff);
  expect(on.error, `${name}: capture error`).toBe(off.error);
  expect(on.records.length, `${name}: flows`).toBe(off.records.length);
  for (let i = 0; i < on.records.length; i++) {
    // The decoded flow names the field; the raw bytes catch what no field shows.
    if (on.ndjson[i] !== off.ndjson[i])
      expect(JSON.parse(on.ndjson[i]), `${name}: flow ${i}`).toEqual(JSON.parse(off.ndjson[i]));
    expect(
      on.records[i].equals(off.records[i]),
      `${name}: record bytes of flow ${i} (${off.ndjson[i].slice(0, 160)})`,
    ).toBe(true);
  }
}

/** Offset of the TCP header in an Ethernet frame (optional 802.1Q tags, IPv4 or IPv6 without extension headers), or -1. */
function tcpOffset(b: Uint8Array, frame: number, caplen: number): number {
  let off = frame + 12;
  let type = (b[off] << 8) | b[off + 1];
  while (type === 0x8100 || type === 0x88a8) {
    off += 4;
    type = (b[off] << 8) | b[off + 1];
  }
  off += 2;
  let tcp = -1;
  if (type === 0x0800 && b[off + 9] === 6) tcp = off + (b[off] & 0x0f) * 4;
  else if (type === 0x86dd && b[off + 6] === 6) tcp = off + 40;
  return tcp >= 0 && tcp + 20 <= frame + caplen ? tcp : -1;
}

/**
 * A classic little-endian pcap with its TCP segments disturbed at the fast path's decision points:
 * flags, sequence and ack numbers nudged by a little or a lot, zero windows, repeated and swapped
 * records. Checksums then fail, so it is run with checksums ignored.
 */
function mutate(pcap: Uint8Array, seed: number, rate: number): Uint8Array {
  const next = mulberry32(seed);
  const dv = new DataView(pcap.buffer, pcap.byteOffset, pcap.byteLength);
  if (dv.getUint32(0, true) !== 0xa1b2c3d4 || dv.getUint32(20, true) !== 1)
    throw new Error("mutate: LE Ethernet pcap only");
  const records: Uint8Array[] = [];
  for (let off = 24; off + 16 <= pcap.length; ) {
    const caplen = dv.getUint32(off + 8, true);
    records.push(pcap.slice(off, off + 16 + caplen));
    off += 16 + caplen;
  }
  const out: Uint8Array[] = [pcap.subarray(0, 24)];
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    if (next() >= rate) {
      out.push(r);
      continue;
    }
    const caplen = r.length - 16;
    const t = tcpOffset(r, 16, caplen);
    const v = new DataView(r.buffer, r.byteOffset, r.byteLength);
    const k = Math.floor(next() * 9);
    if (t < 0 || k === 7) {
      out.push(r, r);
      continue;
    } // repeated record
    if (k === 8 && i + 1 < records.length) {
      out.push(records[i + 1], r);
      i++;
      continue;
    } // reordered pair
    if (k === 0)
      r[t + 13] ^= 1 << Math.floor(next() * 8); // one flag bit
    else if (k === 1) v.setUint32(t + 4, v.getUint32(t + 4) + [1, -1, 1000, -1000, 0x80000000][Math.floor(next() * 5)]);
    else if (k === 2) v.setUint32(t + 8, v.getUint32(t + 8) + [1, -1, 1460, -1460, 0x7fffffff][Math.floor(next() * 5)]);
    else if (k === 3)
      v.setUint16(t + 14, 0); // zero window
    else if (k === 4)
      v.setUint16(t + 14, v.getUint16(t + 14) ^ 1); // window changed by one
    else if (k === 5) r[t + 13] = [0x10, 0x18, 0x11, 0x14, 0x12, 0x19, 0x30, 0x50][Math.floor(next() * 8)];
    else v.setUint32(t + 8, 0); // ack 0
    out.push(r);
  }
  return Buffer.concat(out);
}

/**
 * The capture as seen from the middle of every connection: records whose TCP segment carries a SYN
 * are dropped (both sides then start PARTIAL), and a share `loss` of the others too (holes in the
 * streams, which PARTIAL sides do not report as gaps unless report_gaps_for_partial).
 */
function midstream(pcap: Uint8Array, seed: number, loss: number): Uint8Array {
  const next = mulberry32(seed);
  const dv = new DataView(pcap.buffer, pcap.byteOffset, pcap.byteLength);
  if (dv.getUint32(0, true) !== 0xa1b2c3d4 || dv.getUint32(20, true) !== 1)
    throw new Error("midstream: LE Ethernet pcap only");
  const out: Uint8Array[] = [pcap.subarray(0, 24)];
  for (let off = 24; off + 16 <= pcap.length; ) {
    const caplen = dv.getUint32(off + 8, true);
    const t = tcpOffset(pcap, off + 16, caplen);
    const syn = t >= 0 && (pcap[t + 13] & 0x02) !== 0;
    if (!syn && next() >= loss) out.push(pcap.subarray(off, off + 16 + caplen));
    off += 16 + caplen;
  }
  return Buffer.concat(out);
}

const kernelDir = join(repoRoot, "test", "fixtures", "kernel");
const pcapDir = join(repoRoot, "test", "fixtures", "pcap");
const anomaliesDir = join(repoRoot, "test", "fixtures", "anomalies");
const wiresharkDir = sharedPath("corpus", "wireshark");

/** Segments of `segs` that took a fast path (the engine's steady_segments counter). */
function steadyOf(segs: Seg[]): number {
  return runRecords(capture(segs), { fastPath: true }).stats.steady_segments;
}

/**
 * One connection's handshake and a little data (`data`; `open` is both: 5 segments, all on the fast path), then the
 * four segments of a normal close, the client's FIN first: FIN, its ACK, the server's FIN, the
 * last ACK. The close tests vary them.
 */
function normalClose() {
  const [syn, synAck, ack3] = handshake();
  const data: Seg[] = [
    { from: "c", flags: ACK, seq: 1, ack: 1, len: 10, t: 0.03 },
    { from: "s", flags: ACK, seq: 1, ack: 11, t: 0.04 },
  ];
  return {
    syn,
    synAck,
    ack3,
    data,
    open: [syn, synAck, ack3, ...data],
    finC: { from: "c", flags: FIN | ACK, seq: 11, ack: 1, t: 0.05 } as Seg,
    ackFinC: { from: "s", flags: ACK, seq: 1, ack: 12, t: 0.06 } as Seg,
    finS: { from: "s", flags: FIN | ACK, seq: 1, ack: 12, t: 0.07 } as Seg,
    lastAck: { from: "c", flags: ACK, seq: 12, ack: 2, t: 0.08 } as Seg,
  };
}

describe("the steady-state fast path changes no output", () => {
  const generated = generatedCaptures("flowrecon-fastpath-", {
    // Header-only (the snaplen cuts the payload: gaps on every ack), then whole segments.
    headers: { seed: 31, segments: 100_000, concurrent: 2_000, snaplen: 96, anomalyShare: 0.3, rstShare: 0.2 },
    whole: { seed: 32, segments: 60_000, concurrent: 500, snaplen: 65535, anomalyShare: 0.3, payload: 300 },
    wraps: {
      seed: 33,
      segments: 60_000,
      concurrent: 50,
      connSegments: 400,
      snaplen: 65535,
      anomalyShare: 0.2,
      payload: 1200,
    },
  });

  it(
    "Zeek corpus, with each case's Zeek options",
    () => {
      for (const [name, bytes, options] of corpusCaptures())
        expectSameBothWays(name, bytes, { ...options, vlanInKey: false });
    },
    SLOW,
  );

  it(
    "kernel fixtures, test/fixtures/pcap and anomalies, and the Wireshark corpus",
    () => {
      for (const d of [kernelDir, pcapDir, anomaliesDir])
        for (const [name, bytes] of folderCaptures(d)) expectSameBothWays(name, bytes);
      for (const [name, bytes] of folderCaptures(wiresharkDir))
        expectSameBothWays(name, bytes, { ignoreChecksums: true });
    },
    SLOW,
  );

  it(
    "the generator's anomaly captures (header-only, whole, long connections)",
    () => {
      for (const [name, bytes] of Object.entries(generated)) expectSameBothWays(`generated/${name}`, bytes);
      // Zeek's gap reporting for partial connections and tiny reassembly limits change the rules the fast path mirrors.
      expectSameBothWays("generated/whole, partial gaps, small limits", generated.whole, {
        reportGapsForPartial: true,
        maxAboveHoleWithoutAcks: 3000,
        excessiveDataWithoutAcks: 20_000,
      });
    },
    SLOW,
  );

  it(
    "connections seen from their middle (PARTIAL sides), with and without report_gaps_for_partial",
    () => {
      let n = 0;
      for (const [name, bytes] of Object.entries(generated)) {
        for (const loss of [0, 0.03]) {
          const cut = midstream(wholeRecords(bytes), SEED + 100 + n++, loss);
          const steady0 = steadyTotal;
          const segments0 = segmentsTotal;
          expectSameBothWays(`generated/${name} midstream (loss ${loss})`, cut);
          const share = (steadyTotal - steady0) / (segmentsTotal - segments0);
          // Most segments of a connection seen from its middle are steady: they must take the fast path.
          expect(share, `generated/${name} midstream (loss ${loss}): share on the fast path`).toBeGreaterThan(0.2);
          expectSameBothWays(`generated/${name} midstream (loss ${loss}), partial gaps`, cut, {
            reportGapsForPartial: true,
          });
        }
      }
    },
    SLOW,
  );

  it(
    "mutated captures: flags, sequence and ack numbers, windows, repeats and reordering",
    () => {
      const sources: [string, Uint8Array][] = [
        ...Object.entries(generated).map(
          ([n, b]) => [`generated/${n}`, b.subarray(0, 1_500_000)] as [string, Uint8Array],
        ),
        ...[...folderCaptures(kernelDir), ...folderCaptures(anomaliesDir)].filter(([name]) => name.endsWith(".pcap")),
      ];
      let n = 0;
      for (const [name, bytes] of sources) {
        // Whole records only: the generator prefix may end inside one.
        const cut = wholeRecords(bytes);
        for (const rate of [0.02, 0.2]) {
          const seed = SEED + n++;
          expectSameBothWays(`${name} mutated (rate ${rate}, FASTPATH_SEED=${SEED})`, mutate(cut, seed, rate), {
            ignoreChecksums: true,
          });
        }
      }
    },
    SLOW,
  );

  it(
    "the handshake's SYN that creates the record and the SYN-ACK answering it take the fast path, and only those",
    () => {
      const [syn, synAck, ack3] = handshake();
      // Segments on the fast path: the SYN where it creates the record, the SYN-ACK where it answers
      // that SYN, the third ACK where it is steady (1 each).
      const variants: [string, Seg[], number][] = [
        ["plain", [syn, synAck, ack3], 3],
        ["SYN with ECE and CWR", [{ ...syn, flags: SYN | 0xc0 }, synAck, ack3], 3],
        ["SYN with zero window", [{ ...syn, win: 0 }, synAck, ack3], 2],
        [
          "SYN with payload",
          [
            { ...syn, len: 10 },
            { ...synAck, ack: 11 },
            { ...ack3, seq: 11 },
          ],
          2,
        ],
        ["SYN with FIN", [{ ...syn, flags: SYN | FIN }, synAck, ack3], 0],
        ["SYN-ACK acking beyond the SYN", [syn, { ...synAck, ack: 5 }, ack3], 2],
        ["SYN-ACK acking before the SYN", [syn, { ...synAck, ack: 0 }, ack3], 2],
        ["SYN-ACK with zero window", [syn, { ...synAck, win: 0 }, ack3], 2],
        ["SYN-ACK with payload", [syn, { ...synAck, len: 10 }, ack3], 2],
        ["SYN-ACK twice", [syn, synAck, { ...synAck, t: 0.015 }, ack3], 3],
        ["SYN twice", [syn, { ...syn, t: 0.005 }, synAck, ack3], 3],
        [
          "the responder ACKs the SYN first",
          [syn, { from: "s", flags: ACK, seq: 0, ack: 1, t: 0.005 }, synAck, ack3],
          2,
        ],
        ["SYN-ACK before the SYN", [synAck, syn, ack3], 0],
        // The third ACK then acknowledges a closed peer: the close's fast path (tracker.ts closeAck) takes it.
        ["SYN-ACK with FIN", [syn, { ...synAck, flags: SYN | ACK | FIN }, ack3], 2],
      ];
      for (const [name, segs, steady] of variants) {
        expectSameBothWays(`handshake: ${name}`, capture(segs));
        expect(steadyOf(segs), `handshake: ${name}: segments on the fast path`).toBe(steady);
      }
    },
    SLOW,
  );

  it(
    "the close's pure ACKs (the ACK of a FIN, the last ACK) take the fast path, and only those",
    () => {
      const { open, finC, ackFinC, finS, lastAck } = normalClose();
      // Counted: the 5 of `open`, each FIN of a normal close (tracker.ts finAck, the next case) and each pure ACK taken.
      const variants: [string, Seg[], number | null][] = [
        ["plain", [...open, finC, ackFinC, finS, lastAck], 9],
        // The connection ends on the ACK of the FIN: its time is the connection's last (duration, removal).
        ["half close", [...open, finC, ackFinC], 7],
        ["half close, the open side's ACKs after it", [...open, finC, ackFinC, { ...ackFinC, t: 0.5, win: 100 }], 8],
        [
          "the server closes first",
          [
            ...open,
            { ...finS, ack: 11 },
            { ...lastAck, seq: 11 },
            { ...finC, ack: 2 },
            { ...ackFinC, ack: 12, seq: 2 },
          ],
          9,
        ],
        [
          "ACK of the FIN repeating the last ack (duplicate-ACK shape)",
          [...open, finC, { ...ackFinC, ack: 11 }, finS, lastAck],
          8,
        ],
        ["ACK of the FIN with a zero window", [...open, finC, { ...ackFinC, win: 0 }, finS, lastAck], 8],
        ["ACK of the FIN with PSH", [...open, finC, { ...ackFinC, flags: ACK | 0x08 }, finS, lastAck], 8],
        ["ACK of the FIN ahead of the sender's last_seq", [...open, finC, { ...ackFinC, seq: 3 }, finS, lastAck], null],
        ["ACK of the FIN before the sender's last_seq", [...open, finC, { ...ackFinC, seq: 0 }, finS, lastAck], null],
        ["last ACK beyond the FIN (ack of unseen data)", [...open, finC, ackFinC, finS, { ...lastAck, ack: 5 }], 8],
        ["last ACK before the peer's start", [...open, finC, ackFinC, finS, { ...lastAck, ack: -5 }], null],
        ["last ACK twice", [...open, finC, ackFinC, finS, lastAck, { ...lastAck, t: 0.09 }], null],
        ["last ACK after the close delay", [...open, finC, ackFinC, finS, { ...lastAck, t: 10 }], null],
        [
          "ACK after the FIN, then data from the open side",
          [
            ...open,
            finC,
            ackFinC,
            { from: "s", flags: ACK, seq: 1, ack: 12, len: 7, t: 0.065 },
            { from: "c", flags: ACK, seq: 12, ack: 8, t: 0.066 },
            { ...finS, seq: 8 },
            { ...lastAck, ack: 9 },
          ],
          null,
        ],
        [
          "simultaneous close",
          [...open, finC, { ...finS, ack: 11 }, { ...lastAck, ack: 2 }, { ...ackFinC, seq: 2 }],
          null,
        ],
        ["reset after the FIN", [...open, finC, ackFinC, { from: "s", flags: 0x04, seq: 1, t: 0.07 }, lastAck], null],
        ["the last ACK seen alone", [{ ...lastAck, t: 0 }], 0],
      ];
      for (const [name, segs, steady] of variants) {
        expectSameBothWays(`close: ${name}`, capture(segs));
        expectSameBothWays(`close: ${name}, partial gaps`, capture(segs), { reportGapsForPartial: true });
        if (steady !== null) expect(steadyOf(segs), `close: ${name}: segments on the fast path`).toBe(steady);
      }
    },
    SLOW,
  );

  it(
    "the close's FINs (an active close, a passive one, with data) take the fast path, and only those",
    () => {
      const { syn, synAck, ack3, data, open, finC, ackFinC, finS, lastAck } = normalClose();
      // Segments on the fast path: the 5 of `open`, each FIN of a normal close (tracker.ts finAck), each pure ACK of the close (closeAck).
      // The plain close, the client's FIN first or the server's, is the pure-ACK case's first shapes (9 each).
      const variants: [string, Seg[], number][] = [
        ["the FIN and the FIN of the answer, no ACK between", [...open, finC, finS, lastAck], 8],
        ["a half close only", [...open, finC, ackFinC], 7],
        ["FIN with PSH", [...open, { ...finC, flags: FIN | PSH | ACK }, ackFinC, finS, lastAck], 9],
        [
          "FIN with data (the client's 10 more bytes)",
          [
            ...open,
            { ...finC, flags: FIN | PSH | ACK, len: 10 },
            { ...ackFinC, ack: 22 },
            { ...finS, ack: 22 },
            { ...lastAck, seq: 22 },
          ],
          9,
        ],
        [
          "FIN with the side's first data (the service scan's segment)",
          [
            syn,
            synAck,
            ack3,
            { ...finC, seq: 1, flags: FIN | PSH | ACK, len: 10 },
            { ...ackFinC, ack: 12 },
            finS,
            lastAck,
          ],
          7,
        ],
        [
          "FIN over a hole in the sender's stream (the close waits for the data)",
          [
            ...open,
            { from: "c", flags: ACK, seq: 21, ack: 1, len: 10, t: 0.045 },
            { ...finC, seq: 31 },
            { ...ackFinC, ack: 32 },
            finS,
            { ...lastAck, seq: 32 },
          ],
          7, // the FINs; the ACKs face a side whose EOF waits for the hole
        ],
        [
          "simultaneous close (the FINs cross)",
          [...open, finC, { ...finS, ack: 11 }, { ...lastAck, ack: 2 }, { ...ackFinC, seq: 2 }],
          8, // the second FIN (simultaneous_close) takes process()
        ],
        ["FIN retransmitted", [...open, finC, { ...finC, t: 0.3 }, ackFinC, finS, lastAck], 9],
        ["FIN with a zero window", [...open, { ...finC, win: 0 }, ackFinC, finS, lastAck], 8],
        ["FIN with URG", [...open, { ...finC, flags: FIN | URG | ACK }, ackFinC, finS, lastAck], 8],
        ["FIN without ACK", [...open, { from: "c", flags: FIN, seq: 11, t: 0.05 }, ackFinC, finS, lastAck], 8],
        [
          "FIN ahead of the sender's last_seq (a gap)",
          [...open, { ...finC, seq: 15 }, { ...ackFinC, ack: 16 }, finS],
          5,
        ],
        ["FIN before the sender's last_seq", [...open, { ...finC, seq: 5 }, ackFinC, finS, lastAck], 5],
        ["FIN acknowledging data never seen", [...open, { ...finC, ack: 50 }, ackFinC, finS, lastAck], 8],
        ["FIN acknowledging before the peer's start", [...open, { ...finC, ack: -5 }, ackFinC, finS, lastAck], 8],
        ["FIN after the peer's RST", [...open, { from: "s", flags: RST, seq: 1, t: 0.045 }, finC], 5],
        ["FIN after the sender's RST", [...open, { from: "c", flags: RST | ACK, seq: 11, ack: 1, t: 0.045 }, finC], 5],
        ["FIN of a connection seen from its middle (PARTIAL sides)", [...data, finC, ackFinC, finS, lastAck], 4],
        ["FIN of a connection seen from its FIN", [finC, ackFinC, finS, lastAck], 2],
      ];
      for (const [name, segs, steady] of variants) {
        expectSameBothWays(`close FIN: ${name}`, capture(segs));
        expectSameBothWays(`close FIN: ${name}, partial gaps`, capture(segs), { reportGapsForPartial: true });
        expect(steadyOf(segs), `close FIN: ${name}: segments on the fast path`).toBe(steady);
      }
    },
    SLOW,
  );

  it("the fast path was taken for a good share of the segments", () => {
    expect(segmentsTotal).toBeGreaterThan(300_000);
    expect(steadyTotal / segmentsTotal).toBeGreaterThan(0.3);
  });
});

/** The prefix of a classic pcap that ends on a record boundary. */
function wholeRecords(b: Uint8Array): Uint8Array {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let off = 24;
  while (off + 16 <= b.length && off + 16 + dv.getUint32(off + 8, true) <= b.length)
    off += 16 + dv.getUint32(off + 8, true);
  return b.subarray(0, off);
}
