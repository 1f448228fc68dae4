/**
 * @module
 * The flow summary (one Zeek conn.log row plus flowrecon's own fields) and its decoding from a
 * flow record in engine memory (layout: assembly/flow/record.ts, offsets read by name).
 *
 * Keys are spelled as in Zeek's JSON conn.log (`id.orig_h`, `orig_bytes`, ...), in Zeek's column
 * order, so `jq` filters written for Zeek logs work unchanged. As in Zeek's JSON writer, unset
 * fields are absent rather than null: `duration`, `orig_bytes` and `resp_bytes` exist only when the
 * duration is positive (zeek-semantics.md §5), and `history` only when it is not empty.
 *
 * Every string built here comes from a fixed safe alphabet (digits, hex, base62/base64, letters,
 * `.`, `:`), so the output formats can print them without escaping.
 */

import type { MemoryViews } from "./wasm/engine.js";
import { snakeCase, type Layout } from "./wasm/layout.js";
import { formatAddress } from "./net/address.js";
import { communityId, PROTO_TCP } from "./ids/community-id.js";
import { flowUid } from "./ids/uid.js";

/** Zeek's conn_state codes (scripts/base/protocols/conn/main.zeek). */
export type ConnStateName =
  | "S0" | "S1" | "SF" | "REJ" | "S2" | "S3" | "RSTO" | "RSTR" | "RSTOS0" | "RSTRH" | "SH" | "SHR" | "OTH";

/** Why the record left the flow table (EndReason in assembly/flow/record.ts, snake_case). */
export type EndReasonName = "end_of_input" | "closed" | "attempt_timeout" | "inactivity" | "reused" | "evicted" | "linger";

/** Outermost tunnel the flow's first segment came out of (Tunnel in assembly/packet.ts, snake_case). */
export type TunnelName = "teredo" | "gtpu" | "ayiya" | "vxlan" | "gre" | "ip_in_ip";

/** TCP options one side announced. `mss`/`wscale` are absent when that side's SYN did not carry them. */
export interface TcpOptions {
  mss?: number;
  /** Window-scale shift count (RFC 7323 §2.3). */
  wscale?: number;
  sack_permitted: boolean;
  timestamps: boolean;
}

/** One TCP connection summary. Times are seconds (microsecond precision), sizes bytes. */
export interface Flow {
  /** Start time: the packet that created the connection state (Zeek `ts`). */
  ts: number;
  /** "C" + 17 base62 characters, a pure function of ts, 5-tuple and VLAN (stable across runs). */
  uid: string;
  "id.orig_h": string;
  "id.orig_p": number;
  "id.resp_h": string;
  "id.resp_p": number;
  proto: "tcp";
  /** Present only when positive (Zeek logs duration and byte counts only if duration > 0). */
  duration?: number;
  orig_bytes?: number;
  resp_bytes?: number;
  conn_state: ConnStateName;
  missed_bytes: number;
  history?: string;
  orig_pkts: number;
  orig_ip_bytes: number;
  resp_pkts: number;
  resp_ip_bytes: number;
  /** Community ID v1 (seed 0 unless configured). */
  community_id: string;
  /** SYN to handshake-completing ACK, as Wireshark's iRTT; absent when no handshake was seen. */
  handshake_rtt?: number;
  orig_tcp_options: TcpOptions;
  resp_tcp_options: TcpOptions;
  /** Outer 802.1Q VLAN id, when tagged (Zeek's vlan-logging `vlan`). */
  vlan?: number;
  /** Inner VLAN id of QinQ, when present (Zeek's vlan-logging `inner_vlan`). */
  inner_vlan?: number;
  tunnel?: TunnelName;
  end_reason: EndReasonName;
}

const TWO32 = 4294967296;

