// The JavaScript formatter the engine's replaced (js-record-writers.ts over js-columns.ts, once
// src/format/record-writers.ts over src/format/columns.ts), kept as the oracle of the differential
// tests (engine-lines*.test.ts) while the formats read the engine's column table: the CLI's
// printer as it was, filter included.

import { JsonRecordWriter, TsvRecordWriter } from "./js-record-writers.js";
import { InsightReader, passesAnomalyFilter, type InsightContext } from "../../src/anomalies/index.js";
import { LocalNets } from "../../src/net/local-nets.js";
import type { AsciiWriter } from "../../src/format/ascii.js";
import type { PrintSpec } from "../../src/output/printer.js";
import type { MemoryViews } from "../../src/wasm/engine.js";

/** One line per record, as createPrinter wrote ndjson and zeek rows with the JavaScript column table. */
export function jsPrinter(
  spec: Pick<PrintSpec, "format" | "layout" | "jsonStyle" | "localNets" | "communityIdSeed" | "anomalyFilter">,
  insight: InsightContext,
): { record(v: MemoryViews, p: number, out: AsciiWriter): void } {
  const options = { insight, communityIdSeed: spec.communityIdSeed, localNets: new LocalNets(spec.localNets) };
  const writer =
    spec.format === "zeek"
      ? new TsvRecordWriter(spec.layout, options)
      : new JsonRecordWriter(spec.layout, spec.jsonStyle ?? "nested", options);
  const filter = spec.anomalyFilter;
  const reader = new InsightReader(spec.layout);
  const names = new Set(filter?.names);
  return {
    record(v, p, out) {
      if (filter !== undefined && !passesAnomalyFilter(reader.read(v, p, insight).anomalies, filter.any, names)) return;
      writer.write(v, p, out);
      out.byte(0x0a);
    },
  };
}
