// Per-layer deconstruct tests: one real (or, where the corpus has none, built) frame per
// encapsulation, decoded through the decodeFrame test hook, with every descriptor field checked.
// Expected values of corpus frames come from tshark (see fixtures.ts).

import { beforeEach, describe, expect, it } from "vitest";
import { Engine, LAYOUT } from "./wasm-harness.js";
import * as F from "./fixtures.js";
import { LINKTYPE } from "./fixtures.js";
import {
  concat,
  ether,
  ext6,
  frag6,
  ipv4,
  ipv4Addr,
  ipv4Tcp,
  ipv6,
  ipv6Addr,
  ipv6Tcp,
  tcp,
  u16,
  u32,
  udp,
} from "./builders.js";
import { writePcap } from "./capture-io.js";

const engine = new Engine();
const Csum = {
  Ok: engine.enumValue("Csum.Ok"),
  Bad: engine.enumValue("Csum.Bad"),
  Unverifiable: engine.enumValue("Csum.Unverifiable"),
  NotChecked: engine.enumValue("Csum.NotChecked"),
  HeaderBad: engine.enumValue("Csum.HeaderBad"),
  HeaderCut: engine.enumValue("Csum.HeaderCut"),
};
const Tunnel = {
  None: engine.enumValue("Tunnel.None"),
  Teredo: engine.enumValue("Tunnel.Teredo"),
  Gtpu: engine.enumValue("Tunnel.Gtpu"),
  Ayiya: engine.enumValue("Tunnel.Ayiya"),
  Vxlan: engine.enumValue("Tunnel.Vxlan"),
  Gre: engine.enumValue("Tunnel.Gre"),
  IpInIp: engine.enumValue("Tunnel.IpInIp"),
  Geneve: engine.enumValue("Tunnel.Geneve"),
};
const OPT = {
  MSS: LAYOUT.OPT_MSS,
  WSCALE: LAYOUT.OPT_WSCALE,
  SACK_PERM: LAYOUT.OPT_SACK_PERM,
  SACK: LAYOUT.OPT_SACK,
  TS: LAYOUT.OPT_TS,
  TFO: LAYOUT.OPT_TFO,
};

/** Decodes and expects a TCP segment; returns the descriptor and where the frame sat in memory. */
function decoded(linktype: number, frame: Uint8Array, opts: { wirelen?: number; ts?: bigint } = {}) {
  const { code, ptr } = engine.decodeFrame(linktype, frame, opts);
  expect(engine.codeName(code)).toBe("Decoded");
  return { pkt: engine.pkt(), ptr };
}

function skipped(linktype: number, frame: Uint8Array, opts: { wirelen?: number } = {}): string {
  return engine.codeName(engine.decodeFrame(linktype, frame, opts).code);
}

beforeEach(() => engine.reset({ ignoreChecksums: false }));

describe("Ethernet, IPv4, TCP", () => {
  it("ssh-basic #1: SYN with MSS, WS, TS, SACK-permitted; every field", () => {
    const { pkt, ptr } = decoded(LINKTYPE.ETHERNET, F.ETH_IPV4_SYN, { ts: 1324071333493287n });
    expect(pkt).toEqual({
      ts: 1324071333493287n,
      src: "192.168.1.79",
      dst: "131.159.21.1",
      sport: 51880,
      dport: 22,
      vlan: 0,
      ipver: 4,
      flags: 0x02,
      csum: Csum.Ok,
      thlen: 44,
      seq: 2755953355,
      ack: 0,
      win: 65535,
      opts: OPT.MSS | OPT.WSCALE | OPT.TS | OPT.SACK_PERM,
      wscale: 3,
      mss: 1460,
      tunnel: Tunnel.None,
      tsval: 301224352,
      tsecr: 0,
      iplen: 64,
      paylen: 0,
      payptr: ptr + 14 + 20 + 44,
      paycap: 0,
      sackn: 0,
      sack: [],
    });
  });

  it("stores IPv4 addresses v4-mapped (::ffff:a.b.c.d)", () => {
    decoded(LINKTYPE.ETHERNET, F.ETH_IPV4_SYN);
    const b = engine.pktBytes();
    expect([...b.subarray(LAYOUT.P_SRC, LAYOUT.P_SRC + 16)]).toEqual([
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 1, 79,
    ]);
    expect([...b.subarray(LAYOUT.P_DST, LAYOUT.P_DST + 16)]).toEqual([
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 131, 159, 21, 1,
    ]);
  });

  it("ssh-basic #89: SACK block and timestamps", () => {
    const { pkt } = decoded(LINKTYPE.ETHERNET, F.ETH_IPV4_SACK);
    expect(pkt).toMatchObject({
      src: "128.2.6.88",
      dst: "10.0.0.18",
      sport: 41644,
      dport: 40184,
      seq: 3673766972,
      ack: 1254336844,
      flags: 0x10,
      win: 212,
      thlen: 44,
      csum: Csum.Ok,
      opts: OPT.TS | OPT.SACK,
      tsval: 1707659358,
      tsecr: 24394691,
      sackn: 1,
      sack: [[1254336940, 1254336941]],
      iplen: 64,
      paylen: 0,
    });
  });

  it("tcp-ethernet-padding #6: the IP total length rules, trailer bytes are not payload", () => {
    const { pkt, ptr } = decoded(LINKTYPE.ETHERNET, F.ETH_IPV4_PADDED);
    expect(F.ETH_IPV4_PADDED.length).toBe(14 + 53 + 2);
    expect(pkt).toMatchObject({
      src: "167.221.30.181",
      dst: "217.207.159.63",
      sport: 59406,
      dport: 27272,
      seq: 1394854463,
      ack: 2707052750,
      flags: 0x18,
      win: 2070,
      thlen: 32,
      iplen: 53,
      paylen: 1,
      paycap: 1,
      payptr: ptr + 14 + 20 + 32,
      csum: Csum.Ok,
    });
  });

  it("a corrupted TCP checksum is Csum.Bad (still decoded); ignoreChecksums gives NotChecked", () => {
    const frame = F.ETH_IPV4_SYN.slice();
    frame[14 + 20 + 16] ^= 0x01;
    expect(decoded(LINKTYPE.ETHERNET, frame).pkt.csum).toBe(Csum.Bad);
    engine.reset({ ignoreChecksums: true });
    expect(decoded(LINKTYPE.ETHERNET, frame).pkt.csum).toBe(Csum.NotChecked);
  });

  it("a snaplen-cut segment is Csum.Unverifiable, lengths still from the IP header", () => {
    const frame = ether(0x0800, ipv4Tcp({ payload: new Uint8Array(100).fill(7) }));
    const cut = frame.slice(0, 14 + 20 + 20 + 30);
    const { pkt } = decoded(LINKTYPE.ETHERNET, cut, { wirelen: frame.length });
    expect(pkt).toMatchObject({ iplen: 140, paylen: 100, paycap: 30, csum: Csum.Unverifiable });
  });

  it("a bad IPv4 header checksum drops the packet (Zeek drops it before any connection) unless ignored", () => {
    const frame = ether(0x0800, ipv4Tcp({}, { badChecksum: true }));
    expect(skipped(LINKTYPE.ETHERNET, frame)).toBe("BadIpChecksum");
    engine.reset({ ignoreChecksums: true });
    expect(decoded(LINKTYPE.ETHERNET, frame).pkt.csum).toBe(Csum.NotChecked);
  });

  // checksum.ts sums short ranges with 8-byte scalar loads and long ones (128 bytes and more) with
  // SIMD plus a scalar tail: every length of either path and every tail width (8, 4, 2, odd byte)
  // must agree with the RFC 1071 sum the builders compute, and a single flipped bit must show.
  it("the TCP checksum is right at every segment length from 20 to 340 bytes, IPv4 and IPv6", () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let n = 0; n <= 320; n++) {
      const payload = Uint8Array.from({ length: n }, rnd);
      for (const build of [ipv4Tcp, ipv6Tcp]) {
        const packet = build({ payload, flags: 0x18 });
        const type = build === ipv4Tcp ? 0x0800 : 0x86dd;
        const where = `${build === ipv4Tcp ? "IPv4" : "IPv6"} payload ${n}`;
        expect(decoded(LINKTYPE.ETHERNET, ether(type, packet)).pkt.csum, where).toBe(Csum.Ok);
        const tcpStart = build === ipv4Tcp ? 20 : 40;
        // One flipped bit in the header (sequence number), in the payload, and in the last byte.
        const flips = n > 0 ? [tcpStart + 4, tcpStart + 20 + ((n * 7) % n), packet.length - 1] : [tcpStart + 4];
        for (const at of flips) {
          const bad = packet.slice();
          bad[at] ^= 1 << (n % 8);
          expect(decoded(LINKTYPE.ETHERNET, ether(type, bad)).pkt.csum, `${where}, bit flipped at ${at}`).toBe(
            Csum.Bad,
          );
        }
      }
    }
  });

  it("the IPv4 header checksum is right at every header length (20 to 60 bytes)", () => {
    for (let words = 0; words <= 10; words++) {
      const options = new Uint8Array(words * 4).fill(0x01); // NOPs
      options[0] = words > 0 ? 0x94 : 0; // a router alert-like kind byte, so the words differ
      expect(decoded(LINKTYPE.ETHERNET, ether(0x0800, ipv4Tcp({}, { options }))).pkt.csum, `${words}`).toBe(Csum.Ok);
      const bad = ether(0x0800, ipv4Tcp({}, { options }));
      bad[14 + 20 + words * 4 - 1] ^= 0x80; // the last header byte
      expect(skipped(LINKTYPE.ETHERNET, bad), `${words} option words`).toBe("BadIpChecksum");
    }
  });

  it("IPv4 options are skipped by the header length", () => {
    const options = concat(Uint8Array.of(0x07, 0x07, 0x04), u32(0x0a000001), Uint8Array.of(0x01)); // record route + NOP
    const frame = ether(0x0800, ipv4Tcp({ sport: 1234, dport: 443, seq: 77 }, { options }));
    const { pkt } = decoded(LINKTYPE.ETHERNET, frame);
    expect(pkt).toMatchObject({ sport: 1234, dport: 443, seq: 77, iplen: 48, thlen: 20, csum: Csum.Ok });
  });

  it("TSO: total length 0 is Malformed, or with ignoreChecksums decoded from the captured length with P_IPLEN 0", () => {
    const frame = ether(0x0800, ipv4Tcp({ payload: new Uint8Array(1000) }, { totalLength: 0 }));
    expect(skipped(LINKTYPE.ETHERNET, frame)).toBe("Malformed");
    engine.reset({ ignoreChecksums: true });
    const { pkt } = decoded(LINKTYPE.ETHERNET, frame);
    expect(pkt).toMatchObject({ iplen: 0, paylen: 1000, paycap: 1000, csum: Csum.NotChecked });
  });

  it("a wire length shorter than the IP total length is Truncated (Zeek truncated_IP_len)", () => {
    const frame = ether(0x0800, ipv4Tcp({ payload: new Uint8Array(40) }));
    expect(skipped(LINKTYPE.ETHERNET, frame.slice(0, 60), { wirelen: 60 })).toBe("Truncated");
  });

  it("malformed TCP data offsets (< 20, beyond the IP payload) key a connection and nothing else (Csum.HeaderBad)", () => {
    // Zeek creates the connection from the ports, then ExtractTCP_Header refuses the header.
    const small = ether(0x0800, ipv4Tcp({ sport: 1234, flags: 0x12 }));
    small[14 + 20 + 12] = 0x40; // data offset 4 words: bad_TCP_header_len
    expect(decoded(LINKTYPE.ETHERNET, small).pkt).toMatchObject({
      csum: Csum.HeaderBad,
      sport: 1234,
      dport: 80,
      flags: 0x12,
      thlen: 0,
      paylen: 0,
      opts: 0,
    });
    const big = ether(0x0800, ipv4Tcp());
    big[14 + 20 + 12] = 0xf0; // 60 bytes of header in a 20-byte segment: truncated_header
    expect(decoded(LINKTYPE.ETHERNET, big).pkt.csum).toBe(Csum.HeaderBad);
    // Options cut by the snaplen: Csum.HeaderCut. Fewer than 20 TCP bytes: no connection at all.
    const opts = ether(0x0800, ipv4Tcp({ options: Uint8Array.of(2, 4, 5, 0xb4) }));
    expect(decoded(LINKTYPE.ETHERNET, opts.subarray(0, 14 + 20 + 22), { wirelen: opts.length }).pkt.csum).toBe(
      Csum.HeaderCut,
    );
    expect(skipped(LINKTYPE.ETHERNET, opts.subarray(0, 14 + 20 + 19), { wirelen: opts.length })).toBe("Truncated");
  });

  it("non-IP and non-TCP frames", () => {
    expect(skipped(LINKTYPE.ETHERNET, ether(0x0806, new Uint8Array(28)))).toBe("NonIp");
    expect(skipped(LINKTYPE.ETHERNET, ether(0x0800, ipv4({ proto: 1 }, new Uint8Array(8))))).toBe("NonTcp");
    expect(skipped(LINKTYPE.ETHERNET, ether(0x0800, ipv4({ proto: 17 }, udp(5353, 53, new Uint8Array(12)))))).toBe(
      "NonTcp",
    );
    const v5 = ether(0x0800, ipv4Tcp());
    v5[14] = 0x55;
    expect(skipped(LINKTYPE.ETHERNET, v5)).toBe("Malformed");
  });

  it("an unknown link type is UnsupportedLink", () => {
    expect(skipped(147, F.ETH_IPV4_SYN)).toBe("UnsupportedLink");
  });
});

