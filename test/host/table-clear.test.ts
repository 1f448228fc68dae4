// The end of the input empties the flow table at once (assembly/flow/table.ts tableClear, called by
// tracker.ts flushAll once every live record was emitted) instead of unindexing and freeing each
// record: the engine must then be as a fresh one, its index, record ids, extension blocks, IPv6 key
// blocks and live count all reset, so input fed after finish() comes out as a fresh engine's would.
import { describe, expect, it } from "vitest";
import { createEngine, type Engine } from "../../src/wasm/engine.js";
import { engineConstant, feedSegment } from "./helpers.js";

const FR_SIZE = engineConstant("FR_SIZE");
const FLOW_CAP = 16;
const SYN = 0x02,
  ACK = 0x10,
  PSH = 0x08;

interface Seg {
  t: number; // µs after the round's start
  conn: number;
  fromClient: boolean;
  flags: number;
  seq: number;
  ack: number;
  len?: number;
}

/**
 * FLOW_CAP connections, all live at the end: even ones IPv4, odd ones IPv6 (an IPv6 key block each),
 * the first half opened by a handshake, the second half picked up midstream, every fourth with a
 * retransmission (an extension block).
 */
function conversation(): Seg[] {
  const segs: Seg[] = [];
  for (let c = 0; c < FLOW_CAP; c++) {
    const t = c * 1000;
    if (c < FLOW_CAP / 2) {
      segs.push({ t, conn: c, fromClient: true, flags: SYN, seq: 100, ack: 0 });
      segs.push({ t: t + 100, conn: c, fromClient: false, flags: SYN | ACK, seq: 500, ack: 101 });
    }
    segs.push({ t: t + 200, conn: c, fromClient: true, flags: PSH | ACK, seq: 101, ack: 501, len: 10 });
    segs.push({ t: t + 300, conn: c, fromClient: false, flags: ACK, seq: 501, ack: 111 });
    if (c % 4 === 0)
      segs.push({ t: t + 400, conn: c, fromClient: true, flags: PSH | ACK, seq: 101, ack: 501, len: 10 });
  }
  return segs;
}

const T0 = 1_700_000_000_000_000;

function feed(engine: Engine, segs: Seg[], start: number): void {
  for (const s of segs) {
    const v6 = s.conn % 2 === 1;
    const client = v6 ? `2001:db8::${s.conn + 1}` : `10.0.0.${s.conn + 1}`;
    const server = v6 ? "2001:db8::ffff" : "10.0.1.1";
    const [src, dst, sport, dport] = s.fromClient
      ? [client, server, 40000 + s.conn, 80]
      : [server, client, 80, 40000 + s.conn];
    feedSegment(engine, { ...s, ts: BigInt(T0 + start + s.t), src, dst, sport, dport });
  }
}

/** finish() until done: the output records' bytes, in the order the engine emitted them. */
function finish(engine: Engine): Uint8Array[] {
  const ex = engine.exports;
  const out: Uint8Array[] = [];
  for (;;) {
    const more = ex.finish();
    const { u8 } = engine.views();
    for (let i = 0; i < ex.outLen(); i++) {
      const p = ex.outPtr() + i * FR_SIZE;
      out.push(u8.slice(p, p + FR_SIZE));
    }
    ex.outClear();
    if (more === 0) return out;
  }
}

function stat(engine: Engine, name: string): number {
  return new Float64Array(engine.exports.memory.buffer, engine.exports.statsPtr(), 64)[engineConstant(`Stat.${name}`)];
}

function newEngine(): Engine {
  const engine = createEngine();
  engine.exports.setOption(engineConstant("Option.FlowCap"), FLOW_CAP);
  engine.exports.init(1 << 16);
  return engine;
}

describe("the flow table after the end of the input (table.ts tableClear)", () => {
  const segs = conversation();
  const LATER = 60_000_000; // the second input's start, µs after the first's

  const fresh = newEngine();
  feed(fresh, segs, LATER);
  const expected = finish(fresh);

  const reused = newEngine();
  feed(reused, segs, 0);
  const first = finish(reused);
  feed(reused, segs, LATER);
  const second = finish(reused);

  it("emits every connection at the end, as a fresh engine does", () => {
    expect(expected).toHaveLength(FLOW_CAP);
    expect(first).toHaveLength(FLOW_CAP);
    expect(stat(fresh, "FlowsEvicted")).toBe(0);
  });

  it("takes the same connections fed again after finish() as new ones, record for record and in the same order", () => {
    // A stale index entry would find a connection of the first input (fewer flows created), a live
    // count left at FLOW_CAP would evict under the cap, record ids not restarted would reorder.
    expect(stat(reused, "FlowsCreated")).toBe(2 * FLOW_CAP);
    expect(stat(reused, "FlowsEmitted")).toBe(2 * FLOW_CAP);
    expect(stat(reused, "FlowsEvicted")).toBe(0);
    expect(second.map((r) => Buffer.from(r).toString("hex"))).toEqual(
      expected.map((r) => Buffer.from(r).toString("hex")),
    );
  });
});
