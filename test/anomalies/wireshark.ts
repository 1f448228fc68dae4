// The two views a differential test against Wireshark compares: for every connection (5-tuple) and
// side (the endpoint that sent the segments) of a capture, which anomaly families flowrecon reports
// and which tcp.analysis.* flags tshark raises. Families and their Wireshark flags are one table
// (FAMILIES); README.md's "Wireshark's names" table says the same in prose.
//
// Both tools see every packet: flowrecon runs with checksums ignored, tshark with
// tcp.check_checksum off. Records of one 5-tuple (port reuse) and tshark streams of one 5-tuple are
// merged, and sides are named by address and port, so role flips cannot make a difference.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { Reconstructor } from "../../src/index.js";
import type { Flow } from "../../src/flow.js";

/** A flowrecon anomaly family and the Wireshark expert flags (tcp.analysis.*) closest to it. */
export interface Family {
  name: string;
  ours: readonly string[];
  /** tshark fields; any of them present on a segment of the side counts. */
  wireshark: readonly string[];
}

export const FAMILIES: readonly Family[] = [
  {
    name: "retransmission",
    ours: ["retransmission"],
    wireshark: [
      "tcp.analysis.retransmission",
      "tcp.analysis.fast_retransmission",
      "tcp.analysis.spurious_retransmission",
    ],
  },
  { name: "out_of_order", ours: ["out_of_order"], wireshark: ["tcp.analysis.out_of_order"] },
  { name: "duplicate_ack", ours: ["duplicate_ack"], wireshark: ["tcp.analysis.duplicate_ack"] },
  { name: "zero_window", ours: ["zero_window"], wireshark: ["tcp.analysis.zero_window"] },
  { name: "zero_window_probe", ours: ["zero_window_probe"], wireshark: ["tcp.analysis.zero_window_probe"] },
  { name: "keepalive", ours: ["keepalive"], wireshark: ["tcp.analysis.keep_alive"] },
  { name: "ack_of_unseen_data", ours: ["ack_of_unseen_data"], wireshark: ["tcp.analysis.ack_lost_segment"] },
  { name: "content_gap", ours: ["content_gap"], wireshark: ["tcp.analysis.lost_segment"] },
  { name: "reset", ours: ["reset", "refused"], wireshark: ["tcp.flags.reset"] },
];