describe("TCP options", () => {
  const decodeOpts = (options: Uint8Array) => decoded(LINKTYPE.RAW, ipv4Tcp({ options })).pkt;

  it("four SACK blocks", () => {
    const blocks = [
      [1, 2],
      [3, 4],
      [0xfffffff0, 0xffffffff],
      [7, 8],
    ];
    const pkt = decodeOpts(concat(Uint8Array.of(1, 1, 5, 34), ...blocks.flat().map(u32)));
    expect(pkt).toMatchObject({ opts: OPT.SACK, sackn: 4, sack: blocks });
  });

  it("TCP Fast Open cookie request and cookie", () => {
    expect(decodeOpts(Uint8Array.of(34, 2, 1, 1)).opts).toBe(OPT.TFO);
    expect(decodeOpts(concat(Uint8Array.of(34, 10), new Uint8Array(8), Uint8Array.of(1, 1))).opts).toBe(OPT.TFO);
  });

  it("garbage length stops parsing but keeps the segment and the options before it", () => {
    const pkt = decodeOpts(Uint8Array.of(2, 4, 0x05, 0xb4, 3, 0, 0, 0)); // MSS, then WS with length 0
    expect(pkt).toMatchObject({ opts: OPT.MSS, mss: 1460, wscale: 0 });
    const over = decodeOpts(Uint8Array.of(1, 8, 40, 0)); // TS claiming 40 bytes in a 4-byte option area
    expect(over.opts).toBe(0);
  });

  it("EOL ends the list; bad MSS/TS lengths are ignored", () => {
    expect(decodeOpts(Uint8Array.of(0, 2, 4, 5)).opts).toBe(0);
    expect(decodeOpts(Uint8Array.of(2, 3, 5, 0)).opts).toBe(0);
    expect(decodeOpts(concat(Uint8Array.of(8, 8), new Uint8Array(6))).opts).toBe(0);
  });

  it("NOP, NOP, timestamps (tcp.ts reads that layout without the option loop) as the loop reads TS, NOP, NOP", () => {
    const ts = concat(Uint8Array.of(8, 10), u32(0x01020304), u32(0xfffffffe));
    const shortcut = decodeOpts(concat(Uint8Array.of(1, 1), ts));
    expect(shortcut).toMatchObject({ thlen: 32, opts: OPT.TS, tsval: 0x01020304, tsecr: 0xfffffffe });
    const loop = decodeOpts(concat(ts, Uint8Array.of(1, 1)));
    expect(shortcut).toEqual(loop);
    // One byte off the layout and the loop decides: a length of 11 runs past the options.
    expect(decodeOpts(concat(Uint8Array.of(1, 1, 8, 11), new Uint8Array(8))).opts).toBe(0);
    // The same 12 bytes followed by more options: the loop reads them all.
    const more = decodeOpts(concat(Uint8Array.of(1, 1), ts, Uint8Array.of(4, 2, 1, 1)));
    expect(more).toMatchObject({ opts: OPT.TS | OPT.SACK_PERM, tsval: 0x01020304 });
  });

  it("the Windows and Linux SYN layouts (tcp.ts reads them without the option loop) as the loop reads them reordered", () => {
    const mss = Uint8Array.of(2, 4, 0x05, 0xb4),
      ws = Uint8Array.of(3, 3, 8),
      sackPerm = Uint8Array.of(4, 2),
      ts = concat(Uint8Array.of(8, 10), u32(0x01020304), u32(0xfffffffe));
    const nop = Uint8Array.of(1);
    const windows = decodeOpts(concat(mss, nop, ws, nop, nop, sackPerm));
    expect(windows).toMatchObject({ thlen: 32, opts: OPT.MSS | OPT.WSCALE | OPT.SACK_PERM, mss: 1460, wscale: 8 });
    expect(windows).toEqual(decodeOpts(concat(nop, ws, mss, sackPerm, nop, nop)));
    const linux = decodeOpts(concat(mss, sackPerm, ts, nop, ws));
    expect(linux).toMatchObject({
      thlen: 40,
      opts: OPT.MSS | OPT.SACK_PERM | OPT.TS | OPT.WSCALE,
      mss: 1460,
      wscale: 8,
    });
    expect(linux).toMatchObject({ tsval: 0x01020304, tsecr: 0xfffffffe });
    expect(linux).toEqual(decodeOpts(concat(sackPerm, mss, ts, ws, nop)));
    // One byte off a layout and the loop decides: SACK-permitted with length 3 runs past the options,
    // a window scale of length 2 stops the parse, a timestamp of length 11 is no timestamp.
    expect(decodeOpts(concat(mss, nop, ws, nop, nop, Uint8Array.of(4, 3)))).toMatchObject({
      opts: OPT.MSS | OPT.WSCALE,
      wscale: 8,
    });
    expect(decodeOpts(concat(mss, nop, Uint8Array.of(3, 2, 8), nop, nop, sackPerm))).toMatchObject({
      opts: OPT.MSS,
      wscale: 0,
    });
    expect(decodeOpts(concat(mss, sackPerm, Uint8Array.of(8, 11), ts.subarray(2), nop, ws))).toMatchObject({
      opts: OPT.MSS | OPT.SACK_PERM | OPT.WSCALE,
      tsval: 0,
    });
  });

  it("window scale with a longer length is accepted, like Zeek's SYN option parser", () => {
    expect(decodeOpts(Uint8Array.of(3, 4, 9, 0))).toMatchObject({ opts: OPT.WSCALE, wscale: 9 });
  });
});

