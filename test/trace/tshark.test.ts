// Differential test of trace events against Wireshark: for every connection of the Zeek corpus
// captures and the kernel fixtures, each traced segment is looked up in tshark's dissection by
// frame number and its fields compared (tcp.seq, tcp.ack, tcp.len, tcp.flags, tcp.window_size,
// relative sequence numbers on). Its end states must equal the flow's orig_state/resp_state.
//
// Wireshark numbers a TCP stream (tcp.stream) by 4-tuple until a new SYN; Zeek may split a 4-tuple
// into several connections (a reused port, a SYN after a RST, a record that timed out). Relative
// numbers and window scaling then depend on segments outside the connection, so where tshark's
// stream and the connection do not hold the same frames, the fields that do not depend on where
// the connection starts are compared instead: raw seq and ack, length, flags, raw window.

import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import type { ReconstructorOptions } from "../../src/reconstructor.js";
import type { Flow } from "../../src/flow.js";
import { traceEveryFlow } from "../../src/trace/trace.js";
import type { TraceEvent } from "../../src/trace/events.js";
import { caseOptions, corpusDir, loadManifest } from "../golden/corpus.js";

const FIELDS = [
  "frame.number",
  "tcp.stream",
  "tcp.seq",
  "tcp.ack",
  "tcp.len",
  "tcp.flags",
  "tcp.window_size",
  "tcp.seq_raw",
  "tcp.ack_raw",
  "tcp.window_size_value",
  "pppoe.payload_length",
  "ip.len",
  "ip.hdr_len",
  "ipv6.plen",
  "tcp.hdr_len",
] as const;
type Packet = Record<(typeof FIELDS)[number], number | undefined>;

/** tshark's per-packet TCP fields, by frame number (the innermost TCP header of tunnelled packets; Teredo on any port, as Zeek). */
function tshark(path: string): Map<number, Packet> {
  const args = [
    "-r",
    path,
    "-n",
    "--enable-heuristic",
    "teredo_udp",
    "-o",
    "tcp.relative_sequence_numbers:TRUE",
    "-T",
    "fields",
    "-E",
    "occurrence=l",
    "-Y",
    "tcp",
  ];
  for (const f of FIELDS) args.push("-e", f);
  const out = execFileSync("tshark", args, {
    encoding: "utf8",
    maxBuffer: 1 << 28,
    stdio: ["ignore", "pipe", "ignore"],
  });
  const rows = new Map<number, Packet>();
  for (const line of out.split("\n")) {
    if (line === "") continue;
    const values = line.split("\t");
    const p = {} as Packet;
    FIELDS.forEach((f, i) => {
      p[f] = values[i] === "" || values[i] === undefined ? undefined : Number(values[i]);
    });
    rows.set(p["frame.number"]!, p);
  }
  return rows;
}

/**
 * tcp.len as the engine takes it, from the IP header's lengths as Zeek does: tshark trusts PPPoE's
 * length where it disagrees (pppoe-qinq-rxmit), and gives no tcp.len when the IP total length runs
 * past the captured frame (cisco-fabricpath-syn-retx).
 */
function expectedLen(p: Packet): number | undefined {
  const fromIp =
    p["ip.len"] !== undefined
      ? p["ip.len"] - p["ip.hdr_len"]! - p["tcp.hdr_len"]!
      : p["ipv6.plen"] !== undefined
        ? p["ipv6.plen"] - p["tcp.hdr_len"]!
        : undefined;
  if (p["pppoe.payload_length"] !== undefined || p["tcp.len"] === undefined) return fromIp;
  return p["tcp.len"];
}

interface Mismatch {
  uid: string;
  frame: number;
  ours: unknown;
  tshark: unknown;
}

