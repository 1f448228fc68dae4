/**
 * @module
 * An API response body printed on a format thread (src/output/format-threads.ts): the request's
 * {@link FlowWriter} (format, filter) and the flow metrics' tallies, run where the records are.
 */

import { AsciiWriter } from "../format/ascii.js";
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
import { EnginePrinter, type EngineMaps } from "../output/engine-print.js";
import { HELD_PIECE_BYTES, HeldMaps, hostFlowDecoder, packr } from "./msgpack-document.js";

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
    for (const piece of pieces) out.append(piece);
  }
}

/**
 * What an engine thread (src/http/engine-worker.ts) drives: {@link FlowsJob} or {@link EngineFlowsJob}.
 * `moved`: pieces that go out after the step's output in their own buffers (GatheredLines, a
 * msgpack document's held maps).
 */
export type EngineThreadJob = Pick<FlowsJob, "clock" | "record" | "output" | "end" | "counts" | "held"> & {
  moved?(): MovedLines[];
};

/** Room past HELD_PIECE_BYTES in a whole msgpack body's writer: the maps after a full piece fit without growing it. */
const HELD_PIECE_ROOM = 64 * 1024;

/**
 * A body printed by the engine that tracked the flows, as the CLI prints (EnginePrinter): each
 * finished record is formatted where it lies, into the engine's buffer, and moved out a buffer at a
 * time, instead of being copied record by record into a formatter-only instance (RecordLines) and
 * moved out line by line. The anomaly filter runs in the engine's formatter (the CLI's
 * `--anomaly`); the conn_state filter here, before it. Same bytes as {@link FlowsJob}: both are the
 * engine's formatter judged against the engine's own capture clock.
 * - NDJSON: its lines; JSON: the same lines framed as array members (EngineLines `arrayItems`).
 * - msgpack: each flow as a map (assembly/format/msgpack.ts); a flow the engine leaves is packed
 *   here from its decoded Flow, as FlowWriter packs it. The document's array header counts the
 *   flows, so a whole body is held ({@link HeldMaps}) until its end.
 */
export class EngineFlowsJob implements EngineThreadJob {
  readonly clock: InsightContext;
  readonly #printer: EnginePrinter;
  readonly #counter: FlowCounter | null;
  readonly #states: RecordFilter | null;
  readonly #out: AsciiWriter;
  readonly #format: OutputFormat;
  readonly #whole: boolean;
  /** A whole msgpack body: the maps printed so far, and the writer the printer fills (held in pieces). */
  readonly #held: HeldMaps | null = null;
  readonly #body: AsciiWriter | null = null;
  #moved: MovedLines[] = [];

  /**
   * `onMoved`: runs after a piece of lines moved into `out` (as EnginePrinter's). `whole`: this job
   * prints the whole body (a JSON or msgpack document's opening and closing, an NDJSON body's
   * trailer); else only its flows, which {@link GatheredLines} gathers with the other engines' of a
   * sharded run.
   */
  constructor(
    rec: Reconstructor,
    spec: Omit<FlowsJobSpec, "kind" | "layout" | "insight">,
    out: AsciiWriter,
    onMoved: () => void = () => {},
    whole = true,
  ) {
    this.clock = { ...rec.insight };
    this.#format = spec.format;
    const msgpack = spec.format === "msgpack";
    let writer = out;
    if (msgpack && whole) {
      const held = new HeldMaps();
      const body = new AsciiWriter(HELD_PIECE_BYTES + HELD_PIECE_ROOM);
      this.#held = held;
      this.#body = body;
      writer = body;
      onMoved = () => {
        if (body.length >= HELD_PIECE_BYTES) this.#holdBody();
      };
    }
    const names = spec.filter.anomalies === null ? null : [...spec.filter.anomalies].filter((n) => n !== "any");
    this.#printer = new EnginePrinter(
      rec,
      {
        format: spec.format === "json" ? "json" : "ndjson",
        jsonStyle: spec.jsonStyle ?? "nested",
        communityIdSeed: spec.communityIdSeed,
        localNets: spec.localNets,
        anomalyFilter:
          spec.filter.anomalies === null ? undefined : { any: spec.filter.anomalies.has("any"), names: names! },
      },
      writer,
      onMoved,
      msgpack ? mapsPackedHere(rec, spec, this.clock) : undefined,
    );
    this.#counter = spec.count ? new FlowCounter(rec.layout) : null;
    this.#states =
      spec.filter.connStates === null
        ? null
        : new RecordFilter({ connStates: spec.filter.connStates, anomalies: null }, rec.layout);
    this.#out = out;
    this.#whole = whole;
    if (spec.format === "json" && whole) {
      out.reserve(JSON_DOCUMENT_OPEN.length);
      out.ascii(JSON_DOCUMENT_OPEN);
      this.#printer.lines.openArray();
    }
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