describe("VLAN, QinQ, MPLS, PPPoE, FabricPath", () => {
  it("vlan-mpls #34: 802.1Q tag 4093", () => {
    const { pkt } = decoded(LINKTYPE.ETHERNET, F.ETH_VLAN_SYN);
    expect(pkt).toMatchObject({
      vlan: 4093,
      src: "10.20.80.1",
      dst: "10.0.0.15",
      sport: 50343,
      dport: 80,
      seq: 4084526270,
      flags: 0x02,
      win: 5760,
      thlen: 40,
      iplen: 60,
      paylen: 0,
      mss: 1440,
      wscale: 7,
      tsval: 2995515157,
      tsecr: 0,
      opts: OPT.MSS | OPT.SACK_PERM | OPT.TS | OPT.WSCALE,
      csum: Csum.Ok,
    });
  });

  it("pppoe-qinq-rxmit #1: two tags (outer | inner << 12), PPPoE session, PPP IPv4", () => {
    const { pkt } = decoded(LINKTYPE.ETHERNET, F.ETH_QINQ_PPPOE_SYN);
    expect(pkt).toMatchObject({
      vlan: 3704 | (2474 << 12),
      src: "1.1.1.1",
      dst: "2.2.2.2",
      sport: 20394,
      dport: 443,
      seq: 3618128213,
      flags: 0x02,
      win: 65535,
      mss: 1440,
      wscale: 6,
      tsval: 19781772,
      iplen: 64,
      csum: Csum.Ok,
    });
  });

  it("802.1ad (0x88A8) and 0x9100 outer tags; a third tag overwrites the inner id (Zeek)", () => {
    const inner = concat(u16(0x0064), u16(0x0800), ipv4Tcp());
    const ad = ether(0x88a8, concat(u16(0x2005), u16(0x8100), inner));
    expect(decoded(LINKTYPE.ETHERNET, ad).pkt.vlan).toBe(5 | (100 << 12));
    const old = ether(0x9100, concat(u16(0x0007), u16(0x8100), u16(0x0008), u16(0x8100), inner));
    expect(decoded(LINKTYPE.ETHERNET, old).pkt.vlan).toBe(7 | (100 << 12));
  });

  it("vlan-mpls #1: one MPLS label, IPv4 found by its version nibble", () => {
    const { pkt } = decoded(LINKTYPE.ETHERNET, F.ETH_MPLS_SYN);
    expect(pkt).toMatchObject({
      src: "10.1.2.1",
      dst: "10.34.0.1",
      sport: 11001,
      dport: 23,
      seq: 2553417723,
      flags: 0x02,
      win: 4128,
      thlen: 24,
      iplen: 44,
      mss: 536,
      opts: OPT.MSS,
      vlan: 0,
      csum: Csum.Ok,
    });
  });

  it("an MPLS label stack (multicast EtherType) over IPv6", () => {
    const labels = concat(u32(0x00001000), u32(0x00002000), u32(0x00003100)); // BoS on the third
    const { pkt } = decoded(LINKTYPE.ETHERNET, ether(0x8848, concat(labels, ipv6Tcp({ sport: 5, dport: 6 }))));
    expect(pkt).toMatchObject({ ipver: 6, src: "2001:db8:0:0:0:0:0:1", sport: 5, dport: 6, iplen: 60, csum: Csum.Ok });
  });

  it("PPPoE with a non-IP PPP protocol is NonIp", () => {
    const lcp = ether(0x8864, concat(Uint8Array.of(0x11, 0, 0, 1), u16(10), u16(0xc021), new Uint8Array(8)));
    expect(skipped(LINKTYPE.ETHERNET, lcp)).toBe("NonIp");
  });

  it("cisco-fabricpath #34 and #50: FabricPath in front of IPv4 and IPv6 frames", () => {
    expect(decoded(LINKTYPE.ETHERNET, F.FABRICPATH_IPV4_SYN).pkt).toMatchObject({
      src: "1.1.1.6",
      dst: "2.2.2.2",
      sport: 57005,
      dport: 48879,
      seq: 0,
      flags: 0x02,
      win: 8192,
      thlen: 20,
      iplen: 40,
      csum: Csum.Ok,
    });
    expect(decoded(LINKTYPE.ETHERNET, F.FABRICPATH_IPV6_SYN).pkt).toMatchObject({
      ipver: 6,
      src: "1234:0:0:0:0:0:0:e",
      dst: "5678:0:0:0:0:0:0:0",
      sport: 57005,
      dport: 48879,
      flags: 0x02,
      iplen: 60,
      csum: Csum.Ok,
    });
  });
});