/** "addr:port > addr:port" with the two endpoints in sorted order: one key per 5-tuple. */
export function connKey(a: string, b: string): string {
  return a < b ? `${a} > ${b}` : `${b} > ${a}`;
}
const ep = (addr: string, port: number | string) => (addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`);

/** connection key -> side (sender "addr:port") -> families present. */
export type View = Map<string, Map<string, Set<string>>>;

function mark(view: View, conn: string, side: string, family: string | undefined): void {
  let sides = view.get(conn);
  if (sides === undefined) view.set(conn, (sides = new Map()));
  let set = sides.get(side);
  if (set === undefined) sides.set(side, (set = new Set()));
  if (family !== undefined) set.add(family);
}

/** flowrecon's view of a capture. */
export function flowreconView(file: string): View {
  const rec = new Reconstructor({ ignoreChecksums: true, vlanInKey: false });
  const flows: Flow[] = [...rec.push(readFileSync(file)), ...rec.finish()];
  if (rec.error) throw new Error(`${file}: ${rec.error.message}`);
  const view: View = new Map();
  for (const f of flows) {
    const o = ep(f["id.orig_h"], f["id.orig_p"]),
      r = ep(f["id.resp_h"], f["id.resp_p"]);
    const conn = connKey(o, r);
    if (f.orig_pkts > 0) mark(view, conn, o, undefined);
    if (f.resp_pkts > 0) mark(view, conn, r, undefined);
    for (const a of f.anomalies) {
      const family = FAMILIES.find((fam) => fam.ours.includes(a.type));
      if (family !== undefined) mark(view, conn, a.side === "orig" ? o : r, family.name);
    }
  }
  return view;
}

const FLAG_FIELDS = [...new Set(FAMILIES.flatMap((f) => f.wireshark))];

/** The tshark command line for one capture (also printed in the test's summary). */
export function tsharkArgs(file: string): string[] {
  const fields = [
    "frame.protocols",
    "ip.src",
    "ip.dst",
    "ipv6.src",
    "ipv6.dst",
    "tcp.srcport",
    "tcp.dstport",
    ...FLAG_FIELDS,
  ];
  return [
    "-r",
    file,
    "-n",
    "-o",
    "tcp.check_checksum:FALSE",
    "-Y",
    "tcp && !icmp && !icmpv6",
    "-T",
    "fields",
    "-E",
    "separator=/t",
    ...fields.flatMap((f) => ["-e", f]),
  ];
}

/** Wireshark's view of a capture: tcp.analysis flags per segment, collected per connection and side. */
export function wiresharkView(file: string): View {
  const out = execFileSync("tshark", tsharkArgs(file), {
    encoding: "utf8",
    maxBuffer: 256 << 20,
    stdio: ["ignore", "pipe", "ignore"],
  });
  const view: View = new Map();
  for (const line of out.split("\n")) {
    if (line === "") continue;
    const cols = line.split("\t");
    const [protocols, ip4s, ip4d, ip6s, ip6d, sport, dport] = cols;
    // The innermost IP layer carries the TCP segment (tunnels: Teredo, GRE, GTP, AYIYA ...).
    const layers = protocols.split(":").filter((p) => p === "ip" || p === "ipv6");
    const inner = layers[layers.length - 1];
    const last = (s: string) => s.split(",").pop() ?? "";
    const [src, dst] = inner === "ipv6" ? [last(ip6s), last(ip6d)] : [last(ip4s), last(ip4d)];
    if (src === "" || sport === "") continue;
    const s = ep(src, last(sport)),
      d = ep(dst, last(dport));
    const conn = connKey(s, d);
    mark(view, conn, s, undefined);
    for (const fam of FAMILIES) {
      if (
        fam.wireshark.some((f) => {
          const v = cols[7 + FLAG_FIELDS.indexOf(f)];
          return v !== undefined && v !== "" && v !== "0" && v !== "False";
        })
      ) {
        mark(view, conn, s, fam.name);
      }
    }
  }
  return view;
}

/** One connection side where the two tools disagree on a family. */
export interface Difference {
  capture: string;
  connection: string;
  side: string;
  family: string;
  wireshark: boolean;
  flowrecon: boolean;
}

export interface Comparison {
  /** Connections (5-tuples) either tool saw. */
  connections: number;
  /** Per family: connection sides where both tools agree. */
  agree: Record<string, number>;
  /** Connection sides compared per family. */
  sides: number;
  differences: Difference[];
}

export function compare(capture: string, ours: View, theirs: View): Comparison {
  const conns = new Set([...ours.keys(), ...theirs.keys()]);
  const agree: Record<string, number> = Object.fromEntries(FAMILIES.map((f) => [f.name, 0]));
  const differences: Difference[] = [];
  let sides = 0;
  for (const conn of [...conns].sort()) {
    const a = ours.get(conn) ?? new Map(),
      b = theirs.get(conn) ?? new Map();
    for (const side of [...new Set([...a.keys(), ...b.keys()])].sort()) {
      sides++;
      const fa: Set<string> = a.get(side) ?? new Set(),
        fb: Set<string> = b.get(side) ?? new Set();
      for (const fam of FAMILIES) {
        const x = fa.has(fam.name),
          y = fb.has(fam.name);
        if (x === y) agree[fam.name]++;
        else differences.push({ capture, connection: conn, side, family: fam.name, wireshark: y, flowrecon: x });
      }
    }
  }
  return { connections: conns.size, agree, sides, differences };
}
