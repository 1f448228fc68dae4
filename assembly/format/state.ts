// All state of the output formatter, in one block of linear memory whose address is the formatter's
// section of the engine's state block (assembly/state.ts), so it moves with the engine's other state.
//
// The host configures the block once per engine instance (abi.ts: fmtInit, fmtConfigure,
// fmtNameSlot, fmtLocalNets, fmtThresholds, fmtFilter); each fmtRecord() then appends one
// formatted flow to the output buffer, which the host copies out once it passes FMT_FLUSH bytes.
//
// Block layout (offsets from fmtState()):

import { alloc, allocZeroed } from "../mem";
import { FORMAT } from "../state";

export const S_BUF: usize = 0;        // u32 address of the output buffer (FMT_FLUSH + FMT_RECORD_ROOM bytes)
export const S_LEN: usize = 4;        // u32 bytes written to it
export const S_MODE: usize = 8;       // i32 FmtMode
export const S_SEED: usize = 12;      // u32 Community ID seed
export const S_FINAL: usize = 16;     // u8 1 = every record is finished (end anomalies reported at once)
export const S_ALONE: usize = 17;     // u8 ClockFrom: what the end of a record's input is
export const S_LOCAL_EMPTY: usize = 18; // u8 1 = Site::local_nets is empty (local_orig/local_resp unset)
export const S_FILTER: usize = 19;    // u8 1 = only flows whose anomalies pass the filter
export const S_FILTER_ANY: usize = 20; // u8 1 = any anomaly passes
export const S_FILTER_MASK: usize = 24; // u32 bit per Anomaly code that passes
export const S_NETS_V4: usize = 28;   // u32 IPv4 networks (pairs of u32 net, mask, host order)
export const S_NETS_V6: usize = 32;   // u32 other networks (four address words, four mask words)
export const S_NETS: usize = 36;      // u32 address of the networks (v4 pairs, then v6 octets)
export const S_T_SYN: usize = 40;     // f64 thresholds, seconds (src/anomalies/endpoint-state.ts StateThresholds)
export const S_T_SYNACK: usize = 48;
export const S_T_FIN_WAIT2: usize = 56;
export const S_T_TIME_WAIT: usize = 64;
export const S_T_VANISHED: usize = 72;
export const S_NAMES: usize = 80;     // u32 address of the name tables (NAME_KINDS x 256 slots of NAME_SLOT bytes)
export const S_KEYS: usize = 84;      // u32 address of the key table (a slot of KEY_SLOT bytes per column slot)
export const S_INSIGHT: usize = 88;   // u32 address of the insight of the record being written (insight.ts I_*)
// 92: free (was SHA-1 scratch; ids.ts keeps the block and schedule in locals)
export const S_NSLOTS: usize = 96;    // i32 columns of the configured view
export const S_SLOTS: usize = 100;    // i32 per column slot: column id | SLOT_OPEN | SLOT_CLOSE (MAX_SLOTS)
export const MAX_SLOTS: usize = 64;
export const S_CLOCK: usize = S_SLOTS + MAX_SLOTS * 4 + 4; // f64 the host's capture clock, µs (ClockFrom.Host)
export const S_NETS_CAP: usize = S_CLOCK + 8; // u32 bytes allocated at S_NETS (reused by the next fmtLocalNets that fits)
export const S_SCRATCH: usize = S_NETS_CAP + 4; // u32 address of a record-sized slot for records held outside this instance
export const S_STRAIGHT: usize = S_SCRATCH + 4; // u8 1 = the configured shape uses its straight-line row (fields.ts)
export const S_GENERIC: usize = S_SCRATCH + 5; // u8 1 = never the straight-line rows (fmtStraight(0): the tests' reference)
export const S_NETS_MAPPED: usize = S_SCRATCH + 6; // u8 whether a non-IPv4 network can hold a v4-mapped address (local-nets.ts)
export const S_FRAME: usize = S_SCRATCH + 7; // u8 LineFrame: how a JSON line is framed
export const S_LANES: usize = S_SCRATCH + 8; // u32 address of the Community ID area (LANES_*)
export const S_CID: usize = S_SCRATCH + 12; // u32 address of the current record's Community ID text when hashed ahead (fmtRecords), else 0
export const S_NETS_OCTET: usize = S_SCRATCH + 16; // u32 address of the first-octet table of the IPv4 networks (local-nets.ts OCTET_*)
export const S_MSGPACK: usize = S_SCRATCH + 20; // u32 address of the JSON scratch of LineFrame.Msgpack (FMT_RECORD_ROOM bytes)
export const S_FALLBACK: usize = S_SCRATCH + 24; // u8 1 = a record was left to the host since fmtFallback() (msgpack.ts)
export const S_SIZE: usize = S_SCRATCH + 28;

