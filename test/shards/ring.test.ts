// The shard ring and credits (src/shards/ring.ts, protocol.ts): an abandoned run (abandonLink, from
// any thread) stops each side where it would otherwise wait for ever: a reader on an empty ring, a
// writer on a full one, a shard waiting for an output credit. A lent API thread's shard relies on
// it to end when its upload is dropped.
import { describe, expect, it } from "vitest";
import { abandonLink, createLink, MAX_OUT_PENDING, takeCredit } from "../../src/shards/protocol.js";
import { MSG_ALIGN, MSG_END, MSG_FRAMES, RingClosedError, RingReader, RingWriter } from "../../src/shards/ring.js";

describe("a message read in pieces", () => {
  it("hands the payload on straight from the ring: the same bytes in order, across the wrap", () => {
    const { reader: ends, shard } = createLink();
    const writer = new RingWriter({ buffer: ends.ring });
    const reader = new RingReader({ buffer: shard.ring });
    const capacity = new Uint8Array(shard.ring).length - 64;
    // The first message moves the ring's offset off zero, so the second (nearly the whole ring) wraps.
    const sizes = [1000, capacity - 100];
    sizes.forEach((n, i) => {
      const payload = Uint8Array.from({ length: n }, (_, j) => (j * 7 + i) & 0xff);
      writer.send(MSG_FRAMES, i, payload);
      const pieces: Uint8Array[] = [];
      const m = reader.next((piece, kind) => {
        expect(kind).toBe(MSG_FRAMES);
        pieces.push(piece.slice());
      });
      expect([m.kind, m.clockUs, m.payload.length]).toEqual([MSG_FRAMES, i, 0]);
      expect(pieces.length, `message ${i}: pieces`).toBe(i === 0 ? 1 : 2);
      expect(Buffer.concat(pieces).equals(Buffer.from(payload)), `message ${i}: bytes`).toBe(true);
    });
    expect(reader.empty).toBe(true);
    ends.port.close();
  });
});

describe("message alignment", () => {
  it("every message starts at a multiple of MSG_ALIGN: payloads of any length are padded, the padding skipped", () => {
    const { reader: ends, shard } = createLink();
    const writer = new RingWriter({ buffer: ends.ring });
    const reader = new RingReader({ buffer: shard.ring });
    // The ring's first cell counts the bytes ever written (ring.ts): where the next message starts.
    const written = new Int32Array(ends.ring, 0, 1);
    for (let n = 1; n <= 2 * MSG_ALIGN + 1; n++) {
      const payload = Uint8Array.from({ length: n }, (_, j) => (n * 31 + j) & 0xff);
      writer.send(MSG_FRAMES, n, payload);
      expect(Atomics.load(written, 0) % MSG_ALIGN, `after a ${n}-byte payload`).toBe(0);
      // Read both ways: copied out, and in pieces straight from the ring.
      const m = n % 2 === 0 ? reader.next() : null;
      const pieces: Uint8Array[] = [];
      if (m === null) reader.next((piece) => pieces.push(piece.slice()));
      const got = m !== null ? Buffer.from(m.payload) : Buffer.concat(pieces);
      expect(got.equals(Buffer.from(payload)), `a ${n}-byte payload's bytes`).toBe(true);
    }
    writer.send(MSG_END, 99);
    const end = reader.next();
    expect([end.kind, end.clockUs, end.payload.length]).toEqual([MSG_END, 99, 0]);
    expect(reader.empty).toBe(true);
    ends.port.close();
  });
});

describe("an abandoned link", () => {
  it("messages sent before the close are still read; then the empty, closed ring throws", async () => {
    const { reader: ends, shard } = createLink();
    const writer = new RingWriter({ buffer: ends.ring });
    const reader = new RingReader({ buffer: shard.ring });
    expect(reader.empty).toBe(true);
    writer.send(MSG_FRAMES, 7, Uint8Array.of(1, 2, 3));
    writer.send(MSG_END, 8);
    abandonLink(ends);
    expect(reader.closed).toBe(true);
    await reader.arrival(); // bytes are there: resolves at once
    const m = reader.next();
    expect([m.kind, m.clockUs, [...m.payload]]).toEqual([MSG_FRAMES, 7, [1, 2, 3]]);
    expect(reader.next().kind).toBe(MSG_END);
    expect(reader.empty).toBe(true);
    await reader.arrival(); // closed: resolves without bytes
    expect(() => reader.next()).toThrow(RingClosedError);
    ends.port.close();
  });

  it("a writer on a full ring throws once the ring is closed", () => {
    const { reader: ends } = createLink();
    const writer = new RingWriter({ buffer: ends.ring });
    let fulls = 0;
    writer.onFull = () => {
      if (++fulls === 3) abandonLink(ends);
    };
    const big = new Uint8Array(1 << 20);
    expect(() => {
      for (let i = 0; i < 16; i++) writer.send(MSG_FRAMES, i, big);
    }).toThrow(RingClosedError);
    expect(fulls).toBe(3);
    ends.port.close();
  });

  it("a shard waiting for an output credit throws once the link is abandoned", () => {
    const { reader: ends, shard } = createLink();
    const credits = new Int32Array(shard.credits);
    for (let i = 0; i < MAX_OUT_PENDING; i++) takeCredit(credits);
    abandonLink(ends);
    expect(() => takeCredit(credits)).toThrow(RingClosedError);
    ends.port.close();
  });
});
