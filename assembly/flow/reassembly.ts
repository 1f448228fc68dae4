// Content-gap accounting: the part of Zeek's TCP_Reassembler (TCP_Reassembler.cc, Reassem.cc)
// that conn.log's `missed_bytes` and the G/g history letters depend on, without buffering payload.
//
// Per endpoint we keep last_reassem_seq (EP_REASM: everything below was delivered in order or
// skipped as a gap), trim_seq (EP_TRIM: the highest acknowledgement processed) and up to
// MAX_BLOCKS out-of-order ranges above EP_REASM. The ranges live in the record's extension block
// (X_BLOCKS), allocated with the first one: in-order streams never need them. An acknowledgement
// for sequence space that was never seen reports a gap, as Zeek's Undelivered() does. With more
// out-of-order ranges than slots, the closest two are merged (the hole between them is then not
// reported: an undercount).

import {
  EP_REASM, EP_TRIM, X_BLOCKS, X_BLOCKS_SIDE, EP_NBLOCKS, MAX_BLOCKS, EP_FLAGS, EF_SKIP, EF_FIN_SEEN, EP_FIN_SEQ, EP_MISSED, X_MISSED_HI,
  EP_STATE, EP_PREV_STATE, FR_FLAGS, FF_PARTIAL, Half, EP_FLAGS2, EF2_TRUNCATED,
} from "./live";
import { relAckOf, noDataAcked } from "./seq";
import { gapHistory, isOrigEp } from "./history";
import { noteAnomaly, Anomaly, holeSide } from "./anomaly";
import { OPTIONS, ANOMALY } from "../state";
import { addWide, relAt, setRelAt } from "./narrow";

/**
 * Where endpoint `ep` of record `rec` (the record being processed) keeps its ranges: `b` below.
 * Allocates the extension block, so callers ask only when there is a range to read or write.
 */
@inline function blocksOf(rec: usize, ep: usize): usize {
  return holeSide(rec, ep, X_BLOCKS, X_BLOCKS_SIDE);
}
@inline function blkStart(b: usize, i: i32): u32 { return load<u32>(b + (<usize>i << 3)); }
@inline function blkEnd(b: usize, i: i32): u32 { return load<u32>(b + (<usize>i << 3) + 4); }
@inline function setBlk(b: usize, i: i32, s: u32, e: u32): void {
  store<u32>(b + (<usize>i << 3), s);
  store<u32>(b + (<usize>i << 3) + 4, e);
}
@inline function nBlocks(ep: usize): i32 { return <i32>load<u8>(ep + EP_NBLOCKS); }
@inline function setNBlocks(ep: usize, n: i32): void { store<u8>(ep + EP_NBLOCKS, <u8>n); }

/** Zeek is_clean(): established, or closed straight from established. */
@inline function isClean(ep: usize): bool {
  const s = load<u8>(ep + EP_STATE);
  return s == <u8>Half.Established || (s == <u8>Half.Closed && load<u8>(ep + EP_PREV_STATE) == <u8>Half.Established);
}

/** Zeek TCP_Reassembler::Gap: G/g only for cleanly established connections; missed_bytes also when reporting partial gaps. */
function gap(rec: usize, ep: usize, peer: usize, len: u64): void {
  const clean = isClean(ep) && isClean(peer);
  if (clean) gapHistory(rec, ep);
  if (!clean && !OPTIONS.reportGapsForPartial) return;
  addWide(rec, ep, EP_MISSED, X_MISSED_HI, len);
  // The anomaly says what missed_bytes counts (so a partial connection's gaps, which Zeek leaves
  // out unless report_gaps_for_partial, are not reported either). Zeek counts bytes a snaplen cut
  // off as missing too (it cannot reassemble them); as an anomaly only a side whose payload was
  // always captured whole can show a real loss.
  if ((load<u8>(ep + EP_FLAGS2) & EF2_TRUNCATED) == 0) noteAnomaly(rec, Anomaly.ContentGap, isOrigEp(rec, ep), ANOMALY.curNow);
}

