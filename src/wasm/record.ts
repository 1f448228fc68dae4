/**
 * @module
 * Field access to one flow record in engine memory (layout: assembly/flow/record.ts, offsets read
 * by name into {@link Layout}). Shared by the Flow decoder and the formats that write straight from
 * records, so both read the same bytes the same way.
 *
 * Contract: `p` is the byte offset of a record inside `v`'s buffer, 8-byte aligned (the output
 * ring and the flow pool are allocated 16-aligned and FR_SIZE is a multiple of 8; a test checks the
 * field alignments), so every multi-byte field is read through an aligned typed-array element.
 * 64-bit fields are exact below 2^53, i.e. any byte count or microsecond time a capture can hold.
 */

import type { MemoryViews } from "./engine.js";
import { snakeCase, type Layout } from "./layout.js";

const TWO32 = 4294967296;

/** Member names by value for every u8 value, so a lookup never misses (unknown values say so). */
function nameTable(names: readonly (string | undefined)[], transform: (s: string) => string): string[] {
  return Array.from({ length: 256 }, (_, v) => (names[v] !== undefined ? transform(names[v]!) : `unknown_${v}`));
}

export class RecordReader {
  readonly size: number;
  // Byte offsets inside a record.
  readonly origAddr: number;
  readonly respAddr: number;
  readonly historyAt: number;
  readonly histCap: number;
  readonly orig: number;
  readonly resp: number;
  readonly #origPort: number;
  readonly #respPort: number;
  readonly #vlan: number;
  readonly #tsStart: number;
  readonly #tsLast: number;
  readonly #hsRtt: number;
  readonly #histLen: number;
  readonly #endReason: number;
  readonly #tunnel: number;
  readonly #connState: number;
  readonly #epWscale: number;
  readonly #epOpts: number;
  readonly #epMss: number;
  readonly #epPkts: number;
  readonly #epIpBytes: number;
  readonly #epMissed: number;
  readonly #epBytes: number;
  readonly #optSackPerm: number;
  readonly #optTs: number;
  /** conn_state names by value (Zeek spelling). */
  readonly connStateNames: readonly string[];
  /** end_reason names by value (snake_case). */
  readonly endReasonNames: readonly string[];
  /** tunnel names by value (snake_case); undefined for Tunnel.None. */
  readonly tunnelNames: readonly (string | undefined)[];

  constructor(layout: Layout) {
    const c = layout.constants;
    this.size = c.FR_SIZE;
    this.origAddr = c.FR_ORIG_ADDR;
    this.respAddr = c.FR_RESP_ADDR;
    this.historyAt = c.FR_HISTORY;
    this.histCap = c.HIST_CAP;
    this.orig = c.FR_ORIG;
    this.resp = c.FR_RESP;
    this.#origPort = c.FR_ORIG_PORT;
    this.#respPort = c.FR_RESP_PORT;
    this.#vlan = c.FR_VLAN;
    this.#tsStart = c.FR_TS_START;
    this.#tsLast = c.FR_TS_LAST;
    this.#hsRtt = c.FR_HS_RTT;
    this.#histLen = c.FR_HIST_LEN;
    this.#endReason = c.FR_END_REASON;
    this.#tunnel = c.FR_TUNNEL;
    this.#connState = c.FR_CONN_STATE;
    this.#epWscale = c.EP_WSCALE;
    this.#epOpts = c.EP_OPTS;
    this.#epMss = c.EP_MSS;
    this.#epPkts = c.EP_PKTS;
    this.#epIpBytes = c.EP_IP_BYTES;
    this.#epMissed = c.EP_MISSED;
    this.#epBytes = c.EP_BYTES;
    this.#optSackPerm = c.OPT_SACK_PERM;
    this.#optTs = c.OPT_TS;
    this.connStateNames = nameTable(layout.connState.names, (s) => s);
    this.endReasonNames = nameTable(layout.endReason.names, snakeCase);
    const none = layout.tunnel.values.None;
    this.tunnelNames = nameTable(layout.tunnel.names, snakeCase).map((n, v) => (v === none ? undefined : n));
  }

  /** Start time (Zeek ts), µs. */
  tsUs(v: MemoryViews, p: number): number {
    return i64(v, p + this.#tsStart);
  }
  /** Zeek last_time, µs. */
  lastUs(v: MemoryViews, p: number): number {
    return i64(v, p + this.#tsLast);
  }
  /** Handshake RTT in µs, negative when not measured. */
  rttUs(v: MemoryViews, p: number): number {
    return i64(v, p + this.#hsRtt);
  }
  origPort(v: MemoryViews, p: number): number {
    return v.u16[(p + this.#origPort) >>> 1];
  }
  respPort(v: MemoryViews, p: number): number {
    return v.u16[(p + this.#respPort) >>> 1];
  }
  /** Outer VLAN id (low 12 bits) | inner VLAN id << 12 (P_VLAN in assembly/packet.ts). */
  vlanWord(v: MemoryViews, p: number): number {
    return v.u32[(p + this.#vlan) >>> 2];
  }
  /** Number of history letters, capped at HIST_CAP. */
  historyLength(v: MemoryViews, p: number): number {
    const n = v.u8[p + this.#histLen];
    return Math.min(n, this.histCap);
  }
  connState(v: MemoryViews, p: number): number {
    return v.u8[p + this.#connState];
  }
  endReason(v: MemoryViews, p: number): number {
    return v.u8[p + this.#endReason];
  }
  tunnel(v: MemoryViews, p: number): number {
    return v.u8[p + this.#tunnel];
  }

  // Endpoint fields: `ep` is the endpoint's byte offset, p + orig or p + resp.
  pkts(v: MemoryViews, ep: number): number {
    return v.u32[(ep + this.#epPkts) >>> 2];
  }
  ipBytes(v: MemoryViews, ep: number): number {
    return u64(v, ep + this.#epIpBytes);
  }
  /** Zeek orig_bytes/resp_bytes (filled when the record is emitted). */
  bytes(v: MemoryViews, ep: number): number {
    return u64(v, ep + this.#epBytes);
  }
  missed(v: MemoryViews, ep: number): number {
    return u64(v, ep + this.#epMissed);
  }
  /** Announced MSS, 0 when none. */
  mss(v: MemoryViews, ep: number): number {
    return v.u16[(ep + this.#epMss) >>> 1];
  }
  /** Announced window-scale shift, 0xff when none. */
  wscale(v: MemoryViews, ep: number): number {
    return v.u8[ep + this.#epWscale];
  }
  sackPermitted(v: MemoryViews, ep: number): boolean {
    return (v.u8[ep + this.#epOpts] & this.#optSackPerm) !== 0;
  }
  timestamps(v: MemoryViews, ep: number): boolean {
    return (v.u8[ep + this.#epOpts] & this.#optTs) !== 0;
  }
}

/** Little-endian i64 at byte offset `p` (4-byte aligned). */
function i64(v: MemoryViews, p: number): number {
  const w = p >>> 2;
  return v.i32[w + 1] * TWO32 + v.u32[w];
}

/** Little-endian u64 at byte offset `p` (4-byte aligned). */
function u64(v: MemoryViews, p: number): number {
  const w = p >>> 2;
  return v.u32[w + 1] * TWO32 + v.u32[w];
}
