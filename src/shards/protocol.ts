/**
 * @module
 * What the reading thread and a shard thread exchange besides the frame ring (src/shards/ring.ts):
 * the thread's start data, its messages back, and the output credits that bound them.
 *
 * Credits: a shard takes one per `out` message and waits (Atomics.wait) while MAX_OUT_PENDING are
 * taken; the reading thread gives one back once it has handed the bytes on. So a shard finishing
 * millions of flows at the end of the input holds at most that many output pieces in memory,
 * however slow the reader of the output is.
 */

import type { MessagePort } from "node:worker_threads";
import type { ReconstructorOptions } from "../reconstructor.js";
import type { PrintSpec } from "../output/printer.js";
import type { Stats } from "../stats.js";

export const MAX_OUT_PENDING = 8;

export interface ShardData {
  port: MessagePort;
  /** The frame ring's SharedArrayBuffer (ring.ts). */
  ring: SharedArrayBuffer;
  /** One Int32: output pieces sent and not yet handed on. */
  credits: SharedArrayBuffer;
  /** Engine options of this shard (its share of the flow cap, the process's hash key). */
  options: ReconstructorOptions;
  /** Print here (formats whose records print on their own), or null: send raw records. */
  print: Omit<PrintSpec, "layout"> | null;
}

export type FromShard =
  /** Printed bytes, or (records) whole flow records finished under capture clock endUs. */
  | { kind: "out"; bytes: Uint8Array; endUs: number; records?: boolean }
  | { kind: "done"; stats: Stats }
  | { kind: "failed"; message: string; stack?: string };

/** Shard side: waits for a free credit and takes it. */
export function takeCredit(credits: Int32Array): void {
  for (;;) {
    const taken = Atomics.load(credits, 0);
    if (taken >= MAX_OUT_PENDING) {
      Atomics.wait(credits, 0, taken);
      continue;
    }
    if (Atomics.compareExchange(credits, 0, taken, taken + 1) === taken) return;
  }
}

/** Reading-thread side: gives one credit back. */
export function giveCredit(credits: Int32Array): void {
  Atomics.sub(credits, 0, 1);
  Atomics.notify(credits, 0);
}
