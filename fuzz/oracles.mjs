/**
 * The fuzzing oracles: what must hold for every input, however damaged (issue 11, "A fuzzing
 * campaign"). `checkInProcess` feeds the library (Reconstructor + the four output formats, as the
 * CLI prints them); `checkCli` runs bin/flowrecon.js. Each failure is a finding with a stable
 * `signature` (oracle and place, no input-specific numbers), so the minimiser can keep it while
 * it shrinks the input, and the campaign counts each distinct bug once.
 *
 * In process:
 * - no throw: an engine trap/abort (EngineFault), any other exception, or a formatter that throws;
 * - bounded memory: the engine's linear memory stays under MEMORY_LIMIT;
 * - a fatal error names a byte offset inside the input (0 <= offset <= length, and the message
 *   says "byte <offset>");
 * - the same input pushed in 1-byte, 7-byte and 64 KiB chunks prints byte-identical output in
 *   every format (ndjson, json, zeek, table) and stops at the same error;
 * - the flows before the damage equal those of the clean prefix (the input cut at the error offset);
 * - the same capture rewritten in the other byte order or in nanoseconds prints the same flows.
 * Through the CLI: no exit 3, no signal, no hang (the watchdog); exit 1 names the byte offset; the
 * output equals the in-process output of that format.
 * The hang oracle (10 s without progress) is the campaign runner's watchdog (run.mjs).
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AsciiWriter, EngineFault, FORMAT_NAMES, Reconstructor, createFormatter } from "../dist/index.js";
import { createEngine } from "../dist/wasm/engine.js";

export const CHUNK_SIZES = [1, 7, 65536];
/** Engine memory after any input of the fuzzer's sizes (< 1 MiB): window, output ring, a small flow table. */
export const MEMORY_LIMIT = 256 << 20;
/** The input window of the in-process runs: the smallest allowed, enough for every mutant (< 1 MiB). */
const WINDOW_BYTES = 1 << 20;
/** Mutants are kept below this, so no record can exceed the window and in-process equals the CLI. */
export const MAX_INPUT_BYTES = 512 << 10;
export const WATCHDOG_MS = 10_000;

const BIN = fileURLToPath(new URL("../bin/flowrecon.js", import.meta.url));

/**
 * Every option the fuzzer varies, at its default: a reused engine keeps the options of its last
 * run unless each run sets all of them.
 */
const OPTION_DEFAULTS = {
  ignoreChecksums: false,
  vlanInKey: false,
  reportGapsForPartial: false,
  likelyServerPorts: true,
  flowCap: 2_000_000,
};

/**
 * One engine, re-initialised for every run (as an API session reuses a pooled engine,
 * src/http/sessions): a fresh WebAssembly instance costs its page faults (about 0.3 s for the
 * first flow-table chunk on a loaded sandbox), ten times the run itself. Dropped after a fault.
 * `freshEngines(true)` gives every run a new instance instead.
 * @type {import("../dist/wasm/engine.js").Engine | null}
 */
let shared = null;
let fresh = false;
/** @param {boolean} on */
export function freshEngines(on) {
  fresh = on;
  shared = null;
}
const FIXED_NOW = () => new Date(Date.UTC(2026, 0, 1));

function finding(oracle, where, detail) {
  return { oracle, signature: where ? `${oracle}:${where}` : oracle, detail };
}

/** First line of an error message with numbers masked: the same bug on another input reads the same. */
function shape(message) {
  return String(message).split("\n")[0].replace(/\d+/g, "N").slice(0, 120);
}

/**
 * Runs one input through a fresh Reconstructor in chunks of `chunk` bytes, printing every format
 * at once. Returns {outputs, formatErrors, error, fault, memoryBytes}.
 */
export function runInProcess(bytes, chunk, options) {
  const engine = fresh ? undefined : (shared ??= createEngine());
  const rec = new Reconstructor({ windowBytes: WINDOW_BYTES, ...OPTION_DEFAULTS, ...options }, engine);
  const outs = FORMAT_NAMES.map((name) => ({
    name,
    formatter: createFormatter(name, rec.layout, { insight: rec.insight, now: FIXED_NOW }),
    writer: new AsciiWriter(1 << 16),
    /** @type {Buffer[]} */
    parts: [],
    /** @type {any} */
    thrown: null,
  }));
  const guarded = (o, fn) => {
    if (o.thrown !== null) return;
    try {
      fn();
    } catch (e) {
      o.thrown = e;
    }
  };
  for (const o of outs) guarded(o, () => o.formatter.begin(o.writer));
  const sink = (v, p) => {
    for (const o of outs) {
      guarded(o, () => o.formatter.record(v, p, o.writer));
      if (o.writer.length > 1 << 20) o.parts.push(o.writer.take());
    }
  };
  let fault = null;
  try {
    for (let off = 0; off < bytes.length && rec.error === null; off += chunk)
      rec.pushRecords(bytes.subarray(off, off + chunk), sink);
    rec.finishRecords(sink);
  } catch (e) {
    fault = e;
    shared = null;
  }
  /** @type {Record<string, string>} */
  const outputs = {};
  /** @type {Record<string, Error>} */
  const formatErrors = {};
  if (fault === null) {
    const summary = { stats: rec.stats, error: rec.error };
    for (const o of outs) {
      guarded(o, () => o.formatter.end(summary, o.writer));
      o.parts.push(o.writer.take());
      outputs[o.name] = Buffer.concat(o.parts).toString("latin1");
      if (o.thrown !== null) formatErrors[o.name] = o.thrown;
    }
  }
  return { outputs, formatErrors, error: rec.error, fault, memoryBytes: rec.memoryBytes };
}

