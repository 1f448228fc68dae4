/**
 * @module
 * Zeek ASCII log (TSV) with Zeek's header, so `zeek-cut`, Zeek log readers and conn.log parsers
 * take it as a conn.log: `#separator \x09`, `#set_separator`, `#empty_field`, `#unset_field`,
 * `#path conn`, `#open`, `#fields`, `#types`, one row per flow, `#close`.
 *
 * Columns: Zeek's conn.log columns that flowrecon computes, in Zeek's order, then flowrecon's own.
 * Columns that need Zeek's scripts or site policy (`service`, `local_orig`, `local_resp`,
 * `tunnel_parents`) are left out rather than filled with guesses; zeek-cut selects by name, so
 * their absence breaks nothing. Nested records are flattened with dots, as Zeek flattens `id`.
 * Unset values are `-`; times and intervals have six decimals (zeek-semantics.md §8.13).
 */

import type { Flow, TcpOptions } from "../flow.js";
import { HISTORY_BYTE } from "../flow.js";
import type { MemoryViews } from "../wasm/engine.js";
import type { Layout } from "../wasm/layout.js";
import { RecordReader } from "../wasm/record.js";
import { writeFlowUid } from "../ids/uid.js";
import { writeCommunityId, PROTO_TCP } from "../ids/community-id.js";
import { ascii, type AsciiWriter } from "./ascii.js";
import { InsightReader, type FlowInsight, type InsightContext } from "../anomalies/index.js";
import { fixed6, MAX_FLOW_BYTES, type Formatter, type RunSummary } from "./formatter.js";

const COLUMNS: readonly [name: string, type: string][] = [
  ["ts", "time"],
  ["uid", "string"],
  ["id.orig_h", "addr"],
  ["id.orig_p", "port"],
  ["id.resp_h", "addr"],
  ["id.resp_p", "port"],
  ["proto", "enum"],
  ["duration", "interval"],
  ["orig_bytes", "count"],
  ["resp_bytes", "count"],
  ["conn_state", "string"],
  ["missed_bytes", "count"],
  ["history", "string"],
  ["orig_pkts", "count"],
  ["orig_ip_bytes", "count"],
  ["resp_pkts", "count"],
  ["resp_ip_bytes", "count"],
  ["community_id", "string"],
  ["handshake_rtt", "interval"],
  ["orig_tcp_options.mss", "count"],
  ["orig_tcp_options.wscale", "count"],
  ["orig_tcp_options.sack_permitted", "bool"],
  ["orig_tcp_options.timestamps", "bool"],
  ["resp_tcp_options.mss", "count"],
  ["resp_tcp_options.wscale", "count"],
  ["resp_tcp_options.sack_permitted", "bool"],
  ["resp_tcp_options.timestamps", "bool"],
  ["vlan", "int"],
  ["inner_vlan", "int"],
  ["tunnel", "string"],
  ["end_reason", "string"],
  ["orig_state", "string"],
  ["resp_state", "string"],
  ["anomalies", "set[string]"],
  ["http_requests", "count"],
  ["http_responses", "count"],
];

export const ZEEK_FIELDS: readonly string[] = COLUMNS.map(([name]) => name);

const UNSET = "-";

