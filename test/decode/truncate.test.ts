// Truncate-everywhere: every prefix 0..len of valid frames, as a snaplen would cut them (the wire
// length stays the full length), decodes without trapping. Before the TCP header is complete the
// result is a skip (Truncated; NonTcp where the cut hides what makes UDP a tunnel). From then on it is
// the same segment as the full frame, with the captured payload shrinking and the checksum
// Unverifiable while the segment is incomplete: never a garbage segment.
// The harness copies each prefix to the very end of linear memory, so an over-read traps.

import { describe, expect, it } from "vitest";
import { Engine, type Pkt } from "./wasm-harness.js";
import * as F from "./fixtures.js";
import { LINKTYPE } from "./fixtures.js";
import { concat, ether, ext6, frag6, ipv4, ipv4Tcp, ipv6, ipv6Addr, ipv6Tcp, tcp, u16, u32, udp } from "./builders.js";

const engine = new Engine();
const UNVERIFIABLE = engine.enumValue("Csum.Unverifiable");

interface Case { name: string; linktype: number; frame: Uint8Array; tunnel?: boolean }

const ipv6Chain = (() => {
  const seg = tcp({ sport: 7, dport: 8, payload: Uint8Array.of(1, 2, 3, 4, 5) }, ipv6Addr("2001:db8::1"), ipv6Addr("2001:db8::2"));
  return ipv6({ nh: 0 }, concat(ext6(60, new Uint8Array(4)), ext6(44, new Uint8Array(12)), frag6(6, 0, false, 1), seg));
})();

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
  { name: "raw ipv4 options", linktype: LINKTYPE.RAW, frame: ipv4Tcp({ payload: new Uint8Array(9) }, { options: Uint8Array.of(1, 1, 1, 0) }) },
  { name: "sll2", linktype: LINKTYPE.SLL2, frame: concat(u16(0x86dd), u16(0), u32(1), u16(1), Uint8Array.of(0, 6), new Uint8Array(8), ipv6Tcp()) },
  { name: "teredo", linktype: LINKTYPE.ETHERNET, frame: F.TEREDO_SYN, tunnel: true },
  { name: "gtp", linktype: LINKTYPE.ETHERNET, frame: F.GTP_SYN, tunnel: true },
  { name: "ayiya", linktype: LINKTYPE.ETHERNET, frame: F.AYIYA_SYN, tunnel: true },
  { name: "vxlan", linktype: LINKTYPE.RAW, tunnel: true,
    frame: ipv4({ proto: 17 }, udp(1, 4789, concat(Uint8Array.of(8, 0, 0, 0, 0, 0, 1, 0), ether(0x0800, ipv4Tcp())))) },
  { name: "gre pptp", linktype: LINKTYPE.RAW, tunnel: true,
    frame: ipv4({ proto: 47 }, concat(u16(0x3001), u16(0x880b), u16(40), u16(1), u32(5), Uint8Array.of(0xff, 3), u16(0x0021), ipv4Tcp())) },
  { name: "ip in ip", linktype: LINKTYPE.RAW, tunnel: true, frame: ipv4({ proto: 41 }, ipv6Tcp()) },
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
      const tcpEnd = ref.payptr - full.ptr;            // first payload byte = end of the TCP header
      const ipEnd = tcpEnd + ref.paylen;
      for (let n = 0; n <= c.frame.length; n++) {
        const r = engine.decodeFrame(c.linktype, c.frame.subarray(0, n), { wirelen: c.frame.length });
        const name = engine.codeName(r.code);
        if (n < tcpEnd) {
          expect(c.tunnel ? ["Truncated", "NonTcp"] : ["Truncated"], `prefix ${n}`).toContain(name);
          continue;
        }
        expect(name, `prefix ${n}`).toBe("Decoded");
        const p = engine.pkt();
        // payptr is relative to where the frame sat; compare offsets instead.
        expect({ ...headerFields(p), payptr: p.payptr - r.ptr }, `prefix ${n}`).toEqual({ ...headerFields(ref), payptr: ref.payptr - full.ptr });
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
        if (n < ipEnd) expect(c.tunnel ? ["Truncated", "NonTcp"] : ["Truncated"], `prefix ${n}`).toContain(name);
        else expect(name, `prefix ${n}`).toBe("Decoded");
      }
    });
  }
});
