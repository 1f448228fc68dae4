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
import type { Layout } from "./wasm/layout.js";
import { RecordReader } from "./wasm/record.js";
import { formatAddress } from "./net/address.js";
import { communityId, PROTO_TCP } from "./ids/community-id.js";
import { flowUid } from "./ids/uid.js";
import { InsightReader, type AnomalyEntry, type HttpInsight, type InsightContext, type TcpStateName } from "./anomalies/index.js";

/** Zeek's conn_state codes (scripts/base/protocols/conn/main.zeek). */
export type ConnStateName =
  | "S0" | "S1" | "SF" | "REJ" | "S2" | "S3" | "RSTO" | "RSTR" | "RSTOS0" | "RSTRH" | "SH" | "SHR" | "OTH";

/** Why the record left the flow table (EndReason in assembly/flow/record.ts, snake_case). */
export type EndReasonName = "end_of_input" | "closed" | "attempt_timeout" | "inactivity" | "reused" | "evicted" | "linger";

/** Outermost tunnel the flow's first segment came out of (Tunnel in assembly/packet.ts, snake_case). */
export type TunnelName = "teredo" | "gtpu" | "ayiya" | "vxlan" | "gre" | "ip_in_ip" | "geneve";

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
  /** RFC 9293 state of the originator's socket as the wire shows it at the end (src/anomalies/endpoint-state.ts). */
  orig_state: TcpStateName;
  resp_state: TcpStateName;
  /** What went wrong, by stable name (src/anomalies/catalogue.ts); empty when nothing did. */
  anomalies: AnomalyEntry[];
  /** HTTP/1.x request and status lines seen, when the payload is HTTP. */
  http?: HttpInsight;
}

/** Printable history letters; anything else (an engine bug) shows as "?" rather than breaking JSON. */
export const HISTORY_BYTE: Uint8Array = Uint8Array.from({ length: 256 }, (_, b) =>
  (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x5e ? b : 0x3f,
);
const HISTORY_CHAR: readonly string[] = Array.from(HISTORY_BYTE, (b) => String.fromCharCode(b));

export interface FlowDecoderOptions {
  /** Community ID seed (default 0, the spec's default). */
  communityIdSeed?: number;
  /** The clock endpoint states and idle times are judged against (default: the end of a finite input at the flow's last packet). */
  insight?: InsightContext;
}

/** Reads flow records into {@link Flow} objects (field access: src/wasm/record.ts). */
export class FlowDecoder {
  readonly recordSize: number;
  readonly #r: RecordReader;
  readonly #seed: number;
  readonly #insight: InsightReader;
  readonly #ctx: InsightContext | undefined;

  constructor(layout: Layout, options: FlowDecoderOptions = {}) {
    this.#r = new RecordReader(layout);
    this.recordSize = this.#r.size;
    this.#seed = options.communityIdSeed ?? 0;
    this.#insight = new InsightReader(layout);
    this.#ctx = options.insight;
  }

  /** Decodes the record at byte offset `p` (8-byte aligned) of the views' memory. */
  decode(v: MemoryViews, p: number): Flow {
    const r = this.#r;
    const tsUs = r.tsUs(v, p);
    const origAddr = p + r.origAddr;
    const respAddr = p + r.respAddr;
    const origPort = r.origPort(v, p);
    const respPort = r.respPort(v, p);
    const vlanWord = r.vlanWord(v, p);
    const orig = p + r.orig;
    const resp = p + r.resp;

    const flow = {
      ts: tsUs / 1e6,
      uid: flowUid(v.u32, origAddr >>> 2, respAddr >>> 2, origPort, respPort, vlanWord, tsUs),
      "id.orig_h": formatAddress(v.u8, origAddr),
      "id.orig_p": origPort,
      "id.resp_h": formatAddress(v.u8, respAddr),
      "id.resp_p": respPort,
      proto: "tcp",
    } as Flow;
    const durationUs = r.lastUs(v, p) - tsUs;
    if (durationUs > 0) {
      flow.duration = durationUs / 1e6;
      flow.orig_bytes = r.bytes(v, orig);
      flow.resp_bytes = r.bytes(v, resp);
    }
    flow.conn_state = r.connStateNames[r.connState(v, p)] as ConnStateName;
    flow.missed_bytes = r.missed(v, orig) + r.missed(v, resp);
    const histLen = r.historyLength(v, p);
    if (histLen > 0) {
      const h = p + r.historyAt;
      let history = "";
      for (let i = 0; i < histLen; i++) history += HISTORY_CHAR[v.u8[h + i]];
      flow.history = history;
    }
    flow.orig_pkts = r.pkts(v, orig);
    flow.orig_ip_bytes = r.ipBytes(v, orig);
    flow.resp_pkts = r.pkts(v, resp);
    flow.resp_ip_bytes = r.ipBytes(v, resp);
    flow.community_id = communityId(v.u8, origAddr, origPort, respAddr, respPort, PROTO_TCP, this.#seed);
    const rttUs = r.rttUs(v, p);
    if (rttUs >= 0) flow.handshake_rtt = rttUs / 1e6;
    flow.orig_tcp_options = this.#tcpOptions(v, orig);
    flow.resp_tcp_options = this.#tcpOptions(v, resp);
    const outerVlan = vlanWord & 0xfff;
    const innerVlan = (vlanWord >>> 12) & 0xfff;
    if (outerVlan !== 0) flow.vlan = outerVlan;
    if (innerVlan !== 0) flow.inner_vlan = innerVlan;
    const tunnel = r.tunnelNames[r.tunnel(v, p)];
    if (tunnel !== undefined) flow.tunnel = tunnel as TunnelName;
    flow.end_reason = r.endReasonNames[r.endReason(v, p)] as EndReasonName;
    const ins = this.#insight.read(v, p, this.#ctx);
    flow.orig_state = ins.orig_state;
    flow.resp_state = ins.resp_state;
    flow.anomalies = ins.anomalies;
    if (ins.http !== undefined) flow.http = ins.http;
    return flow;
  }

  #tcpOptions(v: MemoryViews, ep: number): TcpOptions {
    const r = this.#r;
    const mss = r.mss(v, ep);
    const wscale = r.wscale(v, ep);
    const o = {} as TcpOptions;
    if (mss !== 0) o.mss = mss;
    if (wscale !== 0xff) o.wscale = wscale;
    o.sack_permitted = r.sackPermitted(v, ep);
    o.timestamps = r.timestamps(v, ep);
    return o;
  }
}
