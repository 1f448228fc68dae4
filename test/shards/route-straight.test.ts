// Routing's straight path (assembly/shard/route.ts routeEthStraight) against decodeLink in route
// mode: every frame must get the same route key both ways (the hash of the same outermost address
// pair, or none), or a connection's frames could land in two shards. The frames sit at the very end
// of linear memory, so a read past the captured bytes traps. First the common shapes and every cut
// of them, then the shapes left to decodeLink, then mutated corpus frames (seeded; FUZZ_SEED replays).

import { describe, expect, it } from "vitest";
import { Engine } from "../decode/wasm-harness.js";
import * as F from "../decode/fixtures.js";
import { LINKTYPE } from "../decode/fixtures.js";
import { mulberry32 } from "../../bench/lib/prng.mjs";
import { corpusEthernetFrames, flipHeaderBytes } from "../decode/mutated-frames.js";

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);

const engine = new Engine();
engine.ex.routeInit(4, 0.25);

/** The route key of `frame` through the straight path (true) or decodeLink alone (false). */
function key(frame: Uint8Array, straight: boolean, linktype: number = LINKTYPE.ETHERNET): bigint {
  const mem = engine.mem();
  const ptr = mem.length - frame.length;
  mem.set(frame, ptr);
  return engine.ex.routeKey(linktype, ptr, frame.length, frame.length, straight ? 1 : 0) as bigint;
}

/** Both ways; returns the key. */
function same(frame: Uint8Array, what: string): bigint {
  const s = key(frame, true);
  const g = key(frame, false);
  expect(s, `${what}: straight route key against decodeLink's`).toBe(g);
  return s;
}

function patch(f: Uint8Array, at: number, bytes: number[]): Uint8Array {
  const out = f.slice();
  out.set(bytes, at);
  return out;
}

const COMMON = { ipv4: F.ETH_IPV4_SYN, vlan: F.ETH_VLAN_SYN, ipv6: F.ETH_IPV6_SYN, padded: F.ETH_IPV4_PADDED };

describe("routing's straight path = decodeLink's outermost IP header", () => {
  it("keys the common frames (IPv4, VLAN + IPv4, IPv6) by their address pair", () => {
    for (const [name, f] of Object.entries(COMMON)) expect(same(f, name), name).not.toBe(-1n);
  });

  it("both directions of a connection get one key", () => {
    // Source and destination swapped: IPv4 at 14 + 12 and 14 + 16, IPv6 at 14 + 8 and 14 + 24.
    const v4 = F.ETH_IPV4_SYN;
    const back4 = patch(v4, 26, [...v4.subarray(30, 34), ...v4.subarray(26, 30)]);
    expect(key(back4, true)).toBe(key(v4, true));
    const v6 = F.ETH_IPV6_SYN;
    const back6 = patch(v6, 22, [...v6.subarray(38, 54), ...v6.subarray(22, 38)]);
    expect(key(back6, true)).toBe(key(v6, true));
  });

  it("every captured length of them", () => {
    for (const [name, f] of Object.entries(COMMON)) {
      for (let cut = 0; cut <= f.length; cut++) same(f.subarray(0, cut), `${name} cut at ${cut}`);
    }
  });

  it("the shapes left to decodeLink, and an IP version other than the EtherType's", () => {
    const cases: Array<[string, Uint8Array]> = [
      ["version 6 behind EtherType IPv4", patch(F.ETH_IPV4_SYN, 14, [0x65])],
      ["version 4 behind EtherType IPv6", patch(F.ETH_IPV6_SYN, 14, [0x45])],
      ["version 5", patch(F.ETH_IPV4_SYN, 14, [0x55])],
      ["IHL 6 (options)", patch(F.ETH_IPV4_SYN, 14, [0x46])],
      ["QinQ EtherType", patch(F.ETH_VLAN_SYN, 12, [0x88, 0xa8])],
      ["two 802.1Q tags", patch(F.ETH_VLAN_SYN, 16, [0x81, 0x00])],
      ["VLAN then IPv6 EtherType on IPv4", patch(F.ETH_VLAN_SYN, 16, [0x86, 0xdd])],
      ["ARP", patch(F.ETH_IPV4_SYN, 12, [0x08, 0x06])],
      ["802.3 length", patch(F.ETH_IPV4_SYN, 12, [0x00, 0x40])],
      ["MPLS", F.ETH_MPLS_SYN],
      ["QinQ PPPoE", F.ETH_QINQ_PPPOE_SYN],
      ["FabricPath IPv4", F.FABRICPATH_IPV4_SYN],
      ["FabricPath IPv6", F.FABRICPATH_IPV6_SYN],
    ];
    for (const [name, f] of cases) {
      for (let cut = 0; cut <= f.length; cut++) same(f.subarray(0, cut), `${name} cut at ${cut}`);
    }
  });

  it("other link types are routed as before", () => {
    // A raw IPv4 packet: the straight path is Ethernet's only.
    const raw = F.ETH_IPV4_SYN.subarray(14);
    const s = key(raw, true, LINKTYPE.RAW);
    expect(s).toBe(key(raw, false, LINKTYPE.RAW));
    expect(s).toBe(key(F.ETH_IPV4_SYN, true));
  });

  it("mutated corpus frames get the same key both ways", () => {
    const r = mulberry32(SEED ^ 0x70a7);
    const frames: Uint8Array[] = [
      ...Object.values(COMMON),
      F.ETH_MPLS_SYN,
      F.ETH_QINQ_PPPOE_SYN,
      F.FABRICPATH_IPV4_SYN,
    ];
    frames.push(...corpusEthernetFrames());
    // Values on the straight route's tests: EtherType bytes, version nibbles.
    const interesting = [0x00, 0x08, 0x45, 0x46, 0x55, 0x60, 0x65, 0x81, 0x86, 0x88, 0xa8, 0xdd, 0xff];
    let keyed = 0;
    let runs = 0;
    for (; runs < 20_000; runs++) {
      const f = frames[Math.floor(r() * frames.length)].slice();
      flipHeaderBytes(f, r, interesting, 24);
      const cut = r() < 0.7 ? f : f.subarray(0, Math.floor(r() * f.length));
      if (same(cut, `run ${runs} (FUZZ_SEED=${SEED})`) !== -1n) keyed++;
    }
    // The mutations must leave plenty of frames with an address pair.
    expect(keyed).toBeGreaterThan(runs / 4);
  });
});
