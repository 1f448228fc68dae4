// Fuzz smoke test (bounded time, seeded): mutated corpus captures fed in random chunk sizes must never
// trap or throw, feed() must always make progress or report an error (the harness throws on a stall),
// and linear memory must not grow (the decoders allocate nothing per packet). Mutated single frames go
// through decodeFrame at the very end of linear memory, where any read past the captured bytes traps.
// Set FUZZ_SEED to replay a run; FUZZ_MS to change the time budget (default 10 s in total).

import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CORPUS, Engine } from "./wasm-harness.js";
import { parsePcap } from "./capture-io.js";
import * as F from "./fixtures.js";
import { LINKTYPE } from "./fixtures.js";
import { mulberry32 } from "../../bench/lib/prng.mjs";

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
const BUDGET_MS = Number(process.env.FUZZ_MS ?? 10_000);

const CAPTURES = [
  "vlan-mpls.pcap",
  "pppoe-qinq-rxmit.pcap",
  "cisco-fabricpath-syn-retx.pcap",
  "teredo-ipv6.pcap",
  "gtp-s3.pcap",
  "gtp-outer-ip-frag.pcap",
  "ayiya-ipv6.pcap",
  "http-connect-s1.pcap",
  "irc-starttls-fin-then-rst.pcap",
  "tcp-flip-without-syn.pcapng",
  "tcp-retransmit-timeout.pcapng",
  "ldap-krbtgt-rstr.pcapng",
  "ftp-ipv6.pcap",
  "tcp-ethernet-padding.pcap",
].map((f) => new Uint8Array(readFileSync(join(CORPUS, f))));

/** Offsets of the length fields of every record (pcap) or block (pcapng): the juiciest targets. */
function lengthFields(b: Uint8Array): number[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: number[] = [];
  if (dv.getUint32(0, true) === 0x0a0d0d0a) {
    let off = 0;
    while (off + 12 <= b.length) {
      const len = dv.getUint32(off + 4, true);
      out.push(off + 4, off + len - 4);
      if (dv.getUint32(off, true) === 6) out.push(off + 20, off + 24); // EPB caplen, orig len
      if (len < 12) break;
      off += len;
    }
  } else {
    let off = 24;
    while (off + 16 <= b.length) {
      out.push(off + 8, off + 12);
      out.push(off + 16 + 16, off + 16 + 18); // around an IPv4 total length behind Ethernet
      off += 16 + dv.getUint32(off + 8, true);
    }
  }
  return out.filter((o) => o + 4 <= b.length);
}

function mutate(src: Uint8Array, r: () => number): Uint8Array {
  let b = src.slice();
  const fields = lengthFields(src);
  const n = 1 + Math.floor(r() * 8);
  for (let i = 0; i < n; i++) {
    const pos = Math.floor(r() * b.length);
    switch (Math.floor(r() * 6)) {
      case 0:
        b[pos] ^= 1 << Math.floor(r() * 8);
        break;
      case 1:
        b[pos] = Math.floor(r() * 256);
        break;
      case 2: {
        if (!fields.length) break;
        const f = fields[Math.floor(r() * fields.length)];
        if (f + 4 > b.length) break;
        const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
        const old = dv.getUint32(f, true);
        const choices = [
          0,
          1,
          11,
          12,
          13,
          0xffff,
          0x7fffffff,
          0xffffffff,
          old + 4,
          old - 4,
          old + 1,
          Math.floor(r() * 2 ** 32),
        ];
        dv.setUint32(f, choices[Math.floor(r() * choices.length)] >>> 0, true);
        break;
      }
      case 3:
        b = b.subarray(0, pos).slice();
        break;
      case 4: {
        // smash a run of bytes
        const len = 1 + Math.floor(r() * 16);
        for (let k = pos; k < Math.min(b.length, pos + len); k++) b[k] = Math.floor(r() * 256);
        break;
      }
      default: {
        // duplicate a slice (shifts every later record)
        const len = Math.floor(r() * 64);
        b = Uint8Array.from([...b.subarray(0, pos), ...b.subarray(pos, pos + len), ...b.subarray(pos)]);
      }
    }
  }
  return b;
}

