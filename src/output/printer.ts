/**
 * @module
 * The CLI's record printer: an output format plus the `--anomalies-only` / `--anomaly` filter, as
 * one {@link Formatter}. It is built from a {@link PrintSpec}, plain data that crosses to the
 * format thread by structured clone, so the thread and the in-thread path print with the same code.
 */

import { InsightReader, passesAnomalyFilter, type InsightContext } from "../anomalies/index.js";
import { createFormatter, type FormatName, type Formatter, type JsonStyle, type RunSummary } from "../format/index.js";
import { LocalNets } from "../net/local-nets.js";
import type { AsciiWriter } from "../format/ascii.js";
import type { MemoryViews } from "../wasm/engine.js";
import type { Layout } from "../wasm/layout.js";

export interface AnomalyFilter {
  /** true: any anomaly passes (`--anomalies-only`); false: only those in `names` (`--anomaly`). */
  any: boolean;
  names: readonly string[];
}

/** What to print and how: plain data (no functions, no class instances). */
export interface PrintSpec {
  format: FormatName;
  /** The engine's record layout (`reconstructor.layout`). */
  layout: Layout;
  anomalyFilter?: AnomalyFilter;
  /** Site::local_nets, as the `localNets` option spells it (default: Zeek's). */
  localNets?: string;
  /** JSON shape of ndjson/json (default nested). */
  jsonStyle?: JsonStyle;
  /** Community ID seed (default 0). */
  communityIdSeed?: number;
}

/**
 * Whether a format prints each record on its own, so that batches may be printed by several
 * threads at once: ndjson lines and zeek rows do; json separates records by a comma before every
 * one but the first, and table takes its column widths from the first rows.
 */
export function recordsIndependent(format: FormatName): boolean {
  return format === "ndjson" || format === "zeek";
}

/**
 * A formatter for `spec` that drops the records the filter rejects. `insight` is read at each
 * record (the reconstructor's context, or the format thread's copy of it).
 */
export function createPrinter(spec: PrintSpec, insight: InsightContext): Formatter {
  const format = createFormatter(spec.format, spec.layout, {
    insight,
    jsonStyle: spec.jsonStyle,
    communityIdSeed: spec.communityIdSeed,
    localNets: new LocalNets(spec.localNets),
  });
  const filter = spec.anomalyFilter;
  if (filter === undefined) return format;
  const reader = new InsightReader(spec.layout);
  const names = new Set(filter.names);
  return {
    begin: (out: AsciiWriter) => format.begin(out),
    record(v: MemoryViews, p: number, out: AsciiWriter): void {
      if (!passesAnomalyFilter(reader.read(v, p, insight).anomalies, filter.any, names)) return;
      format.record(v, p, out);
    },
    end: (summary: RunSummary, out: AsciiWriter) => format.end(summary, out),
  };
}
