// The straight path (assembly/layers/straight.ts) against the general decoders: every frame is
// decoded through decodeFrame (straight path first) by one engine and decodeFrameGeneral (general
// decoders only) by another, fed the same frames in the same order (the IP fragment table is state),
// and the two must return the same code and leave the same descriptor, byte for byte. The frames
// sit at the very end of linear memory, so a read past the captured bytes traps. First the edges of
// the straight path's shape one by one, then mutated corpus frames (seeded; FUZZ_SEED replays).

import { describe, expect, it } from "vitest";
import { Engine, LAYOUT } from "./wasm-harness.js";
import * as F from "./fixtures.js";
import { LINKTYPE } from "./fixtures.js";
import { mulberry32 } from "../../bench/lib/prng.mjs";
import { corpusEthernetFrames, flipHeaderBytes } from "./mutated-frames.js";

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
/** The whole descriptor: P_CLOCK is its last field (8 bytes). */
const PKT_BYTES = LAYOUT.P_CLOCK + 8;

interface Outcome {
  code: number;
  pkt: Uint8Array;
}

/** Decodes `frame` one way; the descriptor is poisoned first, so a field one way leaves alone shows. */
function decodeOne(engine: Engine, general: boolean, frame: Uint8Array, wirelen: number): Outcome {
  const mem = engine.mem();
  const at = engine.ex.pktPtr();
  mem.fill(0xa5, at, at + PKT_BYTES);
  const ptr = mem.length - frame.length;
  mem.set(frame, ptr);
  const hook = general ? engine.ex.decodeFrameGeneral : engine.ex.decodeFrame;
  const code = hook(LINKTYPE.ETHERNET, ptr, frame.length, wirelen, 1234567n);
  return { code, pkt: engine.mem().slice(at, at + PKT_BYTES) };
}

/** The two engines: decodeFrame in the first, decodeFrameGeneral in the second. */
class Pair {
  readonly straight = new Engine();
  readonly general = new Engine();
  reset(opts: { ignoreChecksums?: boolean } = {}): void {
    this.straight.reset(opts);
    this.general.reset(opts);
  }
  codeName(code: number): string {
    return this.straight.codeName(code);
  }
}

/** Both ways; fails with the first differing descriptor byte named. Returns the code. */
function same(engines: Pair, frame: Uint8Array, wirelen = frame.length): number {
  const s = decodeOne(engines.straight, false, frame, wirelen);
  const g = decodeOne(engines.general, true, frame, wirelen);
  expect(engines.codeName(s.code)).toBe(engines.codeName(g.code));
  const field = (i: number) =>
    Object.entries(LAYOUT)
      .filter(([k, v]) => k.startsWith("P_") && v <= i)
      .sort((a, b) => b[1] - a[1])[0]?.[0];
  const diff = s.pkt.findIndex((b, i) => b !== g.pkt[i]);
  expect(diff === -1 ? "same" : `byte ${diff} (${field(diff)}): straight ${s.pkt[diff]}, general ${g.pkt[diff]}`).toBe(
    "same",
  );
  return s.code;
}