describe("Linux cooked capture, BSD loopback, raw IP", () => {
  it("irc-starttls #1: SLL", () => {
    const { pkt } = decoded(LINKTYPE.SLL, F.SLL_IPV4_SYN);
    expect(pkt).toMatchObject({
      src: "203.143.168.47",
      dst: "185.18.76.170",
      sport: 55123,
      dport: 6667,
      seq: 1130049455,
      flags: 0x02,
      win: 29200,
      thlen: 40,
      iplen: 60,
      mss: 1460,
      wscale: 7,
      tsval: 3388267,
      csum: Csum.Bad, // captured before checksum offload (tshark agrees); the case runs with -C
    });
  });

  it("SLL2 (the same packet behind a 20-byte v2 header)", () => {
    const sll2 = concat(
      u16(0x0800),
      u16(0),
      u32(3),
      u16(1),
      Uint8Array.of(4, 6),
      new Uint8Array(8),
      F.SLL_IPV4_SYN.subarray(16),
    );
    expect(decoded(LINKTYPE.SLL2, sll2).pkt).toMatchObject({ src: "203.143.168.47", sport: 55123, seq: 1130049455 });
  });

  it("http-connect-s1 #1: NULL with family 30 (little-endian), IPv6 ::1", () => {
    const { pkt } = decoded(LINKTYPE.NULL, F.NULL_IPV6_SYN);
    expect(pkt).toMatchObject({
      ipver: 6,
      src: "0:0:0:0:0:0:0:1",
      dst: "0:0:0:0:0:0:0:1",
      sport: 52522,
      dport: 80,
      seq: 1321751229,
      flags: 0x02,
      win: 65535,
      thlen: 44,
      iplen: 84,
      mss: 16324,
      wscale: 5,
      tsval: 1236829829,
      csum: Csum.Bad, // loopback with checksum offload (tshark agrees); case runs with -C
    });
  });

  it("NULL in big-endian order, LOOP (always big-endian), AF_INET and the other AF_INET6 values", () => {
    const v4 = ipv4Tcp({ sport: 99 });
    expect(decoded(LINKTYPE.NULL, concat(u32(2), v4)).pkt.sport).toBe(99); // big-endian 2
    expect(decoded(LINKTYPE.NULL, concat(Uint8Array.of(2, 0, 0, 0), v4)).pkt.sport).toBe(99);
    expect(decoded(LINKTYPE.LOOP, concat(u32(2), v4)).pkt.sport).toBe(99);
    for (const af of [24, 28, 30]) expect(decoded(LINKTYPE.LOOP, concat(u32(af), ipv6Tcp())).pkt.ipver).toBe(6);
    expect(skipped(LINKTYPE.NULL, concat(Uint8Array.of(7, 0, 0, 0), v4))).toBe("NonIp");
  });

  it("raw IP link types 12, 14, 101 (by version), 228 (IPv4 only), 229 (IPv6 only)", () => {
    for (const lt of [LINKTYPE.RAW12, LINKTYPE.RAW14, LINKTYPE.RAW]) {
      expect(decoded(lt, ipv4Tcp()).pkt.ipver).toBe(4);
      expect(decoded(lt, ipv6Tcp()).pkt.ipver).toBe(6);
    }
    expect(decoded(LINKTYPE.IPV4, ipv4Tcp()).pkt.ipver).toBe(4);
    expect(skipped(LINKTYPE.IPV4, ipv6Tcp())).toBe("Malformed");
    expect(decoded(LINKTYPE.IPV6, ipv6Tcp()).pkt.ipver).toBe(6);
    expect(skipped(LINKTYPE.IPV6, ipv4Tcp())).toBe("Malformed");
  });
});

describe("IPv6 and extension headers", () => {
  it("ftp-ipv6 #1: P_IPLEN is payload length + 40", () => {
    const { pkt, ptr } = decoded(LINKTYPE.ETHERNET, F.ETH_IPV6_SYN);
    expect(pkt).toMatchObject({
      ipver: 6,
      src: "2001:470:1f11:81f:c999:d94:aa7c:2e3e",
      dst: "2001:470:4867:99:0:0:0:21",
      sport: 49185,
      dport: 21,
      seq: 646610527,
      flags: 0x02,
      win: 65535,
      thlen: 44,
      iplen: 84,
      paylen: 0,
      payptr: ptr + 14 + 40 + 44,
      mss: 1440,
      wscale: 1,
      tsval: 973204046,
      csum: Csum.Ok,
    });
  });

  it("hop-by-hop, destination options, AH and an atomic fragment header are skipped", () => {
    const src = ipv6Addr("2001:db8::1");
    const dst = ipv6Addr("2001:db8::2");
    const seg = tcp({ sport: 7, dport: 8, payload: Uint8Array.of(1, 2, 3) }, src, dst);
    const ah = concat(Uint8Array.of(60, 4, 0, 0), u32(0x100), u32(1), new Uint8Array(12)); // (4+2)*4 = 24 bytes
    const chain = concat(ext6(51, new Uint8Array(4)), ah, ext6(44, new Uint8Array(4)), frag6(6, 0, false, 9), seg);
    const { pkt } = decoded(LINKTYPE.RAW, ipv6({ nh: 0 }, chain));
    expect(pkt).toMatchObject({ sport: 7, dport: 8, paylen: 3, paycap: 3, iplen: 40 + chain.length, csum: Csum.Ok });
  });

  it("a routing header with segments left: the checksum uses the final destination (RFC 8200 §8.1)", () => {
    const final = ipv6Addr("2001:db8::99");
    const seg = tcp({ sport: 7, dport: 8 }, ipv6Addr("2001:db8::1"), final);
    const rh0 = ext6(6, concat(Uint8Array.of(0, 1), new Uint8Array(4), ipv6Addr("2001:db8::50"), final));
    const { pkt } = decoded(LINKTYPE.RAW, ipv6({ nh: 43 }, concat(rh0, seg)));
    expect(pkt).toMatchObject({ dst: "2001:db8:0:0:0:0:0:99", csum: Csum.Ok });
    // Only the first routing header with segments left counts (Zeek: multiple_routing_header).
    const other = ext6(6, concat(Uint8Array.of(0, 1), new Uint8Array(4), ipv6Addr("2001:db8::77")));
    const twice = ipv6(
      { nh: 43 },
      concat(ext6(43, concat(Uint8Array.of(0, 1), new Uint8Array(4), final)).subarray(0, 24), other, seg),
    );
    expect(decoded(LINKTYPE.RAW, twice).pkt.dst).toBe("2001:db8:0:0:0:0:0:99");
  });

  it("ESP and no-next-header are NonTcp; a header past the payload length is Malformed", () => {
    expect(skipped(LINKTYPE.RAW, ipv6({ nh: 50 }, new Uint8Array(16)))).toBe("NonTcp");
    expect(skipped(LINKTYPE.RAW, ipv6({ nh: 59 }, new Uint8Array(0)))).toBe("NonTcp");
    const bad = ipv6({ nh: 0, payloadLength: 8 }, concat(Uint8Array.of(6, 3), new Uint8Array(30)));
    expect(skipped(LINKTYPE.RAW, bad)).toBe("Malformed");
  });

  it("an incompletely captured first fragment is decoded (Unverifiable); later fragments are Fragments", () => {
    const seg = tcp({ payload: new Uint8Array(64) }, ipv6Addr("2001:db8::1"), ipv6Addr("2001:db8::2"));
    const first = ipv6({ nh: 44 }, concat(frag6(6, 0, true, 5), seg));
    const { pkt } = decoded(LINKTYPE.RAW, first.subarray(0, 40 + 8 + 30), { wirelen: first.length });
    expect(pkt).toMatchObject({ sport: 40000, csum: Csum.Unverifiable });
    const later = ipv6({ nh: 44 }, concat(frag6(6, 88, false, 5), new Uint8Array(16)));
    expect(skipped(LINKTYPE.RAW, later.subarray(0, 50), { wirelen: later.length })).toBe("Fragments");
  });
});

describe("IP fragments (fully captured: analysed when the datagram completes, as Zeek reassembles)", () => {
  const src = ipv4Addr("10.0.0.1");
  const dst = ipv4Addr("10.0.0.2");
  const seg = tcp({ sport: 1111, dport: 2222, seq: 5, flags: 0x18, payload: new Uint8Array(100).fill(3) }, src, dst);

  it("first fragment then last: the segment appears at the last one, with reassembled lengths", () => {
    const a = ipv4({ id: 42, mf: true, proto: 6 }, seg.subarray(0, 64));
    const b = ipv4({ id: 42, fragOffset: 64, proto: 6 }, seg.subarray(64));
    expect(skipped(LINKTYPE.RAW, a)).toBe("Fragments");
    const { pkt } = decoded(LINKTYPE.RAW, b, { ts: 777n });
    expect(pkt).toMatchObject({
      ts: 777n,
      sport: 1111,
      dport: 2222,
      seq: 5,
      iplen: 140,
      paylen: 100,
      paycap: 0,
      payptr: 0,
      csum: Csum.Unverifiable,
    });
  });

  it("last fragment first: the first fragment completes it and keeps its payload pointer", () => {
    const a = ipv4({ id: 43, mf: true, proto: 6 }, seg.subarray(0, 64));
    const b = ipv4({ id: 43, fragOffset: 64, proto: 6 }, seg.subarray(64));
    expect(skipped(LINKTYPE.RAW, b)).toBe("Fragments");
    const { pkt, ptr } = decoded(LINKTYPE.RAW, a);
    expect(pkt).toMatchObject({ iplen: 140, paylen: 100, paycap: 44, payptr: ptr + 20 + 20 });
  });

  it("a datagram whose other fragments never arrive is never tracked", () => {
    const a = ipv4({ id: 44, mf: true, proto: 6 }, seg.subarray(0, 64));
    expect(skipped(LINKTYPE.RAW, a)).toBe("Fragments");
    const unrelated = ipv4({ id: 45, fragOffset: 64, proto: 6 }, seg.subarray(64));
    expect(skipped(LINKTYPE.RAW, unrelated)).toBe("Fragments");
  });

  it("IPv6 fragments complete the same way", () => {
    const s6 = ipv6Addr("2001:db8::1");
    const d6 = ipv6Addr("2001:db8::2");
    const seg6 = tcp({ sport: 3, dport: 4, payload: new Uint8Array(50) }, s6, d6);
    const a = ipv6({ nh: 44 }, concat(frag6(6, 0, true, 77), seg6.subarray(0, 48)));
    const b = ipv6({ nh: 44 }, concat(frag6(6, 48, false, 77), seg6.subarray(48)));
    expect(skipped(LINKTYPE.RAW, a)).toBe("Fragments");
    expect(decoded(LINKTYPE.RAW, b).pkt).toMatchObject({
      sport: 3,
      dport: 4,
      iplen: 40 + 70,
      paylen: 50,
      csum: Csum.Unverifiable,
    });
  });
});

