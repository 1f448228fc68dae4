// Layout of one flow record in linear memory. The flow table keeps live records in this shape,
// and finished flows are copied verbatim into the output ring, where the host reads them by the
// exported offsets (src/wasm reads these constants by name: this file is the single source of truth).
//
// Every multi-byte field is little-endian (wasm order). Times are microseconds since the epoch as
// i64 (Zeek truncates packet times to microseconds, zeek-semantics.md §8.13).
//
// The per-endpoint block mirrors the fields of Zeek's TCP_Endpoint that conn.log depends on
// (src/analyzer/protocol/tcp/TCP_Endpoint.h): state/prev_state, start/last/ack sequence with wrap
// counters, FIN_seq, the last SYN/FIN/RST sequence recorded in history, the logarithmic counters,
// and the reassembler's last_reassem_seq/trim_seq. A role flip swaps the two blocks.

// ---- flow-level fields -------------------------------------------------------------------------
export const FR_ORIG_ADDR: i32 = 0;     // 16 B originator address (v4-mapped for IPv4)
export const FR_RESP_ADDR: i32 = 16;    // 16 B responder address
export const FR_ORIG_PORT: i32 = 32;    // u16
export const FR_RESP_PORT: i32 = 34;    // u16
export const FR_VLAN: i32 = 36;         // u32 (see P_VLAN) of the packet that created the record; part of the key only with FF_VLAN_KEY
export const FR_HASH: i32 = 40;         // u32 symmetric key hash (keyed, table.ts); free-list link when not live
export const FR_FLAGS: i32 = 44;        // u32 FF_* bits
export const FR_TS_START: i32 = 48;     // i64 µs: packet that created the record (Zeek ts)
export const FR_TS_LAST: i32 = 56;      // i64 µs: Zeek last_time (frozen once both sides closed)
export const FR_TS_ACTIVE: i32 = 64;    // i64 µs: last packet of any kind
export const FR_TS_ATTEMPT: i32 = 72;   // i64 µs: first originator SYN (Zeek's attempt timer base)
export const FR_TS_SYN: i32 = 80;       // i64 µs: latest originator SYN before the SYN-ACK (handshake RTT base)
export const FR_HS_RTT: i32 = 88;       // i64 µs: SYN -> handshake-completing ACK (Wireshark iRTT), -1 = not seen
export const FR_CLOSE_AT: i32 = 96;     // i64 µs: removal time set by a complete close (Zeek ConnDeleteTimer), 0 = none
export const FR_EXPIRE2: i32 = 104;     // i64 µs: base of the second expire-timer chain armed by a half close, 0 = none
export const FR_HIST_SEEN: i32 = 112;   // u32 Zeek hist_seen: once-only letters, originator bits low 16, responder high 16
/**
 * u8 Service (service.ts), filled when the record is emitted. It shares its byte with
 * FR_HIST_SEEN, which only the tracker reads and only while the record is live.
 */
export const FR_SERVICE: i32 = 112;
export const FR_HIST_LEN: i32 = 116;    // u8 number of history letters
export const FR_END_REASON: i32 = 117;  // u8 EndReason
export const FR_TUNNEL: i32 = 118;      // u8 Tunnel of the first segment
export const FR_CONN_STATE: i32 = 119;  // u8 ConnState, filled when the record is emitted
export const FR_HISTORY: i32 = 120;     // HIST_CAP bytes of ASCII history letters (Zeek alphabet)
export const HIST_CAP: i32 = 32;
export const FR_DEADLINE: i32 = 152;    // i64 µs: cached removalTime() (when Zeek's timers would remove the record)
/**
 * i64 µs, in an emitted record (FF_ENDED): when the record ended on the capture clock (its timer's
 * time, or the clock at the reusing SYN, the eviction or the end of the input). It takes FR_DEADLINE's
 * 8 bytes, which only a live record needs, so a record's end never depends on how far the host had
 * fed the input when it read the record.
 */
export const FR_TS_END: i32 = 152;
export const FR_ORIG: i32 = 160;        // originator endpoint (EP_* offsets)
export const FR_RESP: i32 = 272;        // responder endpoint
/**
 * Where the extension block starts. The FR_EXT bytes before it hold the connection; live records
 * in the flow table have a compact layout of their own (live.ts), from which expandRecord()
 * (output.ts) writes them. The extension block (anomalies, HTTP, out-of-order ranges, rare
 * counters) is allocated on first use from a pool of its own (table.ts) and copied after them
 * (zeros when none). EXT_SIZE is a multiple of 16 (blocks are copied and zeroed 16 bytes at a
 * time, mem.ts).
 */
