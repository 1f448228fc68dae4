// Layout of a LIVE connection record in the flow table (table.ts). The tracker reads and writes
// live records through these offsets; finished records in the output ring keep the layout of
// record.ts (FR_SIZE bytes, read by the host and the engine's formatter), and expandRecord()
// (output.ts) writes one from the other when a flow is emitted or traced.
//
// The names are record.ts's, so a tracker file says which layout it works on by the module it
// imports them from: "./live" for the table's records. Fields the live record does not hold
// (FR_HASH, FR_END_REASON, FR_CONN_STATE, FR_SERVICE, FR_TS_END, EP_BYTES) are not exported here:
// the compiler refuses a tracker file that reaches for one. Flag bits, enums and the extension
// block's offsets are the same in both layouts and are re-exported unchanged.
//
// Where the live record is smaller than the output record's live part (384 bytes):
//   - no key hash: table.ts recomputes it from the key when the record leaves the table, and
//     expandRecord() writes it into the output record (4 bytes);
//   - no end reason or conn_state: they are written into the output record at emission (2 bytes);
//   - the history length, the tunnel and whether the addresses are IPv6 are FR_FLAGS bits (3 bytes);
//   - start_seq is the 32-bit wire value: Zeek's InitStartSeq(int64) is only ever given a uint32
//     (seq.ts), so the 64-bit field of the output record is its zero extension (4 bytes a side);
//   - the extension reference that table.ts kept in a u32 array beside the records is a field;
//   - the first HIST_INLINE (12) history letters are in the record, 5 bits each in a u64, the rest
//     (rare: header-only captures' histories such as "ShADdGgFaf" take 10) in a live-only tail of
//     the extension block (X_HIST_MORE): 8 bytes;
//   - the T and W counters (EP_CNT_T, EP_CNT_W) are in that tail too (X_CNT_T, X_CNT_W);
//   - the times but the start and the deadline are i32 offsets from the start (narrow.ts), a time
//     out of their ±35.8 minutes whole in the tail (X_TIMES): 4 bytes each; the cached deadline
//     is a lower bound in 1024 µs units (4 bytes);
//   - the first and the latest originator SYN's times are the record's start (a flag each) or in
//     the tail (X_TS_ATTEMPT, X_TS_SYN): 8 bytes;
//   - the midstream anomaly of a connection picked up without a SYN (Zeek is_partial, every
//     connection of a capture cut from a longer one) is two FR_FLAGS bits (FF_MIDSTREAM) while the
//     record has no extension block, so such a connection takes one only for what else it records:
//     the EXT_LIVE bytes of a block and its cache lines;
//   - an IPv4 connection's addresses take 4 bytes each, an IPv6 one's are in a 32-byte block from a
//     pool of their own (table.ts): 24 bytes;
//   - ip_bytes and missed_bytes keep their low 32 bits, a side past 4 GiB carrying into the tail
//     (X_IP_BYTES_HI, X_MISSED_HI, narrow.ts addWide): 8 bytes a side;
//   - the reassembler's points and the FIN's sequence (u64 relative sequence numbers) take 32 bits
//     while they fit, else they are kept whole in the tail (X_REASM ..., narrow.ts relAt): 12 bytes a side;
//   - the last SYN's relative sequence, the retransmissions since the peer last sent and the
//     duplicate-ACK run are in the tail (X_HIST_SYN, X_RTX_QUIET, X_DUPACKS): zero but after an
//     anomaly, or a SYN away from the start of the sequence space: 7 bytes a side;
//   - the wrap counters of last_seq and ack_seq take a byte each, a count past 254 (1 TiB) in the
//     tail (X_SEQ_WRAPS, X_ACK_WRAPS, narrow.ts wrapsAt): 6 bytes a side;
//   - hist_last_FIN is EP_FIN_SEQ - 1 but after a FIN with SYN or RST (EF2_HIST_FIN_AT_FIN,
//     X_HIST_FIN): 4 bytes a side;
//   - the G counter takes 16 bits, a count past 65534 in the tail (X_CNT_G, narrow.ts bumpGaps),
//     and the SYN count a byte, a count past 254 in the tail (X_SYNS, narrow.ts bumpSyns): 3 bytes a side.
// Field order: the key and the flow-level fields the fast path (steady.ts) and every packet
// (lookup, timers) touch come first; each endpoint block starts with its per-segment fields.

