// The output formatter's exports (re-exported by assembly/index.ts). The host configures it once
// per engine instance, then formats each finished record of the output ring while it drains the
// ring (src/format/engine-lines.ts):
//   fmtInit(mode, seed, final, alone), fmtFrame(), fmtNameSlot()* (names), fmtLocalNets(), fmtThresholds(),
//   fmtFilter() -> [fmtRecord(rec)* or fmtRecords(first, n) -> copy fmtPtr()[0..fmtLen()) out, fmtClear()]*
// Records finished by another engine (copies) go through fmtRecordSlot(), after fmtClock(endUs, final).
// fmtRecord reads the record and the capture clock and writes only the formatter's own buffer,
// so it may run inside a record sink (between engine calls, before outClear()).

import { fmtState, nameSlot, S_BUF, S_LEN, S_SEED, S_FINAL, S_ALONE, S_LOCAL_EMPTY, S_NETS, S_NETS_V4, S_NETS_V6,
  S_T_SYN, S_T_SYNACK, S_T_FIN_WAIT2, S_T_TIME_WAIT, S_T_VANISHED, S_FILTER, S_FILTER_ANY, S_FILTER_MASK, FMT_FLUSH,
  S_CLOCK, S_NETS_CAP, S_SCRATCH, S_MODE, S_STRAIGHT, S_GENERIC, S_INSIGHT, S_NETS_MAPPED, S_CID, LANES_SLOT, ClockFrom, S_NETS_OCTET,
  S_FRAME, LineFrame, S_MSGPACK, S_FALLBACK, FMT_RECORD_ROOM } from "./state";
import { MAPPED_UNKNOWN, OCTET_TABLE, firstWordsBytes } from "./local-nets";
import { layoutColumns, writeRecord, writeFieldList, hashAhead } from "./fields";
import { jsonToMsgpack } from "./msgpack";
import { alloc } from "../mem";
import { FR_SIZE } from "../flow/record";

export { FmtMode } from "./fields";
export { NameKind, ClockFrom, LineFrame, FMT_FLUSH, FMT_RECORD_ROOM, NAME_SLOT } from "./state";
export { TcpState } from "./insight";
export { I_COUNT as FMT_INSIGHT_COUNT, I_ENTRIES as FMT_INSIGHT_ENTRIES, E_SIZE as FMT_INSIGHT_ENTRY, E_TYPE as FMT_INSIGHT_TYPE } from "./insight";

/**
 * Chooses the output shape (FmtMode), the Community ID seed, whether every record counts as
 * finished (`final`, src/anomalies/derive.ts InsightContext) and whether records stand alone
 * (`alone`: each input ends with the record's last packet, instead of at the capture clock).
 * Empties the buffer. Defaults until configured: no names, empty local_nets, zero thresholds.
 */
export function fmtInit(mode: i32, seed: i32, final: i32, alone: i32): void {
  const s = fmtState();
  store<u32>(s + S_SEED, <u32>seed);
  store<u8>(s + S_FINAL, final != 0 ? 1 : 0);
  store<u8>(s + S_ALONE, alone != 0 ? <u8>ClockFrom.Record : <u8>ClockFrom.Engine);
  store<u32>(s + S_LEN, 0);
  store<u8>(s + S_FRAME, <u8>LineFrame.Line);
  layoutColumns(mode);
}

/**
 * How the JSON flows that follow are framed (LineFrame; fmtInit sets Line). Msgpack takes the
 * nested shape (fmtInit's mode NestedJson).
 */
export function fmtFrame(frame: i32): void {
  const s = fmtState();
  if (frame == <i32>LineFrame.Msgpack && load<u32>(s + S_MSGPACK) == 0)
    store<u32>(s + S_MSGPACK, <u32>alloc(<usize>FMT_RECORD_ROOM));
  const known = frame == <i32>LineFrame.ArrayItem || frame == <i32>LineFrame.Msgpack;
  store<u8>(s + S_FRAME, known ? <u8>frame : <u8>LineFrame.Line);
}

/**
 * Whether a record was left to the host since the last call (LineFrame.Msgpack: a number the
 * transcoder cannot convert exactly; nothing was written for it), and clears the flag.
 */
