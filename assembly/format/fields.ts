// The flow's output columns, in order: each column's name, Zeek type, views and value rule (when
// it is unset, what it writes), and the record writer that turns a finished flow record into one
// NDJSON line or one Zeek TSV row from them.
//
// Three shapes of one table (FmtMode), as test/host/js-record-writers.ts writes them in JavaScript:
// - NestedJson: flowrecon's JSON (NDJSON/JSON/API): the nested view; `orig_tcp_options.mss` is
//   `mss` inside an `orig_tcp_options` object, anomalies are objects, `http` an object;
// - ZeekJson: Zeek's JSON logs (`--json-style zeek`): the Zeek view, flat dotted keys, sets as
//   arrays of strings;
// - ZeekTsv: a Zeek ASCII conn.log row: the Zeek view, tab-separated, `-` unset, `(empty)` sets,
//   times with six decimals (zeek-semantics.md §8.13).
// Unset columns are absent in JSON (as in Zeek's JSON logs). conn.log's own columns come first,
// in the order of Conn::Info (scripts/base/protocols/conn/main.zeek), then flowrecon's.
// Every text is from a safe alphabet (digits, hex, base62/64, names the host installed, the
// detail texts below), so nothing needs escaping.
//
// The record is read only through the named offsets of flow/record.ts (FR_*, EP_*, X_*).

import {
  FR_ORIG_ADDR, FR_RESP_ADDR, FR_ORIG_PORT, FR_RESP_PORT, FR_VLAN, FR_FLAGS, FR_TS_START, FR_TS_LAST, FR_HS_RTT,
  FR_SERVICE, FR_HIST_LEN, FR_END_REASON, FR_TUNNEL, FR_CONN_STATE, FR_HISTORY, HIST_CAP, FR_ORIG, FR_RESP, FR_EXT,
  FF_VLAN_KEY, EP_BYTES, EP_PKTS, EP_IP_BYTES, EP_MISSED, EP_MSS, EP_WSCALE, EP_OPTS,
  X_OUTER_SRC, X_OUTER_DST, X_OUTER_SPORT, X_OUTER_VLAN, X_OUTER_PROTO,
  X_HTTP_REQ, X_HTTP_RESP, X_HTTP_METHODS, X_HTTP_VERSIONS, X_HTTP_CLASSES, X_HTTP_CODES, HTTP_CODE_SLOTS, FR_SIZE,
} from "../flow/record";
import { OPT_SACK_PERM, OPT_TS, Tunnel } from "../packet";
import { HttpMethod } from "../flow/http";
import { byte, str, copy, copy32, lit, count64, uint, uint32, fixed6, seconds, roundedSeconds, address, i64f, u64f } from "./text";
import { writeUid, writeTunnelUid, writeCommunityId, communityIdLane, sha1x4Base64 } from "./ids";
import {
  deriveInsight, Detail, I_ORIG_STATE, I_RESP_STATE, I_COUNT, I_ENTRIES, E_SIZE, E_TYPE, E_SIDE, E_DETAIL, E_HAS_IDLE,
  E_COUNT, E_TS, E_IDLE, E_ARG,
} from "./insight";
import { containsLocal } from "./local-nets";
import {
  fmtState, nameSlot, NameKind, S_MODE, S_SEED, S_LOCAL_EMPTY, S_FILTER, S_FILTER_ANY, S_FILTER_MASK, S_NSLOTS, S_SLOTS,
  S_KEYS, SLOT_OPEN, SLOT_CLOSE, KEY_SLOT, KEY_OPEN, KEY_TEXT, MAX_SLOTS, S_BUF, S_LEN, S_STRAIGHT, S_GENERIC,
  S_LANES, S_CID, LANES_TEXT, S_FRAME, LineFrame, S_MSGPACK, S_FALLBACK, FMT_RECORD_ROOM,
} from "./state";
import { jsonToMsgpack } from "./msgpack";

/** Output shapes. */
export enum FmtMode { NestedJson = 0, ZeekJson = 1, ZeekTsv = 2 }

/** Which outputs show a column. */
export const ZEEK_VIEW: i32 = 1;
export const NESTED_VIEW: i32 = 2;
const BOTH: i32 = ZEEK_VIEW | NESTED_VIEW;

/** The columns, in output order. */
export enum Col {
  Ts = 0, Uid, OrigH, OrigP, RespH, RespP, Proto, Service, Duration, OrigBytes, RespBytes, ConnState, LocalOrig, LocalResp,
  MissedBytes, History, OrigPkts, OrigIpBytes, RespPkts, RespIpBytes, TunnelParents, IpProto,
  CommunityId, HandshakeRtt, OrigMss, OrigWscale, OrigSack, OrigTimestamps, RespMss, RespWscale, RespSack, RespTimestamps,
  Vlan, InnerVlan, Tunnel, EndReason, OrigState, RespState, AnomalyNames, Anomalies, Http, HttpRequests, HttpResponses,
  Count,
}

/** Flat names (the TSV `#fields` and Zeek-JSON keys), by Col. */
const NAME: StaticArray<string> = [
  "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration", "orig_bytes", "resp_bytes",
  "conn_state", "local_orig", "local_resp", "missed_bytes", "history", "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes",
  "tunnel_parents", "ip_proto",
  "community_id", "handshake_rtt", "orig_tcp_options.mss", "orig_tcp_options.wscale", "orig_tcp_options.sack_permitted",
  "orig_tcp_options.timestamps", "resp_tcp_options.mss", "resp_tcp_options.wscale", "resp_tcp_options.sack_permitted",
  "resp_tcp_options.timestamps", "vlan", "inner_vlan", "tunnel", "end_reason", "orig_state", "resp_state", "anomalies",
  "anomalies", "http", "http_requests", "http_responses",
];

