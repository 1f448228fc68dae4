/**
 * @module
 * The `flowrecon` command line: `flowrecon analyze <capture|-> [options]`.
 *
 * Meant to be a pipeline stage (`tcpdump -w - | flowrecon analyze - | jq ...`): flows are written as
 * they finish, stdout backpressure is honoured, and a closed stdout (EPIPE, `| head`) ends the run
 * quietly. Problems are one line on stderr, `flowrecon: <what> at byte <offset> ...`, never a stack
 * trace (set FLOWRECON_DEBUG=1 to see one for internal errors).
 *
 * Exit status: 0 success; 1 unreadable or damaged input (every flow decoded before the damage is
 * still printed); 2 usage error; 3 internal error (a flowrecon bug).
 */

import { closeSync, fstatSync, openSync } from "node:fs";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { Writable } from "node:stream";
import { Reconstructor, type ReconstructorOptions, type RecordSink } from "./reconstructor.js";
import { ANOMALY_NAMES } from "./anomalies/catalogue.js";
import { LINUX_THRESHOLDS } from "./anomalies/endpoint-state.js";
import { AsciiWriter } from "./format/ascii.js";
import { FORMAT_NAMES, isFormatName, type FormatName } from "./format/names.js";
import { isJsonStyle, JSON_STYLES, type JsonStyle } from "./format/engine-lines.js";
import { GatheredArray, JSON_DOCUMENT_OPEN, jsonDocumentClose, summaryMembers } from "./format/json-document.js";
import type { RunSummary } from "./format/formatter.js";
import { parseServerPorts } from "./net/server-ports.js";
import { LocalNets, LocalNetsError } from "./net/local-nets.js";
// What only some runs need is imported when they need it (loadPrinter, loadFormatThreads, ...):
// the JSON, Zeek and table formatters, format threads, sharded runs and sorted output cost an
// `analyze --format ndjson` of a small capture ~10 ms of its start to load, and it uses none.
import type { AnomalyFilter, PrintSpec } from "./output/printer.js";
import { EnginePrinter, enginePrints } from "./output/engine-print.js";
import type { FormatThreads } from "./output/format-threads.js";
import type { Stats } from "./stats.js";
import { VERSION } from "./version.js";
import { HASH_KEY_ENV, parseHashKey } from "./hash-key.js";
import { endShardThreads, engineThreads, MAX_THREADS, THREAD_MIN_BYTES } from "./shards/thread-plan.js";
import type { ShardThread } from "./shards/shard-threads.js";
import type { SortedRecords } from "./output/sorted-records.js";
import { anomalyNames, parseCommandLineArgs, SHARED_OPTIONS, sharedEngineOptions, UsageError } from "./cli-args.js";
import { EXIT_INPUT, EXIT_OK, failureStatus, InputError } from "./cli-args.js";

export { EXIT_OK, EXIT_INPUT, EXIT_USAGE, EXIT_INTERNAL } from "./cli-args.js";

/**
 * The help text, with the API's settings from the environment (src/http/config.ts; PORT is named
 * apart). Loaded only for the help: analyze loads no API module (config.ts pulls in pino).
 */
