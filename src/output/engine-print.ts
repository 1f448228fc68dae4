/**
 * @module
 * NDJSON lines, a JSON document's flows, Zeek TSV rows and (an API answer) msgpack maps written by
 * an engine's own formatter (src/format/engine-lines.ts) for a print spec, moved into an
 * {@link AsciiWriter} a piece at a time. One place for the spec's formatter options and for when a
 * piece moves out, shared by the engines that print this way: the single engine of the CLI or of an
 * API upload, and in a sharded run (src/shards/) the reading thread's engine and each shard thread's.
 */

import type { AsciiWriter } from "../format/ascii.js";
import { isEngineLineFormat, type EngineLines } from "../format/engine-lines.js";
import type { Reconstructor, RecordSink } from "../reconstructor.js";
import type { MemoryViews } from "../wasm/engine.js";
import type { PrintSpec } from "./printer.js";

/** Whether an engine prints `format` itself (NDJSON, Zeek TSV, a JSON document's flows): see {@link EnginePrinter}. */
export function enginePrints(format: string): boolean {
  return format === "json" || isEngineLineFormat(format);
}

/**
 * Flows as msgpack maps (an API answer, src/http/flow-job.ts) instead of lines: the engine
 * transcodes each flow's nested JSON object (assembly/format/msgpack.ts) and leaves a flow with a
 * number it cannot convert exactly to `pack`, which returns the bytes msgpackr packs for the record
 * at `p` (the engine's memory, valid during the call).
 */
export interface EngineMaps {
  pack(v: MemoryViews, p: number): Uint8Array;
}

export class EnginePrinter {
  readonly lines: EngineLines;
  /** The engine's record sink: formats each finished record inside the engine. */
  readonly sink: RecordSink;
  readonly #writer: AsciiWriter;
  #printed = 0;

  /**
   * `onMoved` runs inside the sink after a piece moved into `writer` (the caller may hand the
   * writer's bytes on). The header and footer are the caller's. `maps`: print msgpack maps (the
   * nested shape; `spec.format` ndjson).
   */
  constructor(
    rec: Reconstructor,
    spec: Omit<PrintSpec, "layout">,
    writer: AsciiWriter,
    onMoved: () => void,
    maps?: EngineMaps,
  ) {
    // A JSON document's flows are its NDJSON lines, framed as members of the `flows` array.
    const json = spec.format === "json";
    const format = json ? "ndjson" : spec.format;
    if (!isEngineLineFormat(format)) throw new Error(`the engine does not write --format ${format}`);
    if (maps !== undefined && format !== "ndjson")
      throw new Error(`msgpack maps are not written as --format ${format}`);
    const lines = rec.engineLines({
      format,
      arrayItems: json,
      jsonStyle: maps !== undefined ? "nested" : spec.jsonStyle,
      msgpack: maps !== undefined,
      communityIdSeed: spec.communityIdSeed,
      localNets: spec.localNets,
      anomalyFilter: spec.anomalyFilter,
    });
    this.lines = lines;
    this.#writer = writer;
    const limit = lines.flushBytes;
    if (maps !== undefined) {
      // One record at a time (a map the engine leaves goes in its place, packed here), counting the
      // maps written: a msgpack document's array header holds their number.
      this.sink = (v: MemoryViews, p: number) => {
        const before = lines.buffered;
        const n = lines.record(p);
        if (n > before) this.#printed++;
        else if (lines.leftToHost()) {
          lines.moveTo(writer);
          writer.append(maps.pack(v, p));
          this.#printed++;
          onMoved();
          return;
        }
        if (n < limit) return;
        lines.moveTo(writer);
        onMoved();
      };
      return;
    }
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

  /** The flows printed since the last call (counted with `maps` only; 0 otherwise). */
  takePrinted(): number {
    const n = this.#printed;
    this.#printed = 0;
    return n;
  }

  /** Moves the lines formatted so far into the writer (between engine calls, and at the end). */
  move(): void {
    this.lines.moveTo(this.#writer);
  }
}
