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
import { FlowCounter, mergeFlowCounts, type FlowCounts } from "./flow-counts.js";
import { answerClose, FlowWriter, RecordFilter } from "./flow-writer.js";
import { GatheredArray, JSON_DOCUMENT_OPEN } from "../format/json-document.js";
import type { OutputFormat } from "./negotiate.js";
import type { FlowFilter } from "./params.js";
import type { JsonStyle } from "../format/engine-lines.js";
import type { Reconstructor } from "../reconstructor.js";
import { EnginePrinter } from "../output/engine-print.js";

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
    // Room for all of them at once: a msgpack body's pieces come all at the end (hundreds of MB for
    // a large capture), and growing the buffer piece by piece doubled it, copying and faulting in
    // each size on the way (the upload's engine thread spent ~40% of its time there on cap10m).
    let bytes = 0;
    for (const piece of pieces) bytes += piece.length;
    out.reserve(bytes);
    for (const piece of pieces) {
      out.buf.set(piece, out.pos);
      out.pos += piece.length;
    }
  }
}

/** What an engine thread (src/http/engine-worker.ts) drives: {@link FlowsJob} or {@link EngineFlowsJob}. */
export type EngineThreadJob = Pick<FlowsJob, "clock" | "record" | "output" | "end" | "counts" | "held">;

/**
 * An NDJSON or JSON body printed by the engine that tracked the flows, as the CLI prints
 * (EnginePrinter): each finished record is formatted where it lies, into the engine's buffer, and
 * moved out a buffer at a time, instead of being copied record by record into a formatter-only
 * instance (RecordLines) and moved out line by line. The anomaly filter runs in the engine's
 * formatter (the CLI's `--anomaly`); the conn_state filter here, before it. Same bytes as
 * {@link FlowsJob}: both are the engine's formatter judged against the engine's own capture clock.
 * A JSON body's flows are its NDJSON lines framed as array members (EngineLines `arrayItems`).
 */
export class EngineFlowsJob implements EngineThreadJob {
  readonly clock: InsightContext;
  readonly #printer: EnginePrinter;
  readonly #counter: FlowCounter | null;
  readonly #states: RecordFilter | null;
  readonly #out: AsciiWriter;
  readonly #json: boolean;
  readonly #whole: boolean;

  /**
   * `onMoved`: runs after a piece of lines moved into `out` (as EnginePrinter's). `whole`: this job
   * prints the whole body (a JSON body's opening and closing, an NDJSON body's trailer); else only
   * its flows, which {@link GatheredLines} gathers with the other engines' of a sharded run.
   */
  constructor(
    rec: Reconstructor,
    spec: Omit<FlowsJobSpec, "kind" | "layout" | "insight">,
    out: AsciiWriter,
    onMoved: () => void = () => {},
    whole = true,
  ) {
    if (!EngineFlowsJob.fits(spec)) throw new Error(`an engine does not print a ${spec.format} body`);
    this.clock = { ...rec.insight };
    const names = spec.filter.anomalies === null ? null : [...spec.filter.anomalies].filter((n) => n !== "any");
    this.#printer = new EnginePrinter(
      rec,
      {
        format: spec.format as "ndjson" | "json",
        jsonStyle: spec.jsonStyle ?? "nested",
        communityIdSeed: spec.communityIdSeed,
        localNets: spec.localNets,
        anomalyFilter:
          spec.filter.anomalies === null ? undefined : { any: spec.filter.anomalies.has("any"), names: names! },
      },
      out,
      onMoved,
    );
    this.#counter = spec.count ? new FlowCounter(rec.layout) : null;
    this.#states =
      spec.filter.connStates === null
        ? null
        : new RecordFilter({ connStates: spec.filter.connStates, anomalies: null }, rec.layout);
    this.#out = out;
    this.#json = spec.format === "json";
    this.#whole = whole;
    if (this.#json && whole) {
      out.reserve(JSON_DOCUMENT_OPEN.length);
      out.ascii(JSON_DOCUMENT_OPEN);
      this.#printer.lines.openArray();
    }
  }

  /** Whether this job prints `spec` (NDJSON and JSON; msgpack takes {@link FlowsJob}). */
  static fits(spec: Pick<FlowsJobSpec, "format">): boolean {
    return spec.format === "ndjson" || spec.format === "json";
  }

  record(v: MemoryViews, p: number): void {
    if (this.#states !== null && !this.#states.matches(v, p)) {
      // Not printed: its anomalies are derived here for the tallies.
      this.#counter?.count(v, p, this.clock);
      return;
    }
    this.#printer.sink(v, p);
    this.#counter?.countPrinted(v, p, this.#printer.lines);
  }

  output(): AsciiWriter {
    this.#printer.move();
    return this.#out;
  }

  end(meta: unknown): AsciiWriter {
    this.#printer.move();
    if (this.#whole) close(this.#out, this.#json, meta, this.#printer.lines.arrayEmpty);
    return this.#out;
  }

  counts(): FlowCounts | null {
    return this.#counter?.take() ?? null;
  }

  /** Printed bytes not yet taken (the finish step's measure; these bodies keep nothing to the end). */
  held(): number {
    return this.#out.length;
  }
}

