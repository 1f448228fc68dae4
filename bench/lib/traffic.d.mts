// Types for bench/lib/traffic.mjs (plain JavaScript so that benchmarks run without a build step).

export const GENERATOR_VERSION: number;

export interface GeneratorOptions {
  out: string;
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
  pps?: number;
  /** false: do not write `${out}.json` */
  sidecar?: boolean;
}

export const DEFAULTS: Readonly<Required<Omit<GeneratorOptions, "out" | "sidecar">>>;

export interface Sidecar {
  generator: string;
  version: number;
  params: Required<Omit<GeneratorOptions, "out" | "sidecar">>;
  totals: {
    connections: number;
    segments: number;
    bytes: number;
    ipv4Connections: number;
    ipv6Connections: number;
    vlanConnections: number;
    teardown: { finOrig: number; finResp: number; rstOrig: number; rstResp: number };
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
  expectedConnState: { SF: number; RSTO: number; RSTR: number };
}

export function generateCapture(options: GeneratorOptions): Sidecar;