/** Zeek log types (the TSV `#types` line), by Col. */
const TYPE: StaticArray<string> = [
  "time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count", "count",
  "string", "bool", "bool", "count", "string", "count", "count", "count", "count",
  "set[string]", "count",
  "string", "interval", "count", "count", "bool", "bool", "count", "count", "bool", "bool",
  "int", "int", "string", "string", "string", "string", "set[string]", "set[string]", "string", "count", "count",
];

/** Views, by Col: the anomaly names and the HTTP counters are the Zeek view's, the objects the nested view's. */
const VIEWS: StaticArray<i32> = [
  BOTH, BOTH, BOTH, BOTH, BOTH, BOTH, BOTH, BOTH, BOTH, BOTH, BOTH, BOTH, BOTH, BOTH, BOTH, BOTH, BOTH, BOTH, BOTH, BOTH,
  BOTH, BOTH, BOTH, BOTH, BOTH, BOTH, BOTH, BOTH, BOTH, BOTH, BOTH, BOTH, BOTH, BOTH, BOTH, BOTH, BOTH, BOTH,
  ZEEK_VIEW, NESTED_VIEW, NESTED_VIEW, ZEEK_VIEW, ZEEK_VIEW,
];

/**
 * Whether the column is written for every flow, by Col: its value rule below never leaves it unset
 * (the TSV `-`, a key absent from JSON). The OpenAPI document's Flow lists these as required
 * (src/http/openapi.ts), and test/http/flow-schema.test.ts checks the API's answers on the Zeek
 * corpus both ways. local_orig/local_resp are unset when Site::local_nets is empty.
 */
const ALWAYS: StaticArray<bool> = [
  true, true, true, true, true, true, true, false, false, false, false, true, false, false, true, false, true, true, true, true,
  false, true, true, false, false, false, true, true, false, false, true, true, false, false, false, true, true, true,
  true, true, false, false, false,
];

export function columnName(c: i32): string { return unchecked(NAME[c]); }
export function columnType(c: i32): string { return unchecked(TYPE[c]); }
export function columnViews(c: i32): i32 { return unchecked(VIEWS[c]); }
export function columnAlways(c: i32): bool { return unchecked(ALWAYS[c]); }

/** Zeek's protocol number of the connection (`ip_proto`): flowrecon reconstructs TCP only. */
const IP_PROTO_TCP: u32 = 6;

const QUOTE: u32 = 0x22;
const TAB: u32 = 0x09;
const DASH: u32 = 0x2d;
const COMMA: u32 = 0x2c;

// ---- values, in the shape of the mode (tsv: Zeek ASCII, else JSON) ----------------------------

@inline function quote(p: usize, tsv: bool): usize { return tsv ? p : byte(p, QUOTE); }
@inline function secs(p: usize, us: f64, tsv: bool): usize { return tsv ? fixed6(p, us) : seconds(p, us); }
@inline function bool_(p: usize, b: bool, tsv: bool): usize {
  if (tsv) return byte(p, b ? 0x54 : 0x46); // T / F
  return b ? lit(p, 0x65757274, 4) : lit(p, 0x65736c6166, 5); // true / false
}
/** An installed name (quoted in JSON); an empty name is unset. */
function name(p: usize, slot: usize, tsv: bool): usize {
  const n = <usize>load<u8>(slot);
  if (n == 0) return p;
  p = quote(p, tsv);
  // Names up to 16 bytes (most) with one store; it may write past, as copy() does.
  if (n <= 16) {
    v128.store(p, v128.load(slot + 1));
    p += n;
  } else p = copy(p, slot + 1, n);
  return quote(p, tsv);
}

/**
 * Sixteen history bytes with the unprintable ones as "?": letters (A-Z, a-z) and ^ stay; anything
 * else (an engine bug) would break the line's syntax. A letter is one whose lowercase (b | 0x20)
 * lies in a-z.
 */
@inline function historyBytes(v: v128): v128 {
  const letter = i8x16.lt_u(i8x16.sub(v128.or(v, i8x16.splat(0x20)), i8x16.splat(0x61)), i8x16.splat(26));
  return v128.bitselect(v, i8x16.splat(0x3f), v128.or(letter, i8x16.eq(v, i8x16.splat(0x5e))));
}

@inline function durationUs(rec: usize, tsUs: f64): f64 { return i64f(rec + <usize>FR_TS_LAST) - tsUs; }
@inline function port(rec: usize, at: i32): u32 { return <u32>load<u16>(rec + <usize>at); }

/** The anomaly names, each once, in entry order: a JSON array of strings or a TSV set. */
function anomalyNames(p: usize, ins: usize, s: usize, tsv: bool): usize {
  const n = <usize>load<u32>(ins + I_COUNT);
  if (n == 0) return tsv ? lit(p, 0x297974706d6528, 7) : lit(p, 0x5d5b, 2); // (empty) / []
  if (!tsv) p = byte(p, 0x5b);
  let written = 0;
  for (let i: usize = 0; i < n; i++) {
    const type = load<u8>(ins + I_ENTRIES + i * E_SIZE + E_TYPE);
    let seen = false;
    for (let j: usize = 0; j < i && !seen; j++) seen = load<u8>(ins + I_ENTRIES + j * E_SIZE + E_TYPE) == type;
    if (seen) continue;
    if (written++ > 0) p = byte(p, COMMA);
    p = name(p, nameSlot(s, NameKind.Anomaly, type), tsv);
  }
  return tsv ? p : byte(p, 0x5d);
}

@inline function sideName(p: usize, side: u32): usize { return side == 0 ? str(p, "\"orig\"") : str(p, "\"resp\""); }