/** Moves EP_REASM forward by `adv` and absorbs the blocks that now touch it; rebases the rest. */
function advance(rec: usize, ep: usize, adv: u64): void {
  let n = nBlocks(ep);
  if (n == 0) { setRelAt(rec, ep, EP_REASM, relAt(rec, ep, EP_REASM) + adv); return; }
  const b = blocksOf(rec, ep);
  let reach = adv;
  // Blocks are sorted and disjoint: absorb from the front while they start at or below the new point.
  let k = 0;
  while (k < n && <u64>blkStart(b, k) <= reach) {
    const e = <u64>blkEnd(b, k);
    if (e > reach) reach = e;
    k++;
  }
  setRelAt(rec, ep, EP_REASM, relAt(rec, ep, EP_REASM) + reach);
  let w = 0;
  for (let i = k; i < n; i++) {
    setBlk(b, w, <u32>(<u64>blkStart(b, i) - reach), <u32>(<u64>blkEnd(b, i) - reach));
    w++;
  }
  setNBlocks(ep, w);
}

/** Inserts the range [s, e) (offsets above EP_REASM, s > 0) into the sorted, disjoint block set. */
function insertBlock(rec: usize, ep: usize, s: u32, e: u32): void {
  const b = blocksOf(rec, ep);
  let n = nBlocks(ep);
  // Merge with every overlapping or adjacent block.
  let i = 0;
  while (i < n) {
    const bs = blkStart(b, i), be = blkEnd(b, i);
    if (be < s || bs > e) { i++; continue; }
    if (bs < s) s = bs;
    if (be > e) e = be;
    for (let j = i + 1; j < n; j++) setBlk(b, j - 1, blkStart(b, j), blkEnd(b, j));
    n--;
  }
  if (n == MAX_BLOCKS) {
    // No slot left: merge the two neighbours with the smallest hole between them.
    let best = 0;
    let bestHole: u32 = 0xFFFFFFFF;
    for (let j = 0; j + 1 < n; j++) {
      const hole = blkStart(b, j + 1) - blkEnd(b, j);
      if (hole < bestHole) { bestHole = hole; best = j; }
    }
    setBlk(b, best, blkStart(b, best), blkEnd(b, best + 1));
    for (let j = best + 2; j < n; j++) setBlk(b, j - 1, blkStart(b, j), blkEnd(b, j));
    n--;
  }
  let pos = n;
  while (pos > 0 && blkStart(b, pos - 1) > s) {
    setBlk(b, pos, blkStart(b, pos - 1), blkEnd(b, pos - 1));
    pos--;
  }
  setBlk(b, pos, s, e);
  setNBlocks(ep, n + 1);
}

function skipDeliveries(ep: usize): void {
  setNBlocks(ep, 0);
  store<u8>(ep + EP_FLAGS, load<u8>(ep + EP_FLAGS) | EF_SKIP);
}

/**
 * Zeek TCP_Reassembler::DataSent for payload [seq, seq+len) in relative sequence space.
 * Only called for fully captured payload (Zeek does not reassemble snaplen-truncated segments).
 */
export function dataSent(rec: usize, ep: usize, seq: u64, len: u64): void {
  if ((load<u8>(ep + EP_FLAGS) & EF_SKIP) != 0) return;
  let upper = seq + len;
  const ack = relAckOf(rec, ep);
  if (seq < ack) {
    if (upper <= ack) return;            // already delivered and acknowledged
    seq = ack;
  }
  const trim = relAt(rec, ep, EP_TRIM);
  if (upper <= trim) return;             // old data
  if (seq < trim) seq = trim;
  const r = relAt(rec, ep, EP_REASM);
  if (seq <= r) {
    if (upper > r) advance(rec, ep, upper - r);
  } else {
    const off = seq - r;
    // Ranges beyond 4 GiB above the reassembly point are not representable; Zeek would buffer them.
    if (off < 0xFFFFFFFF && upper - r < 0xFFFFFFFF) insertBlock(rec, ep, <u32>off, <u32>(upper - r));
  }
  // Zeek gives up on reassembly when it buffers too much without acks (init-bare.zeek limits).
  const n = nBlocks(ep);
  const b = n > 0 ? blocksOf(rec, ep) : 0;
  if (n > 0) {
    const undelivered = <u64>blkEnd(b, n - 1);
    if (OPTIONS.maxAboveHoleWithoutAcks > 0 && noDataAcked(rec, ep) && undelivered > <u64>OPTIONS.maxAboveHoleWithoutAcks) { skipDeliveries(ep); return; }
  }
  if (OPTIONS.excessiveDataWithoutAcks > 0) {
    let size = relAt(rec, ep, EP_REASM) - relAt(rec, ep, EP_TRIM);
    for (let i = 0; i < n; i++) size += <u64>(blkEnd(b, i) - blkStart(b, i));
    if (size > <u64>OPTIONS.excessiveDataWithoutAcks) skipDeliveries(ep);
  }
}