async function helpText(): Promise<string> {
  const { ENV: SERVER_ENV } = await import("./http/config.js");
  const SERVER_ENV_NAMES = SERVER_ENV.map(([name]) => name).filter((name) => name !== "PORT");
  return `Usage: flowrecon analyze <capture|-> [options]
       flowrecon serve
       flowrecon ladder|extract <capture> ...   (one connection: flowrecon ladder --help)

Reconstructs the TCP connections of a pcap or pcapng capture and prints one
summary per connection, with Zeek conn.log fields and semantics. \`serve\` runs
the HTTP API instead (as \`npm start\`; settings from the environment, below).

Arguments:
  <capture>                   capture file, or - to read standard input
                              (tcpdump -i eth0 -w - | flowrecon analyze -)

Options:
  -f, --format <name>         ndjson   one JSON object per line, written as flows finish (default)
                              json     one document: {"flows": [...], "stats": {...}}
                              zeek     Zeek conn.log TSV (works with zeek-cut)
                              table    aligned columns for reading
  -C, --ignore-checksums      do not validate TCP/IPv4 checksums (as zeek -C); use it for
                              captures taken on a host with checksum offload
  -b, --bare                  no likely_server_ports role flips (as zeek -b)
      --json-style <style>    nested   flowrecon's JSON: TCP options and anomalies as objects (default)
                              zeek     Zeek's JSON log shape: flat dotted keys, sets as arrays
      --vlan-key              put the VLAN ids in the connection key (Zeek's vlan_fivetuple);
                              by default the key is the plain 5-tuple, as Zeek's
      --likely-server-ports <default|none|p1,p2,...>
                              Zeek's likely_server_ports (who is the originator without a SYN)
      --local-nets <cidr,...> Zeek's Site::local_nets for local_orig/local_resp, added to the
                              private address space (Zeek's default); a - entry leaves that
                              out, --local-nets=- leaves the columns unset (or FLOWRECON_LOCAL_NETS)
      --flow-cap <n>          live connections kept before the least recently active one
                              is evicted (default 2000000)
      --attempt-timeout <s>   seconds an unanswered SYN waits (Zeek tcp_attempt_delay, 5)
      --close-timeout <s>     seconds a closed connection lingers (Zeek tcp_close_delay, 5)
      --inactivity-timeout <s>
                              seconds without packets before a connection is reported
                              (Zeek tcp_inactivity_timeout, 300)
      --interactive-inactivity-timeout <s>
                              the same for ports 21, 22, 23, 513 (3600)
      --handshake-inactivity-timeout <s>
                              the same while both sides are in the handshake (60)
      --max-above-hole-without-acks <bytes>
                              Zeek tcp_max_above_hole_without_any_acks (16384, 0 = no limit)
      --excessive-data-without-acks <bytes>
                              Zeek tcp_excessive_data_without_further_acks (10485760, 0 = no limit)
      --report-gaps-for-partial
                              count content gaps on connections without a handshake
      --community-id-seed <n> Community ID seed, 0-65535 (default 0)
      --hash-key <hex>        flow-table hash key, 32 hex digits (default: FLOWRECON_HASH_KEY,
                              else random per run); for reproducible timing, no output changes
      --anomalies-only        print only connections with at least one anomaly
      --anomaly <type>        print only connections with this anomaly (repeatable)
      --stats                 print input statistics as one JSON line on stderr at the end
  -j, --threads <n>           engines, one per thread, each tracking its share of the connections
                              (default: the cores available for capture files of 256 MiB or more,
                              else 1 = one engine on this thread, as for standard input)
      --sort ts               print the connections ordered by start time (then key): the same
                              order for any thread count, for diffing; holds every flow until the end
  -h, --help                  show this help
  -V, --version               print the version

Anomaly types:
${wrapList([...ANOMALY_NAMES], "  ", 78)}

Environment:
  FLOWRECON_HASH_KEY          flow-table hash key (as --hash-key) for analyze and serve
  FLOWRECON_LOCAL_NETS        Site::local_nets for local_orig/local_resp (as --local-nets)
  FLOWRECON_FORMAT_THREADS    format threads: 0 = main thread, N = N threads (default: by input)
  FLOWRECON_DEBUG             print a stack trace with an internal error
  serve:                      HOST (127.0.0.1), PORT (8080), FLOWRECON_TOKEN, and
${wrapList(SERVER_ENV_NAMES, "                              ", 78)}

Exit status: 0 success, 1 unreadable or damaged capture (the connections decoded
before the damage are still printed), 2 usage error, 3 internal error.
`;
}

/** Words joined by ", " on lines of at most `width` columns, each line starting with `indent`. */
function wrapList(words: readonly string[], indent: string, width: number): string {
  const lines: string[] = [];
  let line = indent;
  for (const [i, w] of words.entries()) {
    const item = w + (i < words.length - 1 ? "," : "");
    if (line.length > indent.length && line.length + 1 + item.length > width) {
      lines.push(line);
      line = indent;
    }
    line += (line.length > indent.length ? " " : "") + item;
  }
  lines.push(line);
  return lines.join("\n");
}

interface AnalyzeArgs {
  capture: string;
  format: FormatName;
  jsonStyle: JsonStyle;
  stats: boolean;
  options: ReconstructorOptions;
  /** Only flows with an anomaly; with names, only flows with one of those. */
  anomalyFilter?: AnomalyFilter;
  /** `--threads`: shard threads (1 = one engine here); unset: by input (see engineThreads). */
  threads?: number;
  /** `--sort ts`: every flow held, then printed by start time. */
  sortTs?: boolean;
}

type Parsed = { kind: "help" } | { kind: "version" } | { kind: "serve" } | { kind: "analyze"; args: AnalyzeArgs };

type ValueParser = (text: string, flag: string) => number | string;

function wholeNumber(min: number, max: number, what: string): ValueParser {
  return (text, flag) => {
    const n = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max)
      throw new UsageError(`${flag} needs ${what}, got '${text}'`);
    return n;
  };
}

