/**
 * @module
 * Response bodies of flows, in the three formats the API speaks, written straight from flow
 * records (engine memory or a session's stored records):
 * - `json`:    `{"flows": [...], "stats": {...}, ...}`: each flow byte-identical to the CLI's NDJSON
 *              line (written by the engine's formatter, src/format/engine-lines.ts RecordLines), one
 *              per line inside the array ({@link JSON_DOCUMENT_OPEN}, {@link jsonDocumentClose});
 * - `ndjson`:  one flow per line as flows finish, then one trailer line without `uid`
 *              (`{"stats": {...}}`, plus `"error"` when the input was damaged);
 * - `msgpack`: a map `{flows: [...], stats: {...}, ...}` of plain msgpack maps (no msgpackr
 *              extensions), each flow the bytes msgpackr packs from the decoded {@link Flow}: the
 *              engine transcodes the flow's nested line (assembly/format/msgpack.ts); a flow with a
 *              `state` member, or one the engine leaves (fmtFallback), is decoded and packed here.
 *
 * Flows also pass the request's filter here (conn_state, anomaly): the anomaly filter reads the
 * record's derived anomalies (`any` keeps a flow with at least one).
 */

import { AsciiWriter } from "../format/ascii.js";
import type { JsonStyle } from "../format/engine-lines.js";
import { RecordLines } from "../format/engine-lines.js";
import { JSON_DOCUMENT_OPEN, jsonDocumentClose } from "../format/json-document.js";
import type { Flow, FlowDecoder } from "../flow.js";
import { InsightReader, passesAnomalyFilter, type InsightContext } from "../anomalies/index.js";
import type { MemoryViews } from "../wasm/engine.js";
import type { Layout } from "../wasm/layout.js";
import { RecordReader } from "../wasm/record.js";
import type { OutputFormat } from "./negotiate.js";
import type { FlowFilter, FlowState } from "./params.js";
import { hostFlowDecoder, msgpackDocumentHead, msgpackDocumentTail, packr } from "./msgpack-document.js";

/** Buffered output is handed over in pieces of about this size. */
const PIECE_BYTES = 256 * 1024;
const OPEN_PIECE_BYTES = 16 * 1024;
/**
 * Room past PIECE_BYTES in the buffer a full piece is followed by: more than one flow takes, so
 * the next piece fills it without growing (a piece grown from OPEN_PIECE_BYTES by doubling was
 * copied four times and held a 512 KiB buffer for its ~260 KiB).
 */
const PIECE_ROOM = 64 * 1024;
/** Longest `,"state":"finished"}` tail. */
const STATE_TAIL_BYTES = 32;

/**
 * What closes a `json` or `ndjson` answer after its flows, `meta` (`stats`, `error`, ...) in it: the
 * JSON document's close (`empty`: it has no flows), or NDJSON's trailer line (none for empty `meta`).
 * FlowWriter and the engine-printed answers (flow-job.ts) both end with it.
 */
export function answerClose(format: "json" | "ndjson", meta: Record<string, unknown>, empty: boolean): string {
  if (format === "json") return jsonDocumentClose(meta, empty);
  return Object.keys(meta).length > 0 ? JSON.stringify(meta) + "\n" : "";
}

/**
 * Decides whether a flow record passes a filter. An anomaly filter reads only the record's
 * insight, judged against `insight` (read at each record) as the answer's flows are.
 */
export class RecordFilter {
  readonly #filter: FlowFilter;
  readonly #reader: RecordReader;
  readonly #insight: InsightReader;
  readonly #ctx: InsightContext | undefined;
  readonly #any: boolean;

  constructor(filter: FlowFilter, layout: Layout, insight?: InsightContext) {
    this.#filter = filter;
    this.#reader = new RecordReader(layout);
    this.#insight = new InsightReader(layout);
    this.#ctx = insight;
    this.#any = filter.anomalies?.has("any") ?? false;
  }

  get active(): boolean {
    return this.#filter.connStates !== null || this.#filter.anomalies !== null;
  }

