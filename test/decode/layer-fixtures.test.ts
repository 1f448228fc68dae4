// Differential test of the link types and encapsulations of assembly/layers/ against Wireshark:
// every capture in test/fixtures/layers (built by make-fixtures.py, one TCP connection inside each)
// goes through tshark and through flowrecon, and the flow must equal what tshark's decoding of the
// same bytes implies: per direction the packets, IP bytes (inner IPv4 total length / IPv6 payload
// length + 40, as Zeek counts), payload bytes, and the TCP flags seen (as history letters). The
// tunnel kind and VLAN ids are checked against the fixture's design and against tshark's fields.

import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { analyzeFile } from "../../src/analyze.js";
import type { Flow } from "../../src/flow.js";
import { ROOT } from "./wasm-harness.js";

const DIR = join(ROOT, "test", "fixtures", "layers");

interface Design {
  /** What tshark's frame.protocols must show, so the fixture really exercises the layer. */
  layers: string;
  tunnel?: Flow["tunnel"];
  vlan?: number;
  inner_vlan?: number;
  /** Segments per record above one (A-MSDU). */
  segments?: number;
}

const FIXTURES: Record<string, Design> = {
  "geneve.pcap": { layers: "ip:udp:geneve:eth:ethertype:ip:tcp", tunnel: "geneve" },
  "geneve-ip.pcap": { layers: "ip:udp:geneve:ip:tcp", tunnel: "geneve" },
  "gre-in-udp.pcap": { layers: "ip:udp:gre:ip:tcp", tunnel: "gre" },
  "gre-teb.pcap": { layers: "ip:gre:eth:ethertype:ip:tcp", tunnel: "gre" },
  "erspan-i.pcap": { layers: "ip:gre:erspan:eth:ethertype:ip:tcp", tunnel: "gre" },
  "erspan-ii.pcap": { layers: "ip:gre:erspan:eth:ethertype:ip:tcp", tunnel: "gre" },
  "erspan-iii.pcap": { layers: "ip:gre:erspan:eth:ethertype:ip:tcp", tunnel: "gre" },
  "gre-aruba.pcap": { layers: "ip:gre:wlan:llc:ip:tcp", tunnel: "gre" },
  "ipip.pcap": { layers: "ip:ip:tcp", tunnel: "ip_in_ip" },
  "6in4.pcap": { layers: "ip:ipv6:tcp", tunnel: "ip_in_ip" },
  "pbb.pcap": { layers: "eth:ethertype:ieee8021ad:ethertype:vlan:ethertype:ip:tcp", vlan: 100, inner_vlan: 20 },
  "vntag.pcap": { layers: "eth:ethertype:vntag:ethertype:vlan:ethertype:ip:tcp", vlan: 30 },
  "llc-snap.pcap": { layers: "eth:llc:ip:tcp" },
  "vlan-llc-snap.pcap": { layers: "eth:ethertype:vlan:llc:ip:tcp", vlan: 40 },
  "wlan.pcap": { layers: "wlan:llc:ip:tcp" },
  "wlan-qos-4addr.pcap": { layers: "wlan:llc:ip:tcp" },
  "wlan-amsdu.pcap": { layers: "wlan:llc:ip:tcp:llc:ip:tcp", segments: 2 },
  "radiotap.pcap": { layers: "radiotap:wlan_radio:wlan:llc:ip:tcp" },
  "nflog.pcap": { layers: "nflog:ip:tcp" },
  "ppp-serial.pcap": { layers: "ppp:ip:tcp" },
  "ppp.pcap": { layers: "ppp:ipv6:tcp" },
  "fddi.pcap": { layers: "fddi:llc:ip:tcp" },
};

const FIELDS = [
  "frame.number",
  "frame.protocols",
  "ip.src",
  "ip.len",
  "ipv6.src",
  "ipv6.plen",
  "tcp.srcport",
  "tcp.dstport",
  "tcp.flags",
  "tcp.len",
  "vlan.id",
  "ieee8021ad.id",
] as const;