const hashKey: ValueParser = (text, flag) => {
  try {
    parseHashKey(text, flag);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return text;
};

/**
 * Options of analyze alone that take a value: flag, Reconstructor option, parser. One option per
 * line. The timers are shared with every command (src/cli-args.ts SHARED_OPTIONS).
 */
const VALUE_OPTIONS: readonly [flag: string, option: keyof ReconstructorOptions, parse: ValueParser][] = [
  ["flow-cap", "flowCap", wholeNumber(1, Number.MAX_SAFE_INTEGER, "a positive whole number")],
  [
    "max-above-hole-without-acks",
    "maxAboveHoleWithoutAcks",
    wholeNumber(0, Number.MAX_SAFE_INTEGER, "a whole number of bytes"),
  ],
  [
    "excessive-data-without-acks",
    "excessiveDataWithoutAcks",
    wholeNumber(0, Number.MAX_SAFE_INTEGER, "a whole number of bytes"),
  ],
  ["community-id-seed", "communityIdSeed", wholeNumber(0, 65535, "a whole number in [0, 65535]")],
  ["hash-key", "hashKey", hashKey],
];

export function parseCommandLine(argv: readonly string[]): Parsed {
  const { values, positionals } = parseCommandLineArgs(argv, {
    ...SHARED_OPTIONS,
    format: { type: "string", short: "f" },
    "json-style": { type: "string" },
    "likely-server-ports": { type: "string" },
    "local-nets": { type: "string" },
    "flow-cap": { type: "string" },
    "max-above-hole-without-acks": { type: "string" },
    "excessive-data-without-acks": { type: "string" },
    "report-gaps-for-partial": { type: "boolean" },
    "community-id-seed": { type: "string" },
    "hash-key": { type: "string" },
    "anomalies-only": { type: "boolean" },
    stats: { type: "boolean" },
    threads: { type: "string", short: "j" },
    sort: { type: "string" },
    version: { type: "boolean", short: "V" },
  });
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  const [command, ...rest] = positionals;
  if (command === undefined)
    throw new UsageError("missing command (flowrecon analyze <capture|->, or flowrecon serve)");
  if (command === "help") return { kind: "help" };
  if (command === "serve") {
    if (rest.length > 0 || Object.keys(values).length > 0) {
      throw new UsageError(
        "serve takes no arguments or options: its settings come from the environment (see flowrecon --help)",
      );
    }
    return { kind: "serve" };
  }
  if (command !== "analyze") throw new UsageError(`unknown command '${command}' (the commands are analyze and serve)`);
  if (rest.length === 0) throw new UsageError("analyze needs a capture file, or - for standard input");
  if (rest.length > 1) throw new UsageError(`analyze takes one capture, got ${rest.length}: ${rest.join(" ")}`);

  const format = values.format ?? "ndjson";
  if (!isFormatName(format)) throw new UsageError(`unknown format '${format}' (choose ${FORMAT_NAMES.join(", ")})`);
  const options = sharedEngineOptions(values);
  if (values["likely-server-ports"] !== undefined) {
    const ports = parseServerPorts(values["likely-server-ports"]);
    if (ports === null)
      throw new UsageError(
        `--likely-server-ports needs default, none or a comma-separated list of ports, got '${values["likely-server-ports"]}'`,
      );
    options.likelyServerPorts = ports;
  }
  const localNets = values["local-nets"] ?? process.env.FLOWRECON_LOCAL_NETS;
  if (localNets !== undefined) {
    try {
      new LocalNets(localNets);
    } catch (e) {
      if (!(e instanceof LocalNetsError)) throw e;
      throw new UsageError(
        `${values["local-nets"] !== undefined ? "--local-nets" : "FLOWRECON_LOCAL_NETS"}: ${e.message}`,
      );
    }
    options.localNets = localNets;
  }
  const jsonStyle = values["json-style"] ?? "nested";
  if (!isJsonStyle(jsonStyle))
    throw new UsageError(`unknown JSON style '${jsonStyle}' (choose ${JSON_STYLES.join(", ")})`);
  if (values["report-gaps-for-partial"]) options.reportGapsForPartial = true;
  for (const [flag, key, parse] of VALUE_OPTIONS) {
    const text = (values as Record<string, string | undefined>)[flag];
    if (text !== undefined) (options as Record<string, unknown>)[key] = parse(text, `--${flag}`);
  }
  // A malformed key in the environment is a usage error here, not an internal one in the engine.
  const envKey = process.env[HASH_KEY_ENV];
  if (options.hashKey === undefined && envKey !== undefined && envKey !== "") hashKey(envKey, HASH_KEY_ENV);
  const args: AnalyzeArgs = { capture: rest[0], format, jsonStyle, stats: values.stats ?? false, options };
  const wanted = anomalyNames(values);
  if (values["anomalies-only"] || wanted.length > 0) args.anomalyFilter = { any: wanted.length === 0, names: wanted };
  if (values.threads !== undefined)
    args.threads = wholeNumber(
      1,
      MAX_THREADS,
      `a whole number of threads in [1, ${MAX_THREADS}]`,
    )(values.threads, "--threads") as number;
  if (values.sort !== undefined) {
    if (values.sort !== "ts") throw new UsageError(`--sort takes ts (start time), got '${values.sort}'`);
    args.sortTs = true;
  }
  return { kind: "analyze", args };
}

/** Output bytes are handed to the stream in pieces of about this size. */
const FLUSH_BYTES = 1 << 20;

/**
 * Collects formatted bytes and writes them to the stream in ~1 MiB pieces: from inside a decode
 * call when a piece is full (stdout to a pipe or file is synchronous on Linux, so memory stays
 * bounded even when one window finishes millions of flows), and after each window, where a full
 * stream buffer is awaited (backpressure). Notices a reader that went away (EPIPE).
 */
class Output {
  readonly writer = new AsciiWriter(FLUSH_BYTES + 64 * 1024);
  readonly #stream: Writable;
  #closed = false;
  /**
   * Pending while the stream's buffer is full; settles on 'drain' (or once the stream fails or
   * closes). The write that filled the buffer attaches the listener, so a 'drain' that fires while
   * the caller awaits something else (the format threads) is not missed.
   */
  #drained: Promise<void> | null = null;
  #failure: Error | null = null;
  /** The buffer of the last piece, once stdout wrote it through: the writer's next buffer. */
  #spare: Uint8Array | null = null;

  constructor(stream: Writable) {
    this.#stream = stream;
    stream.on("error", (e: NodeJS.ErrnoException) => {
      this.#closed = true;
      if (e.code !== "EPIPE") this.#failure = e;
    });
  }

  /** True once the reader went away; there is no point in decoding further. */
  get closed(): boolean {
    return this.#closed || this.#stream.destroyed;
  }

  /** A write error other than EPIPE (disk full, ...). */
  get failure(): Error | null {
    return this.#failure;
  }

  /**
   * Writes bytes formatted elsewhere (a format thread), after anything formatted here; `done`
   * runs once the stream no longer needs them. That is known for process.stdout (a file, pipe or
   * terminal: written, or queued and then written); another stream may keep the chunk after its
   * write callback, so `done` never runs for one.
   */
  write(bytes: Uint8Array, done: () => void): void {
    this.#write();
    if (this.closed) return;
    if (this.#stream !== process.stdout) {
      this.#wrote(this.#stream.write(bytes));
      return;
    }
    // Done at once when the write went through (see #write), else on write's callback. The callback
    // must not hold the bytes: it runs on a later tick, and the read loop (awaiting promises that
    // are already settled) may not give up the tick until the input ends.
    let pending: (() => void) | null = done;
    const accepted = this.#stream.write(bytes, () => pending?.());
    if (this.#stream.writableLength === 0) {
      pending = null;
      done();
    }
    this.#wrote(accepted);
  }

  /** Writes what was formatted if it reached the piece size (called from the record sink). */
  writeIfFull(): void {
    if (this.writer.length >= FLUSH_BYTES) this.#write();
  }

  /** Writes everything formatted so far and waits while the stream's buffer is full. */
  async flush(): Promise<void> {
    this.#write();
    if (this.#drained !== null && !this.closed) await this.#drained;
  }

  #write(): void {
    if (this.writer.length === 0) return;
    if (this.closed) {
      this.writer.pos = 0;
      return;
    }
    // A piece stdout wrote through (writableLength 0: a file always, a pipe or terminal that keeps
    // up; process.stdout then holds nothing) leaves its buffer for the next piece. A new buffer a
    // piece stayed resident until a GC, which the read loop's long synchronous stretches put off.
    // Else it comes back on write's callback, which holds the bytes only while they are queued.
    if (this.#stream !== process.stdout) {
      this.#wrote(this.#stream.write(this.writer.take()));
      return;
    }
    let bytes: Uint8Array | null = this.writer.take(this.#spare ?? undefined);
    this.#spare = null;
    const accepted = this.#stream.write(bytes, () => {
      if (bytes !== null) this.#spare ??= new Uint8Array(bytes.buffer);
    });
    if (this.#stream.writableLength === 0) {
      this.#spare = new Uint8Array(bytes.buffer);
      bytes = null;
    }
    this.#wrote(accepted);
  }

  #wrote(accepted: boolean): void {
    if (accepted || this.#drained !== null) return;
    const stream = this.#stream;
    this.#drained = new Promise((resolve) => {
      const settle = (): void => {
        for (const event of ["drain", "error", "close"]) stream.off(event, settle);
        this.#drained = null;
        resolve();
      };
      for (const event of ["drain", "error", "close"]) stream.on(event, settle);
    });
  }
}