export function fmtFallback(): i32 {
  const s = fmtState();
  const raised = <i32>load<u8>(s + S_FALLBACK);
  store<u8>(s + S_FALLBACK, 0);
  return raised;
}

/**
 * The end of the input for the records that follow, when they were finished by another engine
 * (a format thread's copies, a session's stored records): `endUs` on the capture clock, and
 * whether that input is finished (src/anomalies/derive.ts InsightContext).
 */
export function fmtClock(endUs: f64, final: i32): void {
  const s = fmtState();
  store<f64>(s + S_CLOCK, endUs);
  store<u8>(s + S_ALONE, <u8>ClockFrom.Host);
  store<u8>(s + S_FINAL, final != 0 ? 1 : 0);
}

/**
 * A record-sized slot (FR_SIZE bytes) where the host copies a record held outside this instance's
 * memory before fmtRecord(fmtRecordSlot()).
 */
export function fmtRecordSlot(): usize {
  const s = fmtState();
  if (load<u32>(s + S_SCRATCH) == 0) store<u32>(s + S_SCRATCH, <u32>alloc(<usize>FR_SIZE));
  return <usize>load<u32>(s + S_SCRATCH);
}

/** Where the host writes the name of `value` in table `kind` (NameKind): a length byte, then up to NAME_SLOT - 1 bytes. */
export function fmtNameSlot(kind: i32, value: i32): usize { return nameSlot(fmtState(), kind, <u32>value); }

/**
 * Site::local_nets: room for `v4` (net, mask) word pairs followed by `v6` networks of four address
 * words and four mask words (src/net/local-nets.ts order); `empty` = no networks at all (the
 * columns are unset). Returns where the host writes them.
 */
export function fmtLocalNets(v4: i32, v6: i32, empty: i32): usize {
  const s = fmtState();
  // Reconfiguring an instance reuses the networks' room when it fits (allocations are never freed).
  // Past the networks: 8 bytes, then the first-octet table and the first-word table
  // (local-nets.ts), filled at first use.
  const bytes = <u32>(v4 * 8 + v6 * 32 + 8 + <i32>OCTET_TABLE) + firstWordsBytes(<u32>v6);
  let p = <usize>load<u32>(s + S_NETS);
  if (p == 0 || bytes > load<u32>(s + S_NETS_CAP)) {
    p = alloc(<usize>bytes);
    store<u32>(s + S_NETS_CAP, bytes);
  }
  store<u32>(s + S_NETS, <u32>p);
  store<u32>(s + S_NETS_V4, <u32>v4);
  store<u32>(s + S_NETS_V6, <u32>v6);
  store<u8>(s + S_LOCAL_EMPTY, empty != 0 ? 1 : 0);
  store<u8>(s + S_NETS_MAPPED, MAPPED_UNKNOWN);
  store<u32>(s + S_NETS_OCTET, <u32>(p + <usize>(v4 * 8 + v6 * 32 + 8)));
  return p;
}

/** The endpoint-state thresholds in seconds (src/anomalies/endpoint-state.ts StateThresholds). */
export function fmtThresholds(synTimeout: f64, synAckTimeout: f64, finWait2Timeout: f64, timeWait: f64, vanishedAfter: f64): void {
  const s = fmtState();
  store<f64>(s + S_T_SYN, synTimeout);
  store<f64>(s + S_T_SYNACK, synAckTimeout);
  store<f64>(s + S_T_FIN_WAIT2, finWait2Timeout);
  store<f64>(s + S_T_TIME_WAIT, timeWait);
  store<f64>(s + S_T_VANISHED, vanishedAfter);
}

/** Only flows with an anomaly (`any`), or with one whose Anomaly code has its bit in `mask`; on = 0 keeps every flow. */
export function fmtFilter(on: i32, any: i32, mask: u32): void {
  const s = fmtState();
  store<u8>(s + S_FILTER, on != 0 ? 1 : 0);
  store<u8>(s + S_FILTER_ANY, any != 0 ? 1 : 0);
  store<u32>(s + S_FILTER_MASK, mask);
}

/**
 * Appends the finished record at `rec` (FR_SIZE bytes, flow/record.ts layout) as one line.
 * Returns the bytes now in the buffer; the host copies them out and calls fmtClear() once that
 * reaches FMT_FLUSH (the buffer keeps FMT_RECORD_ROOM bytes past it for the next record).
 */