function detailText(p: usize, e: usize): usize {
  const d = <i32>load<u8>(e + E_DETAIL);
  switch (d) {
    case Detail.AfterData: return str(p, "after data had flowed");
    case Detail.BeforeData: return str(p, "before any data");
    case Detail.SlotsFull: return str(p, "slot table full: side, count and time not recorded");
    case Detail.SynsRetransmitted: {
      const n = load<f64>(e + E_ARG);
      p = uint(p, n);
      p = str(p, " SYNs, ");
      p = uint(p, n - 1);
      return str(p, " retransmitted");
    }
    case Detail.OneSyn: return str(p, "1 SYN");
    case Detail.SynAckRepeated: return str(p, "SYN-ACK repeated after the originator's ACK: the ACK was lost");
    case Detail.NoAckOfSynAck: return str(p, "no ACK of the SYN-ACK");
    case Detail.SilentResponder:
    case Detail.SilentOriginator: {
      const resp = d == Detail.SilentResponder;
      p = str(p, resp ? "responder silent for " : "originator silent for ");
      p = roundedSeconds(p, load<f64>(e + E_ARG));
      p = str(p, resp ? " s while the originator retransmitted " : " s while the responder retransmitted ");
      p = uint(p, load<f64>(e + E_COUNT));
      return str(p, " times");
    }
    case Detail.FinNeverAcked: return str(p, "FIN never acknowledged");
    case Detail.FinAckedRespOpen: return str(p, "FIN acknowledged; the responder never closed (CLOSE_WAIT)");
    case Detail.FinAckedOrigOpen: return str(p, "FIN acknowledged; the originator never closed (CLOSE_WAIT)");
    case Detail.LastFinNeverAcked: return str(p, "final FIN never acknowledged");
  }
  return p;
}

/** The anomalies as JSON objects (derive.ts AnomalyEntry, keys in its order). */
function anomalyObjects(p: usize, ins: usize, s: usize): usize {
  const n = <usize>load<u32>(ins + I_COUNT);
  p = byte(p, 0x5b);
  for (let i: usize = 0; i < n; i++) {
    const e = ins + I_ENTRIES + i * E_SIZE;
    if (i > 0) p = byte(p, COMMA);
    p = str(p, "{\"type\":");
    p = name(p, nameSlot(s, NameKind.Anomaly, load<u8>(e + E_TYPE)), false);
    p = str(p, ",\"side\":");
    p = sideName(p, load<u8>(e + E_SIDE));
    p = str(p, ",\"ts\":");
    p = roundedSeconds(p, load<f64>(e + E_TS));
    p = str(p, ",\"count\":");
    p = uint(p, load<f64>(e + E_COUNT));
    if (load<u8>(e + E_HAS_IDLE) != 0) {
      p = str(p, ",\"idle_s\":");
      p = roundedSeconds(p, load<f64>(e + E_IDLE));
    }
    if (load<u8>(e + E_DETAIL) != Detail.None) {
      p = str(p, ",\"detail\":\"");
      p = detailText(p, e);
      p = byte(p, QUOTE);
    }
    p = byte(p, 0x7d);
  }
  return byte(p, 0x5d);
}

/** The HTTP insight as JSON (derive.ts HttpInsight), or nothing when no request or status line was seen. */
function httpObject(p: usize, rec: usize, s: usize): usize {
  const ext = rec + <usize>FR_EXT;
  const requests = load<u16>(ext + <usize>X_HTTP_REQ);
  const responses = load<u16>(ext + <usize>X_HTTP_RESP);
  if (requests == 0 && responses == 0) return p;
  p = str(p, "{\"requests\":");
  p = uint32(p, requests);
  p = str(p, ",\"responses\":");
  p = uint32(p, responses);
  p = str(p, ",\"methods\":{");
  let k = 0;
  for (let m = 0; m < HttpMethod.Count; m++) {
    const n = load<u16>(ext + <usize>X_HTTP_METHODS + <usize>(2 * m));
    const slot = nameSlot(s, NameKind.HttpMethod, <u32>m);
    if (n == 0 || load<u8>(slot) == 0) continue;
    if (k++ > 0) p = byte(p, COMMA);
    p = name(p, slot, false);
    p = byte(p, 0x3a);
    p = uint32(p, n);
  }
  p = str(p, "},\"versions\":[");
  const vb = load<u8>(ext + <usize>X_HTTP_VERSIONS);
  if (vb & 1) p = str(p, "\"HTTP/1.0\"");
  if (vb & 2) p = str(p, (vb & 1) ? ",\"HTTP/1.1\"" : "\"HTTP/1.1\"");
  p = str(p, "],\"status_codes\":{");
  // A JS object lists integer keys in ascending order; a repeated code keeps its last count.
  let last: u32 = 0;
  k = 0;
  for (;;) {
    let next: u32 = 0x10000;
    let count: u32 = 0;
    for (let i = 0; i < HTTP_CODE_SLOTS; i++) {
      const at = ext + <usize>X_HTTP_CODES + <usize>(4 * i);
      const code = <u32>load<u16>(at);
      if (code == 0 || code <= last) continue;
      if (code < next) next = code;
      if (code == next) count = <u32>load<u16>(at, 2);
    }
    if (next == 0x10000) break;
    if (k++ > 0) p = byte(p, COMMA);
    p = byte(p, QUOTE);
    p = uint32(p, next);
    p = str(p, "\":");
    p = uint32(p, count);
    last = next;
  }
  p = str(p, "},\"status_classes\":{");
  k = 0;
  for (let c = 0; c < 5; c++) {
    const n = load<u16>(ext + <usize>X_HTTP_CLASSES + <usize>(2 * c));
    if (n == 0) continue;
    if (k++ > 0) p = byte(p, COMMA);
    p = byte(p, QUOTE);
    p = byte(p, 0x31 + c);
    p = str(p, "xx\":");
    p = uint32(p, n);
  }
  p = str(p, "},\"keep_alive\":");
  p = str(p, requests > 1 ? "true}" : "false}");
  return p;
}

