// A record's extension block (assembly/flow/table.ts extAttachOf), its live-only tail (live.ts
// X_TAIL: the T counter, the quiet retransmissions ... ; table.ts extTailAttachOf) and its hole block
// (live.ts X_HOLE_REF: out-of-order ranges and hole clocks; table.ts extHoleAttachOf) come from pools
// of their own, and a freed block goes back on its pool's free list, to be taken by the next
// connection that needs one. A connection must then come out as it would from a fresh engine: a
// reused extension block must not reach its previous owner's tail or hole block, a reused tail or
// hole block must read as zero, and a hole block taken before the extension block must stay the
// record's once the extension block comes.
import { describe, expect, it } from "vitest";
import { createEngine, type Engine } from "../../src/wasm/engine.js";
import { engineConstant, feedSegment } from "./helpers.js";

const FR_SIZE = engineConstant("FR_SIZE");
const FR_ORIG_PORT = engineConstant("FR_ORIG_PORT");
const FR_ORIG = engineConstant("FR_ORIG");
const EP_CNT_T = engineConstant("EP_CNT_T");
const FR_EXT = engineConstant("FR_EXT");
const X_BLOCKS = engineConstant("X_BLOCKS");
const X_BLOCKS_SIDE = engineConstant("X_BLOCKS_SIDE");
const X_HOLE_TSVAL = engineConstant("X_HOLE_TSVAL");
const X_HOLE_CLOCKS = engineConstant("X_HOLE_CLOCKS");
const SYN = 0x02,
  ACK = 0x10,
  PSH = 0x08,
  FIN = 0x01,
  RST = 0x04;

interface Seg {
  t: number; // µs after the connection's start
  fromClient: boolean;
  flags: number;
  seq: number;
  ack: number;
  len?: number;
  cut?: boolean; // payload cut by the snaplen
}

const handshake: Seg[] = [
  { t: 0, fromClient: true, flags: SYN, seq: 100, ack: 0 },
  { t: 100, fromClient: false, flags: SYN | ACK, seq: 500, ack: 101 },
  { t: 200, fromClient: true, flags: ACK, seq: 101, ack: 501 },
];

/** Data the client sends `retransmissions` more times, acknowledged, then a clean close. */
function retransmitted(retransmissions: number): Seg[] {
  const segs = [...handshake];
  for (let i = 0; i <= retransmissions; i++) {
    segs.push({ t: 300 + i * 100_000, fromClient: true, flags: PSH | ACK, seq: 101, ack: 501, len: 10 });
  }
  const t = 400 + retransmissions * 100_000;
  segs.push({ t, fromClient: false, flags: ACK, seq: 501, ack: 111 });
  segs.push({ t: t + 100, fromClient: true, flags: FIN | ACK, seq: 111, ack: 501 });
  segs.push({ t: t + 200, fromClient: false, flags: FIN | ACK, seq: 501, ack: 112 });
  segs.push({ t: t + 300, fromClient: true, flags: ACK, seq: 112, ack: 502 });
  return segs;
}

/** A handshake the server resets: a reset anomaly (an extension block) and nothing in a tail. */
const reset: Seg[] = [...handshake, { t: 300, fromClient: false, flags: RST | ACK, seq: 501, ack: 101 }];

/**
 * `ranges` times payload cut by the snaplen, then whole payload above it: out-of-order ranges (a hole
 * block, and, the side being truncated, no content-gap anomaly), acknowledged; then, with
 * `thenReset`, a reset (an extension block after the hole block), else a clean close.
 */
function holed(thenReset: boolean, ranges: number): Seg[] {
  const segs: Seg[] = [...handshake];
  let seq = 101;
  for (let i = 0; i < ranges; i++, seq += 20) {
    segs.push({ t: 300 + i * 200, fromClient: true, flags: PSH | ACK, seq, ack: 501, len: 10, cut: true });
    segs.push({ t: 400 + i * 200, fromClient: true, flags: PSH | ACK, seq: seq + 10, ack: 501, len: 10 });
  }
  const t = 300 + ranges * 200;
  if (thenReset) segs.push({ t, fromClient: false, flags: RST | ACK, seq: 501, ack: seq });
  else {
    segs.push({ t, fromClient: false, flags: ACK, seq: 501, ack: seq });
    segs.push({ t: t + 100, fromClient: true, flags: FIN | ACK, seq, ack: 501 });
    segs.push({ t: t + 200, fromClient: false, flags: FIN | ACK, seq: 501, ack: seq + 1 });
    segs.push({ t: t + 300, fromClient: true, flags: ACK, seq: seq + 1, ack: 502 });
  }
  return segs;
}