/** Writes the end of an NDJSON or JSON body (answerClose, as FlowWriter ends one). */
function close(out: AsciiWriter, json: boolean, meta: unknown, empty: boolean): void {
  const text = answerClose(json ? "json" : "ndjson", meta as Record<string, unknown>, empty);
  out.reserve(text.length);
  out.ascii(text);
}

/** Lines an engine printed, handed on in its own buffer; `done` takes the buffer back once written. */
export interface MovedLines {
  bytes: Uint8Array;
  done: (back?: ArrayBuffer) => void;
}

/**
 * A sharded upload's NDJSON or JSON answer (engine-worker.ts, src/shards/): every engine of the run
 * prints its own flows with an {@link EngineFlowsJob} (lines only), as one engine would print them;
 * their lines and flow tallies are gathered here, inside a JSON document's opening and closing or
 * before an NDJSON body's trailer. A large piece is not copied: it goes on in its engine's buffer
 * ({@link moved}), which comes back to that engine once written.
 */
export class GatheredLines implements EngineThreadJob {
  readonly clock: InsightContext = { endUs: 0, final: true };
  readonly #out: AsciiWriter;
  /** A JSON document's flows (null: NDJSON lines). */
  readonly #array: GatheredArray | null;
  #counts: FlowCounts | null = null;
  #moved: MovedLines[] = [];
  #movedBytes = 0;

  constructor(out: AsciiWriter, format: "ndjson" | "json") {
    this.#out = out;
    this.#array = format === "json" ? new GatheredArray() : null;
    if (this.#array !== null) {
      out.reserve(JSON_DOCUMENT_OPEN.length);
      out.ascii(JSON_DOCUMENT_OPEN);
    }
  }

  /** Whole lines printed by one of the run's engines, copied. */
  add(bytes: Uint8Array): void {
    if (this.#array !== null) bytes = this.#array.piece(bytes);
    const out = this.#out;
    out.reserve(bytes.length);
    out.buf.set(bytes, out.pos);
    out.pos += bytes.length;
  }

  /** Whole lines printed by one of the run's engines, handed on in their buffer (after the copied ones). */
  move(lines: MovedLines): void {
    if (this.#array?.empty) {
      // Copied, so that the first member is the first in the body, whatever is added after it.
      this.add(lines.bytes);
      lines.done();
      return;
    }
    this.#moved.push(lines);
    this.#movedBytes += lines.bytes.length;
  }

  /** The pieces handed on in their buffers since the last call. */
  moved(): MovedLines[] {
    const moved = this.#moved;
    this.#moved = [];
    this.#movedBytes = 0;
    return moved;
  }

  addCounts(counts: FlowCounts): void {
    this.#counts = mergeFlowCounts(this.#counts, counts);
  }

  record(): void {
    throw new Error("a sharded answer's records are printed by the engines that tracked them");
  }

  output(): AsciiWriter {
    return this.#out;
  }

  end(meta: unknown): AsciiWriter {
    // The trailer (the document's close) comes last: lines still to be handed on go before it.
    for (const lines of this.moved()) {
      this.add(lines.bytes);
      lines.done();
    }
    close(this.#out, this.#array !== null, meta, this.#array?.empty ?? true);
    return this.#out;
  }

  counts(): FlowCounts | null {
    const counts = this.#counts;
    this.#counts = null;
    return counts;
  }

  held(): number {
    return this.#out.length + this.#movedBytes;
  }
}
