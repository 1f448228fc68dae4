// The summary both reference contenders print (bench/ref/js-map.mjs, bench/ref/js-typed.mjs).
export interface RefSummary {
  impl: "js-map" | "js-typed";
  format: "pcap" | "pcapng";
  flows: number;
  packets: number;
  tcpSegments: number;
  skipped: number;
  ipBytes: number;
  payloadBytes: number;
  synSegments: number;
  finSegments: number;
  rstSegments: number;
  finClosedFlows: number;
  rstFlows: number;
}

export function newSummary(
  impl: RefSummary["impl"],
  info: { format: RefSummary["format"]; packets: number },
  flows: number,
  skipped: number,
): RefSummary;

export function runAsScript(moduleUrl: string, script: string, analyze: (path: string) => object): void;
