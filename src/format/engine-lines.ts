/**
 * @module
 * NDJSON lines and Zeek TSV rows written by the engine itself (assembly/format/), straight from
 * each finished record into an engine buffer that the host copies to its output unchanged: the
 * CLI's `--format ndjson` and `--format zeek`. The column table (names, types, views, value rules)
 * lives in assembly/format/fields.ts; the host configures the formatter once per engine
 * (shape, Community ID seed, Site::local_nets, endpoint-state thresholds, anomaly filter) and
 * installs the display names whose single sources are on this side: the engine's enum member
 * names (snake_case as src/wasm/record.ts spells them), the anomaly catalogue
 * (src/anomalies/catalogue.ts) and the RFC 9293 state names (src/anomalies/endpoint-state.ts).
 *
 * The column table is also the host's only list of fields: {@link zeekFieldTable} reads the Zeek
 * view's names and types from it once (ZEEK_FIELDS, zeekRow, the `#fields`/`#types` lines).
 *
 * test/host/engine-lines.test.ts runs every capture of the suite through this formatter and an
 * independent JavaScript one (test/host/js-record-writers.ts) and demands identical bytes.
 */

import { createEngine, type Engine, type MemoryViews } from "../wasm/engine.js";
import type { InsightContext } from "../anomalies/derive.js";
import { AbiMismatchError, readEnum, snakeCase } from "../wasm/layout.js";
import { ANOMALY_BY_CODE } from "../anomalies/catalogue.js";
import { LINUX_THRESHOLDS, TCP_STATES, type StateThresholds } from "../anomalies/endpoint-state.js";
import { LocalNets } from "../net/local-nets.js";
import type { AsciiWriter } from "./ascii.js";
import { GatheredArray } from "./json-document.js";

/** JSON shapes: flowrecon's nested objects, or Zeek's JSON logs (flat dotted keys). */
export const JSON_STYLES = ["nested", "zeek"] as const;
export type JsonStyle = (typeof JSON_STYLES)[number];

export function isJsonStyle(s: string): s is JsonStyle {
  return (JSON_STYLES as readonly string[]).includes(s);
}

/** The formats the engine writes. */
export type EngineLineFormat = "ndjson" | "zeek";

export function isEngineLineFormat(format: string): format is EngineLineFormat {
  return format === "ndjson" || format === "zeek";
}

export interface EngineLineOptions {
  format: EngineLineFormat;
  /** JSON shape of ndjson: `nested` (default) or `zeek` (Zeek's JSON logs). */
  jsonStyle?: JsonStyle;
  /** Community ID seed (default 0). */
  communityIdSeed?: number;
  /** Site::local_nets as the `localNets` option spells it (default: Zeek's, the private address space). */
  localNets?: string;
  /** Endpoint-state thresholds (default: Linux's). */
  thresholds?: StateThresholds;
  /** Every record is finished: end anomalies are reported without waiting for a threshold (default true). */
  final?: boolean;
  /** Each record's input ended with its own last packet, not at the engine's capture clock (default false). */
  alone?: boolean;
  /** Only flows with an anomaly (`any`), or with one of `names`. */
  anomalyFilter?: { any: boolean; names: readonly string[] };
  /**
   * ndjson only: each flow as a member of a JSON document's array (`,\n` then the object, no
   * newline after it) instead of a line; see {@link EngineLines.openArray}.
   */
  arrayItems?: boolean;
  /**
   * ndjson (nested) only: each flow as one msgpack map (assembly/format/msgpack.ts), the bytes
   * msgpackr packs from its parsed line; see {@link RecordLines.write} for the flows it leaves.
   */
  msgpack?: boolean;
}

/** The formatter's exports (assembly/format/abi.ts). */
interface FormatterExports {
  fmtInit(mode: number, seed: number, final: number, alone: number): void;
  fmtFrame(frame: number): void;
  fmtFallback(): number;
  fmtNameSlot(kind: number, value: number): number;
  fmtLocalNets(v4: number, v6: number, empty: number): number;
  fmtThresholds(syn: number, synAck: number, finWait2: number, timeWait: number, vanished: number): void;
  fmtFilter(on: number, any: number, mask: number): void;
  fmtRecord(rec: number): number;
  fmtRecords(first: number, n: number): number;
  fmtPtr(): number;
  fmtLen(): number;
  fmtClear(): void;
  fmtFieldList(what: number): number;
  fmtClock(endUs: number, final: number): void;
  fmtRecordSlot(): number;
  fmtInsight(): number;
}

