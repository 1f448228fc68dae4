/**
 * @module
 * What the reading thread and a shard thread exchange besides the frame ring (src/shards/ring.ts):
 * the thread's start data, its messages back, and the output credits that bound them.
 *
 * Credits: a shard takes one per `out` message and waits (Atomics.wait) while MAX_OUT_PENDING are
 * taken; the reading thread gives one back once it has handed the bytes on. So a shard finishing
 * millions of flows at the end of the input holds at most that many output pieces in memory,
 * however slow the reader of the output is.
 *
 * The credits buffer also carries the shard's engine memory (for a server's memory budget) and a
 * closed mark: once its run is abandoned ({@link abandonLink}), a shard waiting for a credit throws.
 *
 * Output buffers go round: the reading thread gives a shard's output buffer back ({@link ToShard})
 * once it is done with it (its stream wrote it), and the shard prints its next piece into it (and
 * says so: `spare` of `out`). The reading thread lends a shard at most {@link MAX_LENT_SPARES} at a
 * time and none once it ended, so a shard never holds more than those (a stream slower than the
 * shards would otherwise leave the shard every buffer it ever filled); one coming back beyond
 * those is kept by the reading thread (a few, sharded-run.ts #keep) for its own next pieces or a
 * shard short of spares. An API answer's reading thread copies a small piece and gives its buffer
 * back at once; a large one goes on to the main thread and comes back once written to the socket
 * (src/http/engine-worker.ts).
 * Handed over fresh each piece, the 1 MiB buffers stayed allocated until a GC of the reading thread
 * freed them, which its long synchronous stretches put off: at the CLI's peak RSS on the 1.2M-open
 * capture (README) the shard thread's malloc arena held 64 MiB of them (smaps).
 *
 * Where a shard thread comes from: {@link ShardedRun} starts one per shard (the CLI), or a shard runs
 * on a thread that already exists (an API engine-pool thread, src/http/engine-pool.ts), joined by a
 * {@link ShardLink}: whoever lends the thread makes the link ({@link createLink}), gives one end to the
 * shard's thread and the other to the reading thread, which sends the shard its {@link ShardStart}
 * as the link's first message.
 */

import { MessageChannel, type MessagePort } from "node:worker_threads";
import { closeRing, createRing, RingClosedError } from "./ring.js";
import type { ReconstructorOptions } from "../reconstructor.js";
import type { PrintSpec } from "../output/printer.js";
import type { Stats } from "../stats.js";
import type { FlowsJobSpec } from "../http/flow-job.js";
import type { FlowCounts } from "../http/flow-counts.js";

export const MAX_OUT_PENDING = 8;
/** Output buffers a shard may hold, given back and not yet printed into again: one per credit. */
export const MAX_LENT_SPARES = MAX_OUT_PENDING;
/** Printed output is handed on in pieces of about this size (by the shards and the reading thread). */
export const OUT_BYTES = 1 << 20;
/** Ring bytes per shard: four staging areas' worth in flight. */
export const RING_BYTES = 4 << 20;

/** Int32 cells of the credits buffer. */
const TAKEN = 0;
const CLOSED = 1;
/** The shard engine's memory in KiB (Int32: up to 2 TiB). */
const MEMORY_KIB = 2;
const CREDIT_CELLS = 4;
/** A shard waiting for a credit looks at the closed mark this often (ms). */
const CLOSED_POLL_MS = 50;

/** One end of the link between the reading thread and a shard's thread: the same ring and credits at both. */
export interface ShardLink {
  port: MessagePort;
  /** The frame ring's SharedArrayBuffer (ring.ts). */
  ring: SharedArrayBuffer;
  /** {@link CREDIT_CELLS} Int32: output pieces sent and not yet handed on, closed, memory. */
  credits: SharedArrayBuffer;
}

/**
 * A new link: `reader` for the reading thread (ShardedRun), `shard` for the shard's thread, with a
 * frame ring of `ringBytes` (a power of two).
 */
export function createLink(ringBytes = RING_BYTES): { reader: ShardLink; shard: ShardLink } {
  const ring = createRing(ringBytes).buffer;
  const credits = new SharedArrayBuffer(4 * CREDIT_CELLS);
  const { port1, port2 } = new MessageChannel();
  return { reader: { port: port1, ring, credits }, shard: { port: port2, ring, credits } };
}

/**
 * Abandons the run on a link (from any thread that holds it): both sides stop waiting and throw
 * {@link RingClosedError}, so a shard on a lent thread ends and its thread is free again.
 */
export function abandonLink(link: Pick<ShardLink, "ring" | "credits">): void {
  closeRing({ buffer: link.ring });
  const credits = new Int32Array(link.credits);
  Atomics.store(credits, CLOSED, 1);
  Atomics.notify(credits, TAKEN);
}

/** Shard side: publishes its engine's memory. */
export function setShardMemory(credits: Int32Array, bytes: number): void {
  Atomics.store(credits, MEMORY_KIB, Math.min(0x7fffffff, Math.ceil(bytes / 1024)));
}

/** Reading-thread side: a shard engine's memory as it last published it. */
export function shardMemory(credits: Int32Array): number {
  return Atomics.load(credits, MEMORY_KIB) * 1024;
}

/** What the reading thread sends first on a {@link ShardLink}: the rest of the shard's {@link ShardData}. */
export type ShardStart = Pick<ShardData, "options" | "print" | "answer">;

/** An API answer printed by every engine of the run: NDJSON, a JSON document's flows or msgpack maps, with its filter and flow tallies (EngineFlowsJob). */
export type ShardAnswer = Omit<FlowsJobSpec, "kind" | "layout" | "insight">;

export interface ShardData extends ShardLink {
  /** Engine options of this shard (its share of the flow cap, the process's hash key). */
  options: ReconstructorOptions;
  /** Print here (formats whose records print on their own), or null: send raw records. */
  print: Omit<PrintSpec, "layout"> | null;
  /** Instead of `print`: print an API answer's lines, and tally its flows (`counts` of `out`). */
  answer?: ShardAnswer;
}

export type FromShard =
  /**
   * Printed bytes, or (records) whole flow records finished under capture clock endUs; `spare`: the
   * shard went on in a buffer given back (one fewer lent); `printed`: the flows in the bytes, where
   * the answer counts them (msgpack maps).
   */
  | {
      kind: "out";
      bytes: Uint8Array;
      endUs: number;
      records?: boolean;
      counts?: FlowCounts;
      printed?: number;
      spare?: boolean;
    }
  | { kind: "done"; stats: Stats }
  | { kind: "failed"; message: string; stack?: string };

/** What the reading thread sends a shard after its {@link ShardStart}: an output buffer it is done with. */
export type ToShard = { kind: "spare"; buffer: ArrayBuffer };

/** Shard side: waits for a free credit and takes it; throws once the run was abandoned. */
export function takeCredit(credits: Int32Array): void {
  for (;;) {
    const taken = Atomics.load(credits, TAKEN);
    if (taken >= MAX_OUT_PENDING) {
      if (Atomics.load(credits, CLOSED) !== 0) throw new RingClosedError();
      Atomics.wait(credits, TAKEN, taken, CLOSED_POLL_MS);
      continue;
    }
    if (Atomics.compareExchange(credits, TAKEN, taken, taken + 1) === taken) return;
  }
}

/** Reading-thread side: gives one credit back. */
export function giveCredit(credits: Int32Array): void {
  Atomics.sub(credits, TAKEN, 1);
  Atomics.notify(credits, TAKEN);
}
