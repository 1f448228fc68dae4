/**
 * @module
 * How an engine of a sharded run (src/shards/) prints its own flows: with the print spec's
 * EnginePrinter (the CLI), or with an API answer's EngineFlowsJob (src/http/flow-job.ts: NDJSON, a
 * JSON document's flows or msgpack maps with the request's filter, and the flow tallies for the
 * metrics). The reading thread's engine and each shard's print the same way.
 */

import type { Reconstructor, RecordSink } from "../reconstructor.js";
import type { AsciiWriter } from "../format/ascii.js";
import type { EngineFlowsJob } from "../http/flow-job.js";
import type { FlowCounts } from "../http/flow-counts.js";
import { EnginePrinter } from "../output/engine-print.js";
import type { ShardData } from "./protocol.js";

export interface ShardPrinter {
  readonly sink: RecordSink;
  /** Moves the lines printed so far into the writer. */
  move(): void;
  /** The flow tallies since the last call (an API answer), or null. */
  counts(): FlowCounts | null;
  /** The flows printed since the last call, where the answer counts them (msgpack maps); else 0. */
  printed(): number;
}

/**
 * The API answer's printer (src/http/flow-job.ts), given by the thread that prints answers
 * (src/http/engine-worker.ts) with {@link useAnswerPrinter}: the CLI never prints one, so neither its
 * reading thread nor its shard threads load the API's modules (flow-job.ts pulls in msgpackr, tens
 * of ms of start-up on each thread).
 */
let answerPrinter: typeof EngineFlowsJob | null = null;

/** Lets this thread's sharded runs print API answers (`answer` set) with `job`. */
export function useAnswerPrinter(job: typeof EngineFlowsJob): void {
  answerPrinter = job;
}

/** The printer of `rec` for `spec` (print mode: `spec.print` or `spec.answer` set); `onMoved` as EnginePrinter's. */
export function shardPrinter(
  rec: Reconstructor,
  spec: Pick<ShardData, "print" | "answer">,
  writer: AsciiWriter,
  onMoved: () => void,
): ShardPrinter {
  if (spec.answer !== undefined) {
    if (answerPrinter === null) throw new Error("a sharded API answer needs useAnswerPrinter() on this thread first");
    // Lines only: the answer's opening and closing are where every engine's lines are gathered.
    const job = new answerPrinter(rec, spec.answer, writer, onMoved, false);
    return {
      // Each record is judged against the capture clock of the moment it finished (engine-worker.ts).
      sink: (v, p) => {
        job.clock.endUs = rec.insight.endUs;
        job.record(v, p);
      },
      move: () => void job.output(),
      counts: () => job.counts(),
      printed: () => job.printed(),
    };
  }
  const printer = new EnginePrinter(rec, spec.print!, writer, onMoved);
  return { sink: printer.sink, move: () => printer.move(), counts: () => null, printed: () => 0 };
}