/** Where the end of a record's input comes from (src/anomalies/derive.ts InsightContext.endUs). */
export enum ClockFrom {
  /** This engine's capture clock (the records it finishes itself). */
  Engine = 0,
  /** The record stands alone: its input ended with its own last packet. */
  Record = 1,
  /** The host's clock at S_CLOCK (records finished by another engine, fmtClock). */
  Host = 2,
}

/**
 * How a JSON flow is framed in the buffer. Line: NDJSON, the object then "\n". ArrayItem: a member
 * of a JSON document's `flows` array, ",\n" then the object (the API's `application/json` answer,
 * src/http/flow-job.ts): the host drops the comma of the array's first member, whichever engine
 * printed it. Msgpack: the nested object as one msgpack map (msgpack.ts; the host frames the
 * document). Zeek TSV rows are always lines.
 */
export enum LineFrame { Line = 0, ArrayItem = 1, Msgpack = 2 }

/** The column opens a nested group (`,"orig_tcp_options":{` before its key). */
export const SLOT_OPEN: i32 = 0x100;
/** The column closes its nested group (`}` after its value). */
export const SLOT_CLOSE: i32 = 0x200;

/**
 * Bytes the host may leave in the buffer before it must copy them out (fmtRecord returns the total).
 * 256 KiB: the buffer and the host's copy of it stay in a core's L2 cache while the records stream
 * past (1 MiB made the copy out a tenth of the formatter's time, bench/format.mjs under perf).
 */
export const FMT_FLUSH: i32 = 1 << 18;
/** Room kept past FMT_FLUSH: more than one flow can take (36 anomalies with details are about 6 KiB). */
export const FMT_RECORD_ROOM: i32 = 64 << 10;

/** Name tables the host fills (fmtNameSlot), each indexed by the engine's enum value. */
export enum NameKind { ConnState = 0, EndReason, Tunnel, Service, HttpMethod, Anomaly, TcpState, Count }
/** One name: length byte, then up to 31 ASCII bytes (an empty name means unset). */
export const NAME_SLOT: usize = 32;
/**
 * One column slot's JSON texts: the key's length (u8 at 0) and the group opening's (u8 at 1), the
 * opening (`,"orig_tcp_options":{`, up to 24 bytes at 8) and the key with the comma that goes before
 * it (`,"mss":`, up to 64 bytes at 32; fields.ts jsonColumn copies it with or without the comma).
 */
export const KEY_SLOT: usize = 96;
export const KEY_OPEN: usize = 8;
export const KEY_TEXT: usize = 32;

/**
 * The Community ID area of fmtRecords: four interleaved SHA-1 blocks (ids.ts communityIdLane,
 * sha1x4Base64), then a LANES_SLOT-byte slot for each one's text (30 bytes).
 */
export const LANES_TEXT: usize = 256;
export const LANES_SLOT: usize = 32;
export const LANES_SIZE: usize = LANES_TEXT + 4 * LANES_SLOT;

/** Bytes of the insight area (insight.ts INSIGHT_BYTES fits). */
export const INSIGHT_ROOM: usize = 4096;

FORMAT.block = 0;

/** The state block, allocated (zeroed) on first use: one load where it is called, once allocated. */
@inline export function fmtState(): usize {
  const block = FORMAT.block;
  return block != 0 ? block : fmtStateFirst();
}

/** Allocates the state block (fmtState's first call). */
function fmtStateFirst(): usize {
  if (FORMAT.block == 0) {
    const block = allocZeroed(S_SIZE);
    FORMAT.block = block;
    store<u32>(block + S_BUF, <u32>alloc(<usize>(FMT_FLUSH + FMT_RECORD_ROOM)));
    store<u32>(block + S_NAMES, <u32>allocZeroed(<usize>NameKind.Count * 256 * NAME_SLOT));
    store<u32>(block + S_KEYS, <u32>allocZeroed(MAX_SLOTS * KEY_SLOT));
    store<u32>(block + S_INSIGHT, <u32>allocZeroed(INSIGHT_ROOM));
    store<u32>(block + S_LANES, <u32>allocZeroed(LANES_SIZE));
  }
  return FORMAT.block;
}

/** The name slot of `value` in table `kind`. */
@inline export function nameSlot(s: usize, kind: i32, value: u32): usize {
  return <usize>load<u32>(s + S_NAMES) + ((<usize>kind * 256 + <usize>(value & 0xff)) * NAME_SLOT);
}
