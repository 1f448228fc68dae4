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
import { EnginePrinter } from "../output/engine-print.js";
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
    // NDJSON and Zeek TSV: the engine formats each record (src/output/engine-print.ts); the
    // reading thread prints header and footer.
    const writer = new AsciiWriter(OUT_BYTES + (64 << 10));
    const printer = new EnginePrinter(rec, data.print, writer, () => {
      if (writer.length >= OUT_BYTES) flush();
    });
    flush = () => {
      printer.move();
      if (writer.length === 0) return;
      takeCredit(credits);
      // A full piece moves to the reading thread in the writer's buffer (no copy; the writer starts
      // a new one); a small one (a batch's few flows) is copied out, which costs less than a new buffer.
      let bytes: Uint8Array;
      if (writer.length >= OUT_BYTES >> 2) bytes = writer.take();
      else {
        bytes = writer.buf.slice(0, writer.length);
        writer.pos = 0;
      }
      post({ kind: "out", bytes, endUs: rec.insight.endUs }, [bytes.buffer as ArrayBuffer]);
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
