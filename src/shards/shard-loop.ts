/**
 * @module
 * What a shard's thread runs (protocol: src/shards/sharded-run.ts): one engine that tracks the
 * connections routed to it and turns its finished flows into output.
 * - in: messages on a {@link RingReader} (frame records, clock moves, the end);
 * - out: `out` messages on the port (printed bytes, or raw flow records when the reading thread
 *   prints), each taking one credit of the shared counter, then one `done` with the counters.
 *
 * Two ways to run it: {@link runShard} on a thread of its own (the CLI's shard-worker.ts), which
 * blocks while the ring is empty; {@link serveShard} on a thread lent by the API's engine pool,
 * which awaits frames and yields every few ms, so the session calls that thread also serves are
 * answered while the upload runs.
 */

import { once } from "node:events";
import { receiveMessageOnPort } from "node:worker_threads";
import { setImmediate as nextMacrotask, setTimeout as delay } from "node:timers/promises";
import { AsciiWriter } from "../format/ascii.js";
import type { RecordSink } from "../reconstructor.js";
import { lateSink } from "./late-sink.js";
import { ShardEngine } from "./shard-engine.js";
import type { Engine } from "../wasm/engine.js";
import { engineOnSpareMemory, keepSpareMemory } from "../wasm/spare-memory.js";
import { MSG_CLOCK, MSG_END, MSG_FRAMES, RingClosedError, RingReader, type RingMessage } from "./ring.js";
import { shardPrinter } from "./shard-print.js";
import {
  OUT_BYTES,
  setShardMemory,
  takeCredit,
  type FromShard,
  type ShardData,
  type ShardLink,
  type ShardStart,
  type ToShard,
} from "./protocol.js";

/** A lent thread's longest run of shard work between two yields to its event loop. */
const YIELD_AFTER_MS = 4;
/** A lent thread waiting for its start looks whether the run was abandoned this often (ms). */
const CLOSED_POLL_MS = 50;

class ShardLoop {
  readonly ring: RingReader;
  readonly #shard: ShardEngine;
  readonly #flush: () => void;
  readonly #post: (m: FromShard, transfer?: ArrayBuffer[]) => void;
  readonly #credits: Int32Array;
  /** A batch's frame records go to the engine straight from the ring, in its pieces (no copy out). */
  readonly #onFrames: (piece: Uint8Array, kind: number) => void;