/** Writes column `c` of the record at `rec`; writes nothing when it is unset. */
@inline function value(c: i32, rec: usize, p: usize, tsv: bool, tsUs: f64, ins: usize, s: usize): usize {
  const o = rec + <usize>FR_ORIG, r = rec + <usize>FR_RESP;
  switch (c) {
    case Col.Ts: return secs(p, tsUs, tsv);
    case Col.Uid: {
      const vlan = (load<u32>(rec + <usize>FR_FLAGS) & FF_VLAN_KEY) != 0 ? load<u32>(rec + <usize>FR_VLAN) : 0;
      p = quote(p, tsv);
      p = writeUid(p, rec + <usize>FR_ORIG_ADDR, rec + <usize>FR_RESP_ADDR, port(rec, FR_ORIG_PORT), port(rec, FR_RESP_PORT), vlan, tsUs);
      return quote(p, tsv);
    }
    case Col.OrigH: return quote(address(quote(p, tsv), rec + <usize>FR_ORIG_ADDR), tsv);
    case Col.OrigP: return uint32(p, port(rec, FR_ORIG_PORT));
    case Col.RespH: return quote(address(quote(p, tsv), rec + <usize>FR_RESP_ADDR), tsv);
    case Col.RespP: return uint32(p, port(rec, FR_RESP_PORT));
    case Col.Proto: return tsv ? lit(p, 0x706374, 3) : lit(p, 0x2270637422, 5); // tcp / "tcp"
    // Zeek's dynamic protocol detection (flow/service.ts); unset when nothing matched.
    case Col.Service: return name(p, nameSlot(s, NameKind.Service, load<u8>(rec + <usize>FR_SERVICE)), tsv);
    // duration, orig_bytes and resp_bytes exist only when the duration is positive (zeek-semantics.md §5).
    case Col.Duration: {
      const d = durationUs(rec, tsUs);
      return d > 0 ? secs(p, d, tsv) : p;
    }
    case Col.OrigBytes: return durationUs(rec, tsUs) > 0 ? count64(p, o + <usize>EP_BYTES) : p;
    case Col.RespBytes: return durationUs(rec, tsUs) > 0 ? count64(p, r + <usize>EP_BYTES) : p;
    case Col.ConnState: return name(p, nameSlot(s, NameKind.ConnState, load<u8>(rec + <usize>FR_CONN_STATE)), tsv);
    // Site::is_local_addr, only when Site::local_nets is not empty (conn/main.zeek set_conn).
    case Col.LocalOrig: return load<u8>(s + S_LOCAL_EMPTY) != 0 ? p : bool_(p, containsLocal(s, rec + <usize>FR_ORIG_ADDR), tsv);
    case Col.LocalResp: return load<u8>(s + S_LOCAL_EMPTY) != 0 ? p : bool_(p, containsLocal(s, rec + <usize>FR_RESP_ADDR), tsv);
    case Col.MissedBytes: return uint(p, u64f(o + <usize>EP_MISSED) + u64f(r + <usize>EP_MISSED));
    case Col.History: {
      const n = <usize>min<u32>(load<u8>(rec + <usize>FR_HIST_LEN), <u32>HIST_CAP);
      if (n == 0) return p;
      p = quote(p, tsv);
      // All HIST_CAP bytes, sixteen at a time; those past n are overwritten by what follows.
      for (let i: usize = 0; i < <usize>HIST_CAP; i += 16) {
        v128.store(p + i, historyBytes(v128.load(rec + <usize>FR_HISTORY + i)));
      }
      return quote(p + n, tsv);
    }
    case Col.OrigPkts: return uint32(p, load<u32>(o + <usize>EP_PKTS));
    case Col.OrigIpBytes: return count64(p, o + <usize>EP_IP_BYTES);
    case Col.RespPkts: return uint32(p, load<u32>(r + <usize>EP_PKTS));
    case Col.RespIpBytes: return count64(p, r + <usize>EP_IP_BYTES);
    // The uid of the encapsulating connection of the tunnel the first segment came out of.
    case Col.TunnelParents: {
      if (<i32>load<u8>(rec + <usize>FR_TUNNEL) == Tunnel.None) return p;
      const e = rec + <usize>FR_EXT;
      const vlan = (load<u32>(rec + <usize>FR_FLAGS) & FF_VLAN_KEY) != 0 ? load<u32>(e + <usize>X_OUTER_VLAN) : 0;
      const ports = load<u32>(e + <usize>X_OUTER_SPORT);
      if (!tsv) p = str(p, "[\"");
      p = writeTunnelUid(p, e + <usize>X_OUTER_SRC, e + <usize>X_OUTER_DST, ports & 0xffff, ports >>> 16, load<u8>(e + <usize>X_OUTER_PROTO), vlan);
      return tsv ? p : str(p, "\"]");
    }
    case Col.IpProto: return uint32(p, IP_PROTO_TCP);
    case Col.CommunityId: {
      p = quote(p, tsv);
      // Hashed ahead with three other records (hashAhead), or now.
      const ahead = <usize>load<u32>(s + S_CID);
      if (ahead != 0) p = copy32(p, ahead, 30);
      else p = writeCommunityId(p, rec + <usize>FR_ORIG_ADDR, port(rec, FR_ORIG_PORT), rec + <usize>FR_RESP_ADDR, port(rec, FR_RESP_PORT), IP_PROTO_TCP, load<u32>(s + S_SEED));
      return quote(p, tsv);
    }
    case Col.HandshakeRtt: {
      const rtt = i64f(rec + <usize>FR_HS_RTT);
      return rtt >= 0 ? secs(p, rtt, tsv) : p;
    }
    case Col.OrigMss:
    case Col.RespMss: {
      const mss = load<u16>((c == Col.OrigMss ? o : r) + <usize>EP_MSS);
      return mss != 0 ? uint32(p, mss) : p;
    }
    case Col.OrigWscale:
    case Col.RespWscale: {
      const w = load<u8>((c == Col.OrigWscale ? o : r) + <usize>EP_WSCALE);
      return w != 0xff ? uint32(p, w) : p;
    }
    case Col.OrigSack:
    case Col.RespSack: return bool_(p, (load<u8>((c == Col.OrigSack ? o : r) + <usize>EP_OPTS) & OPT_SACK_PERM) != 0, tsv);
    case Col.OrigTimestamps:
    case Col.RespTimestamps: return bool_(p, (load<u8>((c == Col.OrigTimestamps ? o : r) + <usize>EP_OPTS) & OPT_TS) != 0, tsv);
    case Col.Vlan: {
      const v = load<u32>(rec + <usize>FR_VLAN) & 0xfff;
      return v != 0 ? uint32(p, v) : p;
    }
    case Col.InnerVlan: {
      const v = (load<u32>(rec + <usize>FR_VLAN) >>> 12) & 0xfff;
      return v != 0 ? uint32(p, v) : p;
    }
    case Col.Tunnel: return name(p, nameSlot(s, NameKind.Tunnel, load<u8>(rec + <usize>FR_TUNNEL)), tsv);
    case Col.EndReason: return name(p, nameSlot(s, NameKind.EndReason, load<u8>(rec + <usize>FR_END_REASON)), tsv);
    case Col.OrigState: return name(p, nameSlot(s, NameKind.TcpState, load<u8>(ins + I_ORIG_STATE)), tsv);
    case Col.RespState: return name(p, nameSlot(s, NameKind.TcpState, load<u8>(ins + I_RESP_STATE)), tsv);
    // Zeek view: the set of anomaly names; nested view: one object per anomaly.
    case Col.AnomalyNames: return anomalyNames(p, ins, s, tsv);
    case Col.Anomalies: return anomalyObjects(p, ins, s);
    case Col.Http: return httpObject(p, rec, s);
    case Col.HttpRequests:
    case Col.HttpResponses: {
      const ext = rec + <usize>FR_EXT;
      const requests = load<u16>(ext + <usize>X_HTTP_REQ), responses = load<u16>(ext + <usize>X_HTTP_RESP);
      if (requests == 0 && responses == 0) return p;
      return uint32(p, c == Col.HttpRequests ? requests : responses);
    }
  }
  return p;
}

