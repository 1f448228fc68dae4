// ShardedRun.pump (src/shards/sharded-run.ts) takes at most MAX_OUT_PENDING messages of a shard per
// call: it gives the shard a credit back for each piece, so a shard ending its flows can keep its
// port full for as long as the reading thread drains it; an unbounded loop then gathered every
// piece the shards printed before the caller could look at its output (an API answer's memory).
import { describe, expect, it } from "vitest";
import { createLink, MAX_OUT_PENDING, type FromShard } from "../../src/shards/protocol.js";
import { ShardedRun } from "../../src/shards/sharded-run.js";

describe("ShardedRun.pump", () => {
  it("hands on at most MAX_OUT_PENDING messages per shard per call, in order, and the rest in later calls", async () => {
    const links = [createLink(), createLink()];
    const got: number[][] = [[], []];
    const run = new ShardedRun({
      threads: 3,
      links: links.map((l) => l.reader),
      options: {},
      print: null,
      insight: { endUs: 0, final: true },
      onBytes: (bytes) => got[bytes[0]].push(bytes[1]),
      onRecord: () => {},
    });
    const sent = [2 * MAX_OUT_PENDING + 3, MAX_OUT_PENDING - 1];
    links.forEach((l, shard) => {
      for (let i = 0; i < sent[shard]; i++)
        l.shard.port.postMessage({ kind: "out", bytes: Uint8Array.of(shard, i), endUs: 0 } satisfies FromShard);
    });
    const rounds: number[] = [];
    for (let handled = run.pump(); handled > 0; handled = run.pump()) rounds.push(handled);
    expect(rounds).toEqual([MAX_OUT_PENDING + MAX_OUT_PENDING - 1, MAX_OUT_PENDING, 3]);
    expect(got).toEqual(sent.map((n) => Array.from({ length: n }, (_, i) => i)));
    await run.close();
    for (const l of links) l.shard.port.close();
  });
});