export function fmtRecord(rec: usize): i32 {
  const s = fmtState();
  const buf = <usize>load<u32>(s + S_BUF);
  const len = load<u32>(s + S_LEN);
  if (len > <u32>FMT_FLUSH) unreachable(); // the host did not copy the buffer out: a host bug
  store<u32>(s + S_CID, 0); // hashed now, not ahead
  const end = writeRecord(rec, buf + <usize>len);
  store<u32>(s + S_LEN, <u32>(end - buf));
  return <i32>(end - buf);
}

/**
 * Appends the `n` finished records from `first` (FR_SIZE bytes apart: the output ring's records of
 * one drain) as fmtRecord appends each, four at a time so that their Community IDs are hashed side
 * by side (fields.ts hashAhead). Stops after the record that brings the buffer to FMT_FLUSH bytes;
 * returns how many records it wrote (the host copies the buffer out, fmtClear(), and calls again
 * with the rest).
 */
export function fmtRecords(first: usize, n: i32): i32 {
  const s = fmtState();
  const buf = <usize>load<u32>(s + S_BUF);
  let len = load<u32>(s + S_LEN);
  if (len > <u32>FMT_FLUSH) unreachable(); // the host did not copy the buffer out: a host bug
  let i = 0;
  while (i < n && len < <u32>FMT_FLUSH) {
    const rec = first + <usize>i * <usize>FR_SIZE;
    const k = min(n - i, 4);
    const texts = hashAhead(rec, k);
    for (let l = 0; l < k && len < <u32>FMT_FLUSH; l++) {
      store<u32>(s + S_CID, <u32>(texts + <usize>l * LANES_SLOT));
      len = <u32>(writeRecord(rec + <usize>l * <usize>FR_SIZE, buf + <usize>len) - buf);
      i++;
    }
  }
  store<u32>(s + S_CID, 0);
  store<u32>(s + S_LEN, len);
  return i;
}

/**
 * Whether rows may take the straight-line path of their shape (on by default; off, every column
 * goes through the slot loop, the reference that test/host/engine-straight.test.ts compares
 * against). Lays out the current shape again; returns 1 when its straight-line row is in use.
 */
export function fmtStraight(on: i32): i32 {
  const s = fmtState();
  store<u8>(s + S_GENERIC, on != 0 ? 0 : 1);
  layoutColumns(load<i32>(s + S_MODE));
  return <i32>load<u8>(s + S_STRAIGHT);
}

/**
 * The insight of the record fmtRecord() read last, whether the filter kept it or not: a u32 entry
 * count at FMT_INSIGHT_COUNT, then that many FMT_INSIGHT_ENTRY-byte entries from
 * FMT_INSIGHT_ENTRIES, each naming its Anomaly (u8 at FMT_INSIGHT_TYPE). Valid until the next
 * fmtRecord: a host that tallies anomalies per flow (the API's metrics) reads them there instead
 * of deriving them again.
 */
export function fmtInsight(): usize { return <usize>load<u32>(fmtState() + S_INSIGHT); }

export function fmtPtr(): usize { return <usize>load<u32>(fmtState() + S_BUF); }
export function fmtLen(): i32 { return <i32>load<u32>(fmtState() + S_LEN); }
export function fmtClear(): void { store<u32>(fmtState() + S_LEN, 0); }

/**
 * Writes the Zeek view's column names (what 0), types (what 1) or whether each is always set (what
 * 2: T or F, fields.ts ALWAYS), tab-separated, after the bytes
 * in the buffer (at fmtPtr() + fmtLen(), which it does not advance); returns their length.
 */
export function fmtFieldList(what: i32): i32 {
  const s = fmtState();
  const at = <usize>load<u32>(s + S_BUF) + <usize>load<u32>(s + S_LEN);
  return <i32>(writeFieldList(at, what) - at);
}

/**
 * Test hook: the msgpack transcode (msgpack.ts) of the JSON value at [from, to) into `out`; returns
 * the end of what it wrote, or 0 where it leaves the value to the host. test/host/engine-msgpack.test.ts
 * compares it with msgpackr on hand-picked values.
 */
export function fmtTranscode(from: usize, to: usize, out: usize): usize { return jsonToMsgpack(from, to, out); }
