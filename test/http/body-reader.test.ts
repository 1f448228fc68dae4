// NodeBodyReader (src/http/body.ts) on a plain Readable: whatever the chunk sizes and the fill
// sizes, the fills give back the body's bytes in order, then 0; the limit and the idle deadline
// fail the pending fill and every later one.
import { Readable } from "node:stream";
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { NodeBodyReader, type ApiContext } from "../../src/http/body.js";
import { ApiError } from "../../src/http/errors.js";
import { mulberry32 } from "../../bench/lib/prng.mjs";

const NO_TIMEOUTS = { bodyIdleTimeoutMs: 0, minBodyRate: 0, bodyRateWindowMs: 0 };

/** The context's variables, as Hono keeps them. */
function context(): ApiContext & { vars: Map<string, unknown> } {
  const vars = new Map<string, unknown>();
  return { vars, get: (k: string) => vars.get(k), set: (k: string, v: unknown) => vars.set(k, v) } as never;
}

/** A stream that hands out `body` in the given chunk sizes, a few at a time as it is read. */
function source(body: Uint8Array, sizes: number[]): Readable {
  let off = 0;
  let i = 0;
  return new Readable({
    read() {
      setImmediate(() => {
        if (off >= body.length) return void this.push(null);
        const n = sizes[i++ % sizes.length];
        this.push(body.slice(off, off + n));
        off += n;
      });
    },
  });
}

async function readAll(reader: NodeBodyReader, fills: number[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let i = 0; ; i++) {
    const into = new Uint8Array(fills[i % fills.length]);
    const n = await reader.fill(into, into.length);
    if (n === 0) {
      // Once ended, every fill gives 0.
      expect(await reader.fill(new Uint8Array(8), 8)).toBe(0);
      return Buffer.concat(parts);
    }
    parts.push(Buffer.from(into.subarray(0, n)));
    if (n < into.length) expect(reader.ended, "a short fill only at the end").toBe(true);
  }
}

