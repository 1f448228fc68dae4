// Truncate-everywhere: every prefix 0..len of valid frames, as a snaplen would cut them (the wire
// length stays the full length), decodes without trapping. Before the fixed 20 bytes of the TCP
// header are in, the result is a skip (Truncated; NonTcp where the cut hides what makes UDP a
// tunnel). Cut inside the options it is a header-only descriptor (Csum.HeaderCut: Zeek creates the
// connection from the ports and counts nothing). From the end of the header on it is the same segment
// as the full frame, with the captured payload shrinking and the checksum Unverifiable while the
// segment is incomplete: never a garbage segment.
// The harness copies each prefix to the very end of linear memory, so an over-read traps.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Engine, type Pkt, ROOT } from "./wasm-harness.js";
import * as F from "./fixtures.js";
import { LINKTYPE } from "./fixtures.js";
import { writePcap } from "./capture-io.js";
import { concat, ether, ext6, frag6, ipv4, ipv4Tcp, ipv6, ipv6Addr, ipv6Tcp, tcp, u16, u32, udp } from "./builders.js";

const engine = new Engine();
const UNVERIFIABLE = engine.enumValue("Csum.Unverifiable");
const HEADER_CUT = engine.enumValue("Csum.HeaderCut");

/** tunnel: a cut may hide what makes the carrier a tunnel (NonTcp). records: a record may end where
 *  a complete one could (NFLOG between TLVs: no packet in it, NonIp). */
interface Case {
  name: string;
  linktype: number;
  frame: Uint8Array;
  tunnel?: boolean;
  records?: boolean;
}

const ipv6Chain = (() => {
  const seg = tcp(
    { sport: 7, dport: 8, payload: Uint8Array.of(1, 2, 3, 4, 5) },
    ipv6Addr("2001:db8::1"),
    ipv6Addr("2001:db8::2"),
  );
  return ipv6({ nh: 0 }, concat(ext6(60, new Uint8Array(4)), ext6(44, new Uint8Array(12)), frag6(6, 0, false, 1), seg));
})();

/** Record `index` of a classic little-endian pcap in test/fixtures/layers, with the file's link type. */
function layerFixture(file: string, index: number): { linktype: number; frame: Uint8Array } {
  const b = readFileSync(join(ROOT, "test", "fixtures", "layers", file));
  let o = 24;
  for (let i = 0; i < index; i++) o += 16 + b.readUInt32LE(o + 8);
  return { linktype: b.readUInt32LE(20), frame: new Uint8Array(b.subarray(o + 16, o + 16 + b.readUInt32LE(o + 8))) };
}

/** The client's first data segment (record 3) of each layer fixture (make-fixtures.py). A-MSDU is
 *  left out: Zeek drops a subframe whose body is cut (truncated_802_11_amsdu_packet), see layers.test.ts. */
const LAYER_FIXTURES: Case[] = [
  ["geneve.pcap", true],
  ["geneve-ip.pcap", true],
  ["gre-in-udp.pcap", true],
  ["gre-teb.pcap", true],
  ["erspan-i.pcap", true],
  ["erspan-ii.pcap", true],
  ["erspan-iii.pcap", true],
  ["gre-aruba.pcap", true],
  ["ipip.pcap", true],
  ["6in4.pcap", true],
  ["pbb.pcap", false],
  ["vntag.pcap", false],
  ["llc-snap.pcap", false],
  ["vlan-llc-snap.pcap", false],
  ["wlan.pcap", false],
  ["wlan-qos-4addr.pcap", false],
  ["radiotap.pcap", false],
  ["nflog.pcap", false],
  ["ppp-serial.pcap", false],
  ["ppp.pcap", false],
  ["fddi.pcap", false],
].map(([file, tunnel]) => ({
  name: `fixture ${file}`,
  tunnel: tunnel as boolean,
  records: file === "nflog.pcap",
  ...layerFixture(file as string, 3),
}));

