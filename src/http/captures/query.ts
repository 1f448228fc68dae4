/**
 * @module
 * `GET /v1/captures/{id}/flows` query: the filters of /v1/analyze (conn_state, anomaly) plus host,
 * port and a time range, a sort order and a page. Unknown names and bad values get 400, as on
 * the other routes.
 */

import type { Flow } from "../../flow.js";
import { ApiError } from "../errors.js";
import { DEFAULT_PAGE, MAX_PAGE, parseFilter, type FlowFilter } from "../params.js";

/** Fields a flow list can be sorted by. */
export const SORT_FIELDS = [
  "ts",
  "duration",
  "orig_bytes",
  "resp_bytes",
  "orig_pkts",
  "resp_pkts",
  "orig_ip_bytes",
  "resp_ip_bytes",
  "conn_state",
  "id.orig_h",
  "id.orig_p",
  "id.resp_h",
  "id.resp_p",
  "missed_bytes",
] as const;

export const FLOW_QUERY_PARAMS = [
  "conn_state",
  "anomaly",
  "host",
  "port",
  "from",
  "to",
  "sort",
  "offset",
  "limit",
] as const;

export interface FlowQuery {
  filter: FlowFilter;
  host?: string;
  port?: number;
  from?: number;
  to?: number;
  sort: { field: (typeof SORT_FIELDS)[number]; desc: boolean };
  offset: number;
  limit: number;
}

function bad(name: string, expected: string, text: string): ApiError {
  return new ApiError(400, "invalid_parameter", `query parameter ${name} must be ${expected}, got '${text}'`, {
    details: { parameter: name },
  });
}

function int(text: string, name: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw bad(name, `an integer from ${min} to ${max}`, text);
  return n;
}

function seconds(text: string, name: string): number {
  const n = Number(text);
  if (text === "" || !Number.isFinite(n)) throw bad(name, "a time in seconds since the epoch", text);
  return n;
}

export function flowQuery(query: Record<string, string>): FlowQuery {
  for (const name of Object.keys(query)) {
    if (!(FLOW_QUERY_PARAMS as readonly string[]).includes(name)) {
      throw new ApiError(
        400,
        "unknown_parameter",
        `unknown query parameter '${name}' (known: ${FLOW_QUERY_PARAMS.join(", ")})`,
        { details: { parameter: name } },
      );
    }
  }
  const q: FlowQuery = {
    filter: parseFilter(query),
    sort: { field: "ts", desc: false },
    offset: query.offset === undefined ? 0 : int(query.offset, "offset", 0, Number.MAX_SAFE_INTEGER),
    limit: query.limit === undefined ? DEFAULT_PAGE : int(query.limit, "limit", 1, MAX_PAGE),
  };
  if (query.host !== undefined) {
    if (query.host === "") throw bad("host", "an IP address", query.host);
    q.host = query.host;
  }
  if (query.port !== undefined) q.port = int(query.port, "port", 0, 65535);
  if (query.from !== undefined) q.from = seconds(query.from, "from");
  if (query.to !== undefined) q.to = seconds(query.to, "to");
  if (query.sort !== undefined) {
    const desc = query.sort.startsWith("-");
    const field = desc ? query.sort.slice(1) : query.sort;
    if (!(SORT_FIELDS as readonly string[]).includes(field))
      throw bad("sort", `one of ${SORT_FIELDS.join(", ")}, with - for descending`, query.sort);
    q.sort = { field: field as FlowQuery["sort"]["field"], desc };
  }
  return q;
}

/** Does the flow pass the query's filters? A flow overlaps [from, to] when it was active in it. */
export function matches(f: Flow, q: FlowQuery): boolean {
  const { connStates, anomalies } = q.filter;
  if (connStates !== null && !connStates.has(f.conn_state)) return false;
  if (
    anomalies !== null &&
    !(anomalies.has("any") ? f.anomalies.length > 0 : f.anomalies.some((a) => anomalies.has(a.type)))
  )
    return false;
  if (q.host !== undefined && f["id.orig_h"] !== q.host && f["id.resp_h"] !== q.host) return false;
  if (q.port !== undefined && f["id.orig_p"] !== q.port && f["id.resp_p"] !== q.port) return false;
  if (q.from !== undefined && f.ts + (f.duration ?? 0) < q.from) return false;
  if (q.to !== undefined && f.ts > q.to) return false;
  return true;
}

/** Sorts in place by the query's field; missing values (a duration of a one-packet flow) sort first. */
export function sortFlows(flows: Flow[], q: FlowQuery): Flow[] {
  const { field, desc } = q.sort;
  const sign = desc ? -1 : 1;
  return flows.sort((a, b) => {
    const x = (a as unknown as Record<string, number | string | undefined>)[field],
      y = (b as unknown as Record<string, number | string | undefined>)[field];
    if (x === y) return a.ts - b.ts;
    if (x === undefined) return -sign;
    if (y === undefined) return sign;
    return (x < y ? -1 : 1) * sign;
  });
}
