// The anomaly catalogue and its per-flow storage.
//
// Codes are stable and append-only (they are API: the host maps them to names in
// src/anomalies/catalogue.ts, and a test checks both lists agree). Anomalies seen on the wire are
// recorded here as they happen, per (type, side), with a count and the time of the first one.
// Anomalies about how a connection ended (unanswered SYN, stuck FIN_WAIT_2, vanished peer ...)
// depend on the end of the input and are derived by the host from the record's endpoint states
// and timestamps.
//
// Storage: ANOM_SLOTS slots of 8 bytes in the record's extension block plus a mask of the
// (type, side) pairs recorded; a ninth distinct pair only sets a "lost" bit (documented limit).

import {
  FR_ORIG, X_ANOM, ANOM_SLOTS, X_ANOM_MASK, X_ANOM_LOST, X_BLOCKS, X_BLOCKS_SIDE, X_CNT_C, X_HIST_RST, X_HOLE_TSVAL, X_HOLE_IPID, X_HOLE_CLOCKS, X_SIGS, X_SIGS2, FR_TS_START,
  X_CNT_T, X_CNT_W, X_IP_BYTES_HI, X_MISSED_HI, X_REASM, X_TRIM, X_FIN_SEQ, X_HIST_SYN, X_RTX_QUIET, X_DUPACKS, X_SEQ_WRAPS,
  X_ACK_WRAPS, X_HIST_FIN, X_CNT_G, X_SYNS, FR_FLAGS, FF_MIDSTREAM,
} from "./live";
import { extPtr, extAttach, extOf, extTailIn, extTailOf, extTailAttachOf, extHoleOf, extHoleAttachOf, recPtr } from "./table";
import { ANOMALY } from "../state";

export enum Anomaly {
  None = 0,
  SynUnanswered = 1,
  HandshakeIncomplete = 2,
  Refused = 3,
  PeerVanished = 4,
  StuckFinWait1 = 5,
  StuckFinWait2 = 6,
  StuckLastAck = 7,
  Reset = 8,
  SimultaneousOpen = 9,
  SimultaneousClose = 10,
  Retransmission = 11,
  OutOfOrder = 12,
  DuplicateAck = 13,
  ZeroWindow = 14,
  ZeroWindowProbe = 15,
  Keepalive = 16,
  AckOfUnseenData = 17,
  ContentGap = 18,
  DataAfterFin = 19,
  InvalidFlags = 20,
  PortReuse = 21,
  Midstream = 22,
  Count = 23,
}

/** The record being processed (set by the tracker before each segment): its extension block is allocated on first use. */
ANOMALY.curId = 0;
/** The time of the segment being processed. */
ANOMALY.curNow = 0;
export function setCurrentFlow(id: u32, now: i64): void { ANOMALY.curId = id; ANOMALY.curNow = now; }
/** The current record's extension block, allocated (zeroed) if it has none yet. */
export function currentExt(): usize { return extAttach(ANOMALY.curId); }

/**
 * The per-side layout of every block's paired fields (extension block, its tail, a hole block):
 * the originator's `width` bytes at `x` from the block's base, then the responder's. The address
 * of the one for the side whose endpoint block (live record, FR_ORIG or FR_RESP) is at ep.
 */
@inline function sideAt(base: usize, rec: usize, ep: usize, x: i32, width: i32): usize {
  return base + <usize>x + (ep == rec + <usize>FR_ORIG ? 0 : <usize>width);
}

/**
 * Address of the current record's per-side extension field at `x` (originator's first, then the
 * responder's, `width` bytes each: X_CNT_C, X_HIST_RST) for the side whose block is at ep.
 * Allocates the extension block. A field of the live-only tail (live.ts X_TAIL) takes extTailSide(),
 * a hole field (live.ts X_HOLE_AT) holeSide().
 */
export function extSide(rec: usize, ep: usize, x: i32, width: i32 = 4): usize {
  return sideAt(currentExt(), rec, ep, x, width);
}

/**
 * extSide() for a per-side field of the extension block's live-only tail (live.ts X_TAIL: X_CNT_T,
 * X_CNT_W, X_HIST_SYN, X_HIST_FIN, X_RTX_QUIET, X_DUPACKS). Allocates the block and its tail.
 */
export function extTailSide(rec: usize, ep: usize, x: i32, width: i32 = 4): usize {
  return sideAt(extTailAttachOf(recPtr(ANOMALY.curId)), rec, ep, x, width);
}