const CASES: Case[] = [
  { name: "ethernet ipv4 syn", linktype: LINKTYPE.ETHERNET, frame: F.ETH_IPV4_SYN },
  { name: "ethernet ipv4 sack", linktype: LINKTYPE.ETHERNET, frame: F.ETH_IPV4_SACK },
  { name: "ethernet padding", linktype: LINKTYPE.ETHERNET, frame: F.ETH_IPV4_PADDED },
  { name: "mpls", linktype: LINKTYPE.ETHERNET, frame: F.ETH_MPLS_SYN },
  { name: "vlan", linktype: LINKTYPE.ETHERNET, frame: F.ETH_VLAN_SYN },
  { name: "qinq pppoe", linktype: LINKTYPE.ETHERNET, frame: F.ETH_QINQ_PPPOE_SYN },
  { name: "fabricpath v4", linktype: LINKTYPE.ETHERNET, frame: F.FABRICPATH_IPV4_SYN },
  { name: "fabricpath v6", linktype: LINKTYPE.ETHERNET, frame: F.FABRICPATH_IPV6_SYN },
  { name: "sll", linktype: LINKTYPE.SLL, frame: F.SLL_IPV4_SYN },
  { name: "null ipv6", linktype: LINKTYPE.NULL, frame: F.NULL_IPV6_SYN },
  { name: "ethernet ipv6", linktype: LINKTYPE.ETHERNET, frame: F.ETH_IPV6_SYN },
  { name: "raw ipv6 ext headers", linktype: LINKTYPE.RAW, frame: ipv6Chain },
  {
    name: "raw ipv4 options",
    linktype: LINKTYPE.RAW,
    frame: ipv4Tcp({ payload: new Uint8Array(9) }, { options: Uint8Array.of(1, 1, 1, 0) }),
  },
  {
    name: "sll2",
    linktype: LINKTYPE.SLL2,
    frame: concat(u16(0x86dd), u16(0), u32(1), u16(1), Uint8Array.of(0, 6), new Uint8Array(8), ipv6Tcp()),
  },
  { name: "teredo", linktype: LINKTYPE.ETHERNET, frame: F.TEREDO_SYN, tunnel: true },
  { name: "gtp", linktype: LINKTYPE.ETHERNET, frame: F.GTP_SYN, tunnel: true },
  { name: "ayiya", linktype: LINKTYPE.ETHERNET, frame: F.AYIYA_SYN, tunnel: true },
  {
    name: "vxlan",
    linktype: LINKTYPE.RAW,
    tunnel: true,
    frame: ipv4({ proto: 17 }, udp(1, 4789, concat(Uint8Array.of(8, 0, 0, 0, 0, 0, 1, 0), ether(0x0800, ipv4Tcp())))),
  },
  {
    name: "gre pptp",
    linktype: LINKTYPE.RAW,
    tunnel: true,
    frame: ipv4(
      { proto: 47 },
      concat(u16(0x3001), u16(0x880b), u16(40), u16(1), u32(5), Uint8Array.of(0xff, 3), u16(0x0021), ipv4Tcp()),
    ),
  },
  { name: "ip in ip", linktype: LINKTYPE.RAW, tunnel: true, frame: ipv4({ proto: 41 }, ipv6Tcp()) },
  ...LAYER_FIXTURES,
];

/** Fields that must not change when only payload bytes are cut off. */
function headerFields(p: Pkt) {
  const { paycap: _c, csum: _s, ...rest } = p;
  return rest;
}

