/**
 * @module
 * The test oracle's column table: an independent JavaScript statement of the flow's columns, in
 * order (name, Zeek type, condition, value), which the product no longer reads (its one column
 * table is the engine's, assembly/format/fields.ts). The differential tests
 * (test/host/engine-lines*.test.ts) demand that the engine's lines equal what the JavaScript
 * writers (js-record-writers.ts) write from this table. Its views, as the engine's:
 * - the Zeek TSV writer and the Zeek-style JSON writer (`--json-style zeek`): the columns of the
 *   Zeek view, flat dotted names, Zeek's column order (conn.log's own columns first, as
 *   scripts/base/protocols/conn/main.zeek declares them, then flowrecon's);
 * - the nested JSON writer (NDJSON/JSON, the API) and the Flow objects (library, msgpack, table):
 *   the columns of the nested view, where `orig_tcp_options.mss` is `mss` inside an
 *   `orig_tcp_options` object and the anomalies are objects rather than names.
 *
 * A column writes its value into a {@link ValueSink}; each output implements the sink (bytes of
 * JSON, bytes of TSV, JS values), so a rule such as "duration only when positive" exists once.
 * A column that writes nothing is unset: absent in JSON and objects, `-` in TSV.
 *
 * Every string value comes from a fixed safe alphabet (digits, hex, base62/base64, letters, `.`,
 * `:`, `_`), so no output needs escaping.
 */

import type { MemoryViews } from "../../src/wasm/engine.js";
import { snakeCase, type Layout } from "../../src/wasm/layout.js";
import { RecordReader } from "../../src/wasm/record.js";
import { writeFlowUid, writeTunnelUid, UID_LENGTH } from "../../src/ids/uid.js";
import { writeCommunityId, PROTO_TCP } from "../../src/ids/community-id.js";
import { InsightReader, type FlowInsight, type InsightContext } from "../../src/anomalies/index.js";
import { LocalNets } from "../../src/net/local-nets.js";
import { ascii } from "../../src/format/ascii.js";

/** Zeek log types of the columns (the TSV `#types` line). */
export type ZeekType =
  | "time"
  | "string"
  | "addr"
  | "port"
  | "enum"
  | "interval"
  | "count"
  | "int"
  | "bool"
  | "set[string]";

/** Receives one column's value. */
export interface ValueSink {
  /** A non-negative integer (count, port, int). */
  uint(n: number): void;
  /** Integer microseconds, as seconds (time, interval). */
  seconds(us: number): void;
  bool(b: boolean): void;
  /** Text from a name table: the same value as bytes and as a string. */
  name(bytes: Uint8Array, text: string): void;
  /** Text computed into `buf[0..len)`. */
  chars(buf: Uint8Array, len: number): void;
  /** The engine's 16-byte address at `u8[off]`. */
  address(u8: Uint8Array, off: number): void;
  /** A Zeek `set[string]`: a JSON array of strings, a comma-separated TSV cell. */
  set(items: readonly string[]): void;
  /** A JSON value of the nested view (anomaly objects, the HTTP insight). */
  json(value: unknown): void;
}

/** Which outputs show a column. */
export const ZEEK_VIEW = 1;
export const NESTED_VIEW = 2;
const BOTH = ZEEK_VIEW | NESTED_VIEW;

/** The record a column reads, with what several columns share computed once per record. */
export class RecordCursor {
  v!: MemoryViews;
  p = 0;
  tsUs = 0;
  orig = 0;
  resp = 0;
  #insight: FlowInsight | null = null;
  readonly #reader: InsightReader;
  readonly #ctx: InsightContext | undefined;
  readonly r: RecordReader;

  constructor(layout: Layout, ctx: InsightContext | undefined) {
    this.r = new RecordReader(layout);
    this.#reader = new InsightReader(layout);
    this.#ctx = ctx;
  }

  at(v: MemoryViews, p: number): this {
    this.v = v;
    this.p = p;
    this.tsUs = this.r.tsUs(v, p);
    this.orig = p + this.r.orig;
    this.resp = p + this.r.resp;
    this.#insight = null;
    return this;
  }