/** Whether the record's anomalies pass the configured filter (src/anomalies/filter.ts). */
function passes(ins: usize, s: usize): bool {
  if (load<u8>(s + S_FILTER) == 0) return true;
  const n = <usize>load<u32>(ins + I_COUNT);
  if (n == 0) return false;
  if (load<u8>(s + S_FILTER_ANY) != 0) return true;
  const mask = load<u32>(s + S_FILTER_MASK);
  for (let i: usize = 0; i < n; i++) if ((mask & (1 << <u32>load<u8>(ins + I_ENTRIES + i * E_SIZE + E_TYPE))) != 0) return true;
  return false;
}

/** One TSV column in slot `i`: a tab before all but the first, `-` when unset. */
@inline function tsvColumn(p: usize, i: usize, c: i32, rec: usize, tsUs: f64, ins: usize, s: usize): usize {
  if (i > 0) p = byte(p, TAB);
  const at = p;
  p = value(c, rec, p, true, tsUs, ins, s);
  return p == at ? byte(p, DASH) : p;
}

/** How a JSON member knows whether a comma goes before it (the straight-line rows know it per slot). */
const COMMA_CHECK: i32 = 0; // from the object so far: a comma unless it ends in `{`
const COMMA_NEVER: i32 = 1; // the first member of its object (slot 0, or the one that opens a group)
const COMMA_ALWAYS: i32 = 2; // a member after one of its object's always-written members (ALWAYS)
/** Where a listing (below) keeps each slot's comma rule, above the slot word. */
const COMMA_SHIFT: i32 = 12;

/**
 * One JSON member in slot `i` (`"key":value`, after its group's opening and before its closing);
 * nothing when unset. The key text starts with its comma (`,"key":`, layoutColumns), copied with
 * or without it as `comma` says; COMMA_CHECK leaves it out where the object so far ends in `{`: no
 * value ends in `{`, so that is exactly "nothing written in this object yet". `short`: every key
 * and group opening of the layout is 32 bytes or less (keysShort).
 */
@inline function jsonColumn(
  p: usize, i: usize, slot: i32, rec: usize, tsUs: f64, ins: usize, s: usize, comma: i32 = COMMA_CHECK, short: bool = false,
): usize {
  const c = slot & 0xff;
  const k = <usize>load<u32>(s + S_KEYS) + i * KEY_SLOT;
  if ((slot & SLOT_OPEN) != 0) p = copy32(p, k + KEY_OPEN, <usize>load<u8>(k, 1), short);
  const save = p;
  const n = <usize>load<u8>(k);
  if (comma == COMMA_ALWAYS) p = copy32(p, k + KEY_TEXT, n, short);
  else if (comma == COMMA_NEVER) p = copy32(p, k + KEY_TEXT + 1, n - 1, short);
  else {
    const skip = <usize>(load<u8>(p - 1) == 0x7b);
    p = copy32(p, k + KEY_TEXT + skip, n - skip, short);
  }
  const at = p;
  p = value(c, rec, p, false, tsUs, ins, s);
  if (p == at) p = save;
  if ((slot & SLOT_CLOSE) != 0) p = byte(p, 0x7d);
  return p;
}

// ---- straight-line rows ------------------------------------------------------------------------
// The column lists of the Zeek view (a TSV row or Zeek's JSON object) and the nested JSON object
// written out, so that each column's value rule is inlined with its column known and no column
// costs a dispatch (bench/format.mjs: 1.12x the slot loop for Zeek rows; bench/format-ab.mjs:
// 1.10x for nested JSON once the keys were copied without a loop, copy32, and 1.06x for Zeek's
// JSON). The JSON keys still come from the key table that layoutColumns builds from NAME. Each row is
// compiled twice from the same text: as row*<u32> it writes; as row*<u8> it only stores the slot
// word of each slot (the column and, in JSON, its group's opening or closing), which
// layoutColumns compares with the slots it laid out from the table (NAME/VIEWS): a row that
// disagrees with the table is never used, and test/host/engine-straight.test.ts fails.

/** Whether this instantiation only records its columns (see above). */
@inline function listing<V>(): bool { return sizeof<V>() == 1; }

