// flowrecon extract: the packets of one connection (or of every connection with an anomaly) as a
// pcap file. Read back by flowrecon it gives the same flow; read back by tshark, the same packets
// (times, addresses, numbers, flags, lengths) as the original capture's frames.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli.js";
import { analyzeFile } from "../../src/analyze.js";
import type { Flow } from "../../src/flow.js";
import type { ReconstructorOptions } from "../../src/reconstructor.js";
import { traceFlow } from "../../src/trace/trace.js";
import { corpusDir } from "../golden/corpus.js";

const KERNEL = resolve(import.meta.dirname, "../fixtures/kernel");
const tmp = mkdtempSync(join(tmpdir(), "flowrecon-extract-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; err: string }> {
  const stdout = new PassThrough(),
    stderr = new PassThrough();
  let err = "";
  stderr.on("data", (d) => (err += d));
  stdout.resume();
  const code = await main(argv, stdout, stderr);
  return { code, err };
}

async function flowsOf(path: string, options: ReconstructorOptions = {}): Promise<Flow[]> {
  const flows: Flow[] = [];
  await analyzeFile(path, options, (f) => void flows.push(f));
  return flows;
}

/** tshark's view of some frames: time (ns), endpoints, raw numbers, flags, lengths. */
function packets(path: string, frames?: number[]): string[] {
  const out = execFileSync(
    "tshark",
    [
      "-r",
      path,
      "-n",
      "-o",
      "tcp.relative_sequence_numbers:FALSE",
      "-T",
      "fields",
      "-E",
      "occurrence=l",
      "-e",
      "frame.number",
      "-e",
      "frame.time_epoch",
      "-e",
      "frame.len",
      "-e",
      "frame.cap_len",
      "-e",
      "ip.src",
      "-e",
      "ipv6.src",
      "-e",
      "tcp.srcport",
      "-e",
      "tcp.dstport",
      "-e",
      "tcp.seq_raw",
      "-e",
      "tcp.ack_raw",
      "-e",
      "tcp.flags",
      "-e",
      "tcp.len",
      "-e",
      "tcp.window_size_value",
    ],
    { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
  );
  const rows = out
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split("\t"));
  const wanted = frames === undefined ? rows : rows.filter((r) => frames.includes(Number(r[0])));
  return wanted.map((r) => r.slice(1).join(" "));
}

/** The fields of a flow that do not depend on what else the capture holds. */
const OWN = [
  "ts",
  "uid",
  "conn_state",
  "history",
  "orig_pkts",
  "resp_pkts",
  "orig_ip_bytes",
  "resp_ip_bytes",
  "orig_bytes",
  "resp_bytes",
  "duration",
  "community_id",
  "missed_bytes",
] as const satisfies readonly (keyof Flow)[];

function own(f: Flow): Partial<Flow> {
  return Object.fromEntries(OWN.map((k) => [k, f[k]]));
}

describe("flowrecon extract --uid", () => {
  it.each([
    ["kernel normal close", join(KERNEL, "normal-close-client-first.pcap"), 0, {}],
    ["kernel port reuse, second connection", join(KERNEL, "port-reuse.pcap"), 1, {}],
    ["Zeek corpus, several connections (pcapng)", join(corpusDir(), "tcp-retransmit-timeout.pcapng"), 0, {}],
    ["Zeek corpus, connection in the middle of others", join(corpusDir(), "ssh-half-duplex-client.pcap"), 7, {}],
  ] as const)("%s", async (_name, path, index, options) => {
    const flow = (await flowsOf(path, options))[index];
    const out = join(tmp, `${flow.uid}.pcap`);
    const { code, err } = await run("extract", path, "--uid", flow.uid, "-w", out);
    expect(code, err).toBe(0);
    expect(err).toContain(`wrote ${flow.orig_pkts + flow.resp_pkts}`);
    // flowrecon reads the same connection back.
    const back = await flowsOf(out, options);
    expect(back.length).toBe(1);
    expect(own(back[0])).toEqual(own(flow));
    // tshark sees the same packets as in the original, times included.
    const frames: number[] = [];
    traceFlow(path, flow, (e) => frames.push(e.frame), options);
    expect(packets(out)).toEqual(packets(path, frames));
  });

  it("the end states match too when the capture ends with the connection", async () => {
    const path = join(KERNEL, "fin-wait-2-close-wait.pcap");
    const [flow] = await flowsOf(path);
    const out = join(tmp, "fw2.pcap");
    expect((await run("extract", path, "--uid", flow.uid, "-w", out)).code).toBe(0);
    const [back] = await flowsOf(out);
    expect([back.orig_state, back.resp_state, back.anomalies.map((a) => a.type)]).toEqual([
      flow.orig_state,
      flow.resp_state,
      flow.anomalies.map((a) => a.type),
    ]);
  });

  it("keeps the pcap time precision of the input (microseconds) byte for byte", async () => {
    const path = join(KERNEL, "refused.pcap");
    const [flow] = await flowsOf(path);
    const out = join(tmp, "refused.pcap");
    expect((await run("extract", path, "--uid", flow.uid, "-w", out)).code).toBe(0);
    // The whole capture is this one connection: the extract is the same records.
    expect(readFileSync(out).subarray(24)).toEqual(readFileSync(path).subarray(24));
  });
});

// The connection key and Zeek's timers decide which connection a segment belongs to: extract takes
// them as analyze does, and writes the packets of the connection analyze printed with them.
describe("extract takes analyze's connection key and timers", () => {
  it.each([
    [
      "--close-timeout 0: the first connection without the ACK after its close",
      join(KERNEL, "port-reuse.pcap"),
      ["--close-timeout", "0"],
      { closeTimeout: 0 },
    ],
    [
      "--vlan-key: one VLAN's half of a router-on-a-stick connection",
      resolve(import.meta.dirname, "../fixtures/pcap/router-on-a-stick.pcap"),
      ["--vlan-key"],
      { vlanInKey: true },
    ],
  ] as const)("%s", async (_name, path, argv, options) => {
    const plain = await flowsOf(path);
    const flow = (await flowsOf(path, options))[0];
    const other = plain.find((f) => f.uid === flow.uid);
    // The option makes a different connection: fewer packets, or a uid the plain run does not have.
    if (other !== undefined) expect(other.orig_pkts + other.resp_pkts).toBeGreaterThan(flow.orig_pkts + flow.resp_pkts);
    const out = join(tmp, `option-${flow.uid}.pcap`);
    const { code, err } = await run("extract", path, "--uid", flow.uid, ...argv, "-w", out);
    expect(code, err).toBe(0);
    expect(err).toContain(`wrote ${flow.orig_pkts + flow.resp_pkts} packets`);
    const back = await flowsOf(out, options);
    expect(back.map(own)).toEqual([own(flow)]);
  });
});

describe("flowrecon extract --anomaly", () => {
  it("writes the packets of every connection with the anomaly, and only those", async () => {
    const path = join(KERNEL, "combined.pcap");
    const flows = await flowsOf(path);
    const wanted = flows.filter((f) => f.anomalies.some((a) => a.type === "reset"));
    expect(wanted.length).toBeGreaterThan(0);
    expect(wanted.length).toBeLessThan(flows.length);
    const out = join(tmp, "resets.pcap");
    const { code, err } = await run("extract", path, "--anomaly", "reset", "-w", out);
    expect(code, err).toBe(0);
    const back = await flowsOf(out);
    expect(back.map((f) => f.uid).sort()).toEqual(wanted.map((f) => f.uid).sort());
    expect(back.map((f) => f.history).sort()).toEqual(wanted.map((f) => f.history).sort());
  });

  it("no connection with it is an input error", async () => {
    const { code, err } = await run(
      "extract",
      join(KERNEL, "normal-close-client-first.pcap"),
      "--anomaly",
      "reset",
      "-w",
      join(tmp, "none.pcap"),
    );
    expect(code).toBe(1);
    expect(err).toContain("no connection in");
  });
});