/** `  42.0%  512.3 MB/s  210.0 of 500.0 MB` on one stderr line, at most five times a second. */
class Progress {
  readonly #stream: Writable;
  readonly #total: number;
  readonly #start = performance.now();
  #last = 0;
  #shown = false;

  constructor(stream: Writable, total: number) {
    this.#stream = stream;
    this.#total = total;
  }

  update(bytes: number): void {
    const now = performance.now();
    if (now - this.#last < 200) return;
    this.#last = now;
    const mb = bytes / 1e6;
    const rate = mb / Math.max((now - this.#start) / 1000, 1e-3);
    const pct = this.#total > 0 ? ((100 * bytes) / this.#total).toFixed(1).padStart(5) : "  ?  ";
    this.#stream.write(
      `\r${pct}%  ${rate.toFixed(1)} MB/s  ${mb.toFixed(1)} of ${(this.#total / 1e6).toFixed(1)} MB\x1b[K`,
    );
    this.#shown = true;
  }

  clear(): void {
    if (this.#shown) this.#stream.write("\r\x1b[K");
  }
}

/** Opens the capture; a readable regular file (or stdin redirected from one) gets the direct-read path. */
function openCapture(capture: string): { fd: number; size: number; isFile: boolean; owned: boolean } {
  if (capture === "-") {
    if (process.stdin.isTTY)
      throw new UsageError("standard input is a terminal; pipe a capture in (tcpdump -w - | flowrecon analyze -)");
    let st: ReturnType<typeof fstatSync>;
    try {
      st = fstatSync(0);
    } catch (e) {
      throw new InputError(`cannot read standard input: ${describeErrno(e)}`);
    }
    return { fd: 0, size: st.size, isFile: st.isFile(), owned: false };
  }
  let fd: number;
  try {
    fd = openSync(capture, "r");
  } catch (e) {
    throw new InputError(`cannot open capture '${capture}': ${describeErrno(e)}`);
  }
  const st = fstatSync(fd);
  if (st.isDirectory()) {
    closeSync(fd);
    throw new InputError(`cannot read capture '${capture}': it is a directory`);
  }
  return { fd, size: st.size, isFile: st.isFile(), owned: true };
}

function describeErrno(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case "ENOENT":
      return "no such file or directory";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "it is a directory";
    case "ELOOP":
      return "too many levels of symbolic links";
    case "ENAMETOOLONG":
      return "file name too long";
    default:
      return (e as Error).message;
  }
}

function checksumHint(stats: Stats, options: ReconstructorOptions): string | null {
  if (options.ignoreChecksums || stats.bad_checksum === 0 || stats.bad_checksum < 0.1 * stats.segments) return null;
  return (
    `flowrecon: warning: ${stats.bad_checksum} of ${stats.segments} TCP segments have bad checksums and were not counted ` +
    `(checksum offload on the capturing host?); rerun with --ignore-checksums (as zeek -C)`
  );
}

/**
 * Where finished records go: printed on this thread, or handed to format threads. Either way
 * `sink` runs inside engine calls, `flush` between them (output reaches the stream, backpressure
 * is awaited), and `end` prints the footer and resolves once every byte was handed to the stream.
 */
interface RecordOutput {
  readonly sink: RecordSink;
  flush(): Promise<void>;
  /** More threads for the rest (the flows still live at the end of the input). */
  widen(): void;
  end(summary: RunSummary): Promise<void>;
}

/**
 * How many format threads: 0 = format on the main thread. FLOWRECON_FORMAT_THREADS=0 forces the
 * main thread, =N forces N threads from the start (for tests and measurements); unset, the input
 * decides: small files on the main thread, everything else on one thread, which becomes two when a
 * long tail of flows is still live at the end.
 */
async function formatThreads(input: { isFile: boolean; size: number }): Promise<{ threads: number; forced: boolean }> {
  const env = process.env.FLOWRECON_FORMAT_THREADS;
  if (env !== undefined && /^\d+$/.test(env)) return { threads: Math.min(Number(env), 16), forced: true };
  if (input.isFile && input.size < THREAD_MIN_BYTES) return { threads: 0, forced: false };
  return { threads: (await loadFormatThreads()).defaultThreads(), forced: false };
}

/** The host-side printers (output/printer.ts): json and table output, sorted and sharded runs. */
function loadPrinter(): Promise<typeof import("./output/printer.js")> {
  return import("./output/printer.js");
}

/** Format threads (output/format-threads.ts), for json and table output of large inputs. */
function loadFormatThreads(): Promise<typeof import("./output/format-threads.js")> {
  return import("./output/format-threads.js");
}

/** `--sort ts` (output/sorted-records.ts). */
function loadSortedRecords(): Promise<typeof import("./output/sorted-records.js")> {
  return import("./output/sorted-records.js");
}

async function printHere(spec: PrintSpec, rec: Reconstructor, out: Output): Promise<RecordOutput> {
  const { createPrinter } = await loadPrinter();
  const printer = createPrinter(spec, rec.insight);
  const writer = out.writer;
  printer.begin(writer);
  return {
    sink: (v, p) => {
      printer.record(v, p, writer);
      out.writeIfFull();
    },
    flush: () => out.flush(),
    widen: () => {},
    end: async (summary) => {
      printer.end(summary, writer);
      await out.flush();
    },
  };
}

/**
 * NDJSON, Zeek TSV and JSON: the engine writes each flow from the record (src/format/engine-lines.ts)
 * into its own buffer, inside the drain; the bytes move to the output a piece at a time. No
 * format thread: formatting costs less than copying records out to one.
 */
function printInEngine(spec: PrintSpec, rec: Reconstructor, out: Output): RecordOutput {
  const writer = out.writer;
  const printer = new EnginePrinter(rec, spec, writer, () => out.writeIfFull());
  const lines = printer.lines;
  const json = spec.format === "json";
  const text = (t: string): void => {
    writer.reserve(t.length);
    writer.ascii(t);
  };
  if (lines.format === "zeek") text(lines.zeekHeader(new Date()));
  if (json) {
    text(JSON_DOCUMENT_OPEN);
    lines.openArray();
  }
  return {
    sink: printer.sink,
    flush: () => {
      printer.move();
      return out.flush();
    },
    widen: () => {},
    end: async (summary) => {
      printer.move();
      if (lines.format === "zeek") text(lines.zeekFooter(new Date()));
      if (json) text(jsonDocumentClose(summaryMembers(summary), lines.arrayEmpty));
      await out.flush();
    },
  };
}

function printOnThreads(threads: FormatThreads, spec: PrintSpec, rec: Reconstructor, out: Output): RecordOutput {
  // Inside an engine call the sink blocks while the threads are behind, as the direct path blocks
  // on a synchronous stdout write: memory stays bounded however many flows one call finishes.
  const job = threads.open(
    { kind: "print", print: spec, insight: rec.insight },
    { clock: rec.insight, blocking: true, onOutput: (b, done) => out.write(b, done) },
  );
  return {
    sink: job.sink,
    flush: async () => {
      await job.flush();
      await out.flush();
    },
    widen: () => {
      while (job.widen());
    },
    end: async (summary) => {
      await job.end(summary);
      await out.flush();
    },
  };
}

async function analyze(args: AnalyzeArgs, stdout: Writable, stderr: Writable, started: ShardThread[]): Promise<number> {
  const input = openCapture(args.capture);
  const out = new Output(stdout);
  const engines = engineThreads(args.threads, input);
  if (engines <= 1) endShardThreads(started);
  else {
    try {
      const tty = Boolean((stderr as { isTTY?: boolean }).isTTY && !(stdout as { isTTY?: boolean }).isTTY);
      return await analyzeSharded(args, engines, input, out, stderr, tty, started);
    } finally {
      if (input.owned) closeSync(input.fd);
    }
  }
  // The engine formats records in its own output ring; sorted output holds copies outside it.
  const inEngine = enginePrints(args.format) && !args.sortTs;
  const plan = inEngine ? { threads: 0, forced: true } : await formatThreads(input);
  // Started first: the thread loads while the engine is set up.
  const threaded = plan.threads > 0 ? await loadFormatThreads() : null;
  const threads = threaded !== null ? new threaded.FormatThreads(plan.threads) : null;
  try {
    const rec = new Reconstructor(args.options);
    const spec: PrintSpec = {
      format: args.format,
      layout: rec.layout,
      anomalyFilter: args.anomalyFilter,
      jsonStyle: args.jsonStyle,
      localNets: args.options.localNets,
      communityIdSeed: args.options.communityIdSeed,
    };
    if (threads !== null) await threads.ready();
    const output = inEngine
      ? printInEngine(spec, rec, out)
      : threads === null
        ? await printHere(spec, rec, out)
        : printOnThreads(threads, spec, rec, out);
    let widened = plan.forced;
    if (widened) output.widen();
    // Many live flows will make a long tail at the end of the input: a second thread is started
    // early, so it is ready (and has taken a batch or two when the first was busy) by then.
    // (Without format threads there is nothing to widen.)
    const widenIfLong = (): void => {
      if (widened || threaded === null) return;
      const { flows_created, flows_emitted } = rec.stats;
      if (flows_created - flows_emitted < threaded.LONG_TAIL_FLOWS) return;
      output.widen();
      widened = true;
    };
    const sorted = args.sortTs ? new (await loadSortedRecords()).SortedRecords(rec.layout) : null;
    const sink = sorted?.add ?? output.sink;
    const tty = (stderr as { isTTY?: boolean }).isTTY && !(stdout as { isTTY?: boolean }).isTTY;
    await readInput(input, args.capture, out, tty ? stderr : null, {
      readFrom: (fd) => rec.readRecordsFrom(fd, sink),
      push: (chunk) => rec.pushRecords(chunk, sink),
      reader: rec,
      after: async () => {
        widenIfLong();
        await output.flush();
      },
    });
    if (out.closed) return out.failure ? reportWriteFailure(out.failure, stderr) : EXIT_OK;
    widenIfLong();
    // One output ring at a time, so the flows still live stream out as they are printed.
    while (!rec.finishSome(sink)) await output.flush();
    sorted?.replay(output.sink);
    return await endRun(output, out, rec.stats, rec.error, args, stderr);
  } finally {
    if (input.owned) closeSync(input.fd);
    await threads?.close();
  }
}

/** How {@link readInput} feeds a run: one read from the file, one chunk of standard input, then `after`. */
interface InputFeed {
  /** Reads and processes the next piece of the file; false at its end. */
  readFrom(fd: number): boolean;
  push(chunk: Uint8Array): void;
  /** The reading engine: bytes read so far, and whether the capture turned out damaged. */
  reader: { readonly bytesIn: number; readonly error: unknown };
  /** After each piece: print what finished, wait while the output is full. */
  after(): Promise<void>;
}

/**
 * Feeds the whole capture (file or standard input) through `feed` until it ends, the output
 * closes, or (standard input) the capture turns out damaged; a read failure is an InputError
 * naming the capture. With `progressTo`, a file's progress is shown there.
 */
async function readInput(
  input: ReturnType<typeof openCapture>,
  capture: string,
  out: Output,
  progressTo: Writable | null,
  feed: InputFeed,
): Promise<void> {
  const progress = input.isFile && input.owned && progressTo !== null ? new Progress(progressTo, input.size) : null;
  try {
    if (input.isFile) {
      while (!out.closed && feed.readFrom(input.fd)) {
        await feed.after();
        progress?.update(feed.reader.bytesIn);
        await yieldToEventLoop(); // lets an EPIPE from the reader arrive
      }
    } else {
      for await (const chunk of process.stdin as AsyncIterable<Uint8Array>) {
        feed.push(chunk);
        await feed.after();
        if (out.closed || feed.reader.error !== null) break;
      }
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).syscall !== "read") throw e;
    const what = capture === "-" ? "standard input" : `capture '${capture}'`;
    throw new InputError(`cannot read ${what}: ${describeErrno(e)}`);
  } finally {
    progress?.clear();
  }
}

/** Footer, --stats, the checksum hint and the error line: the exit status of a run. */
async function endRun(
  output: RecordOutput,
  out: Output,
  stats: Stats,
  error: RunSummary["error"],
  args: AnalyzeArgs,
  stderr: Writable,
): Promise<number> {
  await output.end({ stats, error });
  if (out.failure) return reportWriteFailure(out.failure, stderr);
  if (args.stats) stderr.write(JSON.stringify(stats) + "\n");
  const hint = checksumHint(stats, args.options);
  if (hint !== null) stderr.write(hint + "\n");
  if (error !== null) {
    stderr.write(`flowrecon: ${error.message}\n`);
    return EXIT_INPUT;
  }
  return EXIT_OK;
}

/**
 * `--threads N` (N > 1): the connections sharded across N engine threads (src/shards/). Formats
 * whose records print on their own are printed by the shards (unless sorted); the others, and
 * sorted output, are printed here from the shards' records.
 */
async function analyzeSharded(
  args: AnalyzeArgs,
  engines: number,
  input: ReturnType<typeof openCapture>,
  out: Output,
  stderr: Writable,
  tty: boolean,
  started: ShardThread[],
): Promise<number> {
  const shardPrint = enginePrints(args.format) && !args.sortTs;
  // A JSON document's flows, printed by every engine: the first to arrive loses its comma.
  const array = shardPrint && args.format === "json" ? new GatheredArray() : null;
  const print = {
    format: args.format,
    anomalyFilter: args.anomalyFilter,
    jsonStyle: args.jsonStyle,
    localNets: args.options.localNets,
    communityIdSeed: args.options.communityIdSeed,
  };
  let output: RecordOutput | null = null;
  let sorted: SortedRecords | null = null;
  const insight = { endUs: 0, final: true, thresholds: { ...LINUX_THRESHOLDS, ...args.options.stateThresholds } };
  const [{ ShardedRun }, { createPrinter }, sortedModule] = await Promise.all([
    import("./shards/sharded-run.js"),
    loadPrinter(),
    args.sortTs ? loadSortedRecords() : null,
  ]);
  const run = new ShardedRun({
    threads: engines,
    started,
    options: args.options,
    print: shardPrint ? print : null,
    insight,
    onBytes: (bytes, done) => out.write(array?.piece(bytes) ?? bytes, () => done()),
    onRecord: (v, p) => (sorted !== null ? sorted.add(v, p) : output!.sink(v, p)),
  });
  try {
    const rec = run.reader;
    const spec: PrintSpec = { ...print, layout: rec.layout };
    // The header and footer (and, for json/table or sorted output, every record) are printed here.
    const printer = createPrinter(spec, insight);
    output = {
      sink: (v, p) => {
        printer.record(v, p, out.writer);
        out.writeIfFull();
      },
      flush: () => out.flush(),
      widen: () => {},
      end: async (summary) => {
        if (array === null) printer.end(summary, out.writer);
        else {
          const close = jsonDocumentClose(summaryMembers(summary), array.empty);
          out.writer.reserve(close.length);
          out.writer.ascii(close);
        }
        await out.flush();
      },
    };
    printer.begin(out.writer);
    if (sortedModule !== null) sorted = new sortedModule.SortedRecords(rec.layout);
    await readInput(input, args.capture, out, tty ? stderr : null, {
      readFrom: (fd) => run.readFrom(fd),
      push: (chunk) => run.push(chunk),
      reader: rec,
      after: output.flush,
    });
    if (out.closed) return out.failure ? reportWriteFailure(out.failure, stderr) : EXIT_OK;
    const { stats, error } = await run.finish(() => out.flush());
    if (sorted !== null) {
      insight.endUs = rec.clockUs;
      sorted.replay(output.sink);
    }
    return await endRun(output, out, stats, error, args, stderr);
  } finally {
    await run.close();
  }
}

function reportWriteFailure(e: Error, stderr: Writable): number {
  stderr.write(`flowrecon: cannot write output: ${describeErrno(e)}\n`);
  return EXIT_INPUT;
}

/**
 * Runs the command line and resolves with the exit status (runCommandLine ends the process with it
 * once the output is written). `started`: shard threads started ahead for this command line
 * (bin/flowrecon.js: thread-plan.ts enginesGuessed, shard-threads.ts startShardThreads); a run
 * takes what it needs, the rest are ended.
 */
export async function main(
  argv: readonly string[],
  stdout: Writable = process.stdout,
  stderr: Writable = process.stderr,
  started: ShardThread[] = [],
): Promise<number> {
  try {
    return await command(argv, stdout, stderr, started);
  } finally {
    endShardThreads(started);
  }
}

/**
 * bin/flowrecon.js: runs the command line on process.stdout/stderr and ends the process once both
 * have written all they were given, rather than once the event loop drains (shard and format
 * threads ending, their handles). On Linux process.stdout and stderr write files, pipes and TTYs
 * synchronously (Node's "A note on process I/O"), so nothing is queued by then; where a stream
 * writes asynchronously (pipes on Windows) process.exit() would drop what it still holds, so the
 * exit waits for it. `serve` keeps running once it listens: its server holds the process.
 */
export async function runCommandLine(argv: readonly string[], started: ShardThread[]): Promise<void> {
  const code = await main(argv, process.stdout, process.stderr, started);
  if (serving) {
    process.exitCode = code;
    return;
  }
  await Promise.all([written(process.stdout), written(process.stderr)]);
  process.exit(code);
}

/** Resolves once `stream` has handed the system everything written to it, or failed (EPIPE). */
function written(stream: Writable): Promise<void> {
  if (stream.destroyed || stream.writableLength === 0) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once("error", () => resolve());
    // Written in order: its callback comes once every earlier chunk went through.
    stream.write("", () => resolve());
  });
}