/** Connections 20 s apart, each over (Zeek's 5 s close delay) before the next starts. */
const CONNECTIONS: Seg[][] = [
  retransmitted(2),
  reset,
  retransmitted(1),
  holed(true, 3),
  reset,
  holed(false, 1),
  holed(true, 2),
  retransmitted(1),
  handshake,
];
const GAP = 20_000_000;
const T0 = 1_700_000_000_000_000;

function feed(engine: Engine, conn: number): void {
  for (const s of CONNECTIONS[conn] ?? []) {
    const client = "10.0.0.1";
    const server = "10.0.1.1";
    const [src, dst, sport, dport] = s.fromClient
      ? [client, server, 40000 + conn, 80]
      : [server, client, 80, 40000 + conn];
    feedSegment(engine, { ...s, ts: BigInt(T0 + conn * GAP + s.t), src, dst, sport, dport });
  }
}

/** finish() until done: every output record's bytes, by the originator's port. */
function finish(engine: Engine): Map<number, Uint8Array> {
  const ex = engine.exports;
  const out = new Map<number, Uint8Array>();
  for (;;) {
    const more = ex.finish();
    const { u8 } = engine.views();
    for (let i = 0; i < ex.outLen(); i++) {
      const p = ex.outPtr() + i * FR_SIZE;
      out.set(u8[p + FR_ORIG_PORT] | (u8[p + FR_ORIG_PORT + 1] << 8), u8.slice(p, p + FR_SIZE));
    }
    ex.outClear();
    if (more === 0) return out;
  }
}

function newEngine(): Engine {
  const engine = createEngine();
  engine.exports.init(1 << 16);
  return engine;
}

describe("extension blocks and their tails taken again from the free lists", () => {
  const shared = newEngine();
  for (let c = 0; c < CONNECTIONS.length; c++) feed(shared, c);
  const reused = finish(shared);
  // Each connection alone, then the last one (a plain handshake: no extension block), whose
  // segments run the clock past the close delay as they do in the shared engine.
  const last = CONNECTIONS.length - 1;
  const alone = CONNECTIONS.map((_, c) => {
    const engine = newEngine();
    feed(engine, c);
    if (c !== last) feed(engine, last);
    return finish(engine).get(40000 + c);
  });
  const hex = (r: Uint8Array | undefined) => (r === undefined ? "none" : Buffer.from(r).toString("hex"));
  const retx = (r: Uint8Array | undefined) =>
    r === undefined ? -1 : new DataView(r.buffer).getUint32(FR_ORIG + EP_CNT_T, true);

  it("keeps the T counter of a retransmitting connection in its tail", () => {
    expect(retx(alone[0])).toBe(2);
    expect(retx(alone[1])).toBe(0);
    expect(retx(alone[2])).toBe(1);
    expect(retx(alone[7])).toBe(1);
  });

  it("keeps the out-of-order ranges and hole clocks of a stream with a hole (the hole block)", () => {
    // The ranges stay in the record once delivered (only EP_NBLOCKS drops); the hole clocks too.
    const holeBytes = (r: Uint8Array | undefined) =>
      r === undefined
        ? "none"
        : Buffer.concat([
            r.subarray(FR_EXT + X_BLOCKS, FR_EXT + X_BLOCKS + 2 * X_BLOCKS_SIDE),
            r.subarray(FR_EXT + X_HOLE_TSVAL, FR_EXT + X_HOLE_CLOCKS + 2),
          ]).toString("hex");
    const zero = "00".repeat(2 * X_BLOCKS_SIDE + X_HOLE_CLOCKS + 2 - X_HOLE_TSVAL);
    for (const c of [3, 5, 6]) expect(holeBytes(alone[c]), `connection ${c}`).not.toBe(zero);
    for (const c of [0, 1, 2, 4, 7]) expect(holeBytes(alone[c]), `connection ${c}`).toBe(zero);
  });

  it("writes every connection's record as a fresh engine does, whatever block or tail it reused", () => {
    expect(reused.size).toBe(CONNECTIONS.length);
    for (let c = 0; c < CONNECTIONS.length; c++)
      expect(hex(reused.get(40000 + c)), `connection ${c}`).toBe(hex(alone[c]));
  });
});
