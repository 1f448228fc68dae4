/**
 * @module
 * Output formats by name: `ndjson` (default, streams), `json`, `zeek` (conn.log TSV), `table`.
 */

import type { Formatter } from "./formatter.js";
import { NdjsonFormatter } from "./ndjson.js";
import { JsonFormatter } from "./json.js";
import { ZeekFormatter } from "./zeek.js";
import { TableFormatter } from "./table.js";

export type { Formatter, RunSummary } from "./formatter.js";
export { flowJson } from "./ndjson.js";
export { zeekRow, ZEEK_FIELDS } from "./zeek.js";

export const FORMAT_NAMES = ["ndjson", "json", "zeek", "table"] as const;
export type FormatName = (typeof FORMAT_NAMES)[number];

export function isFormatName(name: string): name is FormatName {
  return (FORMAT_NAMES as readonly string[]).includes(name);
}

export interface FormatterOptions {
  /** Clock for headers that carry a date (zeek #open/#close). */
  now?: () => Date;
}

/** A fresh formatter (formatters are stateful: use one per output). */
export function createFormatter(name: FormatName, options: FormatterOptions = {}): Formatter {
  switch (name) {
    case "ndjson":
      return new NdjsonFormatter();
    case "json":
      return new JsonFormatter();
    case "zeek":
      return new ZeekFormatter(options.now);
    case "table":
      return new TableFormatter();
  }
}