describe("tunnels", () => {
  it("teredo-ipv6 #34: Teredo on ports 3797/32900 (found by Zeek's detection heuristic)", () => {
    const { pkt } = decoded(LINKTYPE.ETHERNET, F.TEREDO_SYN);
    expect(pkt).toMatchObject({
      tunnel: Tunnel.Teredo,
      ipver: 6,
      src: "2001:0:4137:9e50:8000:f12a:b9c8:2815",
      dst: "2001:4860:0:2001:0:0:0:68",
      sport: 1286,
      dport: 80,
      seq: 2088463174,
      flags: 0x02,
      win: 16384,
      thlen: 24,
      iplen: 64,
      mss: 1220,
      csum: Csum.Ok,
    });
  });

  it("Teredo on port 3544 with authentication and origin indication headers", () => {
    const inner = ipv6Tcp({ sport: 11 });
    const auth = concat(u16(1), Uint8Array.of(2, 3), Uint8Array.of(9, 9, 8, 8, 8), new Uint8Array(8), Uint8Array.of(0));
    const origin = concat(u16(0), u16(0xffff ^ 3544), u32(0xffffffff ^ 0x01020304));
    const frame = ether(0x0800, ipv4({ proto: 17 }, udp(40000, 3544, concat(auth, origin, inner))));
    expect(decoded(LINKTYPE.ETHERNET, frame).pkt).toMatchObject({ tunnel: Tunnel.Teredo, sport: 11 });
    // The inner packet must fill the datagram exactly (Zeek IP::ParsePacket): one trailing byte too many is plain UDP.
    const loose = ether(0x0800, ipv4({ proto: 17 }, udp(40000, 3544, concat(inner, Uint8Array.of(0)))));
    expect(skipped(LINKTYPE.ETHERNET, loose)).toBe("NonTcp");
  });

  it("gtp-s3 #1: GTPv1-U G-PDU with sequence number field, inner IPv4", () => {
    const { pkt } = decoded(LINKTYPE.ETHERNET, F.GTP_SYN);
    expect(pkt).toMatchObject({
      tunnel: Tunnel.Gtpu,
      src: "10.131.17.170",
      dst: "173.199.115.168",
      sport: 51803,
      dport: 80,
      seq: 3907987487,
      flags: 0x02,
      win: 8192,
      thlen: 32,
      iplen: 52,
      mss: 1460,
      wscale: 2,
      csum: Csum.Ok,
    });
  });

  it("GTP-U extension headers are walked; other message types and GTP-in-GTP are not decapsulated", () => {
    const inner = ipv4Tcp({ sport: 12 });
    const ext = Uint8Array.of(1, 0xaa, 0xbb, 0x00); // one 4-byte extension, next type 0
    const gtp = (type: number, payload: Uint8Array) =>
      concat(Uint8Array.of(0x34, type), u16(payload.length + 4), u32(1), u16(0), Uint8Array.of(0, 0x85), payload);
    const frame = ether(0x0800, ipv4({ proto: 17 }, udp(2152, 2152, gtp(255, concat(ext, inner)))));
    expect(decoded(LINKTYPE.ETHERNET, frame).pkt).toMatchObject({ tunnel: Tunnel.Gtpu, sport: 12 });
    const echo = ether(0x0800, ipv4({ proto: 17 }, udp(2152, 2152, gtp(1, concat(ext, inner)))));
    expect(skipped(LINKTYPE.ETHERNET, echo)).toBe("NonTcp");
    const plain = (payload: Uint8Array) => concat(Uint8Array.of(0x30, 255), u16(payload.length), u32(1), payload);
    const twice = ether(
      0x0800,
      ipv4({ proto: 17 }, udp(2152, 2152, plain(ipv4({ proto: 17 }, udp(2152, 2152, plain(inner)))))),
    );
    expect(skipped(LINKTYPE.ETHERNET, twice)).toBe("NonTcp");
  });

  it("ayiya-ipv6 #12: AYIYA forward, inner IPv6", () => {
    const { pkt } = decoded(LINKTYPE.ETHERNET, F.AYIYA_SYN);
    expect(pkt).toMatchObject({
      tunnel: Tunnel.Ayiya,
      ipver: 6,
      src: "2001:4978:f:4c:0:0:0:2",
      dst: "2001:4860:b002:0:0:0:0:68",
      sport: 53382,
      dport: 80,
      seq: 1529527881,
      flags: 0x02,
      thlen: 44,
      iplen: 84,
      mss: 1220,
      wscale: 1,
      tsval: 983573009,
      csum: Csum.Ok,
    });
  });

  it("VXLAN: inner Ethernet with its own VLAN tag (the outer tags do not carry over)", () => {
    const innerEth = ether(0x8100, concat(u16(0x0123), u16(0x0800), ipv4Tcp({ sport: 13 })));
    const vx = concat(Uint8Array.of(0x08, 0, 0, 0), Uint8Array.of(0, 0, 42, 0), innerEth);
    const outer = ether(0x8100, concat(u16(0x0777), u16(0x0800), ipv4({ proto: 17 }, udp(50000, 4789, vx))));
    expect(decoded(LINKTYPE.ETHERNET, outer).pkt).toMatchObject({ tunnel: Tunnel.Vxlan, vlan: 0x123, sport: 13 });
    const noI = concat(Uint8Array.of(0, 0, 0, 0), Uint8Array.of(0, 0, 42, 0), innerEth);
    expect(skipped(LINKTYPE.ETHERNET, ether(0x0800, ipv4({ proto: 17 }, udp(50000, 4789, noI))))).toBe("NonTcp");
  });

  it("GRE: IPv4 payload with key and sequence, IPv6 payload, transparent Ethernet, PPTP", () => {
    const keyed = concat(u16(0x3000), u16(0x0800), u32(7), u32(8), ipv4Tcp({ sport: 14 }));
    expect(decoded(LINKTYPE.RAW, ipv4({ proto: 47 }, keyed)).pkt).toMatchObject({
      tunnel: Tunnel.Gre,
      sport: 14,
      ipver: 4,
    });
    const v6 = concat(u16(0x0000), u16(0x86dd), ipv6Tcp({ sport: 15 }));
    expect(decoded(LINKTYPE.RAW, ipv4({ proto: 47 }, v6)).pkt).toMatchObject({
      tunnel: Tunnel.Gre,
      sport: 15,
      ipver: 6,
    });
    const teb = concat(u16(0x0000), u16(0x6558), ether(0x0800, ipv4Tcp({ sport: 16 })));
    expect(decoded(LINKTYPE.RAW, ipv4({ proto: 47 }, teb)).pkt).toMatchObject({ tunnel: Tunnel.Gre, sport: 16 });
    const pptp = concat(
      u16(0x3081),
      u16(0x880b),
      u16(40),
      u16(1),
      u32(5),
      u32(4),
      Uint8Array.of(0xff, 0x03),
      u16(0x0021),
      ipv4Tcp({ sport: 17 }),
    );
    expect(decoded(LINKTYPE.RAW, ipv4({ proto: 47 }, pptp)).pkt).toMatchObject({ tunnel: Tunnel.Gre, sport: 17 });
    const routing = concat(u16(0x4000), u16(0x0800), u32(0), ipv4Tcp());
    expect(skipped(LINKTYPE.RAW, ipv4({ proto: 47 }, routing))).toBe("NonTcp");
  });

  it("IP-in-IP (protocols 4 and 41)", () => {
    expect(decoded(LINKTYPE.RAW, ipv4({ proto: 4 }, ipv4Tcp({ sport: 18 }))).pkt).toMatchObject({
      tunnel: Tunnel.IpInIp,
      sport: 18,
      ipver: 4,
    });
    expect(decoded(LINKTYPE.RAW, ipv4({ proto: 41 }, ipv6Tcp({ sport: 19 }))).pkt).toMatchObject({
      tunnel: Tunnel.IpInIp,
      sport: 19,
      ipver: 6,
    });
  });

  it("P_TUNNEL is the outermost kind; nesting deeper than 4 tunnels is TunnelDepth", () => {
    let pkt = ipv4Tcp({ sport: 20 });
    const gre = (inner: Uint8Array) => ipv4({ proto: 47 }, concat(u16(0), u16(0x0800), inner));
    pkt = ipv4({ proto: 4 }, gre(pkt));
    expect(decoded(LINKTYPE.RAW, pkt).pkt).toMatchObject({ tunnel: Tunnel.IpInIp, sport: 20 });
    let deep = ipv4Tcp();
    for (let i = 0; i < 5; i++) deep = ipv4({ proto: 4 }, deep);
    expect(skipped(LINKTYPE.RAW, deep)).toBe("TunnelDepth");
  });

  it("a bad outer UDP checksum drops the tunnel packet (Zeek's UDP analyzer), unless checksums are ignored", () => {
    const src = ipv4Addr("10.0.0.1");
    const dst = ipv4Addr("10.0.0.2");
    const gtpPayload = (inner: Uint8Array) => concat(Uint8Array.of(0x30, 255), u16(inner.length), u32(1), inner);
    const good = ether(0x0800, ipv4({ proto: 17 }, udp(2152, 2152, gtpPayload(ipv4Tcp()), { src, dst })));
    expect(decoded(LINKTYPE.ETHERNET, good).pkt.tunnel).toBe(Tunnel.Gtpu);
    const bad = ether(0x0800, ipv4({ proto: 17 }, udp(2152, 2152, gtpPayload(ipv4Tcp()), { src, dst, corrupt: true })));
    expect(skipped(LINKTYPE.ETHERNET, bad)).toBe("BadTunnelChecksum");
    engine.reset({ ignoreChecksums: true });
    expect(decoded(LINKTYPE.ETHERNET, bad).pkt.tunnel).toBe(Tunnel.Gtpu);
  });
});

