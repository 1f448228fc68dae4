// ShardedRun keeps the output buffers its output is done with (src/shards/sharded-run.ts #keep):
// one goes back to the shard that printed it while the shard holds fewer than MAX_LENT_SPARES,
// else it waits on the reading thread for the reading thread's own writer or for a shard short of
// spares (issue 10: dropped there, they were new buffers and page faults later). A buffer handed
// on before its piece is done would be printed over while the piece is still being written out;
// each buffer here carries its number in its last byte, so where every one went can be told.
import { receiveMessageOnPort } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import {
  createLink,
  MAX_LENT_SPARES,
  OUT_BYTES,
  type FromShard,
  type ShardLink,
  type ToShard,
} from "../../src/shards/protocol.js";
import { ShardedRun } from "../../src/shards/sharded-run.js";

const SIZE = OUT_BYTES + (64 << 10);

/** A shard's printed piece in a buffer numbered `n` (its last byte). */
function piece(n: number): Uint8Array {
  const bytes = new Uint8Array(SIZE);
  bytes[0] = n;
  bytes[SIZE - 1] = n;
  return bytes.subarray(0, 1000);
}

/** The numbers of the buffers given to the shard since the last call (its start message passed over). */
function spares(shard: ShardLink): number[] {
  const got: number[] = [];
  for (let m = receiveMessageOnPort(shard.port); m !== undefined; m = receiveMessageOnPort(shard.port)) {
    const back = m.message as ToShard;
    if (back.kind === "spare") got.push(new Uint8Array(back.buffer)[SIZE - 1]);
  }
  return got;
}

/** A run of two engines (the shard at `link`) without a printer, its output pieces handed to `onBytes`. */
function runOver(link: ReturnType<typeof createLink>, onBytes: ConstructorParameters<typeof ShardedRun>[0]["onBytes"]) {
  return new ShardedRun({
    threads: 2,
    links: [link.reader],
    options: {},
    print: null,
    insight: { endUs: 0, final: true },
    onBytes,
    onRecord: () => {},
  });
}

describe("ShardedRun's output buffers", () => {
  it("go back to their shard up to its share, the rest are kept (counted as memory), never before their piece is done", async () => {
    const link = createLink();
    const pieces: { n: number; done: (back?: ArrayBuffer) => void }[] = [];
    const run = runOver(link, (bytes, done) => pieces.push({ n: bytes[0], done }));
    const send = (n: number, spare = false): void => {
      const bytes = piece(n);
      link.shard.port.postMessage({ kind: "out", bytes, endUs: 0, spare } satisfies FromShard, [
        bytes.buffer as ArrayBuffer,
      ]);
    };
    const pumpAll = async (): Promise<void> => {
      // A message posted on a port is there for receiveMessageOnPort once the event loop turned.
      await new Promise((r) => setImmediate(r));
      while (run.pump() > 0);
    };
    const memory = run.memoryBytes;
    const extra = 3;
    for (let n = 0; n < MAX_LENT_SPARES + extra; n++) send(n);
    await pumpAll();
    expect(pieces.map((p) => p.n)).toEqual(Array.from({ length: MAX_LENT_SPARES + extra }, (_, n) => n));
    // Nothing is done yet: nothing goes back.
    expect(spares(link.shard)).toEqual([]);
    for (const p of pieces.splice(0, MAX_LENT_SPARES + extra)) p.done();
    // The shard's share goes back, in the order the pieces were done; the rest are kept here.
    expect(spares(link.shard)).toEqual(Array.from({ length: MAX_LENT_SPARES }, (_, n) => n));
    expect(run.memoryBytes - memory).toBe(extra * SIZE);

    // The shard prints into lent buffers; once it holds fewer than half its share, each piece it
    // prints into one brings it a kept one, and a piece still in flight is never among them.
    for (let n = 100; n < 100 + MAX_LENT_SPARES; n++) send(n, true);
    await pumpAll();
    const given = spares(link.shard);
    expect(given.sort((a, b) => a - b)).toEqual([MAX_LENT_SPARES, MAX_LENT_SPARES + 1, MAX_LENT_SPARES + 2]);
    expect(run.memoryBytes).toBe(memory);
    expect(pieces.map((p) => p.n)).toEqual(Array.from({ length: MAX_LENT_SPARES }, (_, n) => 100 + n));

    // Done once the run is closed: left to the GC, neither given back nor kept.
    await run.close();
    for (const p of pieces.splice(0)) p.done();
    expect(spares(link.shard)).toEqual([]);
    expect(run.memoryBytes).toBe(memory);
    link.shard.port.close();
  });

  it("keeps at most 16 (the rest are left to the GC), and small pieces' copies never", async () => {
    const link = createLink();
    const pieces: ((back?: ArrayBuffer) => void)[] = [];
    const run = runOver(link, (_bytes, done) => pieces.push(done));
    const memory = run.memoryBytes;
    const count = MAX_LENT_SPARES + 20;
    for (let n = 0; n < count; n++) {
      const bytes = piece(n);
      link.shard.port.postMessage({ kind: "out", bytes, endUs: 0 } satisfies FromShard, [bytes.buffer as ArrayBuffer]);
    }
    const small = new Uint8Array(1000);
    link.shard.port.postMessage({ kind: "out", bytes: small, endUs: 0 } satisfies FromShard, [small.buffer]);
    await new Promise((r) => setImmediate(r));
    while (run.pump() > 0);
    expect(pieces.length).toBe(count + 1);
    for (const done of pieces) done();
    expect(spares(link.shard).length).toBe(MAX_LENT_SPARES);
    expect(run.memoryBytes - memory).toBe(16 * SIZE);
    await run.close();
    link.shard.port.close();
  });
});
