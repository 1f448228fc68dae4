/**
 * @module
 * The flow metrics (`flowrecon_flows_total` by conn_state, `flowrecon_anomalies_total` by type),
 * tallied from flow records: per flow on the main thread (sessions), per batch on a format thread
 * (one-shot analyses, where the tallies travel back with the printed bytes).
 */

import { InsightReader, type InsightContext } from "../anomalies/index.js";
import type { MemoryViews } from "../wasm/engine.js";
import type { Layout } from "../wasm/layout.js";
import { RecordReader } from "../wasm/record.js";
import type { ApiMetrics } from "./metrics.js";
import type { EngineLines } from "../format/engine-lines.js";
import { ANOMALY_BY_CODE } from "../anomalies/catalogue.js";

/** Flows by conn_state and anomalies by type, in order of first appearance. */
export interface FlowCounts {
  connStates: Record<string, number>;
  anomalies: Record<string, number>;
}

export class FlowCounter {
  readonly #reader: RecordReader;
  readonly #insight: InsightReader;
  #counts: FlowCounts = { connStates: {}, anomalies: {} };
  #empty = true;

  constructor(layout: Layout) {
    this.#reader = new RecordReader(layout);
    this.#insight = new InsightReader(layout);
  }

  /** Counts the record at `p`; its anomalies judged against `insight` (the capture clock), as the answer's are. */
  count(v: MemoryViews, p: number, insight: InsightContext): void {
    const { connStates, anomalies } = this.#counts;
    const state = this.#reader.connStateNames[this.#reader.connState(v, p)];
    connStates[state] = (connStates[state] ?? 0) + 1;
    for (const a of this.#insight.read(v, p, insight).anomalies) anomalies[a.type] = (anomalies[a.type] ?? 0) + 1;
    this.#empty = false;
  }

  /**
   * Counts the record at `p` whose anomalies the engine's formatter derived as it printed it
   * (EngineLines.lastAnomalies): the same tallies as {@link count}, without deriving them again.
   */
  countPrinted(v: MemoryViews, p: number, lines: EngineLines): void {
    const { connStates, anomalies } = this.#counts;
    const state = this.#reader.connStateNames[this.#reader.connState(v, p)];
    connStates[state] = (connStates[state] ?? 0) + 1;
    lines.lastAnomalies((code) => {
      const type = ANOMALY_BY_CODE[code]!.name;
      anomalies[type] = (anomalies[type] ?? 0) + 1;
    });
    this.#empty = false;
  }

  /** The tallies since the last take, or null when nothing was counted. */
  take(): FlowCounts | null {
    if (this.#empty) return null;
    const counts = this.#counts;
    this.#counts = { connStates: {}, anomalies: {} };
    this.#empty = true;
    return counts;
  }
}

/** `from` added into `into` (null: nothing yet); returns the sum. */
export function mergeFlowCounts(into: FlowCounts | null, from: FlowCounts): FlowCounts {
  if (into === null) return from;
  for (const [state, n] of Object.entries(from.connStates)) into.connStates[state] = (into.connStates[state] ?? 0) + n;
  for (const [type, n] of Object.entries(from.anomalies)) into.anomalies[type] = (into.anomalies[type] ?? 0) + n;
  return into;
}

export function addFlowCounts(metrics: ApiMetrics, counts: FlowCounts): void {
  for (const [conn_state, n] of Object.entries(counts.connStates)) metrics.flows.inc({ conn_state }, n);
  for (const [type, n] of Object.entries(counts.anomalies)) metrics.anomalies.inc({ type }, n);
}
