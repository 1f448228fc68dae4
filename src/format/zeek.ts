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
import { fixed6, type Formatter, type RunSummary } from "./formatter.js";

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
    f.end_reason
  );
}

export class ZeekFormatter implements Formatter {
  readonly #now: () => Date;

  /** @param now clock for #open/#close (tests pass a fixed one). */
  constructor(now: () => Date = () => new Date()) {
    this.#now = now;
  }

  begin(): string {
    return (
      "#separator \\x09\n" +
      "#set_separator\t,\n" +
      "#empty_field\t(empty)\n" +
      "#unset_field\t-\n" +
      "#path\tconn\n" +
      `#open\t${zeekLogTime(this.#now())}\n` +
      `#fields\t${COLUMNS.map(([name]) => name).join("\t")}\n` +
      `#types\t${COLUMNS.map(([, type]) => type).join("\t")}\n`
    );
  }

  flow(flow: Flow): string {
    return zeekRow(flow) + "\n";
  }

  end(_summary: RunSummary): string {
    return `#close\t${zeekLogTime(this.#now())}\n`;
  }
}
