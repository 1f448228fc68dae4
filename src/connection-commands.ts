/**
 * @module
 * The commands that look at single connections of a capture file:
 *
 *   flowrecon ladder  <capture> (--uid U | --community-id C | --flow "a:p > b:q") [--format svg|text|json] [--all] [-o file]
 *   flowrecon extract <capture> (--uid U | --community-id C | --flow "a:p > b:q" | --anomaly NAME...) -w out.pcap
 *
 * Both find the connection with a normal pass, then trace it (src/trace): the ladder draws the
 * engine's own per-segment view, extract copies the frames the engine gave to the connection.
 * Exit status and error style as `flowrecon analyze` (src/cli.ts).
 */

import { createWriteStream, fstatSync, openSync, closeSync } from "node:fs";
import type { Writable } from "node:stream";
import { MIN_WINDOW_BYTES, type ReconstructorOptions } from "./reconstructor.js";
import type { Flow } from "./flow.js";
import { passesAnomalyFilter } from "./anomalies/index.js";
import { findFlows, parseFlowSpec, traceFlow, traceFlowPaced, type Selector } from "./trace/trace.js";
import { LadderBuilder } from "./ladder/model.js";
import { ladderSvg } from "./ladder/svg.js";
import { ladderText } from "./ladder/text.js";
import { extractFrames, ExtractError } from "./extract/frames.js";
import { analyzeFile } from "./analyze.js";
import { anomalyNames, parseCommandLineArgs, SHARED_OPTIONS, sharedEngineOptions, UsageError } from "./cli-args.js";
import { EXIT_OK, failureStatus, InputError } from "./cli-args.js";

export const CONNECTION_HELP = `Usage: flowrecon ladder  <capture> <connection> [--format svg|text|json] [--all] [-o file]
       flowrecon extract <capture> (<connection> | --anomaly <type>...) -w <out.pcap>

ladder draws one connection as the engine saw it: a ladder diagram with one
arrow per segment, relative seq/ack as Wireshark numbers them, both endpoints'
RFC 9293 states where they change, and anomalies on the segment that raised
them. Runs of ordinary data/ACK segments fold into one band; --all draws every
segment. extract writes the connection's packets (or those of every connection
with one of the anomalies) to a pcap file with their original timestamps.

<connection> is one of:
      --uid <uid>             the flow's uid (from flowrecon analyze)
      --community-id <id>     the flow's Community ID ("1:...")
      --flow "a:p > b:q"      its endpoints, either order; IPv6 as [addr]:port
      --start <ts>            with --community-id or --flow: the flow's ts, when the
                              same endpoints carried several connections

Options:
  -f, --format <name>         ladder: svg (default), text (terminal), json (events)
      --all                   ladder: draw every segment
  -o, --output <file>         ladder: write here instead of standard output
  -w, --write <file>          extract: the pcap file to write
      --anomaly <type>        extract: every connection with this anomaly (repeatable)
  -C, --ignore-checksums      as flowrecon analyze
  -b, --bare                  as flowrecon analyze
      --vlan-key              as flowrecon analyze
      --attempt-timeout <s>, --close-timeout <s>, --inactivity-timeout <s>,
      --interactive-inactivity-timeout <s>, --handshake-inactivity-timeout <s>
                              as flowrecon analyze: they decide where a connection
                              ends and the next on the same ports begins, so give
                              the ones analyze was given for the uid you name
  -h, --help                  show this help
`;

/** Most connections `extract --anomaly` traces (each is one pass over the file). */
export const EXTRACT_MAX_FLOWS = 1000;

interface Parsed {
  command: "ladder" | "extract";
  capture: string;
  selector?: Selector;
  anomalies: string[];
  format: "svg" | "text" | "json";
  all: boolean;
  output?: string;
  write?: string;
  options: ReconstructorOptions;
}

