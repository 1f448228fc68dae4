// Classic libpcap file format (draft-ietf-opsawg-pcap §4 file header, §5 packet record).
//
// Magic 0xA1B2C3D4 (microsecond timestamps) or 0xA1B23C4D (nanosecond), in either byte order: a
// swapped magic means every header field is big-endian. Version must be 2.x. The link type is the low
// 16 bits of the header's LinkType field (the upper bits carry FCS information we do not need: the IP
// length bounds every layer, so a trailing FCS is never read as payload).
//
// Contract: pcapStep(p, avail, pos) looks at the bytes [p, p+avail), which start at stream offset
// `pos`, and decodes at most one unit: the 24-byte file header, or one 16-byte record header plus its
// captured bytes. It returns the bytes consumed (> 0), 0 when the unit is not complete yet (the caller
// keeps the tail and calls again with more), or -1 after setError() on fatal damage:
//   BadPcapVersion  at the file header (record 0)
//   AbsurdCaplen    at the record header: captured length > max(snaplen, 262144), or larger than a
//                   record the host window can hold (MAX_RECORD_BYTES); lengths are never trusted for
//                   allocation, only compared.
// Records are numbered from 1 in error reports. Timestamps become microseconds since the epoch,
// nanoseconds truncated (Zeek gets truncated µs timevals from libpcap).

import { setError, Err } from "../errors";
import { rd16, rd32 } from "../mem";
import { deliverFrame, deliverRecord, deliverEthernet, WIRELEN_CLAMP } from "./frame";
import { outNearlyFull } from "../flow/output";
import { routeFull } from "../shard/route";
import { LINKTYPE_ETHERNET } from "../layers/link";
import { Stat, STATS } from "../stats";
import { PCAP, ROUTE, TRACKER } from "../state";

export const PCAP_MAGIC_US: u32 = 0xA1B2C3D4;
export const PCAP_MAGIC_NS: u32 = 0xA1B23C4D;

const FH_SIZE: i32 = 24;
const FH_MAGIC: usize = 0;
const FH_VERSION_MAJOR: usize = 4;
const FH_SNAPLEN: usize = 16;
const FH_LINKTYPE: usize = 20;
const PCAP_VERSION_MAJOR: u32 = 2;

const RH_SIZE: i32 = 16;
const RH_TS_SEC: usize = 0;
const RH_TS_FRAC: usize = 4;
const RH_INCL_LEN: usize = 8;
const RH_ORIG_LEN: usize = 12;

/** Largest caplen always accepted, whatever the file's snaplen says (libpcap's MAXIMUM_SNAPLEN). */
const MAX_SNAPLEN: u32 = 262144;
/** The host window is at least 8 MiB; a record must fit in it whole, header included. */
export const MAX_RECORD_BYTES: u32 = 8 << 20;

const US_PER_S: i64 = 1_000_000;
const NS_PER_US: u32 = 1000;

PCAP.swap = false;
PCAP.nanos = false;
PCAP.headerDone = false;
PCAP.linktype = 0;
PCAP.snaplen = 0;
PCAP.runLimit = 0;
PCAP.records = 0;

export function pcapReset(): void {
  PCAP.swap = false;
  PCAP.nanos = false;
  PCAP.headerDone = false;
  PCAP.linktype = 0;
  PCAP.snaplen = 0;
  PCAP.runLimit = 0;
  PCAP.records = 0;
}

/** True when the first four bytes, read little-endian, are a pcap magic in either byte order. */
export function isPcapMagic(m: u32): bool {
  return m == PCAP_MAGIC_US || m == PCAP_MAGIC_NS || m == bswap<u32>(PCAP_MAGIC_US) || m == bswap<u32>(PCAP_MAGIC_NS);
}

/** A record's largest captured length: the file's snaplen or MAX_SNAPLEN, and what the window holds. */
@inline function caplenLimit(): u32 { return min(max(PCAP.snaplen, MAX_SNAPLEN), MAX_RECORD_BYTES - <u32>RH_SIZE); }

