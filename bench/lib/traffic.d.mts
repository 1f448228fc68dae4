// Types for bench/lib/traffic.mjs (plain JavaScript so that benchmarks run without a build step).

export const GENERATOR_VERSION: number;

export type AnomalyKind =
  | "syn_unanswered"
  | "refused"
  | "handshake_incomplete"
  | "peer_vanished"
  | "fin_wait_2"
  | "retransmission"
  | "zero_window";

export const ANOMALY_KINDS: readonly AnomalyKind[];
export const ANOMALY_SHAPES: Readonly<Record<AnomalyKind, string>>;

export interface GeneratorOptions {
  out: string;
  mode?: "mixed" | "synflood";
  seed?: number;
  segments?: number;
  concurrent?: number;
  snaplen?: number;
  format?: "pcap" | "pcapng";
  ipv6Share?: number;
  vlanShare?: number;
  payload?: number;
  connSegments?: number;
  rstShare?: number;
  anomalyShare?: number;
  anomalies?: readonly AnomalyKind[];
  pps?: number;
  /** false: do not write `${out}.json` */
  sidecar?: boolean;
  /** write the ground truth as NDJSON to this path */
  truth?: string;
  /** receive each ground-truth entry (in the order connections end) */
  onTruth?: (entry: TruthEntry) => void;
}

type Params = Required<Omit<GeneratorOptions, "out" | "sidecar" | "truth" | "onTruth">>;

export const DEFAULTS: Readonly<Params>;

export type Side = "orig" | "resp";
export type EndpointState =
  | "SYN_SENT"
  | "SYN_RECEIVED"
  | "ESTABLISHED"
  | "FIN_WAIT_1"
  | "FIN_WAIT_2"
  | "CLOSE_WAIT"
  | "CLOSING"
  | "LAST_ACK"
  | "TIME_WAIT"
  | "CLOSED"
  | "UNKNOWN";

/** One connection's ground truth. */
export interface TruthEntry {
  id: number;
  "id.orig_h": string;
  "id.orig_p": number;
  "id.resp_h": string;
  "id.resp_p": number;
  /** 802.1Q VLAN id, 0 when untagged */
  vlan: number;
  ip: 4 | 6;
  kind: "regular" | AnomalyKind;
  teardown: "fin_orig" | "fin_resp" | "rst_orig" | "rst_resp" | null;
  conn_state: string;
  orig_state: EndpointState;
  resp_state: EndpointState;
  /** injected anomalies: each must be reported */
  anomalies: { type: string; side: Side }[];
  /** anomalies the capture shape may add (a content gap where the snaplen cut the payload) */
  allowed: { type: string; side: Side }[];
  pkts: number;
}

export interface Sidecar {
  generator: string;
  version: number;
  params: Omit<Params, "anomalies"> & { anomalies: AnomalyKind[] };
  totals: {
    connections: number;
    segments: number;
    bytes: number;
    ipv4Connections: number;
    ipv6Connections: number;
    vlanConnections: number;
    teardown: { finOrig: number; finResp: number; rstOrig: number; rstResp: number };
    anomalies: Record<AnomalyKind, number>;
    dataSegments: number;
    pureAcks: number;
    synSegments: number;
    finSegments: number;
    rstSegments: number;
    origPayloadBytes: number;
    respPayloadBytes: number;
    ipv4Segments: number;
    ipv6Segments: number;
    vlanSegments: number;
    truncatedRecords: number;
    maxConcurrent: number;
    firstTs: number;
    lastTs: number;
    durationS: number;
  };
  /** connections per expected conn_state */
  expectedConnState: Record<string, number>;
  /** connections per expected anomaly type */
  expectedAnomalies: Record<string, number>;
}

export function generateCapture(options: GeneratorOptions): Sidecar;
export function formatIPv4(n: number): string;
export function formatIPv6(groups: readonly number[]): string;