describe("NodeBodyReader", () => {
  const rand = mulberry32(7);
  const body = new Uint8Array(300_000).map(() => Math.floor(rand() * 256));

  for (const [chunks, fills] of [
    [[65_536], [1 << 20]],
    [[7], [1 << 20]],
    [[70_001, 3, 1], [7]],
    [
      [65_536, 12_345],
      [4096, 100_000, 1],
    ],
  ] as const) {
    it(`chunks of ${chunks.join("/")} read in fills of ${fills.join("/")}: the whole body, in order`, async () => {
      const c = context();
      c.set("bytesIn", 0);
      const reader = new NodeBodyReader(
        source(body, [...chunks]) as IncomingMessage,
        c,
        body.length,
        "capture",
        NO_TIMEOUTS,
        0,
      );
      const bytes = await readAll(reader, [...fills]);
      expect(bytes.equals(Buffer.from(body))).toBe(true);
      expect(c.vars.get("bytesIn")).toBe(body.length);
      reader.release();
    });
  }

  it("frees a chunk copied whole (its ArrayBuffer detached), not one split over two fills or read by another listener", async () => {
    // Node's HTTP parser gives each body chunk a Buffer of its own; freed at once, the main
    // thread's heap does not grow by the garbage chunks between two GCs (body.ts freeChunk).
    const chunks = [1, 2, 3].map((v) => new Uint8Array(1000).fill(v));
    const stream = new Readable({ read() {} });
    const reader = new NodeBodyReader(stream as IncomingMessage, context(), 1 << 20, "capture", NO_TIMEOUTS, 0);
    const first = new Uint8Array(1500);
    const filled = reader.fill(first, first.length);
    stream.push(chunks[0]);
    stream.push(chunks[1]);
    expect(await filled).toBe(1500);
    expect(chunks[0].buffer.byteLength, "copied whole: freed").toBe(0);
    expect(chunks[1].byteLength, "its second half goes in the next fill: kept").toBe(1000);
    const seen: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => seen.push(chunk));
    const second = new Uint8Array(1500);
    const filledToo = reader.fill(second, second.length);
    stream.push(chunks[2]);
    expect(await filledToo).toBe(1500);
    expect(chunks[2].byteLength, "another listener reads it: kept").toBe(1000);
    expect(seen.map((c) => [c.length, c[0], c[999]])).toEqual([[1000, 3, 3]]);
    expect(Buffer.from(first).equals(Buffer.concat([Buffer.alloc(1000, 1), Buffer.alloc(500, 2)]))).toBe(true);
    expect(Buffer.from(second).equals(Buffer.concat([Buffer.alloc(500, 2), Buffer.alloc(1000, 3)]))).toBe(true);
    reader.release();
  });

  it("413 once more than the limit arrived (counting what was read before), for this fill and the next", async () => {
    const reader = new NodeBodyReader(
      source(body, [10_000]) as IncomingMessage,
      context(),
      150_000,
      "capture",
      NO_TIMEOUTS,
      100_000,
    );
    const into = new Uint8Array(1 << 20);
    const e = await reader.fill(into, into.length).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(e).toMatchObject({ status: 413 });
    await expect(reader.fill(into, 1)).rejects.toBe(e);
  });

  it("408 when no byte comes for the idle time while a fill waits; none while no fill waits", async () => {
    const stream = new Readable({ read() {} });
    const reader = new NodeBodyReader(
      stream as IncomingMessage,
      context(),
      1 << 20,
      "capture",
      { bodyIdleTimeoutMs: 100, minBodyRate: 0, bodyRateWindowMs: 0 },
      0,
    );
    stream.push(Buffer.alloc(10));
    expect(await reader.fill(new Uint8Array(10), 10)).toBe(10);
    // No fill waits: the server is busy, not the client.
    await new Promise((r) => setTimeout(r, 250));
    stream.push(Buffer.alloc(5));
    expect(await reader.fill(new Uint8Array(5), 5)).toBe(5);
    const t0 = performance.now();
    const e = await reader.fill(new Uint8Array(5), 5).catch((x: unknown) => x);
    expect(e).toMatchObject({ status: 408, body: { code: "body_timeout" } });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(90);
  });

  it("a fill with an early end stops at its early bytes once its time passed, not at its minimum", async () => {
    const stream = new Readable({ read() {} });
    const reader = new NodeBodyReader(stream as IncomingMessage, context(), 1 << 20, "capture", NO_TIMEOUTS, 0);
    const t0 = performance.now();
    const early = reader.fill(new Uint8Array(1000), 1000, { bytes: 200, afterMs: 40 });
    stream.push(Buffer.alloc(150, 1));
    stream.push(Buffer.alloc(100, 2));
    // 250 bytes, past the early bytes: the fill waits for the rest of its minimum until 40 ms.
    const n = await early;
    expect(n).toBe(250);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(39);
    // Bytes that make the early bytes after the time passed end the fill at once.
    const late = reader.fill(new Uint8Array(1000), 1000, { bytes: 200, afterMs: 10 });
    await new Promise((r) => setTimeout(r, 30));
    stream.push(Buffer.alloc(100, 3));
    await new Promise((r) => setImmediate(r));
    let settled = false;
    void late.then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    expect(settled, "100 bytes are below the early bytes").toBe(false);
    stream.push(Buffer.alloc(120, 4));
    expect(await late).toBe(220);
    // Without an early end the fill waits for its minimum.
    const plain = reader.fill(new Uint8Array(1000), 300);
    stream.push(Buffer.alloc(250, 5));
    const first = await Promise.race([plain, new Promise((r) => setTimeout(() => r("pending"), 60))]);
    expect(first).toBe("pending");
    stream.push(Buffer.alloc(50, 6));
    expect(await plain).toBe(300);
    reader.release();
  });

  it("a stream that closes before its end fails the fill as a client that went away", async () => {
    const stream = new Readable({ read() {} });
    const reader = new NodeBodyReader(stream as IncomingMessage, context(), 1 << 20, "capture", NO_TIMEOUTS, 0);
    const pending = reader.fill(new Uint8Array(10), 10);
    stream.destroy();
    await expect(pending).rejects.toMatchObject({ code: "ERR_STREAM_PREMATURE_CLOSE" });
  });
});