/** Printable history letters; anything else (an engine bug) shows as "?" rather than breaking JSON. */
const HISTORY_CHAR: readonly string[] = Array.from({ length: 256 }, (_, b) =>
  (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x5e ? String.fromCharCode(b) : "?",
);

function nameTable(names: readonly (string | undefined)[], transform: (s: string) => string): string[] {
  return Array.from({ length: 256 }, (_, v) => (names[v] !== undefined ? transform(names[v]!) : `unknown_${v}`));
}

export interface FlowDecoderOptions {
  /** Community ID seed (default 0, the spec's default). */
  communityIdSeed?: number;
}

/**
 * Reads flow records. All offsets are resolved once in the constructor; {@link decode} only does
 * typed-array loads (records are 8-byte aligned in the engine's output ring).
 */
export class FlowDecoder {
  readonly recordSize: number;
  readonly #seed: number;
  // Byte offsets.
  readonly #origAddr: number; readonly #respAddr: number;
  readonly #origPort: number; readonly #respPort: number;
  readonly #vlan: number; readonly #tsStart: number; readonly #tsLast: number; readonly #hsRtt: number;
  readonly #histLen: number; readonly #history: number; readonly #histCap: number;
  readonly #endReason: number; readonly #tunnel: number; readonly #connState: number;
  readonly #orig: number; readonly #resp: number;
  readonly #epWscale: number; readonly #epOpts: number; readonly #epMss: number; readonly #epPkts: number;
  readonly #epIpBytes: number; readonly #epMissed: number; readonly #epBytes: number;
  readonly #optSackPerm: number; readonly #optTs: number;
  // Names by value.
  readonly #connStateNames: string[];
  readonly #endReasonNames: string[];
  readonly #tunnelNames: (string | undefined)[];

  constructor(layout: Layout, options: FlowDecoderOptions = {}) {
    const c = layout.constants;
    this.recordSize = c.FR_SIZE;
    this.#seed = options.communityIdSeed ?? 0;
    this.#origAddr = c.FR_ORIG_ADDR; this.#respAddr = c.FR_RESP_ADDR;
    this.#origPort = c.FR_ORIG_PORT; this.#respPort = c.FR_RESP_PORT;
    this.#vlan = c.FR_VLAN; this.#tsStart = c.FR_TS_START; this.#tsLast = c.FR_TS_LAST; this.#hsRtt = c.FR_HS_RTT;
    this.#histLen = c.FR_HIST_LEN; this.#history = c.FR_HISTORY; this.#histCap = c.HIST_CAP;
    this.#endReason = c.FR_END_REASON; this.#tunnel = c.FR_TUNNEL; this.#connState = c.FR_CONN_STATE;
    this.#orig = c.FR_ORIG; this.#resp = c.FR_RESP;
    this.#epWscale = c.EP_WSCALE; this.#epOpts = c.EP_OPTS; this.#epMss = c.EP_MSS; this.#epPkts = c.EP_PKTS;
    this.#epIpBytes = c.EP_IP_BYTES; this.#epMissed = c.EP_MISSED; this.#epBytes = c.EP_BYTES;
    this.#optSackPerm = c.OPT_SACK_PERM; this.#optTs = c.OPT_TS;
    this.#connStateNames = nameTable(layout.connState.names, (s) => s);
    this.#endReasonNames = nameTable(layout.endReason.names, snakeCase);
    const none = layout.tunnel.values["None"];
    this.#tunnelNames = nameTable(layout.tunnel.names, snakeCase).map((n, v) => (v === none ? undefined : n));
  }

  /** Decodes the record at byte offset `ptr` (8-byte aligned) of the views' memory. */
  decode(v: MemoryViews, ptr: number): Flow {
    const { u8, u16, u32, i32 } = v;
    const tsUs = i64(u32, i32, ptr + this.#tsStart);
    const lastUs = i64(u32, i32, ptr + this.#tsLast);
    const rttUs = i64(u32, i32, ptr + this.#hsRtt);
    const origAddr = ptr + this.#origAddr;
    const respAddr = ptr + this.#respAddr;
    const origPort = u16[(ptr + this.#origPort) >>> 1];
    const respPort = u16[(ptr + this.#respPort) >>> 1];
    const vlanWord = u32[(ptr + this.#vlan) >>> 2];
    const orig = ptr + this.#orig;
    const resp = ptr + this.#resp;

    const flow = {
      ts: tsUs / 1e6,
      uid: flowUid(u32, origAddr >>> 2, respAddr >>> 2, origPort, respPort, vlanWord, tsUs),
      "id.orig_h": formatAddress(u8, origAddr),
      "id.orig_p": origPort,
      "id.resp_h": formatAddress(u8, respAddr),
      "id.resp_p": respPort,
      proto: "tcp",
    } as Flow;
    const durationUs = lastUs - tsUs;
    if (durationUs > 0) {
      flow.duration = durationUs / 1e6;
      flow.orig_bytes = u64(u32, orig + this.#epBytes);
      flow.resp_bytes = u64(u32, resp + this.#epBytes);
    }
    flow.conn_state = this.#connStateNames[u8[ptr + this.#connState]] as ConnStateName;
    flow.missed_bytes = u64(u32, orig + this.#epMissed) + u64(u32, resp + this.#epMissed);
    const histLen = Math.min(u8[ptr + this.#histLen], this.#histCap);
    if (histLen > 0) {
      const h = ptr + this.#history;
      let history = "";
      for (let i = 0; i < histLen; i++) history += HISTORY_CHAR[u8[h + i]];
      flow.history = history;
    }
    flow.orig_pkts = u32[(orig + this.#epPkts) >>> 2];
    flow.orig_ip_bytes = u64(u32, orig + this.#epIpBytes);
    flow.resp_pkts = u32[(resp + this.#epPkts) >>> 2];
    flow.resp_ip_bytes = u64(u32, resp + this.#epIpBytes);
    flow.community_id = communityId(u8, origAddr, origPort, respAddr, respPort, PROTO_TCP, this.#seed);
    if (rttUs >= 0) flow.handshake_rtt = rttUs / 1e6;
    flow.orig_tcp_options = this.#tcpOptions(u8, u16, orig);
    flow.resp_tcp_options = this.#tcpOptions(u8, u16, resp);
    const outerVlan = vlanWord & 0xfff;
    const innerVlan = (vlanWord >>> 12) & 0xfff;
    if (outerVlan !== 0) flow.vlan = outerVlan;
    if (innerVlan !== 0) flow.inner_vlan = innerVlan;
    const tunnel = this.#tunnelNames[u8[ptr + this.#tunnel]];
    if (tunnel !== undefined) flow.tunnel = tunnel as TunnelName;
    flow.end_reason = this.#endReasonNames[u8[ptr + this.#endReason]] as EndReasonName;
    return flow;
  }

  #tcpOptions(u8: Uint8Array, u16: Uint16Array, ep: number): TcpOptions {
    const mss = u16[(ep + this.#epMss) >>> 1];
    const wscale = u8[ep + this.#epWscale];
    const opts = u8[ep + this.#epOpts];
    const o = {} as TcpOptions;
    if (mss !== 0) o.mss = mss;
    if (wscale !== 0xff) o.wscale = wscale;
    o.sack_permitted = (opts & this.#optSackPerm) !== 0;
    o.timestamps = (opts & this.#optTs) !== 0;
    return o;
  }
}

/** Little-endian i64 at byte offset `p` (4-byte aligned), exact below 2^53. */
function i64(u32: Uint32Array, i32: Int32Array, p: number): number {
  const w = p >>> 2;
  return i32[w + 1] * TWO32 + u32[w];
}

/** Little-endian u64 at byte offset `p` (4-byte aligned), exact below 2^53. */
function u64(u32: Uint32Array, p: number): number {
  const w = p >>> 2;
  return u32[w + 1] * TWO32 + u32[w];
}