// ---- Zeek's remaining packet analyzers (issue 12): built frames, one rule per case ----

const LINK = { PPP: 9, FDDI: 10, PPP_HDLC: 50, WLAN: 105, RADIOTAP: 127, NFLOG: 239 } as const;
const llcSnap = (type: number) => concat(Uint8Array.of(0xaa, 0xaa, 0x03, 0, 0, 0), u16(type));
const geneve = (proto: number, inner: Uint8Array, opts: Uint8Array = new Uint8Array(0), version = 0) =>
  concat(
    Uint8Array.of((version << 6) | (opts.length / 4), 0),
    u16(proto),
    Uint8Array.of(0, 0x10, 0x92, 0),
    opts,
    inner,
  );
const overUdp = (dport: number, payload: Uint8Array) => ether(0x0800, ipv4({ proto: 17 }, udp(50000, dport, payload)));
const overGre = (flags: number, proto: number, rest: Uint8Array) =>
  ipv4({ proto: 47 }, concat(u16(flags), u16(proto), rest));
/** 802.11 data frame header: frame control, flags (DS bits, protected), duration, 3 or 4 addresses, sequence. */
const wlanHdr = (fc: number, flags: number) =>
  concat(
    Uint8Array.of(fc, flags),
    u16(0),
    new Uint8Array(18),
    u16(0),
    (flags & 3) === 3 ? new Uint8Array(6) : new Uint8Array(0),
  );
const WLAN_DATA = 0x08,
  WLAN_QOS_DATA = 0x88,
  WLAN_NULL = 0x48,
  WLAN_BEACON = 0x80;
/** A-MSDU subframe: DA, SA, length, body, then Zeek's padding (length % 4) unless last. */
const amsduSub = (body: Uint8Array, last: boolean) =>
  concat(new Uint8Array(12), u16(body.length), body, last ? new Uint8Array(0) : new Uint8Array(body.length % 4));

function feedFrames(linktype: number, frames: Uint8Array[]) {
  engine.reset({ ignoreChecksums: false });
  return engine.feedAll(
    writePcap({ linktype, records: frames.map((data, i) => ({ tsSec: 1, tsFrac: i, wirelen: data.length, data })) }),
  ).stats;
}

describe("Geneve (RFC 8926, 6081/udp)", () => {
  it("options are skipped by their total length; Ethernet and IP payloads; Tunnel.Geneve", () => {
    const opt = concat(u16(0x0102), Uint8Array.of(0x80, 1), u32(0x01020304));
    const eth = overUdp(6081, geneve(0x6558, ether(0x0800, ipv4Tcp({ sport: 31 })), opt));
    expect(decoded(LINKTYPE.ETHERNET, eth).pkt).toMatchObject({ tunnel: Tunnel.Geneve, sport: 31, ipver: 4 });
    const ip6 = overUdp(6081, geneve(0x86dd, ipv6Tcp({ sport: 32 })));
    expect(decoded(LINKTYPE.ETHERNET, ip6).pkt).toMatchObject({ tunnel: Tunnel.Geneve, sport: 32, ipver: 6 });
  });

  it("version != 0 (geneve_invalid_version), an empty payload (geneve_empty_packet) and ARP carry no TCP", () => {
    expect(skipped(LINKTYPE.ETHERNET, overUdp(6081, geneve(0x0800, ipv4Tcp(), new Uint8Array(0), 1)))).toBe("NonTcp");
    expect(skipped(LINKTYPE.ETHERNET, overUdp(6081, geneve(0x0800, new Uint8Array(0))))).toBe("NonTcp");
    expect(skipped(LINKTYPE.ETHERNET, overUdp(6081, geneve(0x0806, ipv4Tcp())))).toBe("NonTcp");
  });

  it("options running past the datagram are no tunnel; cut by the snaplen they are Truncated", () => {
    const opts = new Uint8Array(16);
    const frame = overUdp(6081, geneve(0x0800, ipv4Tcp(), opts));
    const optionsEnd = 14 + 20 + 8 + 8 + 16;
    expect(skipped(LINKTYPE.ETHERNET, frame.subarray(0, optionsEnd - 1), { wirelen: frame.length })).toBe("Truncated");
    const lying = overUdp(6081, concat(Uint8Array.of(0x3f, 0), u16(0x0800), u32(0), ipv4Tcp())); // 252 option bytes
    expect(skipped(LINKTYPE.ETHERNET, lying)).toBe("NonTcp");
  });
});