export const FR_EXT: i32 = 384;
export const EXT_SIZE: i32 = 256;
/** Bytes of one record in the output ring: the live part followed by the extension. */
export const FR_SIZE: i32 = 640;

// ---- per-endpoint fields (offsets inside FR_ORIG / FR_RESP) -------------------------------------
export const EP_STATE: i32 = 0;         // u8 Half (Zeek TCP_Endpoint state)
export const EP_PREV_STATE: i32 = 1;    // u8 Half before the last change
export const EP_FLAGS: i32 = 2;         // u8 EF_* bits
export const EP_WSCALE: i32 = 3;        // u8 window-scale shift announced in this side's SYN (0xFF = none)
export const EP_OPTS: i32 = 4;          // u8 OPT_* bits this side used (union over its segments)
export const EP_NBLOCKS: i32 = 5;       // u8 out-of-order ranges held in the extension's X_BLOCKS for this side
export const EP_MSS: i32 = 6;           // u16 MSS announced (0 = none)
export const EP_PKTS: i32 = 8;          // u32 packets (Zeek ConnSize: validated packets)
export const EP_CNT_T: i32 = 12;        // u32 retransmissions (T/t, logarithmic letter)
export const EP_CNT_W: i32 = 16;        // u32 zero windows (W/w)
export const EP_CNT_G: i32 = 20;        // u32 content gaps (G/g)
export const EP_WIN: i32 = 24;          // u16 last raw window
export const EP_RTX_QUIET: i32 = 26;    // u16 retransmissions since the peer last sent anything (saturating)
export const EP_SEEN: i32 = 28;         // u32 µs after FR_TS_START of this side's last packet (saturating)
export const EP_IP_BYTES: i32 = 32;     // u64 IP bytes (Zeek ConnSize)
export const EP_START: i32 = 40;        // i64 start_seq: ISN, or first seq - 1 when no SYN was seen
export const EP_LAST_SEQ: i32 = 48;     // u32 last_seq: highest seq + segment length (32-bit)
export const EP_SEQ_WRAPS: i32 = 52;    // u32 wraps of last_seq
export const EP_ACK_SEQ: i32 = 56;      // u32 ack_seq: highest ack the peer sent for this side
export const EP_ACK_WRAPS: i32 = 60;    // u32 wraps of ack_seq
export const EP_FIN_SEQ: i32 = 64;      // u64 relative sequence just past this side's FIN
export const EP_HIST_SYN: i32 = 72;     // u32 relative seq of the last SYN seen (history repeat rule)
export const EP_HIST_FIN: i32 = 76;     // u32 relative seq after the payload of the last FIN seen
/**
 * u64 Zeek orig_bytes/resp_bytes, filled when the record is emitted. It shares its 8 bytes with
 * EP_HIST_SYN and EP_HIST_FIN, which only the tracker reads and only while the record is live.
 */
export const EP_BYTES: i32 = 72;
export const EP_LAST_ACKVAL: i32 = 80;  // u32 ack number of this side's last segment with ACK (duplicate-ACK detection)
export const EP_FLAGS2: i32 = 84;       // u8 EF2_* bits
export const EP_DUPACKS: i32 = 85;      // u8 duplicate ACKs this side sent in a row for EP_LAST_ACKVAL (saturating)
export const EP_SYNS: i32 = 86;         // u16 SYN (or SYN-ACK) segments this side sent (saturating)
export const EP_REASM: i32 = 88;        // u64 reassembler last_reassem_seq (relative; data below was delivered or skipped)
export const EP_TRIM: i32 = 96;         // u64 reassembler trim_seq (relative; highest ack processed)
export const EP_MISSED: i32 = 104;      // u64 bytes of this side's stream reported as content gaps (Zeek missed_bytes)
export const EP_SIZE: i32 = 112;

export const MAX_BLOCKS: i32 = 3;