  /** The bytes printed so far (a whole msgpack body's are held: none until the end). */
  output(): AsciiWriter {
    this.#printer.move();
    return this.#out;
  }

  end(meta: unknown): AsciiWriter {
    this.#printer.move();
    if (this.#held !== null) {
      this.#holdBody();
      this.#moved = this.#held.end(meta as Record<string, unknown>, this.#out);
    } else if (this.#whole) close(this.#out, this.#format === "json", meta, this.#printer.lines.arrayEmpty);
    return this.#out;
  }

  /** The flows printed since the last call (msgpack maps, which a gathered document counts). */
  printed(): number {
    return this.#printer.takePrinted();
  }

  /** A whole msgpack body's held maps, once it ended (they follow its head). */
  moved(): MovedLines[] {
    const moved = this.#moved;
    this.#moved = [];
    return moved;
  }

  counts(): FlowCounts | null {
    return this.#counter?.take() ?? null;
  }

  /** Printed bytes not yet taken (the finish step's measure), a whole msgpack body's held ones included. */
  held(): number {
    return this.#out.length + (this.#held?.bytes ?? 0) + (this.#body?.length ?? 0);
  }

  /** Moves a whole msgpack body's printed maps into the held ones, counted. */
  #holdBody(): void {
    const body = this.#body!;
    this.#held!.counted(this.#printer.takePrinted());
    if (body.length === 0) return;
    this.#held!.hold({ bytes: body.take(new Uint8Array(HELD_PIECE_BYTES + HELD_PIECE_ROOM)), done: () => {} });
  }
}

/**
 * How an engine's msgpack answer packs the flows the engine leaves (EnginePrinter `maps`): decoded
 * and packed as FlowWriter packs them, judged against `clock`.
 */
function mapsPackedHere(
  rec: Reconstructor,
  spec: Pick<FlowsJobSpec, "communityIdSeed" | "localNets">,
  clock: InsightContext,
): EngineMaps {
  const decoder = hostFlowDecoder(rec.layout, spec, clock);
  return { pack: (v, p) => packr.pack(decoder.decode(v, p)) };
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
 * A sharded upload's answer (engine-worker.ts, src/shards/): every engine of the run prints its own
 * flows with an {@link EngineFlowsJob} (lines or maps only), as one engine would print them; their
 * bytes and flow tallies are gathered here, inside a JSON document's opening and closing, before
 * an NDJSON body's trailer, or after a msgpack document's head (held until the end, with the
 * number of flows each engine printed). A large piece is not copied: it goes on in its engine's
 * buffer ({@link moved}), which comes back to that engine once written.
 */
export class GatheredLines implements EngineThreadJob {
  readonly clock: InsightContext = { endUs: 0, final: true };
  readonly #out: AsciiWriter;
  /** A JSON document's flows (null: NDJSON lines or msgpack maps). */
  readonly #array: GatheredArray | null;
  /** A msgpack document's maps. */
  readonly #maps: HeldMaps | null;
  #counts: FlowCounts | null = null;
  #moved: MovedLines[] = [];
  #movedBytes = 0;

  constructor(out: AsciiWriter, format: OutputFormat) {
    this.#out = out;
    this.#array = format === "json" ? new GatheredArray() : null;
    this.#maps = format === "msgpack" ? new HeldMaps() : null;
    if (this.#array !== null) {
      out.reserve(JSON_DOCUMENT_OPEN.length);
      out.ascii(JSON_DOCUMENT_OPEN);
    }
  }

  /** Whole lines (maps) printed by one of the run's engines, copied. */
  add(bytes: Uint8Array): void {
    if (this.#maps !== null) {
      this.#maps.add(bytes);
      return;
    }
    this.#out.append(this.#array?.piece(bytes) ?? bytes);
  }

  /** Whole lines (maps) printed by one of the run's engines, handed on in their buffer (after the copied ones). */
  move(lines: MovedLines): void {
    if (this.#maps !== null) {
      this.#maps.hold(lines);
      return;
    }
    if (this.#array?.empty) {
      // Copied, so that the first member is the first in the body, whatever is added after it.
      this.add(lines.bytes);
      lines.done();
      return;
    }
    this.#moved.push(lines);
    this.#movedBytes += lines.bytes.length;
  }

  /** The flows an engine printed (msgpack maps, in pieces added or moved before or after this). */
  addPrinted(flows: number): void {
    this.#maps?.counted(flows);
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
    if (this.#maps !== null) {
      this.#moved = this.#maps.end(meta as Record<string, unknown>, this.#out);
      return this.#out;
    }
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
    return this.#out.length + this.#movedBytes + (this.#maps?.bytes ?? 0);
  }
}
