/**
 * @module
 * Query parameters: engine options (snake_case names of {@link ReconstructorOptions}), flow
 * filters and paging. Unknown parameters are a 400, so a misspelt option never silently does nothing.
 */

import type { ReconstructorOptions } from "../reconstructor.js";
import { ApiError } from "./errors.js";
import { ANOMALY_NAMES } from "../anomalies/index.js";
import { parseServerPorts } from "../net/server-ports.js";
import { LocalNets, LocalNetsError } from "../net/local-nets.js";
import { isJsonStyle, JSON_STYLES, type JsonStyle } from "../format/engine-lines.js";

type Parser = (text: string, name: string) => unknown;

function bad(name: string, expected: string, text: string): ApiError {
  return new ApiError(400, "invalid_parameter", `query parameter ${name} must be ${expected}, got '${text}'`, {
    details: { parameter: name },
  });
}

const bool: Parser = (text, name) => {
  if (text === "" || text === "true" || text === "1") return true;
  if (text === "false" || text === "0") return false;
  throw bad(name, "true or false", text);
};

const seconds: Parser = (text, name) => {
  const n = Number(text);
  if (text === "" || !Number.isFinite(n) || n < 0) throw bad(name, "a number of seconds >= 0", text);
  return n;
};

function integer(min: number, max: number): Parser {
  return (text, name) => {
    const n = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max)
      throw bad(name, `a whole number in [${min}, ${max}]`, text);
    return n;
  };
}

const ports: Parser = (text, name) => {
  const value = parseServerPorts(text);
  if (value === null) throw bad(name, "default, none, or a comma-separated list of ports", text);
  return value;
};

const localNets: Parser = (text, name) => {
  try {
    new LocalNets(text);
  } catch (e) {
    if (e instanceof LocalNetsError) throw bad(name, "comma-separated CIDR networks", e.message);
    throw e;
  }
  return text;
};

/** Query name -> Reconstructor option, with its parser. Documented in openapi.ts (same table). */
export const OPTION_PARAMETERS: readonly [
  query: string,
  option: keyof ReconstructorOptions,
  parse: Parser,
  doc: string,
][] = [
  ["ignore_checksums", "ignoreChecksums", bool, "Do not validate TCP/IPv4 checksums (zeek -C). Default false."],
  [
    "vlan_in_key",
    "vlanInKey",
    bool,
    "Make the VLAN ids part of the connection key (Zeek's vlan_fivetuple). Default false: the plain 5-tuple, Zeek's default.",
  ],
  [
    "flow_cap",
    "flowCap",
    integer(1, 4_000_000),
    "Live connections kept before the least recently active one is evicted.",
  ],
  ["attempt_timeout", "attemptTimeout", seconds, "Seconds an unanswered SYN waits (Zeek tcp_attempt_delay, 5)."],
  ["close_timeout", "closeTimeout", seconds, "Seconds a closed connection lingers (Zeek tcp_close_delay, 5)."],
  [
    "inactivity_timeout",
    "inactivityTimeout",
    seconds,
    "Seconds without packets before a flow is reported (Zeek tcp_inactivity_timeout, 300).",
  ],
  [
    "interactive_inactivity_timeout",
    "interactiveInactivityTimeout",
    seconds,
    "Inactivity timeout for ports 21, 22, 23, 513 (3600).",
  ],
  [
    "handshake_inactivity_timeout",
    "handshakeInactivityTimeout",
    seconds,
    "Inactivity timeout during the handshake (60).",
  ],
  [
    "report_gaps_for_partial",
    "reportGapsForPartial",
    bool,
    "Count content gaps on connections without a handshake (Zeek report_gaps_for_partial).",
  ],
  [
    "likely_server_ports",
    "likelyServerPorts",
    ports,
    "Zeek's likely_server_ports: default, none (zeek -b), or a comma-separated port list.",
  ],
  [
    "max_above_hole_without_acks",
    "maxAboveHoleWithoutAcks",
    integer(0, Number.MAX_SAFE_INTEGER),
    "Zeek tcp_max_above_hole_without_any_acks (bytes, 0 = no limit).",
  ],
  [
    "excessive_data_without_acks",
    "excessiveDataWithoutAcks",
    integer(0, Number.MAX_SAFE_INTEGER),
    "Zeek tcp_excessive_data_without_further_acks (bytes, 0 = no limit).",
  ],
  ["community_id_seed", "communityIdSeed", integer(0, 65535), "Community ID seed (default 0)."],
  [
    "local_nets",
    "localNets",
    localNets,
    "Zeek's Site::local_nets for local_orig/local_resp: CIDR networks added to the private address space; a - entry leaves the private space out.",
  ],
];

/** Zeek conn_state codes, for the conn_state filter. */
export const CONN_STATES = [
  "S0",
  "S1",
  "SF",
  "REJ",
  "S2",
  "S3",
  "RSTO",
  "RSTR",
  "RSTOS0",
  "RSTRH",
  "SH",
  "SHR",
  "OTH",
] as const;

/** Which flows a response keeps. `null` members do not filter. */
export interface FlowFilter {
  readonly connStates: ReadonlySet<string> | null;
  /** Anomaly names to match (any of them); the name `any` matches a flow with at least one anomaly. */
  readonly anomalies: ReadonlySet<string> | null;
}