  matches(v: MemoryViews, p: number): boolean {
    const f = this.#filter;
    if (f.connStates !== null && !f.connStates.has(this.#reader.connStateNames[this.#reader.connState(v, p)]))
      return false;
    if (
      f.anomalies !== null &&
      !passesAnomalyFilter(this.#insight.read(v, p, this.#ctx).anomalies, this.#any, f.anomalies)
    )
      return false;
    return true;
  }
}

export interface FlowWriterOptions {
  communityIdSeed?: number;
  filter: FlowFilter;
  /**
   * The capture clock endpoint states and idle times are judged against (`Reconstructor.insight`),
   * as the CLI does; without it each record is judged as if the input ended with its last packet.
   */
  insight?: InsightContext;
  /** Site::local_nets for local_orig/local_resp, as the `localNets` option spells it (default: Zeek's). */
  localNets?: string;
  /** JSON shape of json/ndjson answers (msgpack keeps the nested Flow objects). */
  jsonStyle?: JsonStyle;
}

export class FlowWriter {
  readonly format: OutputFormat;
  /** Starts small (many answers are small) and grows by doubling up to a piece. */
  readonly #out = new AsciiWriter(OPEN_PIECE_BYTES);
  readonly #pieces: Buffer[] = [];
  #pieceBytes = 0;
  // Built once per response, and only what the format and the filter need (each reader builds
  // name tables: measurable on small uploads).
  readonly #lines: RecordLines | null;
  /** msgpack: the engine's flows as maps (assembly/format/msgpack.ts), and the host's encoder for the rest. */
  readonly #maps: RecordLines | null;
  readonly #decoder: FlowDecoder | null;
  readonly #filter: RecordFilter | null;
  #first = true;
  #count = 0;

  constructor(format: OutputFormat, layout: Layout, options: FlowWriterOptions) {
    this.format = format;
    const filtering = options.filter.connStates !== null || options.filter.anomalies !== null;
    const lineOptions = {
      format: "ndjson" as const,
      jsonStyle: options.jsonStyle ?? "nested",
      communityIdSeed: options.communityIdSeed,
      localNets: options.localNets,
    };
    this.#lines = format === "msgpack" ? null : new RecordLines(lineOptions, layout.constants.FR_SIZE, options.insight);
    this.#maps =
      format === "msgpack"
        ? new RecordLines(
            { ...lineOptions, jsonStyle: "nested", msgpack: true },
            layout.constants.FR_SIZE,
            options.insight,
          )
        : null;
    this.#decoder = format === "msgpack" ? hostFlowDecoder(layout, options, options.insight) : null;
    this.#filter = filtering ? new RecordFilter(options.filter, layout, options.insight) : null;
    if (format === "json") this.#out.ascii(JSON_DOCUMENT_OPEN);
  }

  /** Flows written so far. */
  get count(): number {
    return this.#count;
  }

  /** Bytes held (pieces not taken yet plus the open piece): for the memory budget. */
  get bufferedBytes(): number {
    return this.#pieceBytes + this.#out.length;
  }

  /** Writes the record at `p` if it passes the filter; `state` adds a `"state"` member. */
  add(v: MemoryViews, p: number, state?: FlowState): boolean {
    if (this.#filter !== null && !this.#filter.matches(v, p)) return false;
    const out = this.#out;
    this.#count++;
    if (this.format === "msgpack") {
      // The engine writes the map; a flow with a state member, or one it leaves, is packed here.
      if (state === undefined && this.#maps!.write(v, p, out) > 0) {
        if (out.length >= PIECE_BYTES) this.#fullPiece();
        return true;
      }
      if (out.length > 0) this.#piece(out.take());
      const flow = this.#decoder!.decode(v, p) as Flow & { state?: FlowState };
      if (state !== undefined) flow.state = state;
      this.#piece(packr.pack(flow));
      return true;
    }
    if (this.format === "json") {
      out.reserve(2);
      if (!this.#first) out.byte(0x2c);
      out.byte(0x0a);
      this.#first = false;
    }
    this.#lines!.write(v, p, out);
    out.pos--; // the line's "\n"
    if (state !== undefined) {
      out.reserve(STATE_TAIL_BYTES);
      out.pos--; // reopen the object: drop its "}"
      out.ascii(state === "live" ? ',"state":"live"}' : ',"state":"finished"}');
    }
    if (this.format === "ndjson") out.byte(0x0a);
    if (out.length >= PIECE_BYTES) this.#fullPiece();
    return true;
  }

  /**
   * Closes the document with `meta` members after `flows` (json, msgpack) or as the trailer line
   * (ndjson; none when `meta` is empty).
   */
  end(meta: Record<string, unknown>): void {
    const out = this.#out;
    if (this.format !== "msgpack") out.ascii(answerClose(this.format, meta, this.#first));
    else {
      if (out.length > 0) this.#piece(out.take());
      // The document's head goes in front of the flows packed so far, its tail after them.
      const head = msgpackDocumentHead(this.#count, meta);
      this.#pieces.unshift(head);
      this.#pieceBytes += head.length;
      for (const piece of msgpackDocumentTail(meta)) this.#piece(piece);
    }
    if (out.length > 0) this.#piece(out.take());
  }

  /** Hands over the finished pieces (and, with `all`, the open one too). */
  take(all = false): Buffer[] {
    if (all && this.#out.length > 0 && this.format !== "msgpack") this.#piece(this.#out.take());
    const pieces = this.#pieces.splice(0);
    this.#pieceBytes = 0;
    return pieces;
  }

  /** Takes the open piece, full: the next one starts in a buffer it will not outgrow. */
  #fullPiece(): void {
    this.#piece(this.#out.take(new Uint8Array(PIECE_BYTES + PIECE_ROOM)));
  }

  #piece(b: Buffer): void {
    this.#pieces.push(b);
    this.#pieceBytes += b.length;
  }
}