/** Zeek TCP_Reassembler::Undelivered(up_to_seq): reports every hole below upTo as a content gap. */
function undelivered(rec: usize, ep: usize, peer: usize, upTo: u64): void {
  // A partial connection's faked ISN: a hole of one or two octets at the start is not real.
  if (upTo <= 2 && (load<u32>(rec + FR_FLAGS) & FF_PARTIAL) != 0) return;
  if ((load<u8>(ep + EP_FLAGS) & EF_SKIP) == 0) {
    while (nBlocks(ep) > 0) {
      const r = relAt(rec, ep, EP_REASM);
      const s = <u64>blkStart(blocksOf(rec, ep), 0);
      if (r + s >= upTo) break;
      gap(rec, ep, peer, s);
      advance(rec, ep, s);               // delivers the block and whatever now touches it
    }
    const r = relAt(rec, ep, EP_REASM);
    if (upTo > r) gap(rec, ep, peer, upTo - r);
  }
  const r = relAt(rec, ep, EP_REASM);
  if (upTo > r) {
    // Skip to upTo: blocks below it are gone, the rest are rebased.
    const adv = upTo - r;
    let w = 0;
    const n = nBlocks(ep);
    const b = n > 0 ? blocksOf(rec, ep) : 0;
    for (let i = 0; i < n; i++) {
      const e = <u64>blkEnd(b, i);
      if (e <= adv) continue;
      const s = <u64>blkStart(b, i);
      setBlk(b, w, s > adv ? <u32>(s - adv) : 0, <u32>(e - adv));
      w++;
    }
    setNBlocks(ep, w);
    setRelAt(rec, ep, EP_REASM, upTo);
    if (w > 0 && blkStart(b, 0) == 0) advance(rec, ep, 0);
  }
}

/**
 * Zeek TCP_Reassembler::AckReceived: the peer acknowledged `relAck` of this endpoint's stream.
 * The FIN octet is never a gap.
 */
export function ackReceived(rec: usize, ep: usize, peer: usize, relAck: u64): void {
  if ((load<u8>(ep + EP_FLAGS) & EF_FIN_SEEN) != 0) {
    const fin = relAt(rec, ep, EP_FIN_SEQ);
    if (relAck >= fin) relAck = fin - 1;
  }
  if (relAck <= relAt(rec, ep, EP_TRIM)) return;
  if (relAck > relAt(rec, ep, EP_REASM)) undelivered(rec, ep, peer, relAck);
  setRelAt(rec, ep, EP_TRIM, relAck);
}

/**
 * Whether the reassembler already holds the octet at relative sequence `seq` of this endpoint's
 * stream: below the in-order point (delivered, or skipped as a gap), or inside an out-of-order
 * range. After skip_deliveries nothing is known and every octet counts as held.
 */
export function seenByReassembler(rec: usize, ep: usize, seq: u64): bool {
  const r = relAt(rec, ep, EP_REASM);
  if (seq < r || (load<u8>(ep + EP_FLAGS) & EF_SKIP) != 0) return true;
  const n = nBlocks(ep);
  if (n == 0) return false;
  const b = blocksOf(rec, ep);
  const off = seq - r;
  for (let i = 0; i < n; i++) {
    if (off >= <u64>blkStart(b, i) && off < <u64>blkEnd(b, i)) return true;
  }
  return false;
}

/** Zeek TCP_Reassembler::HasUndeliveredData. */
@inline export function hasUndelivered(ep: usize): bool { return nBlocks(ep) > 0; }

/** Zeek TCP_Reassembler::DataPending: the endpoint sent data that was not yet delivered in order. */
export function dataPending(rec: usize, ep: usize, peer: usize, lastSeqFull: u64, start: i64): bool {
  if ((load<u8>(ep + EP_FLAGS) & EF_SKIP) != 0) return false;
  const delivered = <u64>start + relAt(rec, ep, EP_REASM);
  if (lastSeqFull < delivered) return false;
  // Everything is delivered when we are at the last sequence (RST) or just before it (FIN octet).
  if (delivered != lastSeqFull - 1 && delivered != lastSeqFull) return true;
  if (load<u8>(ep + EP_STATE) != <u8>Half.Reset && hasUndelivered(peer)) return true;
  return false;
}
