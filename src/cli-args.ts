/**
 * @module
 * The command-line parsing every flowrecon command shares (`analyze` in src/cli.ts, `ladder` and
 * `extract` in src/connection-commands.ts): node:util parseArgs with its errors worded as
 * flowrecon's usage errors, the options that mean the same in every command, and what they set;
 * the exit statuses and how a failure is reported.
 */

import type { Writable } from "node:stream";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { ANOMALY_NAMES } from "./anomalies/catalogue.js";
import type { ReconstructorOptions } from "./reconstructor.js";

export const EXIT_OK = 0;
export const EXIT_INPUT = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 3;

/** A command line that cannot run: the command prints it with a hint to --help and exits 2. */
export class UsageError extends Error {}

/** A capture (or a selection in it) that cannot be read or used: the command prints it and exits 1. */
export class InputError extends Error {}

/**
 * Reports the failure `e` of a command on `stderr` and returns its exit status: a usage error with
 * the hint to `help` (2), an InputError or what `isInput` accepts as it is (1), anything else as
 * an internal error, with its stack when FLOWRECON_DEBUG is set (3).
 */
export function failureStatus(
  e: unknown,
  stderr: Writable,
  help: string,
  isInput: (e: unknown) => boolean = () => false,
): number {
  if (e instanceof UsageError) {
    stderr.write(`flowrecon: ${e.message}\nTry '${help}' for more information.\n`);
    return EXIT_USAGE;
  }
  if (e instanceof InputError || isInput(e)) {
    stderr.write(`flowrecon: ${(e as Error).message}\n`);
    return EXIT_INPUT;
  }
  const err = e as Error;
  stderr.write(`flowrecon: internal error: ${err.message ?? String(e)} (please report it)\n`);
  if (process.env.FLOWRECON_DEBUG) stderr.write(`${err.stack ?? ""}\n`);
  return EXIT_INTERNAL;
}

/**
 * Options every command that reads a capture takes, with the same meaning (spread into its own).
 * The connection key and Zeek's timers are among them because they decide where one connection
 * ends and the next on the same 5-tuple begins: a uid `analyze --close-timeout 0` printed is found
 * again by `ladder`/`extract` only with the same options.
 */
export const SHARED_OPTIONS = {
  "ignore-checksums": { type: "boolean", short: "C" },
  bare: { type: "boolean", short: "b" },
  "vlan-key": { type: "boolean" },
  "attempt-timeout": { type: "string" },
  "close-timeout": { type: "string" },
  "inactivity-timeout": { type: "string" },
  "interactive-inactivity-timeout": { type: "string" },
  "handshake-inactivity-timeout": { type: "string" },
  anomaly: { type: "string", multiple: true },
  help: { type: "boolean", short: "h" },
} as const;

/** The timer options: flag and the Reconstructor option (seconds) it sets. */
const TIMEOUTS = [
  ["attempt-timeout", "attemptTimeout"],
  ["close-timeout", "closeTimeout"],
  ["inactivity-timeout", "inactivityTimeout"],
  ["interactive-inactivity-timeout", "interactiveInactivityTimeout"],
  ["handshake-inactivity-timeout", "handshakeInactivityTimeout"],
] as const satisfies readonly (readonly [keyof typeof SHARED_OPTIONS, keyof ReconstructorOptions])[];

type TimeoutFlag = (typeof TIMEOUTS)[number][0];

type OptionsConfig = NonNullable<ParseArgsConfig["options"]>;

/** What parseArgs gives for `options` (its result type has no exported name in @types/node). */
export type ParsedArgs<O extends OptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; allowPositionals: true; strict: true; options: O }>
>;

/** parseArgs over `argv` (positionals allowed, unknown options refused), failures as UsageError. */
export function parseCommandLineArgs<const O extends OptionsConfig>(
  argv: readonly string[],
  options: O,
): ParsedArgs<O> {
  try {
    return parseArgs({ args: [...argv], allowPositionals: true, strict: true, options });
  } catch (e) {
    const message = (e as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(message);
    throw new UsageError(unknown ? `unknown option '${unknown[1]}'` : message.replace(/^Option /, "option "));
  }
}

/** The engine options -C (as zeek -C), -b (as zeek -b), --vlan-key and the timers set. */
export function sharedEngineOptions(
  values: { "ignore-checksums"?: boolean; bare?: boolean; "vlan-key"?: boolean } & { [F in TimeoutFlag]?: string },
): ReconstructorOptions {
  const options: ReconstructorOptions = {};
  if (values["ignore-checksums"]) options.ignoreChecksums = true;
  if (values.bare) options.likelyServerPorts = false;
  if (values["vlan-key"]) options.vlanInKey = true;
  for (const [flag, key] of TIMEOUTS) {
    const text = values[flag];
    if (text === undefined) continue;
    const n = Number(text);
    if (text.trim() === "" || !Number.isFinite(n) || n < 0)
      throw new UsageError(`--${flag} needs a number of seconds >= 0, got '${text}'`);
    options[key] = n;
  }
  return options;
}

/** The --anomaly names, each checked against the catalogue. */
export function anomalyNames(values: { anomaly?: string[] }): string[] {
  const names = values.anomaly ?? [];
  for (const name of names) {
    if (!ANOMALY_NAMES.has(name))
      throw new UsageError(`unknown anomaly '${name}' (known: ${[...ANOMALY_NAMES].join(", ")})`);
  }
  return names;
}