function exportedNumber(ex: WebAssembly.Exports, name: string): number {
  const g = ex[name] as { value?: unknown } | undefined;
  if (g === undefined || typeof g.value !== "number") throw new AbiMismatchError(name);
  return g.value;
}

/** A name slot at `at`: a length byte, then the name (ASCII), in `slotBytes` bytes. */
function putName(u8: Uint8Array, at: number, slotBytes: number, name: string): void {
  if (name.length > slotBytes - 1)
    throw new RangeError(`display name '${name}' is longer than the engine's ${slotBytes - 1}-byte slot`);
  u8[at] = name.length;
  for (let i = 0; i < name.length; i++) u8[at + 1 + i] = name.charCodeAt(i);
}

export class EngineLines {
  /** Once a record leaves this many bytes buffered, move them out before the next one ({@link moveTo}). */
  readonly flushBytes: number;
  /** Bytes between two records of the output ring (FR_SIZE): the stride fmtRecords walks. */
  readonly #recordBytes: number;
  readonly #engine: Engine;
  readonly #ex: FormatterExports;
  #format: EngineLineFormat = "ndjson";
  /** The insight area's layout (fmtInsight), read once it is needed. */
  #insight: { count: number; entries: number; size: number; type: number } | null = null;
  /** A JSON document's flows, when this engine prints all of them ({@link openArray}). */
  #array: GatheredArray | null = null;
  /** Flows as msgpack maps (`msgpack`): the engine may leave one to the host ({@link leftToHost}). */
  #maps = false;

  constructor(engine: Engine, options: EngineLineOptions) {
    this.#engine = engine;
    const raw = engine.exports as unknown as WebAssembly.Exports;
    if (typeof raw.fmtRecord !== "function") throw new AbiMismatchError("fmtRecord()");
    this.#ex = raw as unknown as FormatterExports;
    this.flushBytes = exportedNumber(raw, "FMT_FLUSH");
    this.#recordBytes = exportedNumber(raw, "FR_SIZE");
    this.#installNames(raw);
    this.configure(options);
  }

  get format(): EngineLineFormat {
    return this.#format;
  }