/**
 * extSide() for a per-side hole field (X_BLOCKS, X_HOLE_TSVAL, X_HOLE_IPID, X_HOLE_CLOCKS; live.ts
 * X_HOLE_REF). Allocates the hole block (not the extension block).
 */
export function holeSide(rec: usize, ep: usize, x: i32, width: i32 = 4): usize {
  return sideAt(extHoleAttachOf(recPtr(ANOMALY.curId)), rec, ep, x, width);
}

/**
 * Like extSide(), for a field that reads as zero without an extension block: its address, or 0
 * when the record has no block (nothing is allocated).
 */
export function extSideIfAny(rec: usize, ep: usize, x: i32, width: i32 = 4): usize {
  return extSideIn(extOf(rec), rec, ep, x, width);
}

/** extSideIfAny() for a field of the live-only tail: 0 when the record has no block or the block no tail. */
export function extTailSideIfAny(rec: usize, ep: usize, x: i32, width: i32 = 4): usize {
  return extSideIn(extTailOf(rec), rec, ep, x, width);
}

/**
 * extSideIfAny() for a caller that has the record's extOf() (`ext`, 0 without a block) at hand, or,
 * for a field of the live-only tail, its extTailOf() (0 without a tail).
 */
@inline export function extSideIn(ext: usize, rec: usize, ep: usize, x: i32, width: i32 = 4): usize {
  return ext == 0 ? 0 : sideAt(ext, rec, ep, x, width);
}

/** Records one occurrence of `a` by the originator (origSide) or the responder, at time `now`. */
export function noteAnomaly(rec: usize, a: Anomaly, origSide: bool, now: i64): void {
  const ext = currentExt();
  const side: u32 = origSide ? 0 : 1;
  const bit = anomalyBit(a, side);
  const mask = load<u64>(ext + X_ANOM_MASK);
  if ((mask & bit) != 0) {
    for (let i = 0; i < ANOM_SLOTS; i++) {
      const s = ext + X_ANOM + (<usize>i << 3);
      if (<u32>load<u8>(s) == <u32>a && <u32>load<u8>(s, 1) == side) {
        const c = load<u16>(s, 2);
        if (c != 0xFFFF) store<u16>(s, c + 1, 2);
        return;
      }
    }
    return;
  }
  for (let i = 0; i < ANOM_SLOTS; i++) {
    const s = ext + X_ANOM + (<usize>i << 3);
    if (load<u8>(s) == 0) {
      const d = now - load<i64>(rec + FR_TS_START);
      fillSlot(s, a, side, d < 0 ? 0 : d > 0xFFFFFFFF ? 0xFFFFFFFF : <u32>d);
      store<u64>(ext + X_ANOM_MASK, mask | bit);
      return;
    }
  }
  store<u32>(ext + X_ANOM_LOST, load<u32>(ext + X_ANOM_LOST) | (<u32>1 << <u32>a));
}

/**
 * Records the midstream anomaly of the record just created (tracker.ts createFlow; ANOMALY.curId),
 * whose first packet had no SYN: in the FR_FLAGS bits live.ts FF_MIDSTREAM while the record has no
 * extension block, so a connection picked up midstream takes one only for what else it records.
 */
export function noteMidstream(rec: usize, now: i64): void {
  if (extOf(rec) != 0) noteAnomaly(rec, Anomaly.Midstream, true, now); // a tunnelled one's block holds its outer key
  else store<u32>(rec + FR_FLAGS, load<u32>(rec + FR_FLAGS) | FF_MIDSTREAM);
}

/**
 * Writes into the zeroed extension block x (live or output layout: the anomaly fields are the same)
 * what noteAnomaly() would have written for a new record's midstream anomaly by the originator
 * (resp false) or, after a flip, the responder: the first slot, one occurrence at the record's start.
 */
export function storeMidstream(x: usize, resp: bool): void {
  const side: u32 = resp ? 1 : 0;
  fillSlot(x + X_ANOM, Anomaly.Midstream, side, 0);
  store<u64>(x + X_ANOM_MASK, anomalyBit(Anomaly.Midstream, side));
}

/** The X_ANOM_MASK bit of anomaly `a` by `side` (0 originator, 1 responder). */
@inline function anomalyBit(a: Anomaly, side: u32): u64 {
  return <u64>1 << <u64>(<u32>a * 2 + side);
}

/** Fills the free X_ANOM slot at s: anomaly, side, one occurrence, µs from the record's start. */
@inline function fillSlot(s: usize, a: Anomaly, side: u32, offsetUs: u32): void {
  store<u8>(s, <u8>a);
  store<u8>(s, <u8>side, 1);
  store<u16>(s, 1, 2);
  store<u32>(s, offsetUs, 4);
}

