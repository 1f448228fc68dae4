/**
 * The command line of a bench script: node's parseArgs plus what every script owes its user. `--help`
 * (`-h`) prints the usage and exits 0; an unknown option, a missing value or a stray argument prints
 * what is wrong, then the usage, and exits 2, instead of parseArgs' TypeError and stack trace.
 *
 * @module
 */
import { basename } from "node:path";
import { parseArgs } from "node:util";

/**
 * Parses process.argv with `config` (parseArgs' options and allowPositionals; `help` is added).
 * `usage` is the text printed for --help and under an error.
 *
 * @template {import("node:util").ParseArgsConfig} T
 * @param {string} usage
 * @param {T} config
 * @returns {ReturnType<typeof parseArgs<T>>}
 */
export function parseCommandLine(usage, config) {
  const options = { ...config.options, help: { type: /** @type {const} */ ("boolean"), short: "h" } };
  let parsed;
  try {
    parsed = parseArgs({ ...config, options });
  } catch (e) {
    if (!(e instanceof TypeError) || !String(/** @type {{code?: string}} */ (e).code).startsWith("ERR_PARSE_ARGS_"))
      throw e;
    // parseArgs' message ends with a hint about "--" that does not apply to these scripts.
    const message = e.message.replace(/\. To specify a positional argument.*$/s, "");
    process.stderr.write(`${basename(process.argv[1] ?? "bench")}: ${message}\n${usage}\n`);
    process.exit(2);
  }
  if (/** @type {{help?: boolean}} */ (parsed.values).help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  return /** @type {any} */ (parsed);
}

/**
 * Prints `message` and the usage to stderr and exits 2 (a required argument missing, a bad value).
 *
 * @param {string} usage
 * @param {string} message
 * @returns {never}
 */
export function usageError(usage, message) {
  process.stderr.write(`${basename(process.argv[1] ?? "bench")}: ${message}\n${usage}\n`);
  process.exit(2);
}