export {
  FF_LIVE, FF_FLIPPED, FF_HIST_FULL, FF_PARTIAL, FF_FPS_ORIG, FF_FPS_RESP, FF_ATTEMPT, FF_TIMERS_OFF, FF_INACT_TCP,
  FF_INACT_LONG, FF_NOT_ACTIVE, FF_CLOSE_DEFERRED, FF_DEFERRED_GEN, FF_SYNACK_AFTER_ACK, FF_RESP_NONSYN, FF_ENDED,
  FF_VLAN_KEY,
  EF_DID_CLOSE, EF_FIN_SEEN, EF_RST_SEEN, EF_SYN_SEEN, EF_SKIP, EF_DID_EOF, EF_FIN_AFTER_PEER, EF_FIN_RETX,
  EF2_TRUNCATED, EF2_ACK_SENT, EF2_BEYOND_SYN, EF2_SIG_DONE, EF2_SIG_CUT,
  Half, ConnState, EndReason, MAX_BLOCKS, HIST_CAP,
  HIST_SYN_PKT, HIST_FIN_PKT, HIST_RST_PKT, HIST_FIN_RST_PKT, HIST_DATA_PKT, HIST_ACK_PKT, HIST_MULTI_FLAG_PKT,
  X_ANOM, ANOM_SLOTS, X_ANOM_MASK, X_ANOM_LOST, X_HTTP_REQ, X_HTTP_RESP, X_HTTP_METHODS, X_HTTP_VERSIONS,
  X_HTTP_CLASSES, X_HTTP_CODES, HTTP_CODE_SLOTS, X_BLOCKS, X_BLOCKS_SIDE, X_CNT_C, X_HIST_RST, X_HOLE_TSVAL,
  X_HOLE_IPID, X_HOLE_CLOCKS, HOLE_TSVAL, HOLE_IPID, X_OUTER_SRC, X_OUTER_DST, X_OUTER_SPORT, X_OUTER_DPORT,
  X_OUTER_VLAN, X_OUTER_PROTO, X_SIGS2, X_SIGS, X_END, EXT_SIZE,
} from "./record";
import { HIST_CAP, EXT_SIZE, X_BLOCKS, X_HOLE_CLOCKS } from "./record";

// ---- flow-level fields (meaning and units as in record.ts) ---------------------------------------
/**
 * The addresses: an IPv4 connection (both addresses v4-mapped, packet.ts) keeps the last 4 bytes of
 * each (a u32 each); an IPv6 one (FF_V6 set) keeps both 16-byte addresses in an IPv6 key block of
 * the table's pool (table.ts), whose id is then the u32 at FR_ORIG_ADDR. Read and written
 * only through table.ts (keyAddr, addrMatches, setKeyAddrs, swapKeyAddrs).
 */
export const FR_ORIG_ADDR: i32 = 0;
export const FR_RESP_ADDR: i32 = 4;
export const FR_ORIG_PORT: i32 = 8;     // u16
export const FR_RESP_PORT: i32 = 10;    // u16
export const FR_VLAN: i32 = 12;         // u32
export const FR_FLAGS: i32 = 16;        // u32 FF_* bits, and the live-only fields below
export const FR_HIST_SEEN: i32 = 20;    // u32
// FR_FLAGS bits of the live record only (cleared in the output record, output.ts): FR_TS_ATTEMPT and
// FR_TS_SYN are the record's start (narrow.ts attemptTime, synTime), and FR_TS_SYN is set (non-zero).
export const FF_ATTEMPT_AT_START: u32 = 1 << 17;
export const FF_SYN_AT_START: u32 = 1 << 18;
export const FF_SYN_SET: u32 = 1 << 19;
/** FR_FLAGS bit of the live record only: the addresses are in the IPv6 key block (FR_ORIG_ADDR above). */
export const FF_V6: u32 = 1 << 20;
/** FR_FLAGS bits 21-23 of the live record only: the output record's FR_TUNNEL (packet.ts Tunnel, 0-7). */
export const FF_TUNNEL_SHIFT: u32 = 21;
export const FF_TUNNEL: u32 = 7 << FF_TUNNEL_SHIFT;
/** FR_FLAGS bits 24-29 of the live record only: the output record's FR_HIST_LEN (0-HIST_CAP; history.ts histLen). */
export const FF_HIST_LEN_SHIFT: u32 = 24;
export const FF_HIST_LEN: u32 = 63 << FF_HIST_LEN_SHIFT;
/**
 * FR_FLAGS bits 30-31 of the live record only: the midstream anomaly (anomaly.ts Anomaly.Midstream,
 * recorded when a record's first packet has no SYN) of a record without an extension block. It is
 * the block's first anomaly, counted once at the record's start, by the originator, or by the
 * responder (FF_MIDSTREAM_RESP) after a role flip (history.ts flipRoles). Set only while the record
 * has no block: extAttachOf() (table.ts) writes it into the block it attaches and clears both bits,
 * and expandRecord() (output.ts) writes it into the output record of a record that never had one
 * (anomaly.ts storeMidstream).
 */
