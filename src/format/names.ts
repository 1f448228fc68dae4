/**
 * @module
 * The output formats' names, apart from their formatters (index.ts): the CLI checks `--format`
 * with these and loads the JSON, Zeek and table formatters only for a run that prints on the host
 * (output/printer.ts); an ndjson or zeek run prints in the engine (engine-lines.ts).
 */

export const FORMAT_NAMES = ["ndjson", "json", "zeek", "table"] as const;
export type FormatName = (typeof FORMAT_NAMES)[number];

export function isFormatName(name: string): name is FormatName {
  return (FORMAT_NAMES as readonly string[]).includes(name);
}