  /** The derived insight (endpoint states, anomalies, HTTP), read once per record. */
  get insight(): FlowInsight {
    return (this.#insight ??= this.#reader.read(this.v, this.p, this.#ctx));
  }
}

export interface Column {
  /** Flat name: the TSV and Zeek-JSON key (`orig_tcp_options.mss`). */
  readonly name: string;
  readonly type: ZeekType;
  /** ZEEK_VIEW, NESTED_VIEW or both. */
  readonly views: number;
  /** Writes the value into `s`, or nothing when the column is unset. */
  write(k: RecordCursor, s: ValueSink, x: ColumnContext): void;
}

export interface ColumnOptions {
  /** Community ID seed (default 0). */
  communityIdSeed?: number;
  /** Site::local_nets (default: Zeek's, the private address space). */
  localNets?: LocalNets;
}

function nameTable(names: readonly (string | undefined)[]): {
  bytes: (Uint8Array | undefined)[];
  text: (string | undefined)[];
} {
  return { bytes: names.map((n) => (n === undefined ? undefined : ascii(n))), text: [...names] };
}

/** What the columns need besides the record: the layout's offsets and names, and the options. */
export class ColumnContext {
  readonly c: Layout["constants"];
  readonly rr: RecordReader;
  readonly seed: number;
  readonly local: LocalNets;
  readonly connState;
  readonly endReason;
  readonly tunnel;
  readonly service;
  readonly tunnelNone: number;
  /** Room for one computed string (uid, community id, history). */
  readonly scratch = new Uint8Array(64);