interface Segment {
  src: string;
  sport: number;
  dport: number;
  flags: number;
  ipBytes: number;
  payload: number;
}
interface Frame {
  protocols: string;
  segments: Segment[];
  vlans: number[];
  qinq: number[];
}

/** Records in a classic little-endian pcap (the fixtures' format), walked by their lengths. */
function pcapRecords(file: string): number {
  const b = readFileSync(file);
  let n = 0;
  for (let o = 24; o + 16 <= b.length; o += 16 + b.readUInt32LE(o + 8)) n++;
  return n;
}

/** tshark's view: one entry per frame (by frame number), its TCP segments paired with the innermost IP headers. */
async function tsharkFrames(file: string): Promise<Map<number, Frame>> {
  const args = [
    "-r",
    file,
    "-Y",
    "tcp",
    "-T",
    "fields",
    "-E",
    "occurrence=a",
    "-E",
    "aggregator=|",
    "-E",
    "separator=\t",
  ];
  for (const f of FIELDS) args.push("-e", f);
  const { stdout } = await promisify(execFile)("tshark", args, { encoding: "utf8" });
  const frames = new Map<number, Frame>();
  for (const line of stdout.split("\n")) {
    if (line === "") continue;
    const col = Object.fromEntries(line.split("\t").map((v, i) => [FIELDS[i], v ? v.split("|") : []]));
    const n = col["tcp.srcport"].length;
    // The fixtures never carry IPv6 outside IPv4, so IPv6 fields (when present) are the inner ones;
    // otherwise the TCP segments pair with the last n IPv4 headers (tunnels put theirs first).
    const v6 = col["ipv6.src"].length > 0;
    const srcs = v6 ? col["ipv6.src"] : col["ip.src"];
    const lens = v6 ? col["ipv6.plen"].map((l) => String(Number(l) + 40)) : col["ip.len"];
    const segments = Array.from({ length: n }, (_, i) => ({
      src: srcs[srcs.length - n + i],
      sport: Number(col["tcp.srcport"][i]),
      dport: Number(col["tcp.dstport"][i]),
      flags: Number(col["tcp.flags"][i]),
      ipBytes: Number(lens[lens.length - n + i]),
      payload: Number(col["tcp.len"][i]),
    }));
    frames.set(Number(col["frame.number"][0]), {
      protocols: col["frame.protocols"][0],
      segments,
      vlans: col["vlan.id"].map(Number),
      qinq: col["ieee8021ad.id"].map(Number),
    });
  }
  return frames;
}

const SYN = 0x02,
  ACK = 0x10,
  FIN = 0x01,
  RST = 0x04;

/** What a Zeek conn record of this one connection must say, from tshark's segments. */
function expectedFlow(segs: Segment[]) {
  const first = segs.find((s) => s.flags & SYN && !(s.flags & ACK)) ?? segs[0];
  const side = (s: Segment) => (s.src === first.src && s.sport === first.sport ? "orig" : "resp");
  const acc = {
    orig: { pkts: 0, ip: 0, bytes: 0, flags: 0 },
    resp: { pkts: 0, ip: 0, bytes: 0, flags: 0 },
  };
  for (const s of segs) {
    const a = acc[side(s)];
    a.pkts++;
    a.ip += s.ipBytes;
    a.bytes += s.payload;
    a.flags |= s.flags;
  }
  return {
    origPort: first.sport,
    respPort: first.dport,
    acc,
    synAckFromResp: segs.some((s) => side(s) === "resp" && s.flags & SYN && s.flags & ACK),
  };
}

/** History letters the flags imply (Zeek: S h F f R r, D d for payload); the order is not checked. */
function impliedLetters(e: ReturnType<typeof expectedFlow>): string[] {
  const { orig, resp } = e.acc;
  const l: string[] = [];
  if (orig.flags & SYN) l.push("S");
  if (e.synAckFromResp) l.push("h");
  if (orig.bytes > 0) l.push("D");
  if (resp.bytes > 0) l.push("d");
  if (orig.flags & FIN) l.push("F");
  if (resp.flags & FIN) l.push("f");
  if (orig.flags & RST) l.push("R");
  if (resp.flags & RST) l.push("r");
  return l.sort();
}

