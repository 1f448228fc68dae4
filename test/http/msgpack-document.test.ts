// A msgpack answer held until its end (src/http/msgpack-document.ts HeldMaps): the head, the maps in
// the order they came (copied or kept in their buffers) and the tail decode to the document, and
// what is held is what the document takes (a sparse buffer is copied and given back at once).
import { Unpackr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { AsciiWriter } from "../../src/format/ascii.js";
import { HeldMaps, msgpackDocumentHead, msgpackDocumentTail, packr } from "../../src/http/msgpack-document.js";
import type { MovedLines } from "../../src/http/flow-job.js";

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

/** The maps of `flows`, each packed as the answer packs it, at the start of a buffer of `size` bytes (at least theirs). */
function piece(flows: object[], size: number): Uint8Array {
  const bytes = Buffer.concat(flows.map((f) => packr.pack(f)));
  const buffer = new Uint8Array(Math.max(size, bytes.length));
  buffer.set(bytes);
  return buffer.subarray(0, bytes.length);
}

/** A held piece that records whether its buffer was given back. */
function moved(bytes: Uint8Array): MovedLines & { given: boolean } {
  const lines = { bytes, given: false, done: () => void (lines.given = true) };
  return lines;
}

/** The document as the answer sends it: the head written into `out`, then the pieces in order. */
function document(held: HeldMaps, meta: Record<string, unknown>): unknown {
  const out = new AsciiWriter(64);
  const pieces = held.end(meta, out);
  return unpackr.unpack(Buffer.concat([out.take(), ...pieces.map((p) => p.bytes)]));
}

const flow = (i: number) => ({ ts: 1_700_000_000 + i, uid: `C${i}`, history: "ShADadFf" });

describe("HeldMaps", () => {
  it("a document of the maps in the order they came, copied and kept, with the members after flows", () => {
    const held = new HeldMaps();
    held.add(piece([flow(0), flow(1)], 64));
    // A buffer the maps fill: kept as it is, given back only once the answer wrote it.
    const maps = piece([flow(2), flow(3), flow(4)], 1 << 10);
    const kept = moved(new Uint8Array(maps));
    held.hold(kept);
    held.add(piece([flow(5)], 256));
    held.counted(6);
    expect(kept.given).toBe(false);
    const stats = { segments: 12, flows: 6 };
    expect(document(held, { stats, error: undefined })).toEqual({
      flows: [0, 1, 2, 3, 4, 5].map(flow),
      stats,
    });
  });

  it("holds what the document takes: a piece that fills under 3/4 of its buffer is copied and its buffer given back", () => {
    const held = new HeldMaps();
    const sparse = moved(piece([flow(0)], 64 << 10));
    held.hold(sparse);
    expect(sparse.given).toBe(true);
    expect(held.bytes).toBe(sparse.bytes.length);
    held.counted(1);
    const pieces = held.end({}, new AsciiWriter(64));
    // The open piece was trimmed to the bytes it holds.
    expect(pieces.map((p) => p.bytes.buffer.byteLength)).toEqual([sparse.bytes.length]);
  });

  it("no flows: an empty array, the count in its header", () => {
    const held = new HeldMaps();
    expect(document(held, { stats: { flows: 0 } })).toEqual({ flows: [], stats: { flows: 0 } });
  });
});

describe("msgpackDocumentHead", () => {
  it("a document with more members than a fixmap holds (15 entries) takes a map16 header", () => {
    const meta: Record<string, unknown> = {};
    for (let i = 0; i < 20; i++) meta[`m${i}`] = i;
    const maps = piece([flow(0), flow(1)], 0);
    const bytes = Buffer.concat([msgpackDocumentHead(2, meta), maps, ...msgpackDocumentTail(meta)]);
    expect(unpackr.unpack(bytes)).toEqual({ flows: [flow(0), flow(1)], ...meta });
  });
});