export const FF_MIDSTREAM: u32 = 1 << 30;
export const FF_MIDSTREAM_RESP: u32 = 1 << 31;
export const FF_LIVE_ONLY: u32 =
  FF_ATTEMPT_AT_START | FF_SYN_AT_START | FF_SYN_SET | FF_V6 | FF_TUNNEL | FF_HIST_LEN | FF_MIDSTREAM | FF_MIDSTREAM_RESP;
/** u32 extension block id + 1 (0 = none, table.ts); the free-list link while the record is not live. */
export const FR_EXT_REF: i32 = 24;
/** i64 µs: the base of the narrow times below (records are 4-byte aligned: REC_LIVE). */
export const FR_TS_START: i32 = 28;
/**
 * i32: a lower bound of when the record would be removed (timers.ts removalTime), in 1024 µs units
 * from FR_TS_START (narrow.ts deadlineFloor): the per-packet and sweep checks compute the exact time
 * only once it may have passed, and the output record's deadline is computed exactly.
 */
export const FR_DEADLINE: i32 = 36;
// The narrow times: an i32 each, read and written only through timeAt()/setTimeAt() (narrow.ts),
// which hold the encoding. A time is kept as its offset from FR_TS_START in µs (±35 minutes);
// one out of that range is kept whole (i64) in the extension block's X_TIMES slot of its field.
// FR_HS_RTT is a duration (-1 = not seen), kept as is while it fits an i32, else in X_TIMES too.
export const FR_TS_LAST: i32 = 40;
export const FR_TS_ACTIVE: i32 = 44;
export const FR_CLOSE_AT: i32 = 48;
export const FR_EXPIRE2: i32 = 52;
export const FR_HS_RTT: i32 = 56;
/** The first narrow time field; field f's X_TIMES slot is X_TIMES + (f - FR_TIMES) * 2. */
export const FR_TIMES: i32 = FR_TS_LAST;
/**
 * u64: the first HIST_INLINE history letters, 5 bits each (letter i in bits 5i to 5i + 4, a code of
 * history.ts HIST_LETTERS, 0 = none); letter HIST_INLINE + i is at X_HIST_MORE + i of the
 * extension block (ASCII). Read and written only through history.ts.
 */
export const FR_HISTORY: i32 = 60;
export const HIST_INLINE: i32 = 12;
export const FR_ORIG: i32 = FR_HISTORY + 8;
export const FR_RESP: i32 = FR_ORIG + 60; // + EP_SIZE

// ---- per-endpoint fields (offsets inside FR_ORIG / FR_RESP) --------------------------------------
export const EP_STATE: i32 = 0;         // u8
export const EP_PREV_STATE: i32 = 1;    // u8
export const EP_FLAGS: i32 = 2;         // u8
export const EP_WSCALE: i32 = 3;        // u8
export const EP_OPTS: i32 = 4;          // u8
export const EP_NBLOCKS: i32 = 5;       // u8
export const EP_MSS: i32 = 6;           // u16
export const EP_PKTS: i32 = 8;          // u32
export const EP_LAST_SEQ: i32 = 12;     // u32
export const EP_ACK_SEQ: i32 = 16;      // u32
/** u32 start_seq (the output record's EP_START is its zero extension to 64 bits). */
export const EP_START: i32 = 20;
/** u32: the low half of the u64 count; the high half is at X_IP_BYTES_HI (narrow.ts addWide). */
export const EP_IP_BYTES: i32 = 24;
export const EP_WIN: i32 = 28;          // u16
/**
 * u16: the G letter's counter (the output record's u32 EP_CNT_G), read and written only through
 * narrow.ts gapsAt/bumpGaps, which keep a count past 65534 in X_CNT_G.
 */