/** A record's time in µs since the epoch from its seconds and fraction (ns truncated, as libpcap gives Zeek µs). */
@inline function recordTime(sec: u32, frac: u32, nanos: bool): i64 {
  return <i64>sec * US_PER_S + <i64>(nanos ? frac / NS_PER_US : frac);
}

/** Inlined into feedCapture's loop (its one caller): a call a record, with its f64 argument, cost more than the step. */
@inline export function pcapStep(p: usize, avail: i32, pos: f64): i32 {
  if (!PCAP.headerDone) {
    if (avail < FH_SIZE) return 0;
    // SAFETY: avail >= 24 covers the file header.
    const m = load<u32>(p + FH_MAGIC);
    PCAP.swap = m == bswap<u32>(PCAP_MAGIC_US) || m == bswap<u32>(PCAP_MAGIC_NS);
    PCAP.nanos = m == PCAP_MAGIC_NS || m == bswap<u32>(PCAP_MAGIC_NS);
    if (rd16(p + FH_VERSION_MAJOR, PCAP.swap) != PCAP_VERSION_MAJOR) {
      setError(Err.BadPcapVersion, pos + <f64>FH_VERSION_MAJOR, 0);
      return -1;
    }
    PCAP.snaplen = rd32(p + FH_SNAPLEN, PCAP.swap);
    PCAP.linktype = <i32>(rd32(p + FH_LINKTYPE, PCAP.swap) & 0xFFFF);
    PCAP.headerDone = true;
    return FH_SIZE;
  }

  if (avail < RH_SIZE) return 0;
  // SAFETY: avail >= 16 covers the record header.
  const incl = rd32(p + RH_INCL_LEN, PCAP.swap);
  if (incl > caplenLimit()) {
    setError(Err.AbsurdCaplen, pos, PCAP.records + 1);
    return -1;
  }
  const total = RH_SIZE + <i32>incl;   // <= 8 MiB, no overflow
  if (avail < total) return 0;

  const ts = recordTime(rd32(p + RH_TS_SEC, PCAP.swap), rd32(p + RH_TS_FRAC, PCAP.swap), PCAP.nanos);
  const orig = min(rd32(p + RH_ORIG_LEN, PCAP.swap), WIRELEN_CLAMP);
  PCAP.records += 1;
  // SAFETY: avail >= 16 + incl, so the frame [p+16, p+16+incl) is inside the window.
  deliverFrame(PCAP.linktype, p + <usize>RH_SIZE, <i32>incl, <i32>orig, ts);
  return total;
}

/**
 * pcapStep's records in a loop, for the common file: little-endian (no swap), header read, no framing
 * check (READER.checkOnly; the caller tests these). The per-file fields (the caplen limit, the link
 * type, the precision) are read once a call, not once a record. Decodes whole records from
 * [p, p+avail) (stream offset `pos`) until one is not whole, or the output ring (or, routing, a
 * staging area) needs draining first, or one is damaged (setError as pcapStep: the record is not
 * consumed). Returns the bytes consumed; the caller goes on with pcapStep, which then finds what
 * stopped this loop and answers for it as it always has.
 */
export function pcapRun(p: usize, avail: i32, pos: f64): i32 {
  if (PCAP.linktype == LINKTYPE_ETHERNET && !ROUTE.routing) return pcapRunEthernet(p, avail, pos);
  const limit = caplenLimit();
  const linktype = PCAP.linktype;
  const nanos = PCAP.nanos;
  let off: i32 = 0;
  // The output and trace rings fill only in flushBatch (tracker.ts, once a batch of segments), so
  // outNearlyFull() is asked again only after one ran; a staging area fills a record at a time, so
  // routeFull() is asked every record while routing. The first record asks both.
  let flushes = TRACKER.flushes - 1;
  while (avail - off >= RH_SIZE) {
    if (flushes != TRACKER.flushes || ROUTE.routing) {
      flushes = TRACKER.flushes;
      if (outNearlyFull() || routeFull()) break;
    }
    const r = p + <usize>off;
    // SAFETY: avail - off >= 16 covers the record header.
    const incl = load<u32>(r + RH_INCL_LEN);
    if (incl > limit) {
      setError(Err.AbsurdCaplen, pos + <f64>off, PCAP.records + 1);
      break;
    }
    const total = RH_SIZE + <i32>incl;   // <= 8 MiB, no overflow
    if (avail - off < total) break;
    const ts = recordTime(load<u32>(r + RH_TS_SEC), load<u32>(r + RH_TS_FRAC), nanos);
    const orig = min(load<u32>(r + RH_ORIG_LEN), WIRELEN_CLAMP);
    PCAP.records += 1;
    // SAFETY: avail - off >= 16 + incl, so the frame [r+16, r+16+incl) is inside the window.
    deliverRecord(linktype, r + <usize>RH_SIZE, <i32>incl, <i32>orig, ts, true);
    off += total;
  }
  return off;
}

