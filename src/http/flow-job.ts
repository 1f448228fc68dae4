/**
 * @module
 * An API response body printed on a format thread (src/output/format-threads.ts): the request's
 * {@link FlowWriter} (format, filter) and the flow metrics' tallies, run where the records are.
 */

import type { AsciiWriter } from "../format/ascii.js";
import type { InsightContext } from "../anomalies/index.js";
import type { MemoryViews } from "../wasm/engine.js";
import type { Layout } from "../wasm/layout.js";
import type { ThreadJob } from "../output/format-threads.js";
import { FlowCounter, type FlowCounts } from "./flow-counts.js";
import { FlowWriter } from "./flow-writer.js";
import type { OutputFormat } from "./negotiate.js";
import type { FlowFilter } from "./params.js";
import type { JsonStyle } from "../format/engine-lines.js";

/** What a response prints: plain data, cloned to the thread. */
export interface FlowsJobSpec {
  kind: "flows";
  format: OutputFormat;
  layout: Layout;
  communityIdSeed?: number;
  /** Site::local_nets (the `localNets` option's text). */
  localNets?: string;
  /** JSON shape of json/ndjson answers. */
  jsonStyle?: JsonStyle;
  filter: FlowFilter;
  /** Tally every flow (filtered out or not) for the metrics. */
  count: boolean;
  /** `Reconstructor.insight` when the job opens (final, thresholds); each batch brings its clock. */
  insight: InsightContext;
}

/** The format thread's side of a response. */
export class FlowsJob implements ThreadJob {
  readonly recordSize: number;
  /** The capture clock each record is judged against, as the CLI judges it (set per batch). */
  readonly clock: InsightContext;
  readonly #writer: FlowWriter;
  readonly #counter: FlowCounter | null;
  readonly #out: AsciiWriter;

  constructor(spec: FlowsJobSpec, out: AsciiWriter) {
    this.recordSize = spec.layout.constants.FR_SIZE;
    this.clock = { ...spec.insight };
    this.#writer = new FlowWriter(spec.format, spec.layout, {
      communityIdSeed: spec.communityIdSeed,
      localNets: spec.localNets,
      jsonStyle: spec.jsonStyle,
      filter: spec.filter,
      insight: this.clock,
    });
    this.#counter = spec.count ? new FlowCounter(spec.layout) : null;
    this.#out = out;
  }

  record(v: MemoryViews, p: number): void {
    this.#counter?.count(v, p, this.clock);
    this.#writer.add(v, p);
  }

  /**
   * The bytes printed so far. A msgpack body keeps them until the end, where the array header
   * with the flow count goes in front of them.
   */
  output(): AsciiWriter {
    if (this.#writer.format !== "msgpack") this.#move(this.#writer.take(true));
    return this.#out;
  }

  end(meta: unknown): AsciiWriter {
    this.#writer.end(meta as Record<string, unknown>);
    this.#move(this.#writer.take(true));
    return this.#out;
  }

  counts(): FlowCounts | null {
    return this.#counter?.take() ?? null;
  }

  held(): number {
    return this.#writer.bufferedBytes;
  }

  #move(pieces: Buffer[]): void {
    const out = this.#out;
    for (const piece of pieces) {
      out.reserve(piece.length);
      out.buf.set(piece, out.pos);
      out.pos += piece.length;
    }
  }
}
