// The capture framing walker (src/ingest/capture-framing.ts) against the engine: on valid captures
// of every container flavour it finds nothing, and on captures with damaged headers it reports
// exactly the engine's first fatal error (code, stream offset, record number), whatever the chunk
// boundaries. This is what lets a session reject a damaged batch before the engine sees it.
import { describe, expect, it } from "vitest";
import { Reconstructor } from "../../src/reconstructor.js";
import { createEngine } from "../../src/wasm/engine.js";
import { errorCode } from "../../src/wasm/errors.js";
import { CaptureFraming, captureFormat } from "../../src/ingest/capture-framing.js";
import { parsePcap, writePcap, writePcapng, type NgSection } from "../decode/capture-io.js";
import { capture, RXMIT } from "./helpers.js";

// One engine for every trial: init() resets all engine state, and these trials set no options.
const engine = createEngine();

function engineError(bytes: Uint8Array, chunk: (i: number) => number): { code: string; offset: number; record: number } | null {
  const rec = new Reconstructor({}, engine);
  for (let off = 0, i = 0; off < bytes.length && rec.error === null; i++) {
    const n = Math.max(1, chunk(i));
    rec.push(bytes.subarray(off, off + n));
    off += n;
  }
  const e = rec.error;
  return e === null ? null : { code: e.code, offset: e.offset, record: e.record };
}

/** The walker's first error, with its code spelled as users see it (errorCode), as the engine's is. */
function walkerError(bytes: Uint8Array, chunk: (i: number) => number): { code: string; offset: number; record: number } | null {
  let framing = new CaptureFraming();
  for (let off = 0, i = 0; off < bytes.length; i++) {
    const n = Math.max(1, chunk(i));
    framing = framing.clone(); // every batch on a copy, as sessions do
    const e = framing.check(bytes.subarray(off, off + n));
    if (e !== null) return { code: errorCode(e.code), offset: e.offset, record: e.record };
    off += n;
  }
  return null;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Byte positions of every file header, record header, block head and block trailer. */
function headerPositions(bytes: Uint8Array): number[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  if (captureFormat(bytes) === "pcap") {
    const le = dv.getUint32(0, true) === 0xa1b2c3d4 || dv.getUint32(0, true) === 0xa1b23c4d;
    for (let i = 0; i < 24; i++) out.push(i);
    for (let off = 24; off + 16 <= bytes.length; off += 16 + dv.getUint32(off + 8, le)) for (let i = 0; i < 16; i++) out.push(off + i);
    return out;
  }
  let le = true;
  for (let off = 0; off + 12 <= bytes.length; ) {
    if (dv.getUint32(off, true) === 0x0a0d0d0a) le = dv.getUint32(off + 8, true) === 0x1a2b3c4d;
    const total = dv.getUint32(off + 4, le);
    for (let i = 0; i < Math.min(28, total - 4); i++) out.push(off + i);
    for (let i = total - 4; i < total; i++) out.push(off + i);
    off += total;
  }
  return out;
}

// Plain copies: Buffer#slice would be a view, and the mutations below must not reach the originals.
const copy = (b: Uint8Array): Uint8Array => new Uint8Array(b);
const rxmit = parsePcap(capture(RXMIT));
const packets = rxmit.records.slice(0, 12);
const ng = (bigEndian: boolean): NgSection => ({
  bigEndian,
  interfaces: [{ linktype: rxmit.linktype }, { linktype: rxmit.linktype, tsresol: 9 }],
  blocks: packets.map((r, i) =>
    i % 4 === 1 ? { kind: "spb", data: r.data } :
    i % 4 === 2 ? { kind: "pb", iface: 1, ticks: BigInt(r.tsSec) * 1_000_000_000n, data: r.data } :
    i % 4 === 3 ? { kind: "raw", type: 0x40000bad, body: r.data.subarray(0, 9) } :
    { kind: "epb", iface: 0, ticks: BigInt(r.tsSec) * 1_000_000n + BigInt(r.tsFrac), data: r.data }),
});

const CAPTURES: Record<string, Uint8Array> = {
  "pcap LE (corpus)": copy(capture(RXMIT)),
  "pcap BE nanoseconds": writePcap({ ...rxmit, bigEndian: true, nanos: true, records: rxmit.records.map((r) => ({ ...r, tsFrac: r.tsFrac * 1000 })) }),
  "pcap small snaplen": writePcap({ ...rxmit, snaplen: 96, records: packets }),
  "pcapng (corpus)": copy(capture("ldap-krbtgt-rstr.pcapng")),
  "pcapng two sections LE+BE, EPB/SPB/PB/unknown blocks": writePcapng([ng(false), ng(true)]),
};

describe("the framing walker on valid captures", () => {
  for (const [name, bytes] of Object.entries(CAPTURES)) {
    it(`${name}: no error, at every chunk size from 1 to 64`, () => {
      expect(engineError(bytes, () => bytes.length)).toBeNull();
      for (let size = 1; size <= 64; size++) expect(walkerError(bytes, () => size), `chunk ${size}`).toBeNull();
    });
  }
});

describe("the framing walker on damaged captures reports the engine's error", () => {
  for (const [name, original] of Object.entries(CAPTURES)) {
    it(`${name}: 500 captures with damaged headers, random chunks`, () => {
      const random = rng(name.length * 7919);
      const positions = headerPositions(original);
      const seen = new Set<string>();
      for (let trial = 0; trial < 500; trial++) {
        const bytes = original.slice();
        for (let k = 1 + Math.floor(random() * 3); k > 0; k--) {
          const at = random() < 0.85 ? positions[Math.floor(random() * positions.length)] : Math.floor(random() * bytes.length);
          bytes[at] = random() < 0.5 ? bytes[at] ^ (1 << Math.floor(random() * 8)) : Math.floor(random() * 256);
        }
        const chunk = () => 1 + Math.floor(random() * 700);
        const engine = engineError(bytes, () => bytes.length);
        expect(walkerError(bytes, chunk), `trial ${trial}`).toEqual(engine);
        if (engine !== null) seen.add(engine.code);
      }
      // The mutations reach real damage, not only payload bytes.
      expect(seen.size).toBeGreaterThan(1);
    });
  }

  it("reaches every container error code across the captures", () => {
    const codes = new Set<string>();
    const random = rng(99);
    for (const original of Object.values(CAPTURES)) {
      const positions = headerPositions(original);
      for (let trial = 0; trial < 600; trial++) {
        const bytes = original.slice();
        const at = positions[Math.floor(random() * positions.length)];
        bytes[at] = Math.floor(random() * 256);
        const e = engineError(bytes, () => bytes.length);
        expect(walkerError(bytes, () => 1 + Math.floor(random() * 300))).toEqual(e);
        if (e !== null) codes.add(e.code);
      }
    }
    for (const code of ["bad_magic", "bad_pcap_version", "absurd_caplen", "bad_block_length", "block_length_mismatch", "bad_section_magic", "unknown_interface", "bad_block_body"]) {
      expect(codes, code).toContain(code);
    }
  });

  it("a clone is independent: damage found on the copy leaves the original clean", () => {
    const bytes = copy(capture(RXMIT));
    const framing = new CaptureFraming();
    expect(framing.check(bytes.subarray(0, 1000))).toBeNull();
    const twin = framing.clone();
    const bad = bytes.slice(1000, 2000);
    bad.fill(0xff, 0, 100);
    expect(twin.check(bad)).not.toBeNull();
    expect(framing.error).toBeNull();
    expect(framing.check(bytes.subarray(1000))).toBeNull();
    expect(framing.position).toBe(bytes.length);
  });
});