// ---- flag bits -----------------------------------------------------------------------------------
export const FF_LIVE: u32 = 1;          // slot in use
export const FF_FLIPPED: u32 = 2;       // roles were swapped at least once (history has ^)
export const FF_HIST_FULL: u32 = 4;     // history longer than HIST_CAP letters; later letters dropped
export const FF_PARTIAL: u32 = 8;       // Zeek is_partial
export const FF_FPS_ORIG: u32 = 16;     // Zeek first_packet_seen & ORIG
export const FF_FPS_RESP: u32 = 32;     // Zeek first_packet_seen & RESP
export const FF_ATTEMPT: u32 = 64;      // attempt timer armed (FR_TS_ATTEMPT valid)
export const FF_TIMERS_OFF: u32 = 128;  // analyzer timers cancelled (a complete close)
export const FF_INACT_TCP: u32 = 256;   // inactivity timeout is tcp_inactivity_timeout (left the handshake)
export const FF_INACT_LONG: u32 = 512;  // inactivity timeout raised to 1 h (interactive service port)
export const FF_NOT_ACTIVE: u32 = 1024; // Zeek is_active == 0: attempt/expire timers do nothing
export const FF_CLOSE_DEFERRED: u32 = 2048; // Zeek close_deferred
export const FF_DEFERRED_GEN: u32 = 4096;   // Zeek deferred_gen_event
export const FF_SYNACK_AFTER_ACK: u32 = 8192; // the responder repeated its SYN-ACK after the originator acknowledged it
export const FF_RESP_NONSYN: u32 = 16384;     // the responder sent a segment without SYN (it considers the connection open)
export const FF_ENDED: u32 = 32768;           // emitted: FR_TS_END holds when the record ended
export const FF_VLAN_KEY: u32 = 65536;        // FR_VLAN is part of the connection key (vlanInKey was on when the record was created)

export const EF_DID_CLOSE: u8 = 1;      // Zeek did_close
export const EF_FIN_SEEN: u8 = 2;       // FIN_cnt > 0
export const EF_RST_SEEN: u8 = 4;       // RST_cnt > 0
export const EF_SYN_SEEN: u8 = 8;       // a SYN or SYN-ACK came from this side
export const EF_SKIP: u8 = 16;          // reassembler gave up (skip_deliveries)
export const EF_DID_EOF: u8 = 32;       // reassembler did_EOF
export const EF_FIN_AFTER_PEER: u8 = 64; // this side's first FIN acknowledged the peer's FIN (it closed passively)
export const EF2_TRUNCATED: u8 = 1;     // EP_FLAGS2: some of this side's payload was cut by the snaplen
export const EF2_ACK_SENT: u8 = 2;      // EP_FLAGS2: this side sent a segment with ACK (EP_LAST_ACKVAL is valid)
export const EF2_BEYOND_SYN: u8 = 4;    // EP_FLAGS2: this side sent a segment without SYN or RST (it left SYN_SENT)
export const EF2_SIG_DONE: u8 = 8;      // EP_FLAGS2: the segment starting this side's stream was matched (service.ts)
export const EF2_SIG_CUT: u8 = 16;      // EP_FLAGS2: ... and it was cut by the snaplen, so no service
export const EF_FIN_RETX: u8 = 128;     // this side sent its FIN again (the peer did not acknowledge it in time)

// Zeek TCP_Endpoint states (TCP_Endpoint.h), used as-is: the connection summary derives from them.
export enum Half { Inactive = 0, SynSent = 1, SynAckSent = 2, Partial = 3, Established = 4, Closed = 5, Reset = 6 }

// Zeek conn.log conn_state codes (scripts/base/protocols/conn/main.zeek).
export enum ConnState { S0 = 0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH }

// Why a record left the table.
export enum EndReason {
  /** Still live when the input ended (finish()). */
  EndOfInput = 0,
  /** Both sides closed, or one reset: removed tcp_close_delay after the last packet. */
  Closed,
  /** SYN never answered within tcp_attempt_delay. */
  AttemptTimeout,
  /** No packet for the inactivity timeout. */
  Inactivity,
  /** A new SYN on a closed or different-ISN tuple started a new record (port reuse). */
  Reused,
  /** Table reached its cap; the least recently active flow was evicted. */
  Evicted,
  /** Idle after one side closed (Zeek's expire timer with tcp_connection_linger). */
  Linger,
}