  constructor(layout: Layout, options: ColumnOptions = {}) {
    this.c = layout.constants;
    this.rr = new RecordReader(layout);
    this.seed = options.communityIdSeed ?? 0;
    this.local = options.localNets ?? DEFAULT_LOCAL_NETS;
    this.connState = nameTable(this.rr.connStateNames);
    this.endReason = nameTable(this.rr.endReasonNames);
    this.tunnel = nameTable(this.rr.tunnelNames);
    const none = layout.service.values.None;
    this.service = nameTable(
      layout.service.names.map((n, i) => (n === undefined || i === none ? undefined : snakeCase(n))),
    );
    this.tunnelNone = layout.tunnel.values.None;
  }
}

/** Zeek's protocol number of the connection (`ip_proto`): flowrecon reconstructs TCP only. */
const IP_PROTO_TCP = 6;

const u32 = (v: MemoryViews, at: number) => v.u32[at >>> 2];
const durationUs = (k: RecordCursor) => k.r.lastUs(k.v, k.p) - k.tsUs;
/** The VLAN word as far as it is part of the key (the uid hashes the key). */
const vlanKey = (k: RecordCursor, x: ColumnContext) =>
  (u32(k.v, k.p + x.c.FR_FLAGS) & x.c.FF_VLAN_KEY) !== 0 ? k.r.vlanWord(k.v, k.p) : 0;

function tcpOptions(side: "orig" | "resp"): Column[] {
  const ep = (k: RecordCursor) => (side === "orig" ? k.orig : k.resp);
  return [
    col(`${side}_tcp_options.mss`, "count", BOTH, (k, s) => {
      const mss = k.r.mss(k.v, ep(k));
      if (mss !== 0) s.uint(mss);
    }),
    col(`${side}_tcp_options.wscale`, "count", BOTH, (k, s) => {
      const w = k.r.wscale(k.v, ep(k));
      if (w !== 0xff) s.uint(w);
    }),
    col(`${side}_tcp_options.sack_permitted`, "bool", BOTH, (k, s) => s.bool(k.r.sackPermitted(k.v, ep(k)))),
    col(`${side}_tcp_options.timestamps`, "bool", BOTH, (k, s) => s.bool(k.r.timestamps(k.v, ep(k)))),
  ];
}

/** The columns, in output order. */
export const COLUMNS: readonly Column[] = [
  // ---- conn.log (scripts/base/protocols/conn/main.zeek, Conn::Info in declaration order) ----
  col("ts", "time", BOTH, (k, s) => s.seconds(k.tsUs)),
  col("uid", "string", BOTH, (k, s, x) => {
    const p = k.p;
    writeFlowUid(
      k.v.u32,
      (p + x.rr.origAddr) >>> 2,
      (p + x.rr.respAddr) >>> 2,
      k.r.origPort(k.v, p),
      k.r.respPort(k.v, p),
      vlanKey(k, x),
      k.tsUs,
      x.scratch,
      0,
    );
    s.chars(x.scratch, UID_LENGTH);
  }),
  col("id.orig_h", "addr", BOTH, (k, s, x) => s.address(k.v.u8, k.p + x.rr.origAddr)),
  col("id.orig_p", "port", BOTH, (k, s) => s.uint(k.r.origPort(k.v, k.p))),
  col("id.resp_h", "addr", BOTH, (k, s, x) => s.address(k.v.u8, k.p + x.rr.respAddr)),
  col("id.resp_p", "port", BOTH, (k, s) => s.uint(k.r.respPort(k.v, k.p))),
  col("proto", "enum", BOTH, (_k, s) => s.name(TCP_BYTES, "tcp")),
  // Zeek's dynamic protocol detection (assembly/flow/service.ts); unset when nothing matched.
  col("service", "string", BOTH, (k, s, x) => {
    const v = k.v.u8[k.p + x.c.FR_SERVICE];
    const b = x.service.bytes[v];
    if (b !== undefined) s.name(b, x.service.text[v]!);
  }),
  // duration, orig_bytes and resp_bytes exist only when the duration is positive (zeek-semantics.md §5).
  col("duration", "interval", BOTH, (k, s) => {
    const d = durationUs(k);
    if (d > 0) s.seconds(d);
  }),
  col("orig_bytes", "count", BOTH, (k, s) => {
    if (durationUs(k) > 0) s.uint(k.r.bytes(k.v, k.orig));
  }),
  col("resp_bytes", "count", BOTH, (k, s) => {
    if (durationUs(k) > 0) s.uint(k.r.bytes(k.v, k.resp));
  }),
  col("conn_state", "string", BOTH, (k, s, x) => {
    const v = k.r.connState(k.v, k.p);
    s.name(x.connState.bytes[v]!, x.connState.text[v]!);
  }),
  // Site::is_local_addr, only when Site::local_nets is not empty (conn/main.zeek set_conn).
  col("local_orig", "bool", BOTH, (k, s, x) => {
    if (!x.local.empty) s.bool(x.local.contains(k.v.u8, k.p + x.rr.origAddr));
  }),
  col("local_resp", "bool", BOTH, (k, s, x) => {
    if (!x.local.empty) s.bool(x.local.contains(k.v.u8, k.p + x.rr.respAddr));
  }),
  col("missed_bytes", "count", BOTH, (k, s) => s.uint(k.r.missed(k.v, k.orig) + k.r.missed(k.v, k.resp))),
  col("history", "string", BOTH, (k, s, x) => {
    const n = k.r.historyLength(k.v, k.p);
    if (n === 0) return;
    const h = k.p + x.rr.historyAt;
    for (let i = 0; i < n; i++) x.scratch[i] = HISTORY_BYTE[k.v.u8[h + i]];
    s.chars(x.scratch, n);
  }),
  col("orig_pkts", "count", BOTH, (k, s) => s.uint(k.r.pkts(k.v, k.orig))),
  col("orig_ip_bytes", "count", BOTH, (k, s) => s.uint(k.r.ipBytes(k.v, k.orig))),
  col("resp_pkts", "count", BOTH, (k, s) => s.uint(k.r.pkts(k.v, k.resp))),
  col("resp_ip_bytes", "count", BOTH, (k, s) => s.uint(k.r.ipBytes(k.v, k.resp))),
  // The uid of the encapsulating connection of the tunnel the first segment came out of.
  col("tunnel_parents", "set[string]", BOTH, (k, s, x) => {
    if (k.r.tunnel(k.v, k.p) === x.tunnelNone) return;
    const c = x.c;
    const e = k.p + c.FR_EXT;
    const vlan = (u32(k.v, k.p + c.FR_FLAGS) & c.FF_VLAN_KEY) !== 0 ? u32(k.v, e + c.X_OUTER_VLAN) : 0;
    const ports = u32(k.v, e + c.X_OUTER_SPORT);
    writeTunnelUid(
      k.v.u8,
      k.v.u32,
      e + c.X_OUTER_SRC,
      e + c.X_OUTER_DST,
      ports & 0xffff,
      ports >>> 16,
      k.v.u8[e + c.X_OUTER_PROTO],
      vlan,
      x.scratch,
      0,
    );
    s.set([String.fromCharCode.apply(null, x.scratch.subarray(0, UID_LENGTH) as unknown as number[])]);
  }),
  col("ip_proto", "count", BOTH, (_k, s) => s.uint(IP_PROTO_TCP)),
  // ---- flowrecon's own columns ----
  col("community_id", "string", BOTH, (k, s, x) => {
    const p = k.p;
    const n = writeCommunityId(
      k.v.u8,
      p + x.rr.origAddr,
      k.r.origPort(k.v, p),
      p + x.rr.respAddr,
      k.r.respPort(k.v, p),
      PROTO_TCP,
      x.seed,
      x.scratch,
      0,
    );
    s.chars(x.scratch, n);
  }),
  col("handshake_rtt", "interval", BOTH, (k, s) => {
    const rtt = k.r.rttUs(k.v, k.p);
    if (rtt >= 0) s.seconds(rtt);
  }),
  ...tcpOptions("orig"),
  ...tcpOptions("resp"),
  col("vlan", "int", BOTH, (k, s) => {
    const vlan = k.r.vlanWord(k.v, k.p) & 0xfff;
    if (vlan !== 0) s.uint(vlan);
  }),
  col("inner_vlan", "int", BOTH, (k, s) => {
    const vlan = (k.r.vlanWord(k.v, k.p) >>> 12) & 0xfff;
    if (vlan !== 0) s.uint(vlan);
  }),
  col("tunnel", "string", BOTH, (k, s, x) => {
    const v = k.r.tunnel(k.v, k.p);
    const b = x.tunnel.bytes[v];
    if (b !== undefined) s.name(b, x.tunnel.text[v]!);
  }),
  col("end_reason", "string", BOTH, (k, s, x) => {
    const v = k.r.endReason(k.v, k.p);
    s.name(x.endReason.bytes[v]!, x.endReason.text[v]!);
  }),
  col("orig_state", "string", BOTH, (k, s) => s.name(stateBytes(k.insight.orig_state), k.insight.orig_state)),
  col("resp_state", "string", BOTH, (k, s) => s.name(stateBytes(k.insight.resp_state), k.insight.resp_state)),
  // Zeek view: the set of anomaly names; nested view: one object per anomaly.
  col("anomalies", "set[string]", ZEEK_VIEW, (k, s) => s.set(anomalyNames(k.insight.anomalies))),
  col("anomalies", "set[string]", NESTED_VIEW, (k, s) => s.json(k.insight.anomalies)),
  col("http", "string", NESTED_VIEW, (k, s) => {
    const http = k.insight.http;
    if (http !== undefined) s.json(http);
  }),
  col("http_requests", "count", ZEEK_VIEW, (k, s) => {
    const http = k.insight.http;
    if (http !== undefined) s.uint(http.requests);
  }),
  col("http_responses", "count", ZEEK_VIEW, (k, s) => {
    const http = k.insight.http;
    if (http !== undefined) s.uint(http.responses);
  }),
];

function col(name: string, type: ZeekType, views: number, write: Column["write"]): Column {
  return { name, type, views, write };
}

function anomalyNames(list: readonly { type: string }[]): string[] {
  if (list.length === 0) return [];
  return [...new Set(list.map((a) => a.type))];
}

const DEFAULT_LOCAL_NETS = new LocalNets();
const TCP_BYTES = ascii("tcp");
const STATE_CACHE = new Map<string, Uint8Array>();
/** The bytes of an endpoint state name (a handful of names: cached). */
function stateBytes(name: string): Uint8Array {
  let b = STATE_CACHE.get(name);
  if (b === undefined) STATE_CACHE.set(name, (b = ascii(name)));
  return b;
}

/** Printable history letters; anything else (an engine bug) shows as "?" rather than breaking JSON. */
export const HISTORY_BYTE: Uint8Array = Uint8Array.from({ length: 256 }, (_, b) =>
  (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x5e ? b : 0x3f,
);

/** The columns of one view. */
export function viewColumns(columns: readonly Column[], view: number): Column[] {
  return columns.filter((c) => (c.views & view) !== 0);
}

/** The Zeek view's names, in order (the TSV `#fields` line). */
export const ZEEK_FIELDS: readonly string[] = viewColumns(COLUMNS, ZEEK_VIEW).map((c) => c.name);
