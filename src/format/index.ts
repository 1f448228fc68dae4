/**
 * @module
 * Output formats by name: `ndjson` (default, streams), `json`, `zeek` (conn.log TSV), `table`.
 */

import type { Formatter } from "./formatter.js";
import { NdjsonFormatter } from "./ndjson.js";
import { JsonFormatter } from "./json.js";
import { ZeekFormatter } from "./zeek.js";
import { TableFormatter } from "./table.js";

import type { Layout } from "../wasm/layout.js";
import type { InsightContext } from "../anomalies/index.js";
import type { LocalNets } from "../net/local-nets.js";
import type { JsonStyle } from "./engine-lines.js";
import type { FormatName } from "./names.js";

export type { Formatter, RunSummary } from "./formatter.js";
export { AsciiWriter } from "./ascii.js";
export { flowJson } from "./ndjson.js";
export { zeekRow } from "./zeek.js";
export { JSON_STYLES, isJsonStyle, type JsonStyle } from "./engine-lines.js";

export { FORMAT_NAMES, isFormatName, type FormatName } from "./names.js";

export interface FormatterOptions {
  /** Community ID seed (default 0); must match the one the flows were decoded with. */
  communityIdSeed?: number;
  /** Clock for headers that carry a date (zeek #open/#close). */
  now?: () => Date;
  /** The capture clock endpoint states and idle times are judged against (`reconstructor.insight`). */
  insight?: InsightContext;
  /** Site::local_nets for local_orig/local_resp (default: Zeek's, the private address space). */
  localNets?: LocalNets;
  /** JSON shape of ndjson/json: `nested` (default) or `zeek` (Zeek's JSON logs: flat dotted keys). */
  jsonStyle?: JsonStyle;
}

/**
 * A fresh formatter for records of the given engine layout (`reconstructor.layout`).
 * Formatters are stateful: use one per output.
 */
export function createFormatter(name: FormatName, layout: Layout, options: FormatterOptions = {}): Formatter {
  const columns = { communityIdSeed: options.communityIdSeed, insight: options.insight, localNets: options.localNets };
  switch (name) {
    case "ndjson":
      return new NdjsonFormatter(layout, options.jsonStyle, columns);
    case "json":
      return new JsonFormatter(layout, options.jsonStyle, columns);
    case "zeek":
      return new ZeekFormatter(layout, options.now, columns);
    case "table":
      return new TableFormatter(layout, columns);
  }
}