describe(`fuzz smoke (FUZZ_SEED=${SEED})`, () => {
  it(
    "mutated captures in random chunks: no trap, no stall, no memory growth",
    () => {
      const r = mulberry32(SEED);
      const engine = new Engine();
      // The flow table grows with live flows up to its cap; with a small cap, one warm-up run
      // allocates all the tracker will ever need, and after that memory must stay flat.
      engine.ex.setOption(engine.enumValue("Option.FlowCap"), 4096);
      engine.reset({});
      for (const capture of CAPTURES) engine.feedAll(capture, () => 65536, Number.MAX_SAFE_INTEGER);
      const memBefore = engine.ex.memory.buffer.byteLength;
      const end = Date.now() + BUDGET_MS * 0.6;
      let runs = 0;
      while (Date.now() < end) {
        const input = mutate(CAPTURES[Math.floor(r() * CAPTURES.length)], r);
        const small = r() < 0.3;
        engine.reset({ ignoreChecksums: r() < 0.5 });
        try {
          const res = engine.feedAll(
            input,
            () => (small ? 1 + Math.floor(r() * 16) : 1 + Math.floor(r() * 8192)),
            memBefore,
          );
          expect(res.stats.Bytes).toBeLessThanOrEqual(input.length);
          if (res.err.code === 0) expect(res.stats.Bytes).toBe(input.length);
        } catch (e) {
          throw new Error(`run ${runs} (FUZZ_SEED=${SEED}): ${(e as Error).message}`);
        }
        runs++;
      }
      expect(engine.ex.memory.buffer.byteLength).toBe(memBefore);
      expect(runs).toBeGreaterThan(10);
    },
    BUDGET_MS + 30_000,
  );

  it(
    "mutated single frames through decodeFrame at the end of memory: no trap",
    () => {
      const r = mulberry32(SEED ^ 0x5a5a5a5a);
      const engine = new Engine();
      const memBefore = engine.ex.memory.buffer.byteLength;
      const frames: Array<[number, Uint8Array]> = [
        [LINKTYPE.ETHERNET, F.ETH_IPV4_SYN],
        [LINKTYPE.ETHERNET, F.ETH_QINQ_PPPOE_SYN],
        [LINKTYPE.ETHERNET, F.ETH_MPLS_SYN],
        [LINKTYPE.ETHERNET, F.FABRICPATH_IPV6_SYN],
        [LINKTYPE.SLL, F.SLL_IPV4_SYN],
        [LINKTYPE.NULL, F.NULL_IPV6_SYN],
        [LINKTYPE.ETHERNET, F.TEREDO_SYN],
        [LINKTYPE.ETHERNET, F.GTP_SYN],
        [LINKTYPE.ETHERNET, F.AYIYA_SYN],
      ];
      for (const c of ["gtp-outer-ip-frag.pcap", "teredo-ipv6.pcap", "ftp-ipv6.pcap"]) {
        for (const rec of parsePcap(new Uint8Array(readFileSync(join(CORPUS, c)))).records.slice(0, 40))
          frames.push([LINKTYPE.ETHERNET, rec.data]);
      }
      const linktypes = Object.values(LINKTYPE);
      const end = Date.now() + BUDGET_MS * 0.4;
      let runs = 0;
      while (Date.now() < end) {
        const [lt0, f0] = frames[Math.floor(r() * frames.length)];
        const f = f0.slice();
        const flips = 1 + Math.floor(r() * 6);
        for (let i = 0; i < flips; i++) f[Math.floor(r() * Math.min(f.length, 120))] = Math.floor(r() * 256);
        const cut = r() < 0.5 ? f.subarray(0, Math.floor(r() * f.length)) : f;
        const lt = r() < 0.9 ? lt0 : linktypes[Math.floor(r() * linktypes.length)];
        if (runs % 64 === 0) engine.reset({ ignoreChecksums: r() < 0.5 });
        try {
          engine.decodeFrame(lt, cut, { wirelen: r() < 0.5 ? f.length : cut.length });
        } catch (e) {
          throw new Error(`frame run ${runs} (FUZZ_SEED=${SEED}): ${(e as Error).message}`);
        }
        runs++;
      }
      expect(engine.ex.memory.buffer.byteLength).toBe(memBefore);
      expect(runs).toBeGreaterThan(1000);
    },
    BUDGET_MS + 30_000,
  );
});
