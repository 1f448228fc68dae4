#!/usr/bin/env node
/**
 * Deterministic traffic generator CLI. Writes a capture plus a `<out>.json` sidecar with the
 * parameters and the totals a flow tracker should reproduce (connections, segments, conn states).
 *
 *   node bench/gen.mjs --out bench/out/cap.pcap --segments 5000000 --concurrent 100000 --snaplen 96
 *
 * See bench/README.md for every option.
 * @module
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { parseCommandLine, usageError } from "./lib/cli-args.mjs";
import { ANOMALY_KINDS, DEFAULTS, generateCapture } from "./lib/traffic.mjs";

const USAGE = `usage: node bench/gen.mjs --out FILE [options]
  --seed N            PRNG seed (default ${DEFAULTS.seed}); same seed and options -> identical bytes
  --segments N        exact number of TCP segments (records) (default ${DEFAULTS.segments})
  --concurrent N      connections live at once (default ${DEFAULTS.concurrent})
  --snaplen N         bytes kept per record; 96 = headers only (default ${DEFAULTS.snaplen}, full packets)
  --format F          pcap | pcapng (default ${DEFAULTS.format}); --pcapng is short for --format pcapng
  --ipv6-share X      share of connections over IPv6 (default ${DEFAULTS.ipv6Share})
  --vlan-share X      share of connections with an 802.1Q tag (default ${DEFAULTS.vlanShare})
  --payload N         mean payload bytes per data segment, 1..1440 (default ${DEFAULTS.payload})
  --conn-segments N   mean segments per connection (default ${DEFAULTS.connSegments})
  --rst-share X       share of connections ended by RST instead of FIN (default ${DEFAULTS.rstShare})
  --anomaly-share X   share of connections with one injected anomaly (default ${DEFAULTS.anomalyShare})
  --anomalies LIST    comma-separated kinds to inject, uniformly (default: all of
                      ${ANOMALY_KINDS.join(", ")})
  --mode M            mixed (default) | synflood: --segments bare SYNs from distinct sources, no replies
  --truth [FILE]      write the ground truth per connection as NDJSON (default FILE: <out>.truth.ndjson)
  --pps N             simulated packet rate, sets the timestamp spacing (default ${DEFAULTS.pps})
  --quiet             print only the sidecar path`;

function num(v, name) {
  if (v === undefined) return undefined;
  const n = Number(v.replace(/_/g, ""));
  if (!Number.isFinite(n)) throw new Error(`--${name}: not a number: ${v}`);
  return n;
}

function main() {
  // "--truth" without a value means the default path; parseArgs needs a value for string options.
  const argv = process.argv.slice(2);
  const ti = argv.indexOf("--truth");
  if (ti >= 0 && (ti + 1 >= argv.length || argv[ti + 1].startsWith("--"))) argv.splice(ti, 1, "--truth-default");
  const { values } = parseCommandLine(USAGE, {
    args: argv,
    options: {
      out: { type: "string" },
      seed: { type: "string" },
      segments: { type: "string" },
      concurrent: { type: "string" },
      snaplen: { type: "string" },
      format: { type: "string" },
      pcapng: { type: "boolean" },
      "ipv6-share": { type: "string" },
      "vlan-share": { type: "string" },
      payload: { type: "string" },
      "conn-segments": { type: "string" },
      "rst-share": { type: "string" },
      pps: { type: "string" },
      "anomaly-share": { type: "string" },
      anomalies: { type: "string" },
      mode: { type: "string" },
      truth: { type: "string" },
      "truth-default": { type: "boolean" },
      quiet: { type: "boolean" },
    },
  });
  if (!values.out) usageError(USAGE, "--out is needed");
  mkdirSync(dirname(values.out), { recursive: true });
  const t0 = process.hrtime.bigint();
  const side = generateCapture({
    out: values.out,
    seed: num(values.seed, "seed"),
    segments: num(values.segments, "segments"),
    concurrent: num(values.concurrent, "concurrent"),
    snaplen: num(values.snaplen, "snaplen"),
    format: /** @type {"pcap" | "pcapng" | undefined} */ (values.pcapng ? "pcapng" : values.format),
    ipv6Share: num(values["ipv6-share"], "ipv6-share"),
    vlanShare: num(values["vlan-share"], "vlan-share"),
    payload: num(values.payload, "payload"),
    connSegments: num(values["conn-segments"], "conn-segments"),
    rstShare: num(values["rst-share"], "rst-share"),
    pps: num(values.pps, "pps"),
    anomalyShare: num(values["anomaly-share"], "anomaly-share"),
    // generateCapture checks each name against the kinds it knows
    anomalies: /** @type {any} */ (
      values.anomalies === undefined ? undefined : values.anomalies.split(",").filter(Boolean)
    ),
    mode: /** @type {"mixed" | "synflood" | undefined} */ (values.mode),
    truth: values.truth ?? (values["truth-default"] ? `${values.out}.truth.ndjson` : undefined),
  });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const tt = side.totals;
  if (!values.quiet) {
    console.log(
      `wrote ${values.out}: ${tt.segments} segments, ${tt.connections} connections ` +
        `(${tt.maxConcurrent} concurrent; ${tt.ipv6Connections} IPv6, ${tt.vlanConnections} VLAN; ` +
        `${tt.teardown.finOrig + tt.teardown.finResp} FIN / ${tt.teardown.rstOrig + tt.teardown.rstResp} RST; ` +
        `${Object.values(tt.anomalies).reduce((a, b) => a + b, 0)} with an injected anomaly), ` +
        `${tt.bytes} bytes (${(tt.bytes / 1e6).toFixed(1)} MB), ${tt.durationS.toFixed(3)} s of traffic`,
    );
    console.log(
      `generated in ${s.toFixed(2)} s: ${(tt.segments / s / 1e6).toFixed(2)} M segments/s, ${(tt.bytes / 1e6 / s).toFixed(0)} MB/s`,
    );
  }
  console.log(`expected conn_state ${JSON.stringify(side.expectedConnState)}`);
  console.log(`sidecar ${values.out}.json`);
  if (values.truth || values["truth-default"]) console.log(`truth ${values.truth ?? `${values.out}.truth.ndjson`}`);
}

try {
  main();
} catch (e) {
  console.error(`gen: ${/** @type {Error} */ (e).message}`);
  process.exit(1);
}