/** Whether this expansion of the Zeek view writes Zeek's JSON members (W = u64) rather than a TSV row (W = u32). */
@inline function zeekJson<W>(): bool { return sizeof<W>() == 8; }

@inline function zeekCol<V, W>(p: usize, i: usize, c: i32, comma: i32, rec: usize, tsUs: f64, ins: usize, s: usize): usize {
  if (listing<V>()) {
    store<u16>(p + (i << 1), <u16>(c | (comma << COMMA_SHIFT)));
    return p;
  }
  return zeekJson<W>() ? jsonColumn(p, i, c, rec, tsUs, ins, s, comma) : tsvColumn(p, i, c, rec, tsUs, ins, s);
}

/**
 * A JSON member of the nested straight-line row: `slot` is the column with its group marks
 * (SLOT_OPEN, SLOT_CLOSE), `comma` its comma rule (COMMA_*). Its keys and group openings are 32
 * bytes or less (layoutColumns uses the row only then: keysShort), so each is copied with two
 * 16-byte stores and no test of its length.
 */
@inline function jsonCol<V>(p: usize, i: usize, slot: i32, comma: i32, rec: usize, tsUs: f64, ins: usize, s: usize): usize {
  if (listing<V>()) {
    store<u16>(p + (i << 1), <u16>(slot | (comma << COMMA_SHIFT)));
    return p;
  }
  return jsonColumn(p, i, slot, rec, tsUs, ins, s, comma, true);
}

/** Ends a listing: the u16 after the last slot word holds 0xffff. */
@inline function endRow<V>(p: usize, n: usize): void {
  if (listing<V>()) store<u16>(p + (n << 1), 0xffff);
}

/**
 * The Zeek view's columns, expanded where it is called: a TSV row (W = u32) or Zeek's JSON members
 * (W = u64). Each shape has its own function (rowZeekTsv, rowZeekJson): one generic function with
 * both instantiations called from writeRecord was inlined into it, and the TSV row ran slower.
 */
