/**
 * @module
 * A shard thread (node:worker_threads): one engine that tracks the connections routed to it and
 * turns its finished flows into output. Started by {@link ShardedRun} (src/shards/sharded-run.ts),
 * which defines the protocol:
 * - in: messages on a {@link RingReader} (frame records, clock moves, the end);
 * - out: `out` messages on the port (printed bytes, or raw flow records when the reading thread
 *   prints), each taking one credit of the shared counter, then one `done` with the counters.
 */

import { workerData } from "node:worker_threads";
import { AsciiWriter } from "../format/ascii.js";
import type { RecordSink } from "../reconstructor.js";
import { ShardEngine } from "./shard-engine.js";
import { createPrinter } from "../output/printer.js";
import { MSG_CLOCK, MSG_END, MSG_FRAMES, RingReader } from "./ring.js";
import { takeCredit, type ShardData, type FromShard } from "./protocol.js";

/** Output is handed on in pieces of about this size. */
const OUT_BYTES = 1 << 20;

const data = workerData as ShardData;
const port = data.port;
const credits = new Int32Array(data.credits);

function post(m: FromShard, transfer: ArrayBuffer[] = []): void {
  port.postMessage(m, transfer);
}

function run(): void {
  let sink: RecordSink = () => {};
  const shard = new ShardEngine(data.options, (v, p) => sink(v, p));
  const rec = shard.rec;
  const ring = new RingReader({ buffer: data.ring });
  let flush: () => void;
  if (data.print !== null) {
    // The formats whose records print on their own (ndjson, zeek): printed here; the reading thread
    // prints header and footer.
    const printer = createPrinter({ ...data.print, layout: rec.layout }, rec.insight);
    printer.begin(new AsciiWriter(1 << 16));
    const writer = new AsciiWriter(OUT_BYTES + (64 << 10));
    flush = () => {
      if (writer.length === 0) return;
      takeCredit(credits);
      const bytes = Uint8Array.from(writer.take());
      post({ kind: "out", bytes, endUs: rec.insight.endUs }, [bytes.buffer]);
    };
    sink = (v, p) => {
      printer.record(v, p, writer);
      if (writer.length >= OUT_BYTES) flush();
    };
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
      post({ kind: "out", bytes, endUs, records: true }, [buf.buffer]);
      buf = new Uint8Array(cap * size);
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
  for (;;) {
    const m = ring.next();
    if (m.kind === MSG_FRAMES) {
      shard.frames(m.payload, m.clockUs);
    } else if (m.kind === MSG_CLOCK) {
      shard.clock(m.clockUs);
    } else if (m.kind === MSG_END) {
      const stats = shard.end(m.clockUs);
      flush();
      post({ kind: "done", stats });
      return;
    } else {
      throw new Error(`shard ring: unknown message kind ${m.kind}`);
    }
    flush();
  }
}

try {
  run();
} catch (e) {
  const err = e as Error;
  post({ kind: "failed", message: err.message ?? String(e), stack: err.stack });
}
