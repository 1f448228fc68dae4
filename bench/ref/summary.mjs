/**
 * What the two reference contenders (bench/ref/js-map.mjs, bench/ref/js-typed.mjs) share outside
 * their hot loops: the summary they print (fields in summary.d.mts) and their command line.
 *
 * @module
 */
import { pathToFileURL } from "node:url";

/**
 * A summary with the capture walk's totals and every per-flow sum at 0, for the contender to add
 * its flows to.
 * @param {"js-map" | "js-typed"} impl
 * @param {{ format: "pcap" | "pcapng", packets: number }} info what walkCapture returned
 * @param {number} flows
 * @param {number} skipped
 */
export function newSummary(impl, info, flows, skipped) {
  return {
    impl,
    format: info.format,
    flows,
    packets: info.packets,
    tcpSegments: 0,
    skipped,
    ipBytes: 0,
    payloadBytes: 0,
    synSegments: 0,
    finSegments: 0,
    rstSegments: 0,
    finClosedFlows: 0,
    rstFlows: 0,
  };
}

/**
 * When `moduleUrl` is the script node was started with: analyzes the capture named by the first
 * argument and prints its summary, with elapsedMs, as one JSON line (usage error: exit 2).
 * @param {string} moduleUrl the contender's import.meta.url
 * @param {string} script its path for the usage line
 * @param {(path: string) => object} analyze
 */
export function runAsScript(moduleUrl, script, analyze) {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  const path = process.argv[2];
  if (!path) {
    console.error(`usage: node ${script} <capture.pcap|.pcapng>`);
    process.exit(2);
  }
  const t0 = process.hrtime.bigint();
  const s = analyze(path);
  console.log(JSON.stringify({ ...s, elapsedMs: Number(process.hrtime.bigint() - t0) / 1e6 }));
}
