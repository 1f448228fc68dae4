/**
 * @module
 * The flow summary (one Zeek conn.log row plus flowrecon's own fields) and its decoding from a
 * flow record in engine memory (layout: assembly/flow/record.ts, offsets read by name).
 *
 * Keys are spelled as in Zeek's JSON conn.log (`id.orig_h`, `orig_bytes`, ...), in Zeek's column
 * order, so `jq` filters written for Zeek logs work unchanged. As in Zeek's JSON writer, unset
 * fields are absent rather than null: `duration`, `orig_bytes` and `resp_bytes` exist only when the
 * duration is positive (zeek-semantics.md §5), and `history` only when it is not empty. Which field
 * is set when, and its value, is written once, in the engine's column table
 * (assembly/format/fields.ts): a Flow is the engine's nested NDJSON line, parsed.
 */

import type { MemoryViews } from "./wasm/engine.js";
import type { Layout } from "./wasm/layout.js";
import type { LocalNets } from "./net/local-nets.js";
import { AsciiWriter } from "./format/ascii.js";
import { RecordLines } from "./format/engine-lines.js";
import type { AnomalyEntry, HttpInsight, InsightContext, TcpStateName } from "./anomalies/index.js";

/** Zeek's conn_state codes (scripts/base/protocols/conn/main.zeek). */
export type ConnStateName =
  | "S0"
  | "S1"
  | "SF"
  | "REJ"
  | "S2"
  | "S3"
  | "RSTO"
  | "RSTR"
  | "RSTOS0"
  | "RSTRH"
  | "SH"
  | "SHR"
  | "OTH";

/** Why the record left the flow table (EndReason in assembly/flow/record.ts, snake_case). */
export type EndReasonName =
  | "end_of_input"
  | "closed"
  | "attempt_timeout"
  | "inactivity"
  | "reused"
  | "evicted"
  | "linger";

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
  /** "C" + 17 base62 characters, a pure function of ts, 5-tuple and, with the VLAN key, VLAN (stable across runs). */
  uid: string;
  "id.orig_h": string;
  "id.orig_p": number;
  "id.resp_h": string;
  "id.resp_p": number;
  proto: "tcp";
  /** Protocol Zeek's dynamic protocol detection signatures find in the first payload bytes (`http`, `ssl`, `ssh`...). */
  service?: string;
  /** Present only when positive (Zeek logs duration and byte counts only if duration > 0). */
  duration?: number;
  orig_bytes?: number;
  resp_bytes?: number;
  conn_state: ConnStateName;
  /** Originator address in Site::local_nets; absent when local_nets is empty. */
  local_orig?: boolean;
  local_resp?: boolean;
  missed_bytes: number;
  history?: string;
  orig_pkts: number;
  orig_ip_bytes: number;
  resp_pkts: number;
  resp_ip_bytes: number;
  /** uid of the encapsulating connection, for a flow that came out of a tunnel. */
  tunnel_parents?: string[];
  /** IP protocol of the connection (6). */
  ip_proto: number;
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

export interface FlowDecoderOptions {
  /** Community ID seed (default 0, the spec's default). */
  communityIdSeed?: number;
  /** The clock endpoint states and idle times are judged against (default: the end of a finite input at the flow's last packet). */
  insight?: InsightContext;
  /** Site::local_nets for local_orig/local_resp (default: Zeek's, the private address space). */
  localNets?: LocalNets;
}

/** Seconds past which a capture time in µs is not exact as a double. */
const MAX_EXACT_S = 2 ** 53 / 1e6;

/**
 * Reads flow records into {@link Flow} objects: the engine writes the record's nested NDJSON line
 * (src/format/engine-lines.ts RecordLines) and the object is that line parsed, so its keys, their
 * order, presence and values are the column table's (assembly/format/fields.ts), as in every format.
 */
export class FlowDecoder {
  readonly recordSize: number;
  readonly #lines: RecordLines;
  readonly #out = new AsciiWriter(1 << 12);
  readonly #tsStart: number;

  constructor(layout: Layout, options: FlowDecoderOptions = {}) {
    this.recordSize = layout.constants.FR_SIZE;
    this.#tsStart = layout.constants.FR_TS_START;
    this.#lines = new RecordLines(
      {
        format: "ndjson",
        jsonStyle: "nested",
        communityIdSeed: options.communityIdSeed,
        localNets: options.localNets?.spec,
      },
      this.recordSize,
      options.insight,
    );
  }

  /** Decodes the record at byte offset `p` (8-byte aligned) of the views' memory. */
  decode(v: MemoryViews, p: number): Flow {
    const out = this.#out;
    out.pos = 0;
    this.#lines.write(v, p, out);
    const flow = JSON.parse(out.text()) as Flow;
    // Past 2^53 µs (after the year 2255) a double cannot hold every µs: the line's ts, parsed, is
    // the double nearest its text, which need not give back the µs the text was printed from
    // (the table prints ts again); µs / 1e6 does.
    if (flow.ts >= MAX_EXACT_S || flow.ts <= -MAX_EXACT_S) {
      const w = (p + this.#tsStart) >>> 2;
      flow.ts = (v.i32[w + 1] * 2 ** 32 + v.u32[w]) / 1e6;
    }
    return flow;
  }
}
