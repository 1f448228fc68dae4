/**
 * @module
 * One shard's engine: the connections routed to it, fed by the reading thread's messages (frame
 * records, clock moves, the end). The shard thread (shard-worker.ts) drives one from its ring;
 * tests drive several in one thread to compare them with one engine.
 */

import { Reconstructor, type ReconstructorOptions, type RecordSink } from "../reconstructor.js";
import type { Stats } from "../stats.js";
import type { Engine } from "../wasm/engine.js";

/** Sweep steps per message: a shard's idle connections expire as time passes elsewhere. */
const SWEEP_PER_MESSAGE = 64;
/** A shard's window holds any frame record (a capture record is at most 8 MiB). */
const SHARD_WINDOW = 10 << 20;

export class ShardEngine {
  readonly rec: Reconstructor;
  readonly #sink: RecordSink;

  /**
   * `options` as the reading thread's, with this shard's flow cap and the process's hash key;
   * `engine` the one to run on (default: a new one).
   */
  constructor(options: ReconstructorOptions, sink: RecordSink, engine?: Engine) {
    this.rec = new Reconstructor({ ...options, windowBytes: SHARD_WINDOW }, engine);
    this.#sink = sink;
  }

  /**
   * Frame records of a batch, in pieces as they leave the ring (any boundary: a record may straddle
   * two); then {@link clock} with the reading thread's clock as it sent the batch.
   */
  framesPiece(records: Uint8Array): void {
    this.rec.pushFrames(records, this.#sink);
  }

  /** The clock moved on: a batch of frames ended, or frames went to other shards. */
  clock(clockUs: number): void {
    this.rec.advanceClock(clockUs, SWEEP_PER_MESSAGE, this.#sink);
  }

  /** The input ended at the whole capture's clock: ends every live flow there; the counters. */
  end(clockUs: number): Stats {
    this.rec.advanceClock(clockUs, 0, this.#sink);
    this.rec.finishRecords(this.#sink);
    return this.rec.stats;
  }
}