/** Sets the IPv4 header checksum of the header at `ip` (RFC 791 §3.1). */
function fixIpv4Checksum(f: Uint8Array, ip: number): void {
  if (f.length < ip + 20) return;
  f[ip + 10] = 0;
  f[ip + 11] = 0;
  const hl = Math.min((f[ip] & 0xf) * 4, f.length - ip) & ~1;
  let sum = 0;
  for (let i = 0; i < hl; i += 2) sum += (f[ip + i] << 8) | f[ip + i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  const c = ~sum & 0xffff;
  f[ip + 10] = c >> 8;
  f[ip + 11] = c & 0xff;
}

/** `f` with the bytes at `at` replaced. */
function patch(f: Uint8Array, at: number, bytes: number[]): Uint8Array {
  const out = f.slice();
  out.set(bytes, at);
  return out;
}

const ETH_FRAMES = [F.ETH_IPV4_SYN, F.ETH_IPV4_SACK, F.ETH_VLAN_SYN, F.ETH_IPV6_SYN, F.ETH_IPV4_PADDED];

describe("straight path = general decoders", () => {
  const engine = new Pair();

  it("decodes the common frames (IPv4, VLAN + IPv4, IPv6) as the general decoders do", () => {
    for (const f of ETH_FRAMES) expect(engine.codeName(same(engine, f))).toBe("Decoded");
  });

  it("with checksums ignored too", () => {
    engine.reset({ ignoreChecksums: true });
    for (const f of ETH_FRAMES) expect(engine.codeName(same(engine, f))).toBe("Decoded");
    engine.reset();
  });

  it("a bad IPv4 header checksum behind a VLAN tag: BadIpChecksum with the tag stored", () => {
    const f = patch(F.ETH_VLAN_SYN, 18 + 10, [0, 0]);
    expect(engine.codeName(same(engine, f))).toBe("BadIpChecksum");
  });

  it("a bad TCP checksum: Decoded, Csum.Bad", () => {
    const f = patch(F.ETH_IPV4_SYN, 14 + 20 + 16, [0, 0]);
    expect(engine.codeName(same(engine, f))).toBe("Decoded");
    expect(engine.straight.pkt().csum).toBe(engine.straight.enumValue("Csum.Bad"));
  });

  it("every captured length, and a wire length short of the IP length", () => {
    for (const f of ETH_FRAMES) {
      for (let cut = 0; cut <= f.length; cut++) {
        same(engine, f.subarray(0, cut), f.length);
        same(engine, f.subarray(0, cut), cut);
      }
    }
  });

  it("IPv4 shapes left to the general decoders: options, fragments, DF, short or zero total length, not TCP", () => {
    const ip = 14;
    const cases: Array<[string, Uint8Array]> = [
      ["IHL 6", patch(F.ETH_IPV4_SYN, ip, [0x46])],
      ["version 6 behind EtherType IPv4", patch(F.ETH_IPV4_SYN, ip, [0x65])],
      ["MF", patch(F.ETH_IPV4_SYN, ip + 6, [0x20, 0x00])],
      ["fragment offset", patch(F.ETH_IPV4_SYN, ip + 6, [0x00, 0x01])],
      ["DF alone", patch(F.ETH_IPV4_SYN, ip + 6, [0x40, 0x00])],
      ["total length 39", patch(F.ETH_IPV4_SYN, ip + 2, [0, 39])],
      ["total length 40", patch(F.ETH_IPV4_SYN, ip + 2, [0, 40])],
      ["total length 19", patch(F.ETH_IPV4_SYN, ip + 2, [0, 19])],
      ["total length 0 (TSO)", patch(F.ETH_IPV4_SYN, ip + 2, [0, 0])],
      ["total length past the frame", patch(F.ETH_IPV4_SYN, ip + 2, [0x05, 0xdc])],
      ["UDP", patch(F.ETH_IPV4_SYN, ip + 9, [17])],
      ["QinQ EtherType", patch(F.ETH_VLAN_SYN, 12, [0x88, 0xa8])],
      ["two 802.1Q tags", patch(F.ETH_VLAN_SYN, 16, [0x81, 0x00])],
      ["VLAN then IPv6 EtherType on IPv4", patch(F.ETH_VLAN_SYN, 16, [0x86, 0xdd])],
      ["TCP data offset 4", patch(F.ETH_IPV4_SYN, ip + 20 + 12, [0x40])],
      ["TCP data offset 15", patch(F.ETH_IPV4_SYN, ip + 20 + 12, [0xf0])],
    ];
    for (const ignore of [false, true]) {
      engine.reset({ ignoreChecksums: ignore });
      for (const [name, f] of cases) {
        fixIpv4Checksum(f, name.startsWith("VLAN") || name.includes("tag") || name.includes("QinQ") ? 18 : ip);
        try {
          same(engine, f);
        } catch (e) {
          throw new Error(`${name} (ignoreChecksums ${ignore}): ${(e as Error).message}`);
        }
      }
    }
    engine.reset();
  });

  it("IPv6 shapes left to the general decoders: an extension header, a short payload length, version 4", () => {
    const ip = 14;
    const cases: Array<[string, Uint8Array]> = [
      ["hop-by-hop first", patch(F.ETH_IPV6_SYN, ip + 6, [0])],
      ["fragment header first", patch(F.ETH_IPV6_SYN, ip + 6, [44])],
      ["payload length 19", patch(F.ETH_IPV6_SYN, ip + 4, [0, 19])],
      ["payload length 20", patch(F.ETH_IPV6_SYN, ip + 4, [0, 20])],
      ["payload length 0", patch(F.ETH_IPV6_SYN, ip + 4, [0, 0])],
      ["payload length past the frame", patch(F.ETH_IPV6_SYN, ip + 4, [0x05, 0xdc])],
      ["version 4 behind EtherType IPv6", patch(F.ETH_IPV6_SYN, ip, [0x45])],
    ];
    for (const [name, f] of cases) {
      try {
        same(engine, f);
      } catch (e) {
        throw new Error(`${name}: ${(e as Error).message}`);
      }
    }
  });

  it("mutated corpus frames decode the same both ways", () => {
    const r = mulberry32(SEED ^ 0x57a1);
    const frames: Uint8Array[] = [...ETH_FRAMES, F.ETH_MPLS_SYN, F.ETH_QINQ_PPPOE_SYN, F.FABRICPATH_IPV4_SYN];
    frames.push(...corpusEthernetFrames());
    // Values that sit on the straight path's tests: EtherTypes, version/IHL, lengths, flags, protocols.
    const interesting = [
      0x00, 0x01, 0x06, 0x08, 0x11, 0x14, 0x20, 0x27, 0x28, 0x2c, 0x40, 0x45, 0x46, 0x60, 0x81, 0x86, 0xdd, 0xff,
    ];
    let decoded = 0;
    let runs = 0;
    for (; runs < 20_000; runs++) {
      if (runs % 500 === 0) engine.reset({ ignoreChecksums: r() < 0.5 });
      const f = frames[Math.floor(r() * frames.length)].slice();
      flipHeaderBytes(f, r, interesting, 80);
      if (r() < 0.7) fixIpv4Checksum(f, f[12] === 0x81 ? 18 : 14);
      const cut = r() < 0.7 ? f : f.subarray(0, Math.floor(r() * f.length));
      const wire = r() < 0.8 ? f.length : Math.floor(r() * f.length);
      try {
        if (same(engine, cut, wire) === 0) decoded++;
      } catch (e) {
        throw new Error(`run ${runs} (FUZZ_SEED=${SEED}): ${(e as Error).message}`);
      }
    }
    // The mutations must leave plenty of frames on the path under test.
    expect(decoded).toBeGreaterThan(runs / 4);
  });
});