  /** `engine`: the one the shard runs on (default: a new one). */
  constructor(data: ShardData, engine?: Engine) {
    const port = data.port;
    const credits = new Int32Array(data.credits);
    this.#credits = credits;
    const post = (m: FromShard, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
    this.#post = post;
    // Output buffers the reading thread gave back (protocol.ts; it lends at most MAX_LENT_SPARES).
    const spares: ArrayBuffer[] = [];
    const spare = (): ArrayBuffer | undefined => {
      for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
        const back = m.message as ToShard;
        if (back.kind === "spare") spares.push(back.buffer);
      }
      return spares.pop();
    };
    let sink: RecordSink = () => {};
    // The sink is chosen below, once the engine exists (lateSink keeps its whole-drain form).
    const shard = new ShardEngine(
      data.options,
      lateSink(() => sink),
      engine,
    );
    this.#shard = shard;
    this.#onFrames = (piece, kind) => {
      if (kind !== MSG_FRAMES) throw new Error(`shard ring: a payload on message kind ${kind}`);
      shard.framesPiece(piece);
    };
    const rec = shard.rec;
    this.ring = new RingReader({ buffer: data.ring });
    let flush: () => void;
    if (data.print !== null || data.answer !== undefined) {
      // NDJSON and Zeek TSV: the engine formats each record (src/output/engine-print.ts); the
      // reading thread prints header and footer. An API answer's tallies go with its lines.
      const writer = new AsciiWriter(OUT_BYTES + (64 << 10));
      const printer = shardPrinter(rec, data, writer, () => {
        if (writer.length >= OUT_BYTES) flush();
      });
      flush = () => {
        printer.move();
        const counts = printer.counts();
        const printed = printer.printed();
        if (writer.length === 0 && counts === null) return;
        takeCredit(credits);
        // The piece moves to the reading thread in the writer's buffer (no copy), the writer going on in
        // a buffer given back; without one, a full piece still moves (the writer starts a new buffer)
        // and a small one (a batch's few flows) is copied out, which costs less than a new buffer.
        const next = spare();
        let bytes: Uint8Array;
        if (next !== undefined) bytes = writer.take(new Uint8Array(next));
        else if (writer.length >= OUT_BYTES >> 2) bytes = writer.take();
        else {
          bytes = writer.buf.slice(0, writer.length);
          writer.pos = 0;
        }
        const endUs = rec.insight.endUs;
        post(
          {
            kind: "out",
            bytes,
            endUs,
            spare: next !== undefined,
            ...(counts !== null ? { counts } : {}),
            ...(printed > 0 ? { printed } : {}),
          },
          [bytes.buffer as ArrayBuffer],
        );
      };
      sink = printer.sink;
    } else {
      // Raw records, for the reading thread to print (json, table, or sorted output).
      const size = rec.layout.constants.FR_SIZE;
      const cap = Math.max(1, Math.floor(OUT_BYTES / size));
      let buf = new Uint8Array(cap * size);
      let n = 0;
      let endUs = 0;
      flush = () => {
        if (n === 0) return;
        takeCredit(credits);
        const bytes = buf.subarray(0, n * size);
        const next = spare();
        post({ kind: "out", bytes, endUs, records: true, spare: next !== undefined }, [buf.buffer]);
        buf = next !== undefined && next.byteLength >= cap * size ? new Uint8Array(next) : new Uint8Array(cap * size);
        n = 0;
      };
      sink = (v, p) => {
        // One batch shares one clock (the flows' insight is judged against it).
        if (n > 0 && rec.insight.endUs !== endUs) flush();
        endUs = rec.insight.endUs;
        buf.set(v.u8.subarray(p, p + size), n * size);
        if (++n === cap) flush();
      };
    }
    this.#flush = flush;
  }

  /** Reads and handles the next message (blocks until it is there); true at the end (the counters were sent). */
  step(): boolean {
    return this.#handle(this.ring.next(this.#onFrames));
  }

  /** A message whose payload (frame records) already went to the engine. */
  #handle(m: RingMessage): boolean {
    const shard = this.#shard;
    if (m.kind === MSG_FRAMES || m.kind === MSG_CLOCK) {
      shard.clock(m.clockUs);
    } else if (m.kind === MSG_END) {
      const stats = shard.end(m.clockUs);
      this.#flush();
      this.#post({ kind: "done", stats });
      return true;
    } else {
      throw new Error(`shard ring: unknown message kind ${m.kind}`);
    }
    this.#flush();
    setShardMemory(this.#credits, shard.rec.memoryBytes);
    return false;
  }
}

/** The failure of a shard, as the reading thread gets it. */
export function shardFailed(data: Pick<ShardData, "port">, e: unknown): void {
  const err = e as Error;
  data.port.postMessage({ kind: "failed", message: err?.message ?? String(e), stack: err?.stack } satisfies FromShard);
}

/** Runs a shard on a thread of its own until the end of its input (blocks while the ring is empty). */
export function runShard(data: ShardData): void {
  const loop = new ShardLoop(data);
  while (!loop.step());
}

/**
 * Runs a shard on a lent thread: waits for the reading thread's {@link ShardStart} on the link, then
 * runs until the end of its input, awaiting frames and yielding to the event loop every
 * {@link YIELD_AFTER_MS}. Ends early, without an error, once the run is abandoned (abandonLink);
 * a failure goes to the reading thread. Never throws. The reading thread closes the link once it
 * has the shard's last message (a port closed here might drop the messages still on their way).
 */
export async function serveShard(link: ShardLink): Promise<void> {
  try {
    // The start, unless the run is abandoned first (its reading thread never got to start it).
    let start: ShardStart | null = null;
    const got = once(link.port, "message").then(([m]) => {
      start = m as ShardStart;
    });
    const ring = new RingReader({ buffer: link.ring });
    while (start === null) {
      if (ring.closed) {
        link.port.close();
        return;
      }
      await Promise.race([got, delay(CLOSED_POLL_MS)]);
    }
    // Lent threads run one engine after another: each starts on the memory of the last (spare-memory.ts).
    const engine = engineOnSpareMemory();
    const loop = new ShardLoop({ ...link, ...(start as ShardStart) }, engine);
    let last = performance.now();
    for (;;) {
      if (loop.ring.empty) {
        await loop.ring.arrival();
        last = performance.now();
      } else if (performance.now() - last >= YIELD_AFTER_MS) {
        await nextMacrotask();
        last = performance.now();
      }
      if (loop.step()) {
        keepSpareMemory(engine);
        return;
      }
    }
  } catch (e) {
    if (!(e instanceof RingClosedError)) shardFailed(link, e);
  }
}