export const NO_FILTER: FlowFilter = { connStates: null, anomalies: null };

function list(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

export function parseFilter(query: Record<string, string>): FlowFilter {
  let connStates: Set<string> | null = null;
  if (query.conn_state !== undefined) {
    const names = list(query.conn_state).map((s) => s.toUpperCase());
    const unknown = names.find((s) => !(CONN_STATES as readonly string[]).includes(s));
    if (unknown !== undefined || names.length === 0)
      throw bad("conn_state", `a comma-separated list of ${CONN_STATES.join(", ")}`, query.conn_state);
    connStates = new Set(names);
  }
  let anomalies: Set<string> | null = null;
  if (query.anomaly !== undefined) {
    const names = list(query.anomaly);
    if (names.length === 0) throw bad("anomaly", "a comma-separated list of anomaly names, or any", query.anomaly);
    for (const n of names) {
      if (n !== "any" && !ANOMALY_NAMES.has(n))
        throw bad("anomaly", `anomaly names (${[...ANOMALY_NAMES].join(", ")}) or any`, n);
    }
    anomalies = new Set(names);
  }
  return { connStates, anomalies };
}

function rejectUnknown(query: Record<string, string>, known: ReadonlySet<string>): void {
  for (const name of Object.keys(query)) {
    if (!known.has(name)) {
      throw new ApiError(
        400,
        "unknown_parameter",
        `unknown query parameter '${name}' (known: ${[...known].join(", ")})`,
        { details: { parameter: name } },
      );
    }
  }
}

function parseOptions(query: Record<string, string>): ReconstructorOptions {
  const options: Record<string, unknown> = {};
  for (const [name, key, parse] of OPTION_PARAMETERS) {
    const text = query[name];
    if (text !== undefined) options[key] = parse(text, name);
  }
  return options as ReconstructorOptions;
}

const OPTION_NAMES = OPTION_PARAMETERS.map(([name]) => name);
const ANALYZE_PARAMS = new Set([...OPTION_NAMES, "conn_state", "anomaly", "partial", "json_style"]);
const SESSION_PARAMS = new Set(OPTION_NAMES);
const LIST_PARAMS = new Set(["state", "conn_state", "anomaly", "offset", "limit", "json_style"]);

/** `json_style`: the JSON shape of json/ndjson answers (src/format/engine-lines.ts). */
function jsonStyle(query: Record<string, string>): JsonStyle {
  const text = query.json_style ?? "nested";
  if (!isJsonStyle(text)) throw bad("json_style", JSON_STYLES.join(" or "), text);
  return text;
}
const FINISH_PARAMS = new Set(["conn_state", "anomaly"]);

export interface AnalyzeParams {
  options: ReconstructorOptions;
  filter: FlowFilter;
  /** With a 422, also return the flows decoded before the damage. */
  partial: boolean;
  jsonStyle: JsonStyle;
}

export function analyzeParams(query: Record<string, string>): AnalyzeParams {
  rejectUnknown(query, ANALYZE_PARAMS);
  return {
    options: parseOptions(query),
    filter: parseFilter(query),
    partial: query.partial === undefined ? false : (bool(query.partial, "partial") as boolean),
    jsonStyle: jsonStyle(query),
  };
}

/** Options for a new session: query parameters, overridden by a JSON body with the same names. */
export function sessionOptions(query: Record<string, string>, body: unknown): ReconstructorOptions {
  rejectUnknown(query, SESSION_PARAMS);
  const merged: Record<string, string> = { ...query };
  if (body !== undefined && body !== null) {
    if (typeof body !== "object" || Array.isArray(body))
      throw new ApiError(400, "invalid_body", "the session body must be a JSON object of options");
    const known = new Set(OPTION_NAMES);
    for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
      if (!known.has(name))
        throw new ApiError(
          400,
          "unknown_option",
          `unknown session option '${name}' (known: ${OPTION_NAMES.join(", ")})`,
        );
      merged[name] = Array.isArray(value) ? value.join(",") : String(value);
    }
  }
  return parseOptions(merged);
}

export type FlowState = "finished" | "live";

export interface ListParams {
  filter: FlowFilter;
  states: ReadonlySet<FlowState>;
  offset: number;
  limit: number;
  jsonStyle: JsonStyle;
}

export const MAX_PAGE = 10_000;
export const DEFAULT_PAGE = 1000;

export function listParams(query: Record<string, string>): ListParams {
  rejectUnknown(query, LIST_PARAMS);
  const state = query.state ?? "all";
  if (!["all", "finished", "live"].includes(state)) throw bad("state", "finished, live or all", state);
  return {
    filter: parseFilter(query),
    states: new Set<FlowState>(state === "all" ? ["finished", "live"] : [state as FlowState]),
    offset: query.offset === undefined ? 0 : (integer(0, Number.MAX_SAFE_INTEGER)(query.offset, "offset") as number),
    limit: query.limit === undefined ? DEFAULT_PAGE : (integer(1, MAX_PAGE)(query.limit, "limit") as number),
    jsonStyle: jsonStyle(query),
  };
}

export function finishParams(query: Record<string, string>): FlowFilter {
  rejectUnknown(query, FINISH_PARAMS);
  return parseFilter(query);
}