describe("layer fixtures: flowrecon's flow equals tshark's decoding of the same bytes", () => {
  // tshark takes seconds to start: it reads every fixture at once, concatenated into one pcapng
  // (one interface per link type) by mergecap; frame numbers map back to the files.
  const tshark = new Map<string, Frame[]>();
  beforeAll(async () => {
    const files = Object.keys(FIXTURES);
    const merged = join(mkdtempSync(join(tmpdir(), "flowrecon-layers-")), "all.pcapng");
    await promisify(execFile)("mergecap", ["-a", "-w", merged, ...files.map((f) => join(DIR, f))]);
    const frames = await tsharkFrames(merged);
    let next = 1;
    for (const f of files) {
      const n = pcapRecords(join(DIR, f));
      const mine: Frame[] = [];
      for (let i = next; i < next + n; i++) if (frames.has(i)) mine.push(frames.get(i)!);
      tshark.set(f, mine);
      next += n;
    }
    expect(next - 1, "every merged frame accounted for").toBe(Math.max(...frames.keys()));
  }, 120_000);

  it("every fixture file has a design entry (and the reverse)", () => {
    expect(
      readdirSync(DIR)
        .filter((f) => f.endsWith(".pcap"))
        .sort(),
    ).toEqual(Object.keys(FIXTURES).sort());
  });

  for (const [file, design] of Object.entries(FIXTURES)) {
    it(file, async () => {
      const path = join(DIR, file);
      const frames = tshark.get(file)!;
      expect(
        frames.some((f) => f.protocols.endsWith(design.layers)),
        `tshark sees ${design.layers}`,
      ).toBe(true);
      if (design.vlan !== undefined) {
        const outer = frames[0].qinq.length ? frames[0].qinq[0] : frames[0].vlans[0];
        expect(outer, "tshark's outer VLAN id").toBe(design.vlan);
      }
      if (design.inner_vlan !== undefined)
        expect(frames[0].vlans.at(-1), "tshark's inner VLAN id").toBe(design.inner_vlan);
      const segs = frames.flatMap((f) => f.segments);
      expect(Math.max(...frames.map((f) => f.segments.length))).toBe(design.segments ?? 1);
      const want = expectedFlow(segs);

      const flows: Flow[] = [];
      const res = await analyzeFile(path, {}, (f) => void flows.push(f));
      expect(res.error).toBeFalsy();
      expect(flows).toHaveLength(1);
      const f = flows[0];
      expect({
        orig_p: f["id.orig_p"],
        resp_p: f["id.resp_p"],
        orig_pkts: f.orig_pkts,
        resp_pkts: f.resp_pkts,
        orig_ip_bytes: f.orig_ip_bytes,
        resp_ip_bytes: f.resp_ip_bytes,
        orig_bytes: f.orig_bytes,
        resp_bytes: f.resp_bytes,
        conn_state: f.conn_state,
        tunnel: f.tunnel,
        vlan: f.vlan,
        inner_vlan: f.inner_vlan,
      }).toEqual({
        orig_p: want.origPort,
        resp_p: want.respPort,
        orig_pkts: want.acc.orig.pkts,
        resp_pkts: want.acc.resp.pkts,
        orig_ip_bytes: want.acc.orig.ip,
        resp_ip_bytes: want.acc.resp.ip,
        orig_bytes: want.acc.orig.bytes,
        resp_bytes: want.acc.resp.bytes,
        conn_state: "SF",
        tunnel: design.tunnel,
        vlan: design.vlan,
        inner_vlan: design.inner_vlan,
      });
      const letters = [...new Set((f.history ?? "").replace(/[^ShDdFfRr]/g, ""))].sort();
      expect(letters, `history ${f.history}`).toEqual(impliedLetters(want));
    });
  }
});