function compare(flow: Flow, events: TraceEvent[], rows: Map<number, Packet>, out: Mismatch[]): "full" | "raw" {
  const streams = new Set(events.map((e) => rows.get(e.frame)?.["tcp.stream"]));
  const [stream] = streams;
  const streamFrames = [...rows.values()].filter((p) => p["tcp.stream"] === stream).length;
  const full = streams.size === 1 && stream !== undefined && streamFrames === events.length;
  for (const e of events) {
    const p = rows.get(e.frame);
    if (p === undefined) {
      out.push({ uid: flow.uid, frame: e.frame, ours: e, tshark: "no TCP segment in this frame" });
      continue;
    }
    const hasAck = (e.flags & 0x10) !== 0;
    const ours = full
      ? { seq: e.seq, ack: hasAck ? e.ack : undefined, len: e.len, flags: e.flags, win: e.win }
      : { seq: e.raw_seq, ack: hasAck ? e.raw_ack : undefined, len: e.len, flags: e.flags, win: e.raw_win };
    const theirs = full
      ? {
          seq: p["tcp.seq"],
          ack: hasAck ? p["tcp.ack"] : undefined,
          len: expectedLen(p),
          flags: p["tcp.flags"]! & 0xff,
          win: p["tcp.window_size"],
        }
      : {
          seq: p["tcp.seq_raw"],
          ack: hasAck ? p["tcp.ack_raw"] : undefined,
          len: expectedLen(p),
          flags: p["tcp.flags"]! & 0xff,
          win: p["tcp.window_size_value"],
        };
    if (JSON.stringify(ours) !== JSON.stringify(theirs))
      out.push({ uid: flow.uid, frame: e.frame, ours, tshark: theirs });
  }
  return full ? "full" : "raw";
}

interface Capture {
  name: string;
  path: string;
  options: ReconstructorOptions;
}

const captures: Capture[] = [
  ...loadManifest().map((c) => {
    return {
      name: c.case,
      path: join(corpusDir(), c.capture),
      options: {
        ...caseOptions(c.options),
        vlanInKey: false,
        windowBytes: 1 << 20, // small captures: a smaller window makes each of the many passes cheaper
      } satisfies ReconstructorOptions,
    };
  }),
  ...readdirSync(resolve(import.meta.dirname, "../fixtures/kernel"))
    .filter((f) => f.endsWith(".pcap"))
    .sort()
    .map((f) => ({
      name: `kernel/${f}`,
      path: resolve(import.meta.dirname, "../fixtures/kernel", f),
      options: { windowBytes: 1 << 20 },
    })),
];

const tally = { flows: 0, full: 0, raw: 0, segments: 0 };

describe("trace events agree with tshark, end states with the flow", () => {
  it.each(captures)("$name", ({ path, options }) => {
    const rows = tshark(path);
    const mismatches: Mismatch[] = [];
    const states: unknown[] = [];
    let flows = 0;
    const error = traceEveryFlow(
      path,
      (flow, events, end) => {
        flows++;
        if (events.length < flow.orig_pkts + flow.resp_pkts)
          states.push({ uid: flow.uid, events: events.length, pkts: flow.orig_pkts + flow.resp_pkts });
        if (end.orig_state !== flow.orig_state || end.resp_state !== flow.resp_state)
          states.push({ uid: flow.uid, end, flow: [flow.orig_state, flow.resp_state] });
        tally[compare(flow, events, rows, mismatches)]++;
        tally.flows++;
        tally.segments += events.length;
      },
      options,
    );
    expect(error).toBeNull();
    expect(flows).toBeGreaterThan(0);
    expect(states, "one event per counted segment; end states as the flow's").toEqual([]);
    expect(mismatches.slice(0, 5)).toEqual([]);
  });

  it("compares most connections on Wireshark's relative numbers", () => {
    // Printed for the report; the bar keeps the raw fallback from becoming the rule.
    console.log(
      `tshark differential: ${tally.flows} connections, ${tally.segments} segments, ${tally.full} on relative numbers, ${tally.raw} on raw numbers`,
    );
    expect(tally.full).toBeGreaterThan(0.75 * tally.flows);
  });
});