// Zeek hist_seen masks (TCP_Endpoint::HistoryMasks); the responder's are shifted left by 16.
export const HIST_SYN_PKT: u32 = 0x1;
export const HIST_FIN_PKT: u32 = 0x2;
export const HIST_RST_PKT: u32 = 0x4;
export const HIST_FIN_RST_PKT: u32 = 0x8;
export const HIST_DATA_PKT: u32 = 0x10;
export const HIST_ACK_PKT: u32 = 0x20;
export const HIST_MULTI_FLAG_PKT: u32 = 0x40;

// ---- extension block (offsets inside the extension; in the output record add FR_EXT) ------------------
/** ANOM_SLOTS x 8 bytes: type u8 (Anomaly), side u8 (0 originator, 1 responder), count u16 (saturating), first µs after FR_TS_START u32 (saturating). */
export const X_ANOM: i32 = 0;
export const ANOM_SLOTS: i32 = 8;
export const X_ANOM_MASK: i32 = 64;     // u64: bit (type * 2 + side) set once recorded
export const X_ANOM_LOST: i32 = 72;     // u32: bit per type that no longer found a free slot
export const X_HTTP_REQ: i32 = 76;      // u16 HTTP requests seen (request lines)
export const X_HTTP_RESP: i32 = 78;     // u16 HTTP responses seen (status lines)
export const X_HTTP_METHODS: i32 = 80;  // 9 x u16 per HttpMethod
export const X_HTTP_VERSIONS: i32 = 98; // u8 bit 0 HTTP/1.0, bit 1 HTTP/1.1
export const X_HTTP_CLASSES: i32 = 100; // 5 x u16 responses per status class 1xx..5xx
export const X_HTTP_CODES: i32 = 110;   // HTTP_CODE_SLOTS x (u16 code, u16 count) — first distinct codes seen
export const HTTP_CODE_SLOTS: i32 = 4;
/**
 * Out-of-order ranges of the reassembler (reassembly.ts), MAX_BLOCKS x (u32 start, u32 end) offsets
 * above EP_REASM per side: the originator's first, then the responder's (a role flip swaps them).
 */
export const X_BLOCKS: i32 = 128;
export const X_BLOCKS_SIDE: i32 = 24;
/**
 * Per-side u32 pairs (originator, responder; a role flip swaps them) only some connections need:
 * the bad-checksum counter of the logarithmic C/c letter, and the relative sequence of the last
 * RST seen (the R/r repeat rule; a RST also records an anomaly, so the block exists anyway).
 */
export const X_CNT_C: i32 = 176;
export const X_HIST_RST: i32 = 184;
/**
 * While a side's stream has a hole (out-of-order ranges held), the sender's clocks on the segments
 * seen since the hole opened: the newest TSval (u32 pair at X_HOLE_TSVAL, RFC 7323 §3) and IPv4
 * identification (u16 pair at X_HOLE_IPID), each side's validity bits at X_HOLE_CLOCKS (u8 pair:
 * HOLE_TSVAL, HOLE_IPID). A segment that fills the hole with a newer clock was sent after them: a
 * retransmission, not reordering (wire-anomalies.ts).
 */
export const X_HOLE_TSVAL: i32 = 192;
export const X_HOLE_IPID: i32 = 200;
export const X_HOLE_CLOCKS: i32 = 204;
export const HOLE_TSVAL: u8 = 1;
export const HOLE_IPID: u8 = 2;
/**
 * The outer connection of the tunnel the first segment came out of (P_OUTER_* in
 * assembly/packet.ts), when FR_TUNNEL is not None: the host derives tunnel_parents from it.
 */
export const X_OUTER_SRC: i32 = 208;    // 16 B address
export const X_OUTER_DST: i32 = 224;    // 16 B address
export const X_OUTER_SPORT: i32 = 240;  // u16 (0 for IP tunnels)
export const X_OUTER_DPORT: i32 = 242;  // u16
export const X_OUTER_VLAN: i32 = 244;   // u32 outer VLAN ids (as FR_VLAN)
export const X_OUTER_PROTO: i32 = 248;  // u8 outer IP protocol (17 UDP, 4/41 IP-in-IP, 47 GRE)
/**
 * DPD signatures matched by the segment that starts each side's stream (service.ts): a u8 pair at
 * X_SIGS2 and a u16 pair at X_SIGS, (originator, responder). Written only when a signature matched,
 * so a connection whose payload matches nothing never takes an extension block for it.
 */
export const X_SIGS2: i32 = 250;
export const X_SIGS: i32 = 252;
export const X_END: i32 = 256;
