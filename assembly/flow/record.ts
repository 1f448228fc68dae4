// Layout of one flow record in linear memory. The flow table keeps live records in this shape,
// and finished flows are copied verbatim into the output ring, where the host reads them
// (src/wasm/record.ts reads these exported offsets, so this file is the single source of truth).
//
// Every multi-byte field is little-endian (wasm order). Times are microseconds since the epoch
// as i64 (Zeek truncates packet times to microseconds, zeek-semantics.md §8.13).

// ---- flow-level fields -------------------------------------------------------------------------
export const FR_ORIG_ADDR: i32 = 0;     // 16 B originator address (v4-mapped for IPv4)
export const FR_RESP_ADDR: i32 = 16;    // 16 B responder address
export const FR_ORIG_PORT: i32 = 32;    // u16
export const FR_RESP_PORT: i32 = 34;    // u16
export const FR_VLAN: i32 = 36;         // u32 (see P_VLAN)
export const FR_HASH: i32 = 40;         // u32 symmetric key hash (seeded)
export const FR_FLAGS: i32 = 44;        // u32 FF_* bits
export const FR_TS_START: i32 = 48;     // i64 µs: time of the packet that created the record (Zeek ts)
export const FR_TS_LAST: i32 = 56;      // i64 µs: Zeek last_time (stops once both sides closed)
export const FR_TS_ACTIVE: i32 = 64;    // i64 µs: last packet of any kind (timers, idle)
export const FR_TS_SYN: i32 = 72;       // i64 µs: first originator SYN (0 = none)
export const FR_HS_RTT: i32 = 80;       // i64 µs: SYN -> handshake-completing ACK (Wireshark iRTT), -1 = not seen
export const FR_HIST_LEN: i32 = 88;     // u8 number of history letters
export const FR_END_REASON: i32 = 89;   // u8 EndReason
export const FR_TUNNEL: i32 = 90;       // u8 Tunnel of the first segment
export const FR_CONN_STATE: i32 = 91;   // u8 ConnState, filled when the record is emitted
export const FR_HISTORY: i32 = 92;      // HIST_CAP bytes of ASCII history letters (Zeek alphabet)
export const HIST_CAP: i32 = 36;
export const FR_ORIG: i32 = 128;        // originator endpoint (EP_* offsets)
export const FR_RESP: i32 = 256;        // responder endpoint
export const FR_SIZE: i32 = 384;

// ---- per-endpoint fields (offsets inside FR_ORIG / FR_RESP) -------------------------------------
export const EP_STATE: i32 = 0;         // u8 Half (Zeek's TCP_Endpoint state)
export const EP_FLAGS: i32 = 1;         // u8 EF_* bits
export const EP_WSCALE: i32 = 2;        // u8 window-scale shift announced in this side's SYN (0xFF = none)
export const EP_OPTS: i32 = 3;          // u8 OPT_* bits this side announced (union over its segments)
export const EP_MSS: i32 = 4;           // u16 MSS announced (0 = none)
export const EP_ONCE: i32 = 6;          // u16 once-only history letters already recorded (Once.* bits)
export const EP_PKTS: i32 = 8;          // u32 packets (Zeek ConnSize: validated packets)
export const EP_CNT_T: i32 = 12;        // u32 retransmissions (T/t, logarithmic letter)
export const EP_CNT_C: i32 = 16;        // u16 bad checksums (C/c), saturating
export const EP_CNT_W: i32 = 18;        // u16 zero windows (W/w), saturating
export const EP_CNT_G: i32 = 20;        // u16 content gaps (G/g), saturating
export const EP_WIN: i32 = 22;          // u16 last raw window
export const EP_IP_BYTES: i32 = 24;     // u64 IP bytes (Zeek ConnSize)
export const EP_ISN: i32 = 32;          // u32 start_seq: ISN, or first seq - 1 when no SYN was seen
export const EP_LAST_SYN_SEQ: i32 = 36; // u32 sequence of the last SYN/SYN-ACK recorded in history
export const EP_LAST_RST_SEQ: i32 = 40; // u32 sequence of the last RST recorded in history
export const EP_LAST_FIN_END: i32 = 44; // u32 sequence after the payload of the last FIN recorded
export const EP_LAST_SEQ: i32 = 48;     // i64 highest seq+len seen from this side, relative to EP_ISN
export const EP_ACK_SEQ: i32 = 56;      // i64 highest ack the peer sent for this side, relative to EP_ISN
export const EP_FIN_SEQ: i32 = 64;      // i64 relative sequence of this side's FIN octet (-1 = none)
export const EP_REASM_SEQ: i32 = 72;    // i64 relative sequence up to which the stream is delivered or skipped
export const EP_BLOCKS: i32 = 80;       // 3 x (u32 start, u32 end): out-of-order ranges above EP_REASM_SEQ (low 32 bits of relative seq)
export const EP_NBLOCKS: i32 = 104;     // u8 used blocks
export const EP_GAP_OK: i32 = 105;      // u8 reserved
export const EP_MISSED: i32 = 112;      // u64 bytes of this side's stream never seen (Zeek content_gap sum)
export const EP_BYTES: i32 = 120;       // u64 Zeek orig_bytes/resp_bytes, filled when the record is emitted
export const EP_SIZE: i32 = 128;

export const MAX_BLOCKS: i32 = 3;

// ---- flag bits -----------------------------------------------------------------------------------
export const FF_LIVE: u32 = 1;          // slot in use
export const FF_FLIPPED: u32 = 2;       // roles were swapped at least once (history has ^)
export const FF_HIST_FULL: u32 = 4;     // history longer than HIST_CAP letters; later letters dropped

export const EF_SYN_SEEN: u8 = 1;       // a SYN or SYN-ACK came from this side
export const EF_FIN_SEEN: u8 = 2;
export const EF_RST_SEEN: u8 = 4;
export const EF_SEQ_INIT: u8 = 8;       // EP_ISN/EP_LAST_SEQ hold real values
export const EF_ACKED_BY_PEER: u8 = 16; // the peer has acknowledged something of this side

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
}

// Once-only history letters, one bit each per endpoint (Zeek records a/d/i/q once per direction).
export enum Once { Ack = 1, Data = 2, FinRst = 4, SynFinRst = 8, Syn = 16, Fin = 32, Rst = 64 }