  /** (Re)configures the formatter: shape, seed, local_nets, thresholds, filter. Empties the buffer. */
  configure(options: EngineLineOptions): void {
    const ex = this.#ex;
    const raw = this.#engine.exports as unknown as WebAssembly.Exports;
    this.#format = options.format;
    const mode = readEnum(raw, "FmtMode").values;
    const shape =
      options.format === "zeek" ? mode.ZeekTsv : options.jsonStyle === "zeek" ? mode.ZeekJson : mode.NestedJson;
    ex.fmtInit(shape, options.communityIdSeed ?? 0, options.final === false ? 0 : 1, options.alone ? 1 : 0);
    const frame = readEnum(raw, "LineFrame").values;
    const json = options.format === "ndjson";
    this.#maps = json && options.msgpack === true;
    if (this.#maps) ex.fmtFrame(frame.Msgpack);
    else ex.fmtFrame(json && options.arrayItems === true ? frame.ArrayItem : frame.Line);
    this.#array = null;
    const nets = new LocalNets(options.localNets);
    const { v4, v6 } = nets.tables;
    const at = ex.fmtLocalNets(v4.length / 2, v6.length / 8, nets.empty ? 1 : 0);
    const u32 = this.#engine.views().u32;
    u32.set(v4, at >>> 2);
    u32.set(v6, (at >>> 2) + v4.length);
    const t = options.thresholds ?? LINUX_THRESHOLDS;
    ex.fmtThresholds(t.synTimeout, t.synAckTimeout, t.finWait2Timeout, t.timeWait, t.vanishedAfter);
    const filter = options.anomalyFilter;
    let mask = 0;
    for (const a of ANOMALY_BY_CODE) if (a !== undefined && filter?.names.includes(a.name)) mask |= 1 << a.code;
    ex.fmtFilter(filter === undefined ? 0 : 1, filter?.any ? 1 : 0, mask >>> 0);
  }

  /**
   * Writes every display name into the engine's name tables (by value: unknown values say so, as
   * RecordReader does). A table's 256 slots are consecutive (assembly/format/state.ts nameSlot:
   * NAME_SLOT bytes each), so each table is written in one copy: a wasm call and a views() per slot
   * (6 x 256) cost every CLI run ~3 ms of its start (ayiya-ipv6.pcap, EngineLines 5.5 -> 2 ms).
   */
  #installNames(raw: WebAssembly.Exports): void {
    const kind = readEnum(raw, "NameKind").values;
    const layout = this.#engine.layout;
    const slotBytes = exportedNumber(raw, "NAME_SLOT");
    const bytes = new Uint8Array(256 * slotBytes);
    const table = (k: string, nameOf: (v: number) => string | undefined) => {
      bytes.fill(0);
      for (let v = 0; v < 256; v++) putName(bytes, v * slotBytes, slotBytes, nameOf(v) ?? "");
      const first = this.#ex.fmtNameSlot(kind[k], 0);
      if (this.#ex.fmtNameSlot(kind[k], 255) !== first + 255 * slotBytes) throw new AbiMismatchError("fmtNameSlot()");
      this.#engine.views().u8.set(bytes, first);
    };
    const named = (names: readonly (string | undefined)[], f: (s: string) => string) => (v: number) =>
      names[v] !== undefined ? f(names[v]!) : `unknown_${v}`;
    table(
      "ConnState",
      named(layout.connState.names, (s) => s),
    );
    table("EndReason", named(layout.endReason.names, snakeCase));
    const tunnelNone = layout.tunnel.values.None;
    table("Tunnel", (v) => (v === tunnelNone ? undefined : named(layout.tunnel.names, snakeCase)(v)));
    const serviceNone = layout.service.values.None;
    table("Service", (v) =>
      v === serviceNone || layout.service.names[v] === undefined ? undefined : snakeCase(layout.service.names[v]!),
    );
    table("HttpMethod", (v) => layout.httpMethod.names[v]);
    table("Anomaly", (v) => ANOMALY_BY_CODE[v]?.name);
    const states = readEnum(raw, "TcpState").values;
    const u8 = this.#engine.views().u8;
    for (const name of TCP_STATES) {
      if (states[name] === undefined) throw new AbiMismatchError(`TcpState.${name}`);
      putName(u8, this.#ex.fmtNameSlot(kind.TcpState, states[name]), slotBytes, name);
    }
  }

  /**
   * Formats the finished record at byte offset `p` of engine memory (a record sink's `p`); returns
   * the bytes buffered. Call {@link moveTo} before the next record once it reaches {@link flushBytes}.
   */
  record(p: number): number {
    return this.#ex.fmtRecord(p);
  }

  /**
   * Formats the `n` finished records from byte offset `p` of engine memory, one record size apart
   * (the output ring a drain hands out, four at a time: their Community IDs are hashed side by
   * side); the same bytes as {@link record} on each. Returns how many it formatted: fewer than `n`
   * once the buffered bytes reach {@link flushBytes}; then call {@link moveTo} and go on with the rest.
   */
  records(p: number, n: number): number {
    return this.#ex.fmtRecords(p, n);
  }

  /**
   * {@link records} over a whole drain: formats the `n` records from `p` (the output ring's), moving
   * the buffered lines into `out` (then calling `onMoved`) whenever they reach {@link flushBytes},
   * as a record sink calling {@link record} and {@link moveTo} per record would. What stays buffered
   * is below the mark, so {@link record} or {@link records} may follow.
   */
  recordsInto(p: number, n: number, out: AsciiWriter, onMoved?: () => void): void {
    // A map the engine leaves writes nothing, and a drain would go on past it: one record at a time.
    if (this.#maps) throw new Error("msgpack maps are written one record at a time (EngineLines.record)");
    const ex = this.#ex;
    for (let i = 0; i < n; ) {
      i += ex.fmtRecords(p + i * this.#recordBytes, n - i);
      if (ex.fmtLen() < this.flushBytes) continue;
      this.moveTo(out);
      onMoved?.();
    }
  }

  /** Bytes buffered (formatted and not yet moved out). */
  get buffered(): number {
    return this.#ex.fmtLen();
  }

  /**
   * With `msgpack`: whether the engine left the flow {@link record} read last to the host (a number
   * it cannot convert exactly: nothing was written for it, and the host packs it).
   */
  leftToHost(): boolean {
    return this.#ex.fmtFallback() !== 0;
  }

  /**
   * Calls `fn` with the Anomaly code of each anomaly of the record {@link record} read last (kept
   * by the anomaly filter or not), as its line lists them: what the engine derived for the line,
   * read instead of deriving it again (the API's anomaly metrics).
   */
  lastAnomalies(fn: (code: number) => void): void {
    const raw = this.#engine.exports as unknown as WebAssembly.Exports;
    const at = this.#ex.fmtInsight();
    const u8 = this.#engine.views().u8;
    const u32 = this.#engine.views().u32;
    this.#insight ??= {
      count: exportedNumber(raw, "FMT_INSIGHT_COUNT"),
      entries: exportedNumber(raw, "FMT_INSIGHT_ENTRIES"),
      size: exportedNumber(raw, "FMT_INSIGHT_ENTRY"),
      type: exportedNumber(raw, "FMT_INSIGHT_TYPE"),
    };
    const { count, entries, size, type } = this.#insight;
    const n = u32[(at + count) >>> 2];
    for (let i = 0; i < n; i++) fn(u8[at + entries + i * size + type]);
  }

  /**
   * With `arrayItems`, when this engine prints every flow of the document (whose writer wrote its
   * opening): the first flow moved out after this loses its separating comma. The flows of a
   * document printed by several engines (a sharded answer) are gathered where their pieces meet.
   */
  openArray(): void {
    this.#array = new GatheredArray();
  }

  /** Whether no flow was moved out since {@link openArray} (the array is still empty). */
  get arrayEmpty(): boolean {
    return this.#array?.empty ?? true;
  }

  /** Moves the buffered lines into `out`. */
  moveTo(out: AsciiWriter): void {
    const ex = this.#ex;
    const n = ex.fmtLen();
    if (n === 0) return;
    const at = ex.fmtPtr();
    const lines = this.#engine.views().u8.subarray(at, at + n);
    out.append(this.#array?.piece(lines) ?? lines);
    ex.fmtClear();
  }

  /** The buffered lines as text (tests). */
  take(): string {
    const ex = this.#ex;
    const at = ex.fmtPtr();
    const text = Buffer.from(this.#engine.views().u8.subarray(at, at + ex.fmtLen())).toString("latin1");
    ex.fmtClear();
    return text;
  }

  /**
   * The Zeek view's column names (`#fields`), Zeek types (`#types`) or whether each is written for
   * every flow ("T"/"F"), from the engine's column table.
   */
  zeekColumns(what: "fields" | "types" | "always"): string[] {
    const ex = this.#ex;
    const n = ex.fmtFieldList(what === "fields" ? 0 : what === "types" ? 1 : 2);
    const at = ex.fmtPtr() + ex.fmtLen();
    return Buffer.from(this.#engine.views().u8.subarray(at, at + n))
      .toString("latin1")
      .split("\t");
  }

  /** The Zeek log header (`#separator` ... `#types`), opened at `now`. */
  zeekHeader(now: Date): string {
    return zeekHeaderText(this.zeekColumns("fields"), this.zeekColumns("types"), now);
  }

  /** The Zeek log footer, closed at `now`. */
  zeekFooter(now: Date): string {
    return `#close\t${zeekLogTime(now)}\n`;
  }
}

/** The formatter-only engine instance of this thread, and the {@link RecordLines} it is configured for. */
let shared: {
  engine: Engine;
  lines: EngineLines;
  ex: FormatterExports;
  slot: number;
  owner: RecordLines | null;
} | null = null;

/** The shared formatter-only instance, started on first use (configured by its first writer). */
function sharedInstance(): NonNullable<typeof shared> {
  if (shared === null) {
    const engine = createEngine();
    const lines = new EngineLines(engine, { format: "ndjson" });
    const ex = engine.exports as unknown as FormatterExports;
    shared = { engine, lines, ex, slot: ex.fmtRecordSlot(), owner: null };
  }
  return shared;
}

/**
 * The engine's formatter for records held outside the engine that finished them: a format thread's
 * copies, a session's stored records (the HTTP API's json and ndjson answers). Each record is
 * copied into one formatter-only engine instance per thread (an instance costs ~9 ms and 16 MiB
 * to start, so they share it: it is reconfigured when another writer takes a turn) and judged
 * against the capture clock the caller passes, as InsightReader judges it.
 */
export class RecordLines {
  #options: EngineLineOptions;
  readonly #size: number;
  readonly #clock: InsightContext | undefined;

  /**
   * `clock` is read at each record: the end of its input (the caller moves it on); without one
   * each record stands alone (finished, its input ended with its own last packet).
   */
  constructor(options: EngineLineOptions, recordSize: number, clock?: InsightContext) {
    this.#options = { ...options, alone: clock === undefined, thresholds: clock?.thresholds ?? options.thresholds };
    this.#size = recordSize;
    this.#clock = clock;
  }

  /**
   * Writes the record at `p` of `v` (FR_SIZE bytes) into `out` as one line, newline included (with
   * `msgpack`, one map). Returns the bytes written: 0 when the anomaly filter dropped it, -1 when
   * the engine left a msgpack flow to the host (a number it cannot convert exactly, fmtFallback).
   */
  write(v: MemoryViews, p: number, out: AsciiWriter): number {
    const t = this.#clock?.thresholds;
    if (t !== undefined && t !== this.#options.thresholds) {
      // The caller replaced its thresholds (as InsightReader reads them per record).
      this.#options = { ...this.#options, thresholds: t };
      if (shared?.owner === this) shared.owner = null;
    }
    const s = this.#take();
    const { ex, slot } = s;
    const clock = this.#clock;
    if (clock !== undefined) ex.fmtClock(clock.endUs, clock.final ? 1 : 0);
    s.engine.views().u8.set(v.u8.subarray(p, p + this.#size), slot);
    const n = ex.fmtRecord(slot);
    if (n > 0) s.lines.moveTo(out);
    else if (ex.fmtFallback() !== 0) return -1;
    return n;
  }

  /** The Zeek log header (`#separator` ... `#types`) of this writer's columns, opened at `now`. */
  zeekHeader(now: Date): string {
    return this.#take().lines.zeekHeader(now);
  }

  #take(): NonNullable<typeof shared> {
    const s = sharedInstance();
    if (s.owner !== this) {
      s.lines.configure(this.#options);
      s.owner = this;
    }
    return s;
  }
}

/** Zeek's log timestamp format for #open/#close: local time, `%Y-%m-%d-%H-%M-%S`. */
export function zeekLogTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}-${p(d.getHours())}-${p(d.getMinutes())}-${p(d.getSeconds())}`;
}

/** Zeek's log header up to the column lines: `#separator` ... `#open`, `#fields`, `#types`. */
export function zeekHeaderText(fields: readonly string[], types: readonly string[], open: Date): string {
  return (
    "#separator \\x09\n" +
    "#set_separator\t,\n" +
    "#empty_field\t(empty)\n" +
    "#unset_field\t-\n" +
    "#path\tconn\n" +
    `#open\t${zeekLogTime(open)}\n` +
    `#fields\t${fields.join("\t")}\n` +
    `#types\t${types.join("\t")}\n`
  );
}

/**
 * The Zeek view of the engine's column table, in order: names (`#fields`), Zeek types (`#types`),
 * and whether the column is written for every flow (never unset: the OpenAPI Flow's `required`).
 */
export interface ZeekFieldTable {
  readonly names: readonly string[];
  readonly types: readonly string[];
  readonly always: readonly boolean[];
}

let fieldTable: ZeekFieldTable | null = null;

/**
 * The Zeek view's names, types and always-set flags, read once per thread from the engine's column table
 * (assembly/format/fields.ts) through the shared formatter-only instance.
 */
export function zeekFieldTable(): ZeekFieldTable {
  if (fieldTable === null) {
    const lines = sharedInstance().lines;
    fieldTable = {
      names: Object.freeze(lines.zeekColumns("fields")),
      types: Object.freeze(lines.zeekColumns("types")),
      always: Object.freeze(lines.zeekColumns("always").map((t) => t === "T")),
    };
  }
  return fieldTable;
}

/** The options of a formatter over records held anywhere (src/format/index.ts FormatterOptions). */
export interface RecordLineOptions {
  communityIdSeed?: number;
  localNets?: LocalNets;
  /** The clock each record is judged against (read per record); none: each record stands alone. */
  insight?: InsightContext;
}

/** {@link RecordLines} for `format` and `style`, with the formatters' options. */
export function recordLines(
  format: EngineLineFormat,
  style: JsonStyle,
  recordSize: number,
  options: RecordLineOptions,
): RecordLines {
  return new RecordLines(
    { format, jsonStyle: style, communityIdSeed: options.communityIdSeed, localNets: options.localNets?.spec },
    recordSize,
    options.insight,
  );
}
