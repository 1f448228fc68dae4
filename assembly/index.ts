// The ABI: every export of the WebAssembly module, numbers and pointers only.
// The host (src/wasm/engine.ts) owns the call protocol:
//   init() once -> [copy bytes to inputPtr(), feed(len, eof), drain outPtr()/outLen(), outClear()]* ->
//   finish() until it returns 0 (draining between calls) -> read statsPtr() / errCode().
// Record and stats layouts are exported as constants and enum globals, read by name on the host.

import { statsReset, STATS } from "./stats";
import { clearError, getErrCode, getErrOffset, getErrRecord } from "./errors";
import { outInit, outPtr as outPtrImpl, outLen as outLenImpl, outClear as outClearImpl } from "./flow/output";
import { trackerInit, trackPacket, flushAll, flushBatch, emitLiveAll, captureClock, lastPacketPtr as lastPacketPtrImpl, advanceClock as advanceClockImpl } from "./flow/tracker";
import { walkFrames } from "./shard/frames";
import { feedSegments as feedSegmentsImpl, SEG_SIZE as SEG_SIZE_CONST } from "./capture/segments";
import { SERVER_PORTS } from "./options";
import { readerReset, feedCapture, decodeFrame as decodeFrameImpl, decodeFrameGeneral as decodeFrameGeneralImpl } from "./capture/reader";
import { alloc } from "./mem";
export { heapEnd } from "./mem";
import { checkBegin as checkBeginImpl, checkEnd as checkEndImpl } from "./capture/check";
import { INDEX, PACKET } from "./state";

export * from "./flow/record";
/** Bytes of a live record in the flow table (live.ts); bench/engine.mjs reports it. */
export { REC_LIVE } from "./flow/live";
export { Stat } from "./stats";
export { Anomaly } from "./flow/anomaly";
export { HttpMethod } from "./flow/http";
export { Service } from "./flow/service";
/** The capture clock: the latest packet time seen, µs since the epoch (0 before any packet). */
export function clockUs(): i64 { return captureClock(); }
export { Err } from "./errors";
export { Option, setOption, setHashKey } from "./options";
export { OUT_CAP } from "./flow/output";
export { TE_PKT, TE_REC, TE_SIZE, TRACE_CAP, traceKeyPtr, traceArm, traceArmAll, traceDisarm, tracePtr, traceLen, traceLost, traceClear } from "./flow/trace";
// TCP option bits (EP_OPTS); the host reads them by name to print orig/resp_tcp_options.
// The segment descriptor layout (P_*), option bits (OPT_*), flag bits (TH_*), Csum and Tunnel:
// hosts that feed pre-parsed segments through feedPacket() write the descriptor by these names.
export * from "./packet";

INDEX.inputBase = 0;
INDEX.inputCap = 0;

/** Allocates the input window (once) and resets all engine state. */
export function init(windowBytes: i32): void {
  if (INDEX.inputBase == 0) {
    INDEX.inputCap = windowBytes;
    INDEX.inputBase = alloc(<usize>windowBytes);
  }
  outInit();
  statsReset();
  clearError();
  readerReset();
  trackerInit();
}

export function inputPtr(): usize { return INDEX.inputBase; }
export function inputSize(): i32 { return INDEX.inputCap; }

/**
 * Decodes capture bytes [inputPtr()+at, inputPtr()+at+len). Returns the bytes consumed: only whole
 * records are consumed, so the host keeps the tail and prepends it to the next chunk. Returns
 * early when the output ring needs draining (or, routing, a staging area: shard/route.ts), or on a
 * fatal error (errCode() != 0); the host calls again at `at` + consumed rather than moving the
 * tail after every call. eof = 1 tells the decoder no more bytes follow (a partial record is then
 * an error). A host that passes no `at` (JS: undefined) reads from the window start.
 */
export function feed(len: i32, eof: i32, at: i32): i32 {
  // Kept inside the window whatever the host passes.
  const start = min(max(at, 0), INDEX.inputCap);
  const consumed = feedCapture(INDEX.inputBase + <usize>start, min(len, INDEX.inputCap - start), eof != 0);
  flushBatch(); // every consumed record is tracked before the host drains or reads errors
  return consumed;
}

/**
 * Starts a framing check: until checkEnd(), feed() walks the capture's records and blocks without
 * delivering a frame (nothing is decoded or tracked), and reports container damage as it would when
 * decoding (errCode(), errOffset(), errRecord()). checkEnd() puts the reader, the counters and the
 * error back as they were at checkBegin(). The host keeps its window protocol unchanged.
 */
export function checkBegin(): void { checkBeginImpl(); }
export function checkEnd(): void { checkEndImpl(); }