export const EP_CNT_G: i32 = 30;
// The reassembler's points and the FIN's sequence are u64 relative sequence numbers, kept in 32 bits
// while they fit (narrow.ts relAt/setRelAt: a side past 4 GiB keeps them whole in X_REASM ...).
export const EP_REASM: i32 = 32;        // u32 (u64, narrow.ts)
export const EP_TRIM: i32 = 36;         // u32 (u64, narrow.ts)
export const EP_SEEN: i32 = 40;         // u32
export const EP_LAST_ACKVAL: i32 = 44;  // u32
/** u32: the low half of the u64 count; the high half is at X_MISSED_HI (narrow.ts addWide). */
export const EP_MISSED: i32 = 48;
export const EP_FIN_SEQ: i32 = 52;      // u32 (u64, narrow.ts)
export const EP_FLAGS2: i32 = 56;       // u8 (EF2_* bits, and the live-only EF2_HIST_FIN_AT_FIN)
/**
 * u8 wrap counters of last_seq and ack_seq (a wrap per 4 GiB): read and written only through
 * narrow.ts wrapsAt/bumpWraps, which keep a count past 254 in X_SEQ_WRAPS / X_ACK_WRAPS.
 */
export const EP_SEQ_WRAPS: i32 = 57;
export const EP_ACK_WRAPS: i32 = 58;
/**
 * u8: the SYNs this side sent (the output record's u16 EP_SYNS, which stops at 65535), read and
 * written only through narrow.ts synsAt/bumpSyns, which keep a count past 254 in X_SYNS.
 */
export const EP_SYNS: i32 = 59;
/**
 * EP_FLAGS2 bit of the live record only: the relative sequence after the last lone FIN (Zeek's
 * hist_last_FIN, the F repeat rule; the output record's EP_HIST_FIN) is EP_FIN_SEQ - 1, as that
 * FIN set both. Clear, it is in the extension block's X_HIST_FIN (0 without one): a FIN that
 * moved EP_FIN_SEQ and not hist_last_FIN came with SYN or RST, so with an anomaly
 * (history.ts histLastFin, keepHistLastFin). A clean close needs no extension block for it.
 */
export const EF2_HIST_FIN_AT_FIN: u8 = 32;
/** A multiple of 4 (a role flip swaps the blocks 4 bytes at a time past the last 8, mem.ts swapBlock). */
export const EP_SIZE: i32 = 60;

/**
 * Bytes of a live record: a multiple of 4 (records are zeroed 16 bytes at a time plus an 8- and a
 * 4-byte tail, mem.ts zeroBlock). A record's i64 and u64 fields are then 8-byte aligned in every
 * other record only: wasm loads and stores need no alignment.
 */
export const REC_LIVE: i32 = (FR_RESP + EP_SIZE + 3) & ~3;

// ---- extension block ----------------------------------------------------------------------------
// A live extension block is the output record's (EXT_SIZE bytes, X_* offsets of record.ts, copied
// as they are) followed by X_TAIL_REF; the fields only a live record needs (X_HIST_MORE to X_SYNS
// below) are in a tail block of their own, attached to the extension block on first use (table.ts
// extTailAttachOf). Most connections that take an extension block never need its tail (on the 10M
// benchmark capture 7.3k of the 92k blocks live at the peak do: retransmissions, zero windows),
// so the tail's 224 bytes are allocated, zeroed and faulted in only for them.
/** u32: the tail block's id + 1 (0 = none). */
export const X_TAIL_REF: i32 = EXT_SIZE;
/**
 * u32: the hole block's id + 1 (0 = none). A stream with a hole (out-of-order ranges) keeps its
 * ranges and its hole clocks (X_BLOCKS, X_HOLE_TSVAL, X_HOLE_IPID, X_HOLE_CLOCKS) in a hole block of
 * their own (table.ts extHoleAttachOf), never in the extension block, whose bytes there stay zero:
 * on the 10M benchmark capture 34.7k of the 92k blocks live at the peak held nothing else (payload
 * cut by the snaplen leaves the next whole segment above the reassembly point). A record that takes
 * a hole block first names it in FR_EXT_REF (table.ts REF_HOLE), and here once it takes an extension block.
 */
export const X_HOLE_REF: i32 = X_TAIL_REF + 4;
/**
 * The offset of the first hole field: a hole block at h holds the field at offset x at h + x -
 * X_HOLE_AT (a hole base, table.ts extHoleOf). HOLE_SIZE bytes, a multiple of 16; the bytes it spans
 * that are not hole fields (X_CNT_C, X_HIST_RST) are the extension block's, unused in a hole block.
 */
export const X_HOLE_AT: i32 = X_BLOCKS;
export const HOLE_SIZE: i32 = (X_HOLE_CLOCKS + 2 - X_HOLE_AT + 15) & ~15;
/**
 * The offset of the first tail field. The tail fields keep the offsets below, from a tail base:
 * the tail block's address - X_TAIL (table.ts extTailOf), never from the extension block's address.
 */
