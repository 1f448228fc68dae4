// Frame records: how the reading thread hands capture frames to a shard's engine (src/shards/).
//
// The reader's engine walks the container (pcap/pcapng, capture/reader.ts) in route mode
// (shard/route.ts) and appends each frame to its shard's staging area as one record; a shard's
// engine takes whole records from its input window with walkFrames(). Every record carries what the
// container told the reader (link type, lengths, time, record number) and the capture clock as of
// this frame, so a shard decodes and tracks the frame exactly as a single engine would at that point.
//
// Record layout (little-endian, 8-byte aligned; the layout lives here only: the host copies whole
// staging areas and never reads a record):
//   FM_SIZE      u32  bytes of the record: FM_HDR + caplen, rounded up to 8
//   FM_LINKTYPE  i32  link type of the frame (pcap LinkType / pcapng IDB link type)
//   FM_CAPLEN    u32  captured bytes (follow the header)
//   FM_WIRELEN   u32  original length
//   FM_TS        i64  packet time, µs since the epoch
//   FM_FRAME     f64  1-based record number in the capture (tshark frame.number)
//   FM_CLOCK     i64  capture clock after this record (the latest record time so far)

import { deliverRoutedFrame } from "../capture/frame";
import { noteRecordTime } from "../flow/tracker";
import { outNearlyFull } from "../flow/output";

export const FM_SIZE: usize = 0;
export const FM_LINKTYPE: usize = 4;
export const FM_CAPLEN: usize = 8;
export const FM_WIRELEN: usize = 12;
export const FM_TS: usize = 16;
export const FM_FRAME: usize = 24;
export const FM_CLOCK: usize = 32;
export const FM_HDR: usize = 40;

/** Bytes a frame of `caplen` captured bytes takes as a record. */
@inline export function frameRecordSize(caplen: u32): usize { return (FM_HDR + <usize>caplen + 7) & ~<usize>7; }

/** Frames up to this size are copied by words: V8 runs memory.copy as a call out of the module. */
const WORD_COPY_MAX: usize = 256;

/** Copies `n` bytes from `src` to `dst` (8-byte aligned, not overlapping). */
@inline function copyFrame(dst: usize, src: usize, n: usize): void {
  if (n > WORD_COPY_MAX) {
    memory.copy(dst, src, n);
    return;
  }
  let i: usize = 0;
  // SAFETY: i + 8 <= n, then each step below i + its width <= n: inside both ranges.
  for (; i + 8 <= n; i += 8) store<u64>(dst + i, load<u64>(src + i));
  // The last 0..7 bytes in at most three steps, not a loop a byte.
  if (i + 4 <= n) { store<u32>(dst + i, load<u32>(src + i)); i += 4; }
  if (i + 2 <= n) { store<u16>(dst + i, load<u16>(src + i)); i += 2; }
  if (i < n) store<u8>(dst + i, load<u8>(src + i));
}

/** Writes the record of one frame at `dst` (room checked by the caller); returns its size. */
export function writeFrameRecord(dst: usize, linktype: i32, p: usize, caplen: i32, wirelen: i32, tsUs: i64, frame: f64, clock: i64): usize {
  const size = frameRecordSize(<u32>caplen);
  store<u32>(dst + FM_SIZE, <u32>size);
  store<i32>(dst + FM_LINKTYPE, linktype);
  store<u32>(dst + FM_CAPLEN, <u32>caplen);
  store<u32>(dst + FM_WIRELEN, <u32>wirelen);
  store<i64>(dst + FM_TS, tsUs);
  store<f64>(dst + FM_FRAME, frame);
  store<i64>(dst + FM_CLOCK, clock);
  copyFrame(dst + FM_HDR, p, <usize>caplen);
  return size;
}

/**
 * Decodes and tracks the whole frame records in [p, p+len) (written by writeFrameRecord, so
 * trusted: they come from this engine's own reader). Returns the bytes consumed: fewer when the
 * output ring needs draining first.
 */
export function walkFrames(p: usize, len: i32): i32 {
  let off: i32 = 0;
  while (off + <i32>FM_HDR <= len) {
    if (outNearlyFull()) break;
    const r = p + <usize>off;
    // SAFETY: off + FM_HDR <= len covers the header; the reader wrote FM_SIZE bytes for the record.
    const size = <i32>load<u32>(r + FM_SIZE);
    if (size < <i32>FM_HDR || off + size > len) break;
    noteRecordTime(load<i64>(r + FM_CLOCK));
    deliverRoutedFrame(load<i32>(r + FM_LINKTYPE), r + FM_HDR, <i32>load<u32>(r + FM_CAPLEN), <i32>load<u32>(r + FM_WIRELEN),
      load<i64>(r + FM_TS), load<f64>(r + FM_FRAME));
    off += size;
  }
  return off;
}