function parse(argv: readonly string[]): Parsed | "help" {
  const { values: v, positionals } = parseCommandLineArgs(argv, {
    ...SHARED_OPTIONS,
    uid: { type: "string" },
    "community-id": { type: "string" },
    flow: { type: "string" },
    start: { type: "string" },
    format: { type: "string", short: "f" },
    all: { type: "boolean" },
    output: { type: "string", short: "o" },
    write: { type: "string", short: "w" },
  });
  if (v.help) return "help";
  const [command, ...rest] = positionals;
  if (command !== "ladder" && command !== "extract") throw new UsageError(`unknown command '${command}'`);
  if (rest.length !== 1) throw new UsageError(`${command} takes one capture file, got ${rest.length}`);
  const named = [v.uid, v["community-id"], v.flow].filter((x) => x !== undefined).length;
  const anomalies = anomalyNames(v);
  if (command === "ladder" && anomalies.length > 0)
    throw new UsageError("--anomaly is an extract option; ladder draws one connection");
  if (named > 1) throw new UsageError("name the connection one way: --uid, --community-id or --flow");
  if (named === 0 && anomalies.length === 0)
    throw new UsageError(
      `${command} needs a connection: --uid, --community-id or --flow${command === "extract" ? " (or --anomaly)" : ""}`,
    );
  if (named === 1 && anomalies.length > 0)
    throw new UsageError("--anomaly selects connections by itself; leave out --uid/--community-id/--flow");
  let start: number | undefined;
  if (v.start !== undefined) {
    start = Number(v.start);
    if (!Number.isFinite(start)) throw new UsageError(`--start needs a flow ts in seconds, got '${v.start}'`);
  }
  let selector: Selector | undefined;
  if (v.uid !== undefined) selector = { uid: v.uid };
  else if (v["community-id"] !== undefined) selector = { communityId: v["community-id"], start };
  else if (v.flow !== undefined) {
    try {
      selector = { ...parseFlowSpec(v.flow), start };
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const format = v.format ?? "svg";
  if (format !== "svg" && format !== "text" && format !== "json")
    throw new UsageError(`unknown ladder format '${format}' (choose svg, text, json)`);
  if (command === "extract" && v.write === undefined) throw new UsageError("extract needs -w <out.pcap>");
  const options = sharedEngineOptions(v);
  return {
    command,
    capture: rest[0],
    selector,
    anomalies,
    format,
    all: v.all ?? false,
    output: v.output,
    write: v.write,
    options,
  };
}

function checkCapture(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(
      `cannot open capture '${path}': ${code === "ENOENT" ? "no such file or directory" : (e as Error).message}`,
    );
  }
  try {
    if (fstatSync(fd).isDirectory()) throw new InputError(`cannot read capture '${path}': it is a directory`);
  } finally {
    closeSync(fd);
  }
}

function describe(s: Selector): string {
  if ("uid" in s) return `uid ${s.uid}`;
  const at = s.start !== undefined ? ` starting at ${s.start}` : "";
  if ("communityId" in s) return `Community ID ${s.communityId}${at}`;
  return `${s.a}:${s.pa} <-> ${s.b}:${s.pb}${at}`;
}

/** The one flow the selector names, or a clear error. */
function theFlow(p: Parsed): Flow {
  const found = findFlows(p.capture, p.selector!, p.options);
  if (found.length === 0) throw new InputError(`no connection with ${describe(p.selector!)} in '${p.capture}'`);
  if (found.length > 1) {
    const list = found
      .slice(0, 10)
      .map((f) => `  ${f.uid}  ts ${f.ts.toFixed(6)}  ${f.conn_state}`)
      .join("\n");
    throw new UsageError(
      `${found.length} connections match ${describe(p.selector!)}; pick one with --uid or --start:\n${list}`,
    );
  }
  return found[0];
}

async function ladder(p: Parsed, stdout: Writable): Promise<number> {
  const flow = theFlow(p);
  const out: Writable = p.output !== undefined ? createWriteStream(p.output) : stdout;
  if (p.format === "json") {
    // Events stream out as traced, and the trace waits for the stream between windows of input:
    // memory stays bounded however long the connection and however slow the reader.
    let first = true;
    let chunk = `{"flow":${JSON.stringify(flow)},"events":[`;
    let full = false;
    const result = await traceFlowPaced(
      p.capture,
      flow,
      (e) => {
        chunk += (first ? "\n" : ",\n") + JSON.stringify(e);
        first = false;
        if (chunk.length > 1 << 20) {
          if (!out.write(chunk)) full = true;
          chunk = "";
        }
      },
      async () => {
        if (!full) return;
        full = false;
        await new Promise<void>((resolve) => {
          const done = (): void => {
            out.off("drain", done);
            out.off("close", done);
            out.off("error", done);
            resolve();
          };
          out.on("drain", done);
          out.on("close", done);
          out.on("error", done);
        });
      },
      { ...p.options, windowBytes: MIN_WINDOW_BYTES },
    ); // small windows: the stream is awaited more often
    out.write(chunk + `\n],"end":${JSON.stringify(result.end)},"segments":${result.segments}}\n`);
  } else {
    const builder = new LadderBuilder({ all: p.all });
    const result = traceFlow(p.capture, flow, (e) => builder.add(e), p.options);
    const model = builder.finish(result.flow, result.end);
    out.write(p.format === "svg" ? ladderSvg(model) : ladderText(model));
  }
  if (out !== stdout)
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  return EXIT_OK;
}

async function extract(p: Parsed, stderr: Writable): Promise<number> {
  let flows: Flow[];
  if (p.selector !== undefined) flows = [theFlow(p)];
  else {
    flows = [];
    const names = new Set(p.anomalies);
    await analyzeFile(p.capture, p.options, (f) => {
      if (passesAnomalyFilter(f.anomalies, false, names)) flows.push(f);
    });
    if (flows.length === 0) throw new InputError(`no connection in '${p.capture}' has ${p.anomalies.join(" or ")}`);
    if (flows.length > EXTRACT_MAX_FLOWS) {
      throw new InputError(
        `${flows.length} connections have ${p.anomalies.join(" or ")}; extract takes at most ${EXTRACT_MAX_FLOWS} (one pass each)`,
      );
    }
  }
  const frames: number[] = [];
  for (const flow of flows) traceFlow(p.capture, flow, (e) => frames.push(e.frame), p.options);
  frames.sort((a, b) => a - b);
  const unique = frames.filter((f, i) => i === 0 || frames[i - 1] !== f);
  const n = extractFrames(p.capture, unique, p.write!);
  stderr.write(
    `flowrecon: wrote ${n} packets of ${flows.length} connection${flows.length === 1 ? "" : "s"} to ${p.write}\n`,
  );
  return EXIT_OK;
}

/** Runs `flowrecon ladder|extract ...`; resolves with the exit status. */
export async function runConnectionCommand(
  argv: readonly string[],
  stdout: Writable,
  stderr: Writable,
): Promise<number> {
  try {
    const p = parse(argv);
    if (p === "help") {
      stdout.write(CONNECTION_HELP);
      return EXIT_OK;
    }
    checkCapture(p.capture);
    return p.command === "ladder" ? await ladder(p, stdout) : await extract(p, stderr);
  } catch (e) {
    return failureStatus(e, stderr, "flowrecon ladder --help", (x) => x instanceof ExtractError);
  }
}
