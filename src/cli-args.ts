/**
 * @module
 * The command-line parsing every flowrecon command shares (`analyze` in src/cli.ts, `ladder` and
 * `extract` in src/connection-commands.ts): node:util parseArgs with its errors worded as
 * flowrecon's usage errors, the options that mean the same in every command, and what they set.
 */

import { type ParseArgsConfig, parseArgs } from "node:util";
import { ANOMALY_NAMES } from "./anomalies/index.js";
import type { ReconstructorOptions } from "./reconstructor.js";

/** A command line that cannot run: the command prints it with a hint to --help and exits 2. */
export class UsageError extends Error {}

/** Options every command that reads a capture takes, with the same meaning (spread into its own). */
export const SHARED_OPTIONS = {
  "ignore-checksums": { type: "boolean", short: "C" },
  bare: { type: "boolean", short: "b" },
  anomaly: { type: "string", multiple: true },
  help: { type: "boolean", short: "h" },
} as const;

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

/** The engine options -C (as zeek -C) and -b (as zeek -b) set. */
export function sharedEngineOptions(values: { "ignore-checksums"?: boolean; bare?: boolean }): ReconstructorOptions {
  const options: ReconstructorOptions = {};
  if (values["ignore-checksums"]) options.ignoreChecksums = true;
  if (values.bare) options.likelyServerPorts = false;
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