/** Set once `serve` is starting its server (which then holds the process). */
let serving = false;

async function command(
  argv: readonly string[],
  stdout: Writable,
  stderr: Writable,
  started: ShardThread[],
): Promise<number> {
  // ladder and extract look at single connections (src/connection-commands.ts), loaded only for
  // them: analyze then loads 8 modules fewer (trace, ladder, extract), a start-up cost on every run.
  if (argv[0] === "ladder" || argv[0] === "extract") {
    const { runConnectionCommand } = await import("./connection-commands.js");
    return runConnectionCommand(argv, stdout, stderr);
  }
  try {
    const parsed = parseCommandLine(argv);
    if (parsed.kind === "help") {
      stdout.write(await helpText());
      return EXIT_OK;
    }
    if (parsed.kind === "version") {
      stdout.write(`flowrecon ${VERSION}\n`);
      return EXIT_OK;
    }
    if (parsed.kind === "serve") {
      // The API server (`npm start`); loaded only here, so analyze never loads Hono.
      const { main: serve } = await import("./server.js");
      serving = true;
      // Its status: 0 once listening (the server then holds the process), 2 for a wrong setting.
      return await serve();
    }
    return await analyze(parsed.args, stdout, stderr, started);
  } catch (e) {
    return failureStatus(e, stderr, "flowrecon --help");
  }
}