export { SEG_TS, SEG_SRC, SEG_DST, SEG_SPORT, SEG_DPORT, SEG_FLAGS, SEG_OPTS, SEG_WSCALE, SEG_IPVER, SEG_SEQ, SEG_ACK, SEG_WIN, SEG_MSS, SEG_LEN, SEG_SIZE } from "./capture/segments";

/**
 * Tracks n pre-parsed segment records (SEG_SIZE bytes each, SEG_* layout) the host wrote at
 * inputPtr(). Returns how many were consumed (fewer when the output ring needs draining, or on a
 * bad record: errCode() = Err.BadSegmentRecord, errRecord() = firstIndex + its position).
 */
export function feedSegments(n: i32, firstIndex: f64): i32 {
  const fit = INDEX.inputCap / SEG_SIZE_CONST;
  const done = feedSegmentsImpl(INDEX.inputBase, n < 0 ? 0 : n > fit ? fit : n, firstIndex);
  flushBatch();
  return done;
}

/** Tracks the one segment the host wrote into the descriptor at pktPtr(). */
export function feedPacket(): void { trackPacket(); flushBatch(); }

/** Emits every live flow. Returns 0 when done, 1 when the output ring must be drained first. */
export function finish(): i32 { flushBatch(); return flushAll() ? 0 : 1; }

/**
 * Lists every live flow without ending it: each is copied into the output ring as finish() would
 * report it now, and the engine's state is left as it was. Returns 0 when done, 1 when the output
 * ring must be drained first (then call again).
 */
export function emitLive(): i32 { flushBatch(); return emitLiveAll() ? 0 : 1; }

export function outPtr(): usize { return outPtrImpl(); }
export function outLen(): i32 { return outLenImpl(); }
export function outClear(): void { outClearImpl(); }
export function statsPtr(): usize { return STATS; }
/** Where the next segment descriptor is written (decodeFrame() and feedPacket() use it). */
export function pktPtr(): usize { return PACKET.PKT; }
/** The descriptor of the last segment tracked, for tests and debugging. */
export function lastPacketPtr(): usize { return lastPacketPtrImpl(); }
export function errCode(): i32 { return getErrCode(); }
export function errOffset(): f64 { return getErrOffset(); }
export function errRecord(): f64 { return getErrRecord(); }

/**
 * Test hook: decodes one frame of the given link type into the descriptor without tracking it.
 * Returns 0 when a TCP segment was decoded, else the Stat counter that explains the skip.
 */
export function decodeFrame(linktype: i32, ptr: usize, caplen: i32, wirelen: i32, tsUs: i64): i32 {
  return decodeFrameImpl(linktype, ptr, caplen, wirelen, tsUs);
}

/** Test hook: decodeFrame through the general decoders only (no straight path, layers/straight.ts). */
export function decodeFrameGeneral(linktype: i32, ptr: usize, caplen: i32, wirelen: i32, tsUs: i64): i32 {
  return decodeFrameGeneralImpl(linktype, ptr, caplen, wirelen, tsUs);
}

/** likely_server_ports bitmap (8 KiB, bit p = port p), for hosts that configure their own set. */
export function serverPortsPtr(): usize { return SERVER_PORTS; }

// The output formatter: NDJSON and Zeek TSV lines written from finished records (format/abi.ts).
export * from "./format/abi";

// ---- shards (src/shards/): the reading thread routes frames, each shard's engine tracks its own ----
export { routeInit, routeAreaPtr, routeAreaLen, routeClear, routeKey, MAX_SHARDS } from "./shard/route";
// Test hook: the flow table's key hash (test/host/table-hash.test.ts).
export { keyHashOf } from "./flow/table";

/**
 * Shard side: decodes and tracks the frame records (shard/frames.ts) the host copied to
 * [inputPtr(), inputPtr()+len). Returns the bytes consumed (whole records; fewer when the output
 * ring needs draining).
 */
export function feedFrames(len: i32): i32 {
  const consumed = walkFrames(INDEX.inputBase, min(len, INDEX.inputCap));
  flushBatch();
  return consumed;
}

const SWEEP_MAX: i32 = 64;

/**
 * Moves the capture clock forward to `us` (µs; never back) and sweeps `sweepSlots` records: a shard
 * hears the reading thread's clock after each batch, so its connections expire on time.
 */
export function advanceClock(us: f64, sweepSlots: i32): void {
  // At most SWEEP_MAX emissions, so an output ring the host has just drained cannot overflow.
  flushBatch();
  advanceClockImpl(<i64>us, min(sweepSlots, SWEEP_MAX));
}