/** Exchanges the two u64 at p (a per-side u64 pair). */
@inline function swapU64(p: usize): void {
  const t = load<u64>(p);
  store<u64>(p, load<u64>(p, 8));
  store<u64>(p, t, 8);
}

/** A role flip of the current record: the recorded sides and the out-of-order ranges follow the endpoints. */
export function flipExtensionSides(): void {
  // The out-of-order ranges and the hole clocks (a u32 pair, a u16 pair and a u8 pair), in the hole block if any.
  const hole = extHoleOf(recPtr(ANOMALY.curId));
  if (hole != 0) {
    const a = hole + <usize>X_BLOCKS, b = a + <usize>X_BLOCKS_SIDE;
    for (let i: usize = 0; i < <usize>X_BLOCKS_SIDE; i += 4) {
      const t = load<u32>(a + i);
      store<u32>(a + i, load<u32>(b + i));
      store<u32>(b + i, t);
    }
    store<u64>(hole + X_HOLE_TSVAL, rotl<u64>(load<u64>(hole + X_HOLE_TSVAL), 32));
    store<u32>(hole + X_HOLE_IPID, rotl<u32>(load<u32>(hole + X_HOLE_IPID), 16));
    store<u16>(hole + X_HOLE_CLOCKS, rotl<u16>(load<u16>(hole + X_HOLE_CLOCKS), 8));
  }
  const ext = extPtr(ANOMALY.curId);
  if (ext == 0) return;
  // Each counter pair is (originator, responder): swap the halves of the u64.
  store<u64>(ext + X_CNT_C, rotl<u64>(load<u64>(ext + X_CNT_C), 32));
  store<u64>(ext + X_HIST_RST, rotl<u64>(load<u64>(ext + X_HIST_RST), 32));
  // The pairs of the live-only tail (live.ts X_TAIL), if the block has one.
  const tail = extTailIn(ext);
  if (tail != 0) {
    store<u64>(tail + X_CNT_T, rotl<u64>(load<u64>(tail + X_CNT_T), 32));
    store<u64>(tail + X_CNT_W, rotl<u64>(load<u64>(tail + X_CNT_W), 32));
    store<u64>(tail + X_IP_BYTES_HI, rotl<u64>(load<u64>(tail + X_IP_BYTES_HI), 32));
    store<u64>(tail + X_MISSED_HI, rotl<u64>(load<u64>(tail + X_MISSED_HI), 32));
    // The whole relative sequence numbers: a u64 pair each.
    swapU64(tail + X_REASM);
    swapU64(tail + X_TRIM);
    swapU64(tail + X_FIN_SEQ);
    store<u64>(tail + X_HIST_SYN, rotl<u64>(load<u64>(tail + X_HIST_SYN), 32));
    store<u32>(tail + X_RTX_QUIET, rotl<u32>(load<u32>(tail + X_RTX_QUIET), 16));
    store<u16>(tail + X_DUPACKS, rotl<u16>(load<u16>(tail + X_DUPACKS), 8));
    store<u64>(tail + X_SEQ_WRAPS, rotl<u64>(load<u64>(tail + X_SEQ_WRAPS), 32));
    store<u64>(tail + X_ACK_WRAPS, rotl<u64>(load<u64>(tail + X_ACK_WRAPS), 32));
    store<u64>(tail + X_HIST_FIN, rotl<u64>(load<u64>(tail + X_HIST_FIN), 32));
    store<u64>(tail + X_CNT_G, rotl<u64>(load<u64>(tail + X_CNT_G), 32));
    store<u32>(tail + X_SYNS, rotl<u32>(load<u32>(tail + X_SYNS), 16));
  }
  // The service signatures: a u16 pair and a u8 pair.
  store<u32>(ext + X_SIGS, rotl<u32>(load<u32>(ext + X_SIGS), 16));
  store<u16>(ext + X_SIGS2, rotl<u16>(load<u16>(ext + X_SIGS2), 8));
  for (let i = 0; i < ANOM_SLOTS; i++) {
    const s = ext + X_ANOM + (<usize>i << 3);
    if (load<u8>(s) != 0) store<u8>(s, load<u8>(s, 1) ^ 1, 1);
  }
  const m = load<u64>(ext + X_ANOM_MASK);
  // Swap the even (originator) and odd (responder) bits.
  store<u64>(ext + X_ANOM_MASK, ((m & 0x5555555555555555) << 1) | ((m >> 1) & 0x5555555555555555));
}