export const X_TAIL: i32 = EXT_SIZE;
/** HIST_CAP - HIST_INLINE bytes: history letters past the first HIST_INLINE. */
export const X_HIST_MORE: i32 = X_TAIL;
/**
 * The T and W letters' counters (the output record's EP_CNT_T and EP_CNT_W), a u32 pair each
 * (originator, responder): a retransmission or a zero window is rare, and records an anomaly, so
 * the extension block is there already; the live record does not carry them (8 bytes a side).
 */
export const X_CNT_T: i32 = X_HIST_MORE + ((HIST_CAP - HIST_INLINE + 7) & ~7);
export const X_CNT_W: i32 = X_CNT_T + 8;
/** The narrow times that did not fit their i32 (FR_TS_LAST ... FR_HS_RTT, narrow.ts): an i64 each. */
export const X_TIMES: i32 = X_CNT_W + 8;
/**
 * The high halves of the endpoint counters the live record keeps 32 bits of (EP_IP_BYTES,
 * EP_MISSED), a u32 pair each (originator, responder): a side past 4 GiB carries into them.
 */
export const X_IP_BYTES_HI: i32 = X_TIMES + 8 * ((FR_HS_RTT - FR_TIMES) / 4 + 1);
export const X_MISSED_HI: i32 = X_IP_BYTES_HI + 8;
/**
 * The u64 relative sequence numbers the live record keeps in 32 bits (EP_REASM, EP_TRIM,
 * EP_FIN_SEQ), a u64 pair each (originator, responder): a value past 2^32 - 2 is kept whole here
 * (narrow.ts setRelAt). Only a side that moves more than 4 GiB needs them.
 */
export const X_REASM: i32 = X_MISSED_HI + 8;
export const X_TRIM: i32 = X_REASM + 16;
export const X_FIN_SEQ: i32 = X_TRIM + 16;
/**
 * Endpoint fields that stay zero unless something the extension block records happens, a pair each
 * (originator, responder), read as zero while there is no block: the relative sequence of the last
 * SYN seen (u32, the S/H repeat rule: a SYN's own relative sequence is 0, so only a SYN elsewhere
 * writes it), the retransmissions since the peer last sent (u16, counted with a retransmission
 * anomaly) and the duplicate ACKs in a row (u8, counted with a duplicate_ack anomaly). The output
 * record's EP_HIST_SYN, EP_RTX_QUIET and EP_DUPACKS.
 */
export const X_HIST_SYN: i32 = X_FIN_SEQ + 16;
export const X_RTX_QUIET: i32 = X_HIST_SYN + 8;
export const X_DUPACKS: i32 = X_RTX_QUIET + 4;
/** The wrap counters past 254 (EP_SEQ_WRAPS, EP_ACK_WRAPS; narrow.ts bumpWraps), a u32 pair each: a side past 1 TiB. */
export const X_SEQ_WRAPS: i32 = X_DUPACKS + 4;
export const X_ACK_WRAPS: i32 = X_SEQ_WRAPS + 8;
/** hist_last_FIN when it is not EP_FIN_SEQ - 1 (EF2_HIST_FIN_AT_FIN), a u32 pair. */
export const X_HIST_FIN: i32 = X_ACK_WRAPS + 8;
/**
 * The first originator SYN's time (the attempt timer's base, the output record's FR_TS_ATTEMPT) and
 * the latest originator SYN's before the SYN-ACK (FR_TS_SYN), an i64 each, when not the record's
 * start (FF_ATTEMPT_AT_START, FF_SYN_AT_START; narrow.ts attemptTime, synTime): the SYN that
 * creates a record sets both to its start; a later one comes with an anomaly (a retransmitted SYN,
 * a SYN after a midstream start).
 */
export const X_TS_ATTEMPT: i32 = X_HIST_FIN + 8;
export const X_TS_SYN: i32 = X_TS_ATTEMPT + 8;
/**
 * The G letter's counter past 65534 gaps (EP_CNT_G; narrow.ts bumpGaps), a u32 pair, and the SYN
 * count past 254 (EP_SYNS; narrow.ts bumpSyns), a u16 pair (originator, responder).
 */
export const X_CNT_G: i32 = X_TS_SYN + 8;
export const X_SYNS: i32 = X_CNT_G + 8;
/** Bytes of a live extension block (up to X_HOLE_REF): a multiple of 16 (blocks are zeroed 16 bytes at a time, mem.ts). */
export const EXT_LIVE: i32 = (X_HOLE_REF + 4 + 15) & ~15;
/** Bytes of a tail block (X_TAIL up to the last tail field): a multiple of 16, as EXT_LIVE. */
export const TAIL_SIZE: i32 = (X_SYNS + 4 - X_TAIL + 15) & ~15;