describe("GRE protocol types and GRE in UDP", () => {
  const inner = () => ether(0x0800, ipv4Tcp({ sport: 41 }));
  it("GRE-in-UDP (RFC 8086, 4754/udp) is GRE", () => {
    expect(
      decoded(LINKTYPE.ETHERNET, overUdp(4754, concat(u16(0), u16(0x0800), ipv4Tcp({ sport: 40 })))).pkt,
    ).toMatchObject({ tunnel: Tunnel.Gre, sport: 40 });
  });

  it("ERSPAN type I: Ethernet right after a GRE header without sequence number", () => {
    expect(decoded(LINKTYPE.RAW, overGre(0x0000, 0x88be, inner())).pkt).toMatchObject({
      tunnel: Tunnel.Gre,
      sport: 41,
    });
  });

  it("ERSPAN type II: sequence number, then an 8-byte ERSPAN header", () => {
    const erspan = concat(u16(0x1005), u16(0), u32(0));
    expect(decoded(LINKTYPE.RAW, overGre(0x1000, 0x88be, concat(u32(9), erspan, inner()))).pkt).toMatchObject({
      tunnel: Tunnel.Gre,
      sport: 41,
    });
  });

  it("ERSPAN type III: 12-byte header, plus 8 bytes when its O flag is set", () => {
    const hdr = (o: number) => concat(u16(0x2000), u16(6), u32(77), u16(0), u16(o));
    expect(decoded(LINKTYPE.RAW, overGre(0x1000, 0x22eb, concat(u32(1), hdr(0), inner()))).pkt).toMatchObject({
      sport: 41,
    });
    expect(
      decoded(LINKTYPE.RAW, overGre(0x1000, 0x22eb, concat(u32(1), hdr(1), new Uint8Array(8), inner()))).pkt,
    ).toMatchObject({ sport: 41 });
    // Without the O flag the 8 bytes would be read as the Ethernet header: no IPv4 EtherType there.
    expect(skipped(LINKTYPE.RAW, overGre(0x1000, 0x22eb, concat(u32(1), hdr(0), new Uint8Array(8), inner())))).toBe(
      "NonIp",
    );
  });

  it("Aruba WLAN types carry 802.11 (Zeek's exact test: 0x8200 family, 0x8300..0x8370, 0x9000)", () => {
    const wlan = concat(wlanHdr(WLAN_DATA, 0x01), llcSnap(0x0800), ipv4Tcp({ sport: 42 }));
    for (const proto of [0x8200, 0x8210, 0x8370, 0x9000]) {
      expect(decoded(LINKTYPE.RAW, overGre(0, proto, wlan)).pkt, proto.toString(16)).toMatchObject({
        tunnel: Tunnel.Gre,
        sport: 42,
      });
    }
    // 0x8201 is no Aruba type: Zeek forwards it as raw IP, and 802.11 bytes are no IP.
    expect(skipped(LINKTYPE.RAW, overGre(0, 0x8201, wlan))).toBe("Malformed");
  });

  it("any other version-0 protocol type is read as raw IP, as Zeek's IPTunnel forwards it", () => {
    expect(decoded(LINKTYPE.RAW, overGre(0, 0x8847, ipv4Tcp({ sport: 43 }))).pkt).toMatchObject({
      tunnel: Tunnel.Gre,
      sport: 43,
    });
    expect(skipped(LINKTYPE.RAW, overGre(0, 0x8847, u32(0x00001140)))).toBe("Malformed"); // an MPLS label: unknown_ip_version
  });

  it("unknown versions and reserved flag bits are refused", () => {
    expect(skipped(LINKTYPE.RAW, overGre(0x0002, 0x0800, ipv4Tcp()))).toBe("NonTcp");
    expect(skipped(LINKTYPE.RAW, overGre(0x0008, 0x0800, ipv4Tcp()))).toBe("NonTcp");
  });
});

describe("802.1ah PBB and Cisco VN-Tag", () => {
  const itag = u32(0x00123456);
  it("PBB: the customer frame follows the I-TAG; B-TAG and C-TAG become vlan and inner_vlan", () => {
    const customer = ether(0x8100, concat(u16(20), u16(0x0800), ipv4Tcp({ sport: 51 })));
    const frame = ether(0x88a8, concat(u16(100), u16(0x88e7), itag, customer));
    expect(decoded(LINKTYPE.ETHERNET, frame).pkt).toMatchObject({
      vlan: 100 | (20 << 12),
      sport: 51,
      tunnel: Tunnel.None,
    });
    expect(
      decoded(LINKTYPE.ETHERNET, ether(0x88e7, concat(itag, ether(0x0800, ipv4Tcp({ sport: 52 }))))).pkt,
    ).toMatchObject({ vlan: 0, sport: 52 });
  });

  it("PBB needs more than 18 bytes after its EtherType (truncated_PBB_header)", () => {
    const frame = ether(0x88e7, concat(itag, ether(0x0800, ipv4Tcp())));
    expect(skipped(LINKTYPE.ETHERNET, frame.subarray(0, 14 + 18), { wirelen: frame.length })).toBe("Truncated");
  });

  it("VN-Tag: a VLAN tag must follow (Zeek registers only 0x8100/0x88A8/0x9100 after it)", () => {
    const tag = u32(0x00090003);
    const tagged = ether(0x8926, concat(tag, u16(0x8100), u16(30), u16(0x0800), ipv4Tcp({ sport: 53 })));
    expect(decoded(LINKTYPE.ETHERNET, tagged).pkt).toMatchObject({ vlan: 30, sport: 53 });
    expect(skipped(LINKTYPE.ETHERNET, ether(0x8926, concat(tag, u16(0x0800), ipv4Tcp())))).toBe("NonIp");
    expect(skipped(LINKTYPE.ETHERNET, ether(0x8926, tag.subarray(0, 3)), { wirelen: 100 })).toBe("Truncated");
  });
});

describe("IEEE 802.3 length frames: LLC, SNAP, Novell", () => {
  const dot3 = (body: Uint8Array, trailer = new Uint8Array(0)) =>
    concat(new Uint8Array(12), u16(body.length), body, trailer);
  it("SNAP with OUI 0 and IPv4/IPv6 goes to IP; the length field cuts the trailer", () => {
    const { pkt } = decoded(
      LINKTYPE.ETHERNET,
      dot3(concat(llcSnap(0x0800), ipv4Tcp({ sport: 61 })), Uint8Array.of(1, 2, 3, 4)),
    );
    expect(pkt).toMatchObject({ sport: 61, csum: Csum.Ok, iplen: 40 });
    expect(decoded(LINKTYPE.ETHERNET, dot3(concat(llcSnap(0x86dd), ipv6Tcp({ sport: 62 })))).pkt).toMatchObject({
      sport: 62,
      ipver: 6,
    });
  });

  it("a length shorter than the IP packet is Zeek's truncated_IP_len", () => {
    const body = concat(llcSnap(0x0800), ipv4Tcp());
    const frame = concat(new Uint8Array(12), u16(body.length - 1), body);
    expect(skipped(LINKTYPE.ETHERNET, frame)).toBe("Truncated");
  });

  it("SNAP with another OUI, plain LLC and Novell raw 802.3 are no IP", () => {
    const cisco = concat(Uint8Array.of(0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c), u16(0x0800), ipv4Tcp());
    expect(skipped(LINKTYPE.ETHERNET, dot3(cisco))).toBe("NonIp");
    expect(skipped(LINKTYPE.ETHERNET, dot3(concat(Uint8Array.of(0x06, 0x06, 0x03), ipv4Tcp())))).toBe("NonIp");
    expect(skipped(LINKTYPE.ETHERNET, dot3(concat(Uint8Array.of(0xff, 0xff), ipv4Tcp())))).toBe("NonIp");
  });

  it("an I-format LLC control field makes the header 4 bytes long before SNAP", () => {
    const body = concat(Uint8Array.of(0xaa, 0xaa, 0x00, 0x00, 0, 0, 0), u16(0x0800), ipv4Tcp({ sport: 63 }));
    expect(decoded(LINKTYPE.ETHERNET, dot3(body)).pkt).toMatchObject({ sport: 63 });
  });

  it("after a VLAN tag too; but a small SLL protocol value is no 802.3 length", () => {
    const body = concat(llcSnap(0x0800), ipv4Tcp({ sport: 64 }));
    expect(decoded(LINKTYPE.ETHERNET, ether(0x8100, concat(u16(40), u16(body.length), body))).pkt).toMatchObject({
      vlan: 40,
      sport: 64,
    });
    const sll = concat(u16(0), u16(1), u16(6), new Uint8Array(8), u16(body.length), body);
    expect(skipped(LINKTYPE.SLL, sll)).toBe("NonIp");
  });
});