/** Zeek's log timestamp format for #open/#close: local time, `%Y-%m-%d-%H-%M-%S`. */
export function zeekLogTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}-${p(d.getHours())}-${p(d.getMinutes())}-${p(d.getSeconds())}`;
}

function opt(v: number | undefined): string {
  return v === undefined ? UNSET : String(v);
}

function tcpOptionsTsv(o: TcpOptions): string {
  return opt(o.mss) + "\t" + opt(o.wscale) + "\t" + (o.sack_permitted ? "T" : "F") + "\t" + (o.timestamps ? "T" : "F");
}

/** One TSV row (no newline). */
export function zeekRow(f: Flow): string {
  return (
    fixed6(f.ts) + "\t" +
    f.uid + "\t" +
    f["id.orig_h"] + "\t" + f["id.orig_p"] + "\t" +
    f["id.resp_h"] + "\t" + f["id.resp_p"] + "\t" +
    "tcp\t" +
    (f.duration === undefined ? UNSET : fixed6(f.duration)) + "\t" +
    opt(f.orig_bytes) + "\t" + opt(f.resp_bytes) + "\t" +
    f.conn_state + "\t" +
    f.missed_bytes + "\t" +
    (f.history === undefined ? UNSET : f.history === "" ? "(empty)" : f.history) + "\t" +
    f.orig_pkts + "\t" + f.orig_ip_bytes + "\t" + f.resp_pkts + "\t" + f.resp_ip_bytes + "\t" +
    f.community_id + "\t" +
    (f.handshake_rtt === undefined ? UNSET : fixed6(f.handshake_rtt)) + "\t" +
    tcpOptionsTsv(f.orig_tcp_options) + "\t" + tcpOptionsTsv(f.resp_tcp_options) + "\t" +
    opt(f.vlan) + "\t" + opt(f.inner_vlan) + "\t" +
    (f.tunnel ?? UNSET) + "\t" +
    f.end_reason + insightTsv(f)
  );
}

/** The insight columns (leading tab): states, the set of anomaly names, HTTP request/response counts. */
export function insightTsv(i: FlowInsight): string {
  const names = [...new Set(i.anomalies.map((a) => a.type))].join(",");
  return "\t" + i.orig_state + "\t" + i.resp_state + "\t" + (names === "" ? "(empty)" : names) + "\t" +
    (i.http === undefined ? UNSET : String(i.http.requests)) + "\t" + (i.http === undefined ? UNSET : String(i.http.responses));
}

const TAB = 0x09;
const DASH = 0x2d;
const T_TCP = ascii("\ttcp\t");

export class ZeekFormatter implements Formatter {
  readonly #now: () => Date;
  readonly #r: RecordReader;
  readonly #seed: number;
  readonly #connState: Uint8Array[];
  readonly #endReason: Uint8Array[];
  readonly #tunnel: (Uint8Array | undefined)[];

  /** @param now clock for #open/#close (tests pass a fixed one). */
  readonly #insight: InsightReader;
  readonly #ctx: InsightContext | undefined;

  constructor(layout: Layout, communityIdSeed = 0, now: () => Date = () => new Date(), insight?: InsightContext) {
    this.#insight = new InsightReader(layout);
    this.#ctx = insight;
    this.#now = now;
    this.#r = new RecordReader(layout);
    this.#seed = communityIdSeed;
    this.#connState = this.#r.connStateNames.map(ascii);
    this.#endReason = this.#r.endReasonNames.map(ascii);
    this.#tunnel = this.#r.tunnelNames.map((n) => (n === undefined ? undefined : ascii(n)));
  }

  begin(out: AsciiWriter): void {
    const header =
      "#separator \\x09\n" +
      "#set_separator\t,\n" +
      "#empty_field\t(empty)\n" +
      "#unset_field\t-\n" +
      "#path\tconn\n" +
      `#open\t${zeekLogTime(this.#now())}\n` +
      `#fields\t${COLUMNS.map(([name]) => name).join("\t")}\n` +
      `#types\t${COLUMNS.map(([, type]) => type).join("\t")}\n`;
    out.reserve(header.length);
    out.ascii(header);
  }

  /** One row, byte-identical to `zeekRow(decode(record)) + "\n"`. */
  record(v: MemoryViews, p: number, out: AsciiWriter): void {
    const r = this.#r;
    const u8 = v.u8;
    out.reserve(MAX_FLOW_BYTES);
    const tsUs = r.tsUs(v, p);
    const origAddr = p + r.origAddr;
    const respAddr = p + r.respAddr;
    const origPort = r.origPort(v, p);
    const respPort = r.respPort(v, p);
    const vlanWord = r.vlanWord(v, p);
    const orig = p + r.orig;
    const resp = p + r.resp;
    const buf = out.buf;

    out.fixed6(tsUs);
    buf[out.pos++] = TAB;
    out.pos = writeFlowUid(v.u32, origAddr >>> 2, respAddr >>> 2, origPort, respPort, vlanWord, tsUs, buf, out.pos);
    buf[out.pos++] = TAB;
    out.address(u8, origAddr);
    buf[out.pos++] = TAB;
    out.uint(origPort);
    buf[out.pos++] = TAB;
    out.address(u8, respAddr);
    buf[out.pos++] = TAB;
    out.uint(respPort);
    out.bytes(T_TCP);
    const durationUs = r.lastUs(v, p) - tsUs;
    if (durationUs > 0) {
      out.fixed6(durationUs);
      buf[out.pos++] = TAB;
      out.uint(r.bytes(v, orig));
      buf[out.pos++] = TAB;
      out.uint(r.bytes(v, resp));
    } else {
      buf[out.pos++] = DASH;
      buf[out.pos++] = TAB;
      buf[out.pos++] = DASH;
      buf[out.pos++] = TAB;
      buf[out.pos++] = DASH;
    }
    buf[out.pos++] = TAB;
    out.bytes(this.#connState[r.connState(v, p)]);
    buf[out.pos++] = TAB;
    out.uint(r.missed(v, orig) + r.missed(v, resp));
    buf[out.pos++] = TAB;
    const histLen = r.historyLength(v, p);
    if (histLen > 0) {
      const h = p + r.historyAt;
      for (let i = 0; i < histLen; i++) buf[out.pos++] = HISTORY_BYTE[u8[h + i]];
    } else {
      buf[out.pos++] = DASH;
    }
    buf[out.pos++] = TAB;
    out.uint(r.pkts(v, orig));
    buf[out.pos++] = TAB;
    out.uint(r.ipBytes(v, orig));
    buf[out.pos++] = TAB;
    out.uint(r.pkts(v, resp));
    buf[out.pos++] = TAB;
    out.uint(r.ipBytes(v, resp));
    buf[out.pos++] = TAB;
    out.pos = writeCommunityId(u8, origAddr, origPort, respAddr, respPort, PROTO_TCP, this.#seed, buf, out.pos);
    buf[out.pos++] = TAB;
    const rttUs = r.rttUs(v, p);
    if (rttUs >= 0) out.fixed6(rttUs);
    else buf[out.pos++] = DASH;
    buf[out.pos++] = TAB;
    this.#tcpOptions(v, orig, out);
    buf[out.pos++] = TAB;
    this.#tcpOptions(v, resp, out);
    buf[out.pos++] = TAB;
    const outerVlan = vlanWord & 0xfff;
    const innerVlan = (vlanWord >>> 12) & 0xfff;
    if (outerVlan !== 0) out.uint(outerVlan);
    else buf[out.pos++] = DASH;
    buf[out.pos++] = TAB;
    if (innerVlan !== 0) out.uint(innerVlan);
    else buf[out.pos++] = DASH;
    buf[out.pos++] = TAB;
    const tunnel = this.#tunnel[r.tunnel(v, p)];
    if (tunnel !== undefined) out.bytes(tunnel);
    else buf[out.pos++] = DASH;
    buf[out.pos++] = TAB;
    out.bytes(this.#endReason[r.endReason(v, p)]);
    const ins = insightTsv(this.#insight.read(v, p, this.#ctx));
    out.reserve(ins.length + 1);
    out.ascii(ins);
    out.buf[out.pos++] = 0x0a;
  }

  #tcpOptions(v: MemoryViews, ep: number, out: AsciiWriter): void {
    const r = this.#r;
    const buf = out.buf;
    const mss = r.mss(v, ep);
    if (mss !== 0) out.uint(mss);
    else buf[out.pos++] = DASH;
    buf[out.pos++] = TAB;
    const wscale = r.wscale(v, ep);
    if (wscale !== 0xff) out.uint(wscale);
    else buf[out.pos++] = DASH;
    buf[out.pos++] = TAB;
    buf[out.pos++] = r.sackPermitted(v, ep) ? 0x54 : 0x46; // T / F
    buf[out.pos++] = TAB;
    buf[out.pos++] = r.timestamps(v, ep) ? 0x54 : 0x46;
  }

  end(_summary: RunSummary, out: AsciiWriter): void {
    const close = `#close\t${zeekLogTime(this.#now())}\n`;
    out.reserve(close.length);
    out.ascii(close);
  }
}
