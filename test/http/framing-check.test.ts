// The engine's framing check (Reconstructor.checkCapture, assembly/capture/check.ts) against the
// engine decoding: a batch checked after any prefix of a capture, in any chunks, reports exactly the
// first fatal error that decoding it reports (code, stream offset, record number), and leaves the
// instance as it was. This is what lets a session reject a damaged batch before the engine tracks it.
import { describe, expect, it } from "vitest";
import { Reconstructor } from "../../src/reconstructor.js";
import { createEngine } from "../../src/wasm/engine.js";
import { captureFormat } from "../../src/ingest/capture-format.js";
import { parsePcap, writePcap, writePcapng, type NgSection } from "../decode/capture-io.js";
import { capture, RXMIT } from "./helpers.js";
import { mulberry32 } from "../../bench/lib/prng.mjs";

// One engine for every trial: init() resets all engine state, and these trials set no options.
const engine = createEngine();

function engineError(
  bytes: Uint8Array,
  chunk: (i: number) => number,
): { code: string; offset: number; record: number } | null {
  const rec = new Reconstructor({}, engine);
  for (let off = 0, i = 0; off < bytes.length && rec.error === null; i++) {
    const n = Math.max(1, chunk(i));
    rec.push(bytes.subarray(off, off + n));
    off += n;
  }
  const e = rec.error;
  return e === null ? null : { code: e.code, offset: e.offset, record: e.record };
}

type Found = { code: string; offset: number; record: number } | null;

/**
 * Pushes bytes[0, cut), then checks the rest (in random chunks) and pushes it: the check's error and
 * the error decoding reports after it.
 */
function checkThenPush(
  bytes: Uint8Array,
  cut: number,
  chunk: () => number,
): { checked: Found | "prefix failed"; decoded: Found } {
  const rec = new Reconstructor({}, engine);
  rec.push(bytes.subarray(0, cut));
  if (rec.error !== null) return { checked: "prefix failed", decoded: found(rec.error) };
  const chunks: Uint8Array[] = [];
  for (let off = cut; off < bytes.length; ) {
    const n = Math.max(1, chunk());
    chunks.push(bytes.subarray(off, off + n));
    off += n;
  }
  const checked = found(rec.checkCapture(chunks));
  for (const c of chunks) if (rec.error === null) rec.push(c);
  return { checked, decoded: found(rec.error) };
}

function found(e: { code: string; offset: number; record: number } | null): Found {
  return e === null ? null : { code: e.code, offset: e.offset, record: e.record };
}

/** Byte positions of every file header, record header, block head and block trailer. */
function headerPositions(bytes: Uint8Array): number[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  if (captureFormat(bytes) === "pcap") {
    const le = dv.getUint32(0, true) === 0xa1b2c3d4 || dv.getUint32(0, true) === 0xa1b23c4d;
    for (let i = 0; i < 24; i++) out.push(i);
    for (let off = 24; off + 16 <= bytes.length; off += 16 + dv.getUint32(off + 8, le))
      for (let i = 0; i < 16; i++) out.push(off + i);
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
    i % 4 === 1
      ? { kind: "spb", data: r.data }
      : i % 4 === 2
        ? { kind: "pb", iface: 1, ticks: BigInt(r.tsSec) * 1_000_000_000n, data: r.data }
        : i % 4 === 3
          ? { kind: "raw", type: 0x40000bad, body: r.data.subarray(0, 9) }
          : { kind: "epb", iface: 0, ticks: BigInt(r.tsSec) * 1_000_000n + BigInt(r.tsFrac), data: r.data },
  ),
});

const CAPTURES: Record<string, Uint8Array> = {
  "pcap LE (corpus)": copy(capture(RXMIT)),
  "pcap BE nanoseconds": writePcap({
    ...rxmit,
    bigEndian: true,
    nanos: true,
    records: rxmit.records.map((r) => ({ ...r, tsFrac: r.tsFrac * 1000 })),
  }),
  "pcap small snaplen": writePcap({ ...rxmit, snaplen: 96, records: packets }),
  "pcapng (corpus)": copy(capture("ldap-krbtgt-rstr.pcapng")),
  "pcapng two sections LE+BE, EPB/SPB/PB/unknown blocks": writePcapng([ng(false), ng(true)]),
};

describe("the engine's framing check", () => {
  for (const [name, original] of Object.entries(CAPTURES)) {
    it(`${name}: valid, checked after every 97th prefix: no error`, () => {
      expect(engineError(original, () => original.length)).toBeNull();
      for (let cut = 0; cut < original.length; cut += 97) {
        expect(
          checkThenPush(original, cut, () => 64),
          `cut ${cut}`,
        ).toEqual({ checked: null, decoded: null });
      }
    });

    it(`${name}: 150 captures with damaged headers, a random prefix pushed first: the check reports decoding's error`, () => {
      const random = mulberry32(name.length * 7919);
      const positions = headerPositions(original);
      const seen = new Set<string>();
      for (let trial = 0; trial < 150; trial++) {
        const bytes = original.slice();
        for (let k = 1 + Math.floor(random() * 3); k > 0; k--) {
          const at =
            random() < 0.85 ? positions[Math.floor(random() * positions.length)] : Math.floor(random() * bytes.length);
          bytes[at] = random() < 0.5 ? bytes[at] ^ (1 << Math.floor(random() * 8)) : Math.floor(random() * 256);
        }
        const whole = engineError(bytes, () => bytes.length);
        const { checked, decoded } = checkThenPush(
          bytes,
          Math.floor(random() * bytes.length),
          () => 1 + Math.floor(random() * 700),
        );
        // The prefix may have met the damage already; otherwise the check finds what decoding finds.
        expect(decoded, `trial ${trial}: decoding after the check`).toEqual(whole);
        if (checked !== "prefix failed") expect(checked, `trial ${trial}: the check`).toEqual(whole);
        if (whole !== null) seen.add(whole.code);
      }
      expect(seen.size).toBeGreaterThan(1);
    });
  }
});
