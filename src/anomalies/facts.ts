/**
 * @module
 * The facts about one finished flow record that its endpoint states and end-of-input anomalies are
 * derived from: each side's Zeek half-state, what it sent (SYN, FIN, RST), what the peer
 * acknowledged of it, and when it was last heard from. Read by name from the record layout.
 */

import type { MemoryViews } from "../wasm/engine.js";
import type { Layout } from "../wasm/layout.js";

const TWO32 = 2 ** 32;

export interface SideFacts {
  /** Zeek half-state name: Inactive, SynSent, SynAckSent, Partial, Established, Closed, Reset. */
  half: string;
  pkts: number;
  syn: boolean;
  /** SYN (or SYN-ACK) segments it sent. */
  syns: number;
  /** It sent a segment without SYN or RST: it left SYN_SENT (its SYN was answered, seen or not). */
  beyondSyn: boolean;
  fin: boolean;
  rst: boolean;
  /** This side's first FIN came after the peer's (it closed passively). */
  finAfterPeer: boolean;
  /** The peer acknowledged this side's FIN. */
  finAcked: boolean;
  /** This side sent its FIN again (the peer did not acknowledge it in time). */
  finRetransmitted: boolean;
  /** Highest ack the peer sent for this side, relative to its ISN (1 = the SYN was acknowledged). */
  ackedRel: number;
  /** Last packet time, µs (undefined when it sent nothing). */
  lastUs?: number;
  /** Retransmissions since the peer last sent anything. */
  rtxQuiet: number;
}

export interface FlowFacts {
  startUs: number;
  lastUs: number;
  orig: SideFacts;
  resp: SideFacts;
  /** The responder repeated its SYN-ACK after the originator acknowledged it. */
  synAckAfterAck: boolean;
  /** The responder sent a segment without SYN (it considers the connection open). */
  respNonSyn: boolean;
  /** When the engine's timers removed the record (µs), or undefined when still live / end of input. */
  removedUs?: number;
}

function u64(v: MemoryViews, p: number): number {
  const w = p >>> 2;
  return v.u32[w + 1] * TWO32 + v.u32[w];
}
function i64(v: MemoryViews, p: number): number {
  const w = p >>> 2;
  return v.i32[w + 1] * TWO32 + v.u32[w];
}

/** Reads the facts of the record at byte offset `p` (8-byte aligned). */
export class FactsReader {
  readonly #c: Layout["constants"];
  readonly #half: readonly (string | undefined)[];
  readonly #neverUs = 2 ** 63;

  constructor(layout: Layout) {
    this.#c = layout.constants;
    this.#half = layout.half.names;
  }

  read(v: MemoryViews, p: number): FlowFacts {
    const c = this.#c;
    const startUs = i64(v, p + c.FR_TS_START);
    const flags = v.u32[(p + c.FR_FLAGS) >>> 2];
    const deadline = i64(v, p + c.FR_DEADLINE);
    return {
      startUs,
      lastUs: i64(v, p + c.FR_TS_ACTIVE),
      orig: this.#side(v, p + c.FR_ORIG, startUs),
      resp: this.#side(v, p + c.FR_RESP, startUs),
      synAckAfterAck: (flags & c.FF_SYNACK_AFTER_ACK) !== 0,
      respNonSyn: (flags & c.FF_RESP_NONSYN) !== 0,
      removedUs: deadline > 0 && deadline < this.#neverUs / 2 ? deadline : undefined,
    };
  }

  #side(v: MemoryViews, ep: number, startUs: number): SideFacts {
    const c = this.#c;
    const f = v.u8[ep + c.EP_FLAGS];
    const start = v.u32[(ep + c.EP_START) >>> 2]; // start_seq is a zero-extended 32-bit value
    const ackFull = v.u32[(ep + c.EP_ACK_WRAPS) >>> 2] * TWO32 + v.u32[(ep + c.EP_ACK_SEQ) >>> 2];
    const ackedRel = ackFull - start;
    const fin = (f & c.EF_FIN_SEEN) !== 0;
    const finSeq = u64(v, ep + c.EP_FIN_SEQ);
    const pkts = v.u32[(ep + c.EP_PKTS) >>> 2];
    return {
      half: this.#half[v.u8[ep + c.EP_STATE]] ?? "Inactive",
      pkts,
      syn: (f & c.EF_SYN_SEEN) !== 0,
      syns: v.u16[(ep + c.EP_SYNS) >>> 1],
      beyondSyn: (v.u8[ep + c.EP_FLAGS2] & c.EF2_BEYOND_SYN) !== 0,
      fin,
      rst: (f & c.EF_RST_SEEN) !== 0,
      finAfterPeer: (f & c.EF_FIN_AFTER_PEER) !== 0,
      finAcked: fin && ackedRel >= finSeq,
      finRetransmitted: (f & c.EF_FIN_RETX) !== 0,
      ackedRel,
      lastUs: pkts > 0 ? startUs + v.u32[(ep + c.EP_SEEN) >>> 2] : undefined,
      rtxQuiet: v.u16[(ep + c.EP_RTX_QUIET) >>> 1],
    };
  }
}