/** The position of the first difference, with a little context from both sides. */
export function firstDifference(a, b) {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const from = Math.max(0, i - 60);
  return `at char ${i}: ${JSON.stringify(a.slice(from, i + 60))} vs ${JSON.stringify(b.slice(from, i + 60))}`;
}

function checkRun(res, bytes, label, findings) {
  if (res.fault !== null) {
    const kind = res.fault instanceof EngineFault ? "trap" : "throw";
    findings.push(finding(kind, shape(res.fault.message), `${label}: ${res.fault.stack ?? res.fault.message}`));
    return false;
  }
  for (const [fmt, e] of Object.entries(res.formatErrors)) {
    findings.push(finding("format-throw", `${fmt}:${shape(e.message)}`, `${label}: ${e.stack ?? e.message}`));
  }
  if (res.memoryBytes > MEMORY_LIMIT)
    findings.push(
      finding("memory", "", `${label}: engine memory ${res.memoryBytes} bytes for a ${bytes.length} byte input`),
    );
  const err = res.error;
  if (err !== null) {
    const ok =
      Number.isInteger(err.offset) &&
      err.offset >= 0 &&
      err.offset <= bytes.length &&
      err.message.includes(`byte ${err.offset}`);
    if (!ok)
      findings.push(
        finding("error-offset", err.code, `${label}: ${JSON.stringify(err)} for a ${bytes.length} byte input`),
      );
  }
  return true;
}

/**
 * Every in-process oracle on one input. `options` are Reconstructor options; `extra` turns on the
 * costlier checks (prefix, equivalent form) and gives the random source for the latter.
 */
export function checkInProcess(bytes, options = {}, extra = {}) {
  const findings = [];
  const runs = [];
  for (const chunk of extra.chunks ?? CHUNK_SIZES) {
    extra.onStage?.(`chunks-${chunk}`);
    const res = runInProcess(bytes, chunk, options);
    if (!checkRun(res, bytes, `${chunk}-byte chunks`, findings)) return { findings, reference: null };
    runs.push({ chunk, res });
  }
  const ref = runs[runs.length - 1];
  for (const { chunk, res } of runs.slice(0, -1)) {
    for (const fmt of FORMAT_NAMES) {
      if (ref.res.formatErrors[fmt] || res.formatErrors[fmt]) continue;
      const a = res.outputs[fmt];
      const b = ref.res.outputs[fmt];
      if (a !== b) {
        const f = finding(
          "chunk-diff",
          fmt,
          `${chunk}-byte vs ${ref.chunk}-byte chunks, ${fmt} ${firstDifference(a, b)}`,
        );
        // for known.mjs (not for reports): this format's two outputs, and the two ndjson outputs
        Object.defineProperty(f, "outputs", { value: [a, b], enumerable: false });
        Object.defineProperty(f, "ndjson", { value: [res.outputs.ndjson, ref.res.outputs.ndjson], enumerable: false });
        findings.push(f);
      }
    }
    const ea = res.error;
    const eb = ref.res.error;
    if ((ea?.code ?? null) !== (eb?.code ?? null) || (ea?.offset ?? null) !== (eb?.offset ?? null)) {
      findings.push(
        finding(
          "chunk-error-diff",
          "",
          `${chunk}-byte: ${JSON.stringify(ea)} vs ${ref.chunk}-byte: ${JSON.stringify(eb)}`,
        ),
      );
    }
  }
  const err = ref.res.error;
  if (extra.prefix !== false && err !== null && err.offset > 0 && err.offset <= bytes.length) {
    extra.onStage?.("prefix");
    const pre = runInProcess(bytes.subarray(0, err.offset), 65536, options);
    if (checkRun(pre, bytes.subarray(0, err.offset), "clean prefix", findings)) {
      // An error may name the damaged field inside a record (a section header's byte-order magic
      // at +8): the prefix then ends inside that record's header, which is a truncation at or
      // before the damage, and must still give the same flows.
      const cutInside = pre.error !== null && pre.error.code === "truncated_input" && pre.error.offset <= err.offset;
      if (pre.error !== null && !cutInside) {
        findings.push(
          finding(
            "prefix-error",
            `${err.code}>${pre.error.code}`,
            `damage ${JSON.stringify(err)}; the ${err.offset} byte prefix: ${JSON.stringify(pre.error)}`,
          ),
        );
      } else if (pre.outputs.ndjson !== ref.res.outputs.ndjson) {
        findings.push(
          finding(
            "prefix-diff",
            err.code,
            `flows before the damage at byte ${err.offset} differ from the clean prefix's: ${firstDifference(ref.res.outputs.ndjson, pre.outputs.ndjson)}`,
          ),
        );
      }
    }
  }
  if (extra.equivalent !== undefined) {
    const eq = extra.equivalent(bytes);
    if (eq !== null) {
      extra.onStage?.(`form-${eq.form}`);
      const res = runInProcess(eq.bytes, 65536, options);
      if (checkRun(res, eq.bytes, `${eq.form} form`, findings)) {
        const same =
          (res.error?.code ?? null) === (err?.code ?? null) && (res.error?.offset ?? null) === (err?.offset ?? null);
        // In another container the damage sits at another offset (and may be another error):
        // only undamaged captures are compared there.
        if (eq.form === "pcapng" && (res.error !== null || err !== null)) {
          // nothing to compare
        } else if (!same)
          findings.push(finding("form-error-diff", eq.form, `${JSON.stringify(res.error)} vs ${JSON.stringify(err)}`));
        else if (res.outputs.ndjson !== ref.res.outputs.ndjson)
          findings.push(
            finding("form-diff", eq.form, `ndjson ${firstDifference(res.outputs.ndjson, ref.res.outputs.ndjson)}`),
          );
      }
    }
  }
  return { findings, reference: ref.res };
}