describe("truncate everywhere (snaplen cut: wire length stays the full length)", () => {
  for (const c of CASES) {
    it(c.name, () => {
      engine.reset({ ignoreChecksums: false });
      const full = engine.decodeFrame(c.linktype, c.frame);
      expect(engine.codeName(full.code)).toBe("Decoded");
      const ref = engine.pkt();
      const tcpEnd = ref.payptr - full.ptr; // first payload byte = end of the TCP header
      const fixedEnd = tcpEnd - ref.thlen + 20; // end of the fixed TCP header (ports, flags ...)
      const ipEnd = tcpEnd + ref.paylen;
      for (let n = 0; n <= c.frame.length; n++) {
        const r = engine.decodeFrame(c.linktype, c.frame.subarray(0, n), { wirelen: c.frame.length });
        const name = engine.codeName(r.code);
        if (n < fixedEnd) {
          expect(c.tunnel ? ["Truncated", "NonTcp"] : ["Truncated"], `prefix ${n}`).toContain(name);
          continue;
        }
        if (n < tcpEnd) {
          expect(name, `prefix ${n}`).toBe("Decoded");
          const p = engine.pkt();
          expect(
            {
              csum: p.csum,
              sport: p.sport,
              dport: p.dport,
              seq: p.seq,
              flags: p.flags,
              thlen: p.thlen,
              paylen: p.paylen,
            },
            `prefix ${n}`,
          ).toEqual({
            csum: HEADER_CUT,
            sport: ref.sport,
            dport: ref.dport,
            seq: ref.seq,
            flags: ref.flags,
            thlen: 0,
            paylen: 0,
          });
          continue;
        }
        expect(name, `prefix ${n}`).toBe("Decoded");
        const p = engine.pkt();
        // payptr is relative to where the frame sat; compare offsets instead.
        expect({ ...headerFields(p), payptr: p.payptr - r.ptr }, `prefix ${n}`).toEqual({
          ...headerFields(ref),
          payptr: ref.payptr - full.ptr,
        });
        expect(p.paycap, `prefix ${n}`).toBe(Math.min(n, ipEnd) - tcpEnd);
        if (n < ipEnd) expect(p.csum, `prefix ${n}`).toBe(UNVERIFIABLE);
        else expect(p.csum, `prefix ${n}`).toBe(ref.csum);
      }
    });
  }
});

describe("truncate everywhere (damaged record: wire length = captured length)", () => {
  for (const c of CASES) {
    it(c.name, () => {
      engine.reset({ ignoreChecksums: true });
      const full = engine.decodeFrame(c.linktype, c.frame);
      const ref = engine.pkt();
      const ipEnd = ref.payptr - full.ptr + ref.paylen;
      for (let n = 0; n < c.frame.length; n++) {
        const r = engine.decodeFrame(c.linktype, c.frame.subarray(0, n));
        const name = engine.codeName(r.code);
        // The IP header says more bytes were sent than the wire carried: Zeek's truncated_IP_len.
        const skips = ["Truncated", ...(c.tunnel ? ["NonTcp"] : []), ...(c.records ? ["NonIp"] : [])];
        if (n < ipEnd) expect(skips, `prefix ${n}`).toContain(name);
        else expect(name, `prefix ${n}`).toBe("Decoded");
      }
    });
  }
});

describe("truncate everywhere: an A-MSDU frame (Zeek drops a subframe cut short, keeps the ones before)", () => {
  it("fixture wlan-amsdu.pcap record 3: segments = subframes wholly inside the prefix", () => {
    const { linktype, frame } = layerFixture("wlan-amsdu.pcap", 3);
    // Two subframes after the 26-byte QoS data header: 14-byte subframe header + body, padding between.
    const body1 = (frame[26 + 12] << 8) | frame[26 + 13];
    const end1 = 26 + 14 + body1;
    const start2 = end1 + (body1 % 4);
    const end2 = start2 + 14 + ((frame[start2 + 12] << 8) | frame[start2 + 13]);
    expect(end2).toBe(frame.length);
    for (let n = 0; n <= frame.length; n++) {
      engine.reset({ ignoreChecksums: false });
      const pcap = writePcap({
        linktype,
        records: [{ tsSec: 1, tsFrac: 0, wirelen: frame.length, data: frame.subarray(0, n) }],
      });
      const stats = engine.feedAll(pcap).stats;
      const want = (n >= end1 ? 1 : 0) + (n >= end2 ? 1 : 0);
      expect(stats.Segments, `prefix ${n}`).toBe(want);
    }
  });
});