@inline function zeekView<V, W>(p: usize, rec: usize, tsUs: f64, ins: usize, s: usize): usize {
  p = zeekCol<V, W>(p, 0, Col.Ts, COMMA_NEVER, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 1, Col.Uid, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 2, Col.OrigH, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 3, Col.OrigP, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 4, Col.RespH, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 5, Col.RespP, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 6, Col.Proto, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 7, Col.Service, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 8, Col.Duration, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 9, Col.OrigBytes, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 10, Col.RespBytes, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 11, Col.ConnState, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 12, Col.LocalOrig, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 13, Col.LocalResp, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 14, Col.MissedBytes, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 15, Col.History, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 16, Col.OrigPkts, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 17, Col.OrigIpBytes, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 18, Col.RespPkts, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 19, Col.RespIpBytes, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 20, Col.TunnelParents, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 21, Col.IpProto, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 22, Col.CommunityId, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 23, Col.HandshakeRtt, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 24, Col.OrigMss, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 25, Col.OrigWscale, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 26, Col.OrigSack, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 27, Col.OrigTimestamps, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 28, Col.RespMss, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 29, Col.RespWscale, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 30, Col.RespSack, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 31, Col.RespTimestamps, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 32, Col.Vlan, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 33, Col.InnerVlan, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 34, Col.Tunnel, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 35, Col.EndReason, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 36, Col.OrigState, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 37, Col.RespState, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 38, Col.AnomalyNames, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 39, Col.HttpRequests, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = zeekCol<V, W>(p, 40, Col.HttpResponses, COMMA_ALWAYS, rec, tsUs, ins, s);
  endRow<V>(p, 41);
  return p;
}

/** The Zeek view as a TSV row (FmtMode.ZeekTsv). */
function rowZeekTsv<V>(p: usize, rec: usize, tsUs: f64, ins: usize, s: usize): usize {
  return zeekView<V, u32>(p, rec, tsUs, ins, s);
}

/** The Zeek view as a Zeek JSON object's members, between its braces (FmtMode.ZeekJson). */
function rowZeekJson<V>(p: usize, rec: usize, tsUs: f64, ins: usize, s: usize): usize {
  return zeekView<V, u64>(p, rec, tsUs, ins, s);
}

/** The nested view as a JSON object's members, between its braces (FmtMode.NestedJson). */
function rowNestedJson<V>(p: usize, rec: usize, tsUs: f64, ins: usize, s: usize): usize {
  p = jsonCol<V>(p, 0, Col.Ts, COMMA_NEVER, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 1, Col.Uid, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 2, Col.OrigH, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 3, Col.OrigP, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 4, Col.RespH, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 5, Col.RespP, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 6, Col.Proto, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 7, Col.Service, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 8, Col.Duration, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 9, Col.OrigBytes, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 10, Col.RespBytes, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 11, Col.ConnState, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 12, Col.LocalOrig, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 13, Col.LocalResp, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 14, Col.MissedBytes, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 15, Col.History, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 16, Col.OrigPkts, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 17, Col.OrigIpBytes, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 18, Col.RespPkts, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 19, Col.RespIpBytes, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 20, Col.TunnelParents, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 21, Col.IpProto, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 22, Col.CommunityId, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 23, Col.HandshakeRtt, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 24, Col.OrigMss | SLOT_OPEN, COMMA_NEVER, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 25, Col.OrigWscale, COMMA_CHECK, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 26, Col.OrigSack, COMMA_CHECK, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 27, Col.OrigTimestamps | SLOT_CLOSE, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 28, Col.RespMss | SLOT_OPEN, COMMA_NEVER, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 29, Col.RespWscale, COMMA_CHECK, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 30, Col.RespSack, COMMA_CHECK, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 31, Col.RespTimestamps | SLOT_CLOSE, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 32, Col.Vlan, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 33, Col.InnerVlan, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 34, Col.Tunnel, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 35, Col.EndReason, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 36, Col.OrigState, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 37, Col.RespState, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 38, Col.Anomalies, COMMA_ALWAYS, rec, tsUs, ins, s);
  p = jsonCol<V>(p, 39, Col.Http, COMMA_ALWAYS, rec, tsUs, ins, s);
  endRow<V>(p, 40);
  return p;
}

/**
 * The Community IDs of the `k` (1 to 4) records from `first` (FR_SIZE bytes apart), hashed side by
 * side (ids.ts sha1x4Base64); returns where the first one's text is, the next ones LANES_SLOT
 * bytes apart. Store that at S_CID before writeRecord reads it (the CommunityId column copies it).
 */
export function hashAhead(first: usize, k: i32): usize {
  const s = fmtState();
  const m = <usize>load<u32>(s + S_LANES);
  const seed = load<u32>(s + S_SEED);
  for (let l = 0; l < k; l++) {
    const rec = first + <usize>l * <usize>FR_SIZE;
    communityIdLane(m + (<usize>l << 2), rec + <usize>FR_ORIG_ADDR, port(rec, FR_ORIG_PORT), rec + <usize>FR_RESP_ADDR, port(rec, FR_RESP_PORT), IP_PROTO_TCP, seed);
  }
  // Lanes past k hash whatever their block holds; their texts are not read.
  sha1x4Base64(m, m + LANES_TEXT);
  return m + LANES_TEXT;
}

// ---- the slot loops ------------------------------------------------------------------------------
// The rows laid out at `s`, one column at a time through the value rule's switch: what writes a
// record when no straight-line row is used (S_GENERIC, or a row that disagrees with the table).
// Each is a function of its own, out of writeRecord: V8 tiers a function up to TurboFan as a whole,
// and with both loops inlined (the switch twice) writeRecord was 9.2 kB of wasm that every run
// compiled, 24 ms of TurboFan (the CLI's largest compile after flushBatch) for loops that do not
// run. Out of line, writeRecord is 0.3 kB and the loops stay in Liftoff unless used.

/** The TSV row of the slots laid out at `s`. */
function slotTsvRow(p: usize, rec: usize, tsUs: f64, ins: usize, s: usize): usize {
  const n = <usize>load<i32>(s + S_NSLOTS);
  for (let i: usize = 0; i < n; i++) p = tsvColumn(p, i, load<i32>(s + S_SLOTS + (i << 2)) & 0xff, rec, tsUs, ins, s);
  return p;
}

/** The JSON members of the slots laid out at `s`, between the object's braces. */
function slotJsonRow(p: usize, rec: usize, tsUs: f64, ins: usize, s: usize): usize {
  const n = <usize>load<i32>(s + S_NSLOTS);
  for (let i: usize = 0; i < n; i++) p = jsonColumn(p, i, load<i32>(s + S_SLOTS + (i << 2)), rec, tsUs, ins, s);
  return p;
}

/** Writes the record at `rec` as one line (newline included) at `p`; returns the end (p when filtered out). */
export function writeRecord(rec: usize, p: usize): usize {
  const s = fmtState();
  const ins = deriveInsight(rec);
  if (!passes(ins, s)) return p;
  const mode = load<i32>(s + S_MODE);
  const tsUs = i64f(rec + <usize>FR_TS_START);
  const straight = load<u8>(s + S_STRAIGHT) != 0;
  if (mode == FmtMode.ZeekTsv) {
    p = straight ? rowZeekTsv<u32>(p, rec, tsUs, ins, s) : slotTsvRow(p, rec, tsUs, ins, s);
    return byte(p, 0x0a);
  }
  const frame = load<u8>(s + S_FRAME);
  const item = frame == <u8>LineFrame.ArrayItem;
  // Msgpack: the object goes to the scratch area, to be transcoded to p.
  const packed = frame == <u8>LineFrame.Msgpack;
  const at = packed ? <usize>load<u32>(s + S_MSGPACK) : p;
  let q = item ? byte(byte(at, 0x2c), 0x0a) : at;
  q = byte(q, 0x7b);
  if (!straight) q = slotJsonRow(q, rec, tsUs, ins, s);
  else if (mode == FmtMode.NestedJson) q = rowNestedJson<u32>(q, rec, tsUs, ins, s);
  else q = rowZeekJson<u32>(q, rec, tsUs, ins, s);
  q = byte(q, 0x7d);
  if (packed) return packObject(at, q, p, s);
  return item ? q : byte(q, 0x0a);
}

/**
 * The JSON object at [from, to) as msgpack at `p` (LineFrame.Msgpack, msgpack.ts). An object the
 * transcoder leaves (a number it cannot convert exactly) writes nothing and raises the fallback
 * flag (fmtFallback): the host encodes that flow.
 */
function packObject(from: usize, to: usize, p: usize, s: usize): usize {
  // The output keeps FMT_RECORD_ROOM bytes past the flush mark; msgpack takes at most 3 bytes a JSON byte.
  const end = (to - from) * 3 <= <usize>FMT_RECORD_ROOM ? jsonToMsgpack(from, to, p) : 0;
  if (end != 0) return end;
  store<u8>(s + S_FALLBACK, 1);
  return p;
}

/**
 * Whether the straight-line row of `mode` lists exactly the `n` slots laid out at `s` (written
 * out at `scratch`, which it overwrites), each with a comma rule that holds for it (commaRule).
 * Every shape has one.
 */
function straightMatches(mode: i32, s: usize, n: usize, scratch: usize): bool {
  if (mode == FmtMode.ZeekTsv) rowZeekTsv<u8>(scratch, 0, 0, 0, s);
  else if (mode == FmtMode.NestedJson) rowNestedJson<u8>(scratch, 0, 0, 0, s);
  else rowZeekTsv<u8>(scratch, 0, 0, 0, s); // Zeek JSON lists the same view
  for (let i: usize = 0; i < n; i++) {
    const word = <i32>load<u16>(scratch + (i << 1));
    if ((word & ((1 << COMMA_SHIFT) - 1)) != load<i32>(s + S_SLOTS + (i << 2))) return false;
    const comma = word >> COMMA_SHIFT;
    if (comma != COMMA_CHECK && comma != commaRule(s, i, mode == FmtMode.NestedJson)) return false;
  }
  return load<u16>(scratch + (n << 1)) == 0xffff;
}

/**
 * The comma rule that slot `i` may take instead of COMMA_CHECK: COMMA_NEVER for the first member
 * of its object (slot 0, or a group's opening), COMMA_ALWAYS after a member of the same object
 * whose value rule always writes it (ALWAYS), else none (COMMA_CHECK).
 */
function commaRule(s: usize, i: usize, nested: bool): i32 {
  const slot = load<i32>(s + S_SLOTS + (i << 2));
  if (i == 0 || (slot & SLOT_OPEN) != 0) return COMMA_NEVER;
  const c = slot & 0xff;
  const inGroup = nested && groupLength(c) > 0;
  for (let j = i; j-- > 0; ) {
    const other = load<i32>(s + S_SLOTS + (j << 2));
    const d = other & 0xff;
    const same = inGroup ? groupLength(d) > 0 && sameGroup(c, d) : !(nested && groupLength(d) > 0);
    if (same && columnAlways(d)) return COMMA_ALWAYS;
    if (inGroup && (other & SLOT_OPEN) != 0) break; // the group's first member: none before it in the group
  }
  return COMMA_CHECK;
}

/** Length of the group prefix of a nested-view name (`orig_tcp_options` of `orig_tcp_options.mss`), 0 for none (`id.*` stays flat, as in Zeek). */
function groupLength(c: i32): i32 {
  const nm = columnName(c);
  if (nm.length > 3 && nm.charCodeAt(0) == 0x69 && nm.charCodeAt(1) == 0x64 && nm.charCodeAt(2) == 0x2e) return 0;
  for (let i = 0; i < nm.length; i++) if (nm.charCodeAt(i) == 0x2e) return i;
  return 0;
}

function sameGroup(a: i32, b: i32): bool {
  const n = groupLength(a);
  if (n != groupLength(b)) return false;
  const x = columnName(a), y = columnName(b);
  for (let i = 0; i < n; i++) if (x.charCodeAt(i) != y.charCodeAt(i)) return false;
  return true;
}

/** Lays out the column slots and JSON keys of `mode` in the state block (once, at configuration). */
export function layoutColumns(mode: i32): void {
  const s = fmtState();
  store<i32>(s + S_MODE, mode);
  const view = mode == FmtMode.NestedJson ? NESTED_VIEW : ZEEK_VIEW;
  const nested = mode == FmtMode.NestedJson;
  let n: usize = 0;
  for (let c = 0; c < Col.Count; c++) if ((columnViews(c) & view) != 0 && n < MAX_SLOTS) store<i32>(s + S_SLOTS + (n++ << 2), c);
  store<i32>(s + S_NSLOTS, <i32>n);
  const keys = <usize>load<u32>(s + S_KEYS);
  for (let i: usize = 0; i < n; i++) {
    const c = load<i32>(s + S_SLOTS + (i << 2));
    const g = nested ? groupLength(c) : 0;
    let slot = c;
    if (g > 0 && (i == 0 || !sameGroup(c, load<i32>(s + S_SLOTS + ((i - 1) << 2)) & 0xff))) slot |= SLOT_OPEN;
    if (g > 0 && (i == n - 1 || !sameGroup(c, load<i32>(s + S_SLOTS + ((i + 1) << 2)) & 0xff))) slot |= SLOT_CLOSE;
    store<i32>(s + S_SLOTS + (i << 2), slot);
    const k = keys + i * KEY_SLOT;
    const nm = columnName(c);
    // The key with its comma: `,"name":` (the part after the group in the nested view).
    let q = k + KEY_TEXT;
    q = byte(q, COMMA);
    q = byte(q, QUOTE);
    for (let j = g > 0 ? g + 1 : 0; j < nm.length; j++) q = byte(q, nm.charCodeAt(j));
    q = byte(q, QUOTE);
    q = byte(q, 0x3a);
    store<u8>(k, <u8>(q - (k + KEY_TEXT)));
    // The group opening: `,"group":{`.
    q = k + KEY_OPEN;
    if ((slot & SLOT_OPEN) != 0) {
      q = str(q, ",\"");
      for (let j = 0; j < g; j++) q = byte(q, nm.charCodeAt(j));
      q = str(q, "\":{");
    }
    store<u8>(k + 1, <u8>(q - (k + KEY_OPEN)));
  }
  // The straight-line row, when it is on and agrees with the table; the listing goes past the
  // buffer's bytes (fmtInit has just emptied it, and it is rewritten before it is read).
  const scratch = <usize>load<u32>(s + S_BUF) + <usize>load<u32>(s + S_LEN);
  const use = load<u8>(s + S_GENERIC) == 0 && straightMatches(mode, s, n, scratch) && (!nested || keysShort(s, n));
  store<u8>(s + S_STRAIGHT, use ? 1 : 0);
}

/** Whether every key text and group opening of the `n` slots at `s` is 32 bytes or less (jsonCol copies them as such). */
function keysShort(s: usize, n: usize): bool {
  const keys = <usize>load<u32>(s + S_KEYS);
  for (let i: usize = 0; i < n; i++) if (load<u8>(keys + i * KEY_SLOT) > 32 || load<u8>(keys + i * KEY_SLOT, 1) > 32) return false;
  return true;
}

/** The Zeek view's names (what 0), types (what 1) or always-set flags (what 2: T/F), tab-separated: the TSV `#fields`/`#types` values. */
export function writeFieldList(p: usize, what: i32): usize {
  let k = 0;
  for (let c = 0; c < Col.Count; c++) {
    if ((columnViews(c) & ZEEK_VIEW) == 0) continue;
    if (k++ > 0) p = byte(p, TAB);
    if (what == 2) p = byte(p, columnAlways(c) ? 0x54 : 0x46); // T / F
    else p = str(p, what == 0 ? columnName(c) : columnType(c));
  }
  return p;
}