describe("IEEE 802.11 (link type 105), Radiotap (127)", () => {
  const msdu = (sport: number, payload = new Uint8Array(0)) => concat(llcSnap(0x0800), ipv4Tcp({ sport, payload }));
  it("data frames: To DS, From DS, four addresses, QoS", () => {
    expect(decoded(LINK.WLAN, concat(wlanHdr(WLAN_DATA, 0x01), msdu(71))).pkt).toMatchObject({ sport: 71 });
    expect(decoded(LINK.WLAN, concat(wlanHdr(WLAN_DATA, 0x02), msdu(72))).pkt).toMatchObject({ sport: 72 });
    expect(decoded(LINK.WLAN, concat(wlanHdr(WLAN_DATA, 0x03), msdu(73))).pkt).toMatchObject({ sport: 73 });
    expect(decoded(LINK.WLAN, concat(wlanHdr(WLAN_QOS_DATA, 0x03), u16(0x0500), msdu(74))).pkt).toMatchObject({
      sport: 74,
    });
  });

  it("management frames, data subtypes without data, protected QoS frames and non-SNAP LLC are skipped", () => {
    expect(skipped(LINK.WLAN, concat(wlanHdr(WLAN_BEACON, 0), msdu(1)))).toBe("NonIp");
    expect(skipped(LINK.WLAN, concat(wlanHdr(WLAN_NULL, 0x01), msdu(1)))).toBe("NonIp");
    expect(skipped(LINK.WLAN, concat(wlanHdr(WLAN_QOS_DATA, 0x41), u16(0), msdu(1)))).toBe("NonIp");
    expect(
      skipped(
        LINK.WLAN,
        concat(wlanHdr(WLAN_DATA, 0x01), Uint8Array.of(0x42, 0x42, 0x03, 0, 0, 0), u16(0x0800), ipv4Tcp()),
      ),
    ).toBe("NonIp");
  });

  it("A-MSDU: every subframe is a packet (Zeek), padding taken as length % 4", () => {
    // Bodies of 8 + 40 + 2 = 50 bytes (even: Zeek skips 2 padding bytes, the standard none) and 51.
    const a = msdu(75, Uint8Array.of(1, 2)),
      b = msdu(76, Uint8Array.of(1, 2, 3));
    const frame = concat(wlanHdr(WLAN_QOS_DATA, 0x01), Uint8Array.of(0x80, 0), amsduSub(a, false), amsduSub(b, true));
    const stats = feedFrames(LINK.WLAN, [frame]);
    expect({ records: stats.Records, segments: stats.Segments }).toEqual({ records: 1, segments: 2 });
    // The decodeFrame hook delivers the first subframe.
    expect(decoded(LINK.WLAN, frame).pkt).toMatchObject({ sport: 75, paylen: 2 });
  });

  it("A-MSDU: a hundred subframes in one frame are a hundred segments", () => {
    const subs = Array.from({ length: 100 }, (_, i) => amsduSub(msdu(1000 + i, Uint8Array.of(i)), i === 99));
    const frame = concat(wlanHdr(WLAN_QOS_DATA, 0x01), Uint8Array.of(0x80, 0), ...subs);
    const stats = feedFrames(LINK.WLAN, [frame]);
    expect({ records: stats.Records, segments: stats.Segments, flows: stats.FlowsCreated }).toEqual({
      records: 1,
      segments: 100,
      flows: 100,
    });
  });

  it("A-MSDU: a subframe cut short is dropped (truncated_802_11_amsdu_packet), the ones before it count", () => {
    const a = msdu(77),
      b = msdu(78);
    const frame = concat(wlanHdr(WLAN_QOS_DATA, 0x01), Uint8Array.of(0x80, 0), amsduSub(a, false), amsduSub(b, true));
    const stats = feedFrames(LINK.WLAN, [frame.subarray(0, frame.length - 1)]);
    expect({ segments: stats.Segments, truncated: stats.Truncated }).toEqual({ segments: 1, truncated: 1 });
  });

  it("A-MSDU: a subframe without LLC/SNAP ends the frame (invalid_802_11_amsdu_inner_packet)", () => {
    const bad = concat(Uint8Array.of(0x42, 0x42, 0x03, 0, 0, 0), u16(0x0800), ipv4Tcp());
    const frame = concat(
      wlanHdr(WLAN_QOS_DATA, 0x01),
      Uint8Array.of(0x80, 0),
      amsduSub(msdu(79), false),
      amsduSub(bad, false),
      amsduSub(msdu(80), true),
    );
    const stats = feedFrames(LINK.WLAN, [frame]);
    expect({ segments: stats.Segments, nonIp: stats.NonIp }).toEqual({ segments: 1, nonIp: 1 });
  });

  it("Radiotap: skipped by its little-endian length; a length reaching the capture's end is truncated_radiotap_header", () => {
    const rt = concat(Uint8Array.of(0, 0, 12, 0), u32(0x00000006 << 0), Uint8Array.of(0, 0, 0, 0));
    expect(decoded(LINK.RADIOTAP, concat(rt, wlanHdr(WLAN_DATA, 0x02), msdu(81))).pkt).toMatchObject({ sport: 81 });
    expect(skipped(LINK.RADIOTAP, Uint8Array.of(0, 0, 8, 0, 0, 0, 0, 0))).toBe("Truncated");
  });
});

describe("NFLOG (239), PPP (9, 50), FDDI (10)", () => {
  const tlv = (type: number, value: Uint8Array) => {
    const h = new Uint8Array(4);
    new DataView(h.buffer).setUint16(0, 4 + value.length, true);
    new DataView(h.buffer).setUint16(2, type, true);
    return concat(h, value, new Uint8Array((4 - (value.length % 4)) % 4));
  };
  it("NFLOG: TLVs (host order, padded to 4) up to the payload TLV; family AF_INET or AF_INET6", () => {
    const v4 = concat(Uint8Array.of(2, 0, 0, 7), tlv(10, Uint8Array.of(0x66, 0x72, 0)), tlv(9, ipv4Tcp({ sport: 91 })));
    expect(decoded(LINK.NFLOG, v4).pkt).toMatchObject({ sport: 91 });
    const v6 = concat(Uint8Array.of(10, 0, 0, 7), tlv(9, ipv6Tcp({ sport: 92 })));
    expect(decoded(LINK.NFLOG, v6).pkt).toMatchObject({ sport: 92, ipver: 6 });
  });

  it("NFLOG: version != 0, another family, a TLV length < 4 and a record without payload TLV", () => {
    expect(skipped(LINK.NFLOG, concat(Uint8Array.of(2, 1, 0, 7), tlv(9, ipv4Tcp())))).toBe("NonIp");
    expect(skipped(LINK.NFLOG, concat(Uint8Array.of(7, 0, 0, 7), tlv(9, ipv4Tcp())))).toBe("NonIp");
    expect(skipped(LINK.NFLOG, concat(Uint8Array.of(2, 0, 0, 7), Uint8Array.of(2, 0, 10, 0), tlv(9, ipv4Tcp())))).toBe(
      "NonIp",
    );
    expect(skipped(LINK.NFLOG, concat(Uint8Array.of(2, 0, 0, 7), tlv(10, Uint8Array.of(1, 2, 3, 4))))).toBe("NonIp");
  });

  it("PPP in HDLC framing (50) and PPP with or without FF 03 (9); MPLS 0x0281; LCP is no IP", () => {
    expect(
      decoded(LINK.PPP_HDLC, concat(Uint8Array.of(0xff, 0x03), u16(0x0021), ipv4Tcp({ sport: 93 }))).pkt,
    ).toMatchObject({ sport: 93 });
    expect(decoded(LINK.PPP, concat(u16(0x0057), ipv6Tcp({ sport: 94 }))).pkt).toMatchObject({ sport: 94 });
    expect(decoded(LINK.PPP, concat(Uint8Array.of(0xff, 0x03), u16(0x0021), ipv4Tcp({ sport: 95 }))).pkt).toMatchObject(
      { sport: 95 },
    );
    expect(
      decoded(LINK.PPP_HDLC, concat(Uint8Array.of(0xff, 0x03), u16(0x0281), u32(0x00001140), ipv4Tcp({ sport: 96 })))
        .pkt,
    ).toMatchObject({ sport: 96 });
    expect(skipped(LINK.PPP_HDLC, concat(Uint8Array.of(0xff, 0x03), u16(0xc021), ipv4Tcp()))).toBe("NonIp");
  });

  it("FDDI: 13-byte header and 8-byte LLC/SNAP skipped unread, then IP", () => {
    expect(
      decoded(LINK.FDDI, concat(Uint8Array.of(0x50), new Uint8Array(12), llcSnap(0x0800), ipv4Tcp({ sport: 97 }))).pkt,
    ).toMatchObject({ sport: 97 });
    expect(skipped(LINK.FDDI, new Uint8Array(21))).toBe("Truncated");
  });
});
