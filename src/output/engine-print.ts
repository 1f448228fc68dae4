/**
 * @module
 * NDJSON lines, a JSON document's flows and Zeek TSV rows written by an engine's own formatter
 * (src/format/engine-lines.ts) for a print spec, moved into an {@link AsciiWriter} a piece at a
 * time. One place for the spec's formatter options and for when a piece moves out, shared by the
 * three engines that print this way: the single engine of the CLI, and in a sharded run (src/shards/) the reading thread's engine
 * and each shard thread's.
 */

import type { AsciiWriter } from "../format/ascii.js";
import { isEngineLineFormat, type EngineLines } from "../format/engine-lines.js";
import type { Reconstructor, RecordSink } from "../reconstructor.js";
import type { PrintSpec } from "./printer.js";

/** Whether an engine prints `format` itself (NDJSON, Zeek TSV, a JSON document's flows): see {@link EnginePrinter}. */
export function enginePrints(format: string): boolean {
  return format === "json" || isEngineLineFormat(format);
}

export class EnginePrinter {
  readonly lines: EngineLines;
  /** The engine's record sink: formats each finished record inside the engine. */
  readonly sink: RecordSink;
  readonly #writer: AsciiWriter;

  /**
   * `onMoved` runs inside the sink after a piece moved into `writer` (the caller may hand the
   * writer's bytes on). The header and footer are the caller's.
   */
  constructor(rec: Reconstructor, spec: Omit<PrintSpec, "layout">, writer: AsciiWriter, onMoved: () => void) {
    // A JSON document's flows are its NDJSON lines, framed as members of the `flows` array.
    const json = spec.format === "json";
    const format = json ? "ndjson" : spec.format;
    if (!isEngineLineFormat(format)) throw new Error(`the engine does not write --format ${format}`);
    const lines = rec.engineLines({
      format,
      arrayItems: json,
      jsonStyle: spec.jsonStyle,
      communityIdSeed: spec.communityIdSeed,
      localNets: spec.localNets,
      anomalyFilter: spec.anomalyFilter,
    });
    this.lines = lines;
    this.#writer = writer;
    const limit = lines.flushBytes;
    const one = (_v: unknown, p: number): void => {
      if (lines.record(p) < limit) return;
      lines.moveTo(writer);
      onMoved();
    };
    // A whole drain at once: the same lines moved at the same points, Community IDs hashed four at a time.
    this.sink = Object.assign(one, {
      batch: (_v: unknown, p: number, n: number) => lines.recordsInto(p, n, writer, onMoved),
    });
  }

  /** Moves the lines formatted so far into the writer (between engine calls, and at the end). */
  move(): void {
    this.lines.moveTo(this.#writer);
  }
}