/** CLI flags for the Reconstructor options the fuzzer varies. */
export function cliFlags(options) {
  const flags = [];
  if (options.ignoreChecksums) flags.push("-C");
  if (options.likelyServerPorts === false) flags.push("-b");
  if (options.vlanInKey === true) flags.push("--vlan-key");
  if (options.reportGapsForPartial) flags.push("--report-gaps-for-partial");
  if (options.flowCap !== undefined) flags.push("--flow-cap", String(options.flowCap));
  return flags;
}

/** Zeek's #open/#close lines carry the wall clock. */
function comparable(fmt, text) {
  return fmt === "zeek" ? text.replace(/^#(open|close)\t.*$/gm, "#$1\t-") : text;
}

let scratch = null;

/**
 * Runs the CLI on `bytes` (from a file, or from standard input when `stdin`) in `format`, and
 * checks it against the in-process output `reference` (runInProcess's result for the same options).
 */
export function checkCli(bytes, format, options, reference, stdin = false) {
  scratch ??= mkdtempSync(join(tmpdir(), "flowrecon-fuzz-"));
  const file = join(scratch, "input.cap");
  writeFileSync(file, bytes);
  const args = [BIN, "analyze", stdin ? "-" : file, "--format", format, ...cliFlags(options)];
  const res = spawnSync(process.execPath, args, {
    input: stdin ? bytes : undefined,
    stdio: [stdin ? "pipe" : "ignore", "pipe", "pipe"],
    timeout: WATCHDOG_MS,
    maxBuffer: 256 << 20,
    env: { ...process.env, FLOWRECON_FORMAT_THREADS: "0" },
  });
  const where = `${format}${stdin ? ":stdin" : ""}`;
  const stderr = res.stderr?.toString("utf8") ?? "";
  const findings = [];
  const cmd = `node bin/flowrecon.js ${args.slice(1).join(" ")}`;
  if (/** @type {NodeJS.ErrnoException | undefined} */ (res.error)?.code === "ETIMEDOUT" || res.signal === "SIGTERM")
    return [finding("cli-hang", where, `${cmd}: no exit after ${WATCHDOG_MS} ms`)];
  if (res.signal !== null)
    return [finding("cli-signal", `${where}:${res.signal}`, `${cmd}: killed by ${res.signal}; ${stderr}`)];
  if (res.status === 3)
    return [finding("cli-exit-3", `${format}:${shape(stderr.replace(/^flowrecon: /, ""))}`, `${cmd}: ${stderr}`)];
  if (res.status !== 0 && res.status !== 1)
    return [finding("cli-exit", `${where}:${res.status}`, `${cmd}: exit ${res.status}; ${stderr}`)];
  const err = reference.error;
  if ((res.status === 1) !== (err !== null)) {
    findings.push(
      finding("cli-status", where, `${cmd}: exit ${res.status}, in process error ${JSON.stringify(err)}; ${stderr}`),
    );
  } else if (err !== null && !stderr.includes(`at byte ${err.offset}`) && !stderr.includes(`byte ${err.offset}`)) {
    findings.push(finding("cli-error-offset", where, `${cmd}: stderr does not name byte ${err.offset}: ${stderr}`));
  }
  const expected = reference.outputs[format];
  if (expected !== undefined && !reference.formatErrors[format]) {
    const got = res.stdout.toString("latin1");
    if (comparable(format, got) !== comparable(format, expected)) {
      findings.push(
        finding("cli-diff", where, `${cmd}: ${firstDifference(comparable(format, got), comparable(format, expected))}`),
      );
    }
  }
  return findings;
}

export function cleanupScratch() {
  if (scratch !== null) rmSync(scratch, { recursive: true, force: true });
  scratch = null;
}