/** Where Stat.Records is kept (statInc's slot). */
const STAT_RECORDS: usize = STATS + (<usize>Stat.Records << 3);

/**
 * pcapRun for an Ethernet file while not routing (the common file; ROUTE.routing only changes
 * between calls, routeFrame restoring it), each record to deliverEthernet: no link type or route
 * mode to ask a record, and no count of flushBatch calls to carry (see the loop). Loop-carried
 * state is kept in locals and written where it is read: the record counts (Stat.Records and
 * PCAP.records, read by nothing the loop calls) once at the end, the capture clock
 * (TRACKER.recordClock, which flushBatch reads) when it moves. The caplen limit is read from
 * PCAP.runLimit, written once a call: held in a local, V8 worked its selects out again every
 * record. (A field of the state block, in PcapState's padding: a wasm global would be engine
 * state outside linear memory, which snapshots do not carry; test/host/engine-state.test.ts.)
 * Errors and stops as pcapRun's.
 */
function pcapRunEthernet(p: usize, avail: i32, pos: f64): i32 {
  PCAP.runLimit = caplenLimit();
  const nanos = PCAP.nanos;
  const end = p + <usize>avail;
  // Counts below 2^53: exact as i64 and f64 alike.
  const rec0 = <i64>load<f64>(STAT_RECORDS);
  let rec = rec0;
  let clock = TRACKER.recordClock;
  let r = p;
  while (end - r >= <usize>RH_SIZE) {
    // The output and trace rings fill only in flushBatch, which leaves the segment queue empty: the
    // rings are asked while it is (after a batch, or before the first segment of one), which is
    // every time they can have changed, and a test of the queue otherwise.
    if (TRACKER.queued == 0) {
      if (outNearlyFull()) break;
    }
    // SAFETY: end - r >= 16 covers the record header.
    const incl = load<u32>(r + RH_INCL_LEN);
    if (incl > PCAP.runLimit) {
      setError(Err.AbsurdCaplen, pos + <f64>(r - p), PCAP.records + <f64>(rec - rec0) + 1);
      break;
    }
    // incl <= 8 MiB: no overflow.
    if (end - r - <usize>RH_SIZE < <usize>incl) break;
    const ts = recordTime(load<u32>(r + RH_TS_SEC), load<u32>(r + RH_TS_FRAC), nanos);
    const orig = load<u32>(r + RH_ORIG_LEN);
    rec++;
    // noteRecordTime, with the clock in a local: ts >= 0 > i64.MIN_VALUE, so after it the clock is
    // what recordClockNow() answers.
    if (ts > clock) {
      clock = ts;
      TRACKER.recordClock = ts;
    }
    const f = r + <usize>RH_SIZE;
    r = f + <usize>incl;
    // SAFETY: end - r >= 16 + incl before the move, so the frame [f, f+incl) is inside the window.
    deliverEthernet(f, <i32>incl, orig, ts, <f64>rec, clock);
  }
  PCAP.records += <f64>(rec - rec0);
  store<f64>(STAT_RECORDS, <f64>rec);
  return <i32>(r - p);
}

/** Number of the unit the next pcapStep() reads, for error reports: 0 = file header, then records from 1. */
export function pcapNextRecord(): f64 { return PCAP.headerDone ? PCAP.records + 1 : 0; }
