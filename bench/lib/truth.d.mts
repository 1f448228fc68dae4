// Types for bench/lib/truth.mjs.
import type { TruthEntry } from "./traffic.mjs";

export const PER_SEGMENT_TYPES: ReadonlySet<string>;

export interface TruthReport {
  connections: number;
  flows: number;
  matched: number;
  missing: number;
  extra: number;
  duplicates: number;
  flipped: number;
  connStateMismatches: number;
  anomaliesChecked: boolean;
  statesChecked: boolean;
  missingAnomalies: number;
  unexpectedAnomalies: number;
  sideMismatches: number;
  stateMismatches: number;
  byKind: Record<string, Record<string, number>>;
  examples: Record<string, unknown[]>;
  foundAnomalyTypes: Record<string, number>;
  accountingOk: boolean;
  connStateOk: boolean;
  /** null when no flow carries `anomalies` */
  anomaliesOk: boolean | null;
  /** null when no flow carries orig_state/resp_state */
  statesOk: boolean | null;
}

export function normalizeSide(side: unknown): string;
export function connKey(origH: string, origP: number, respH: string, respP: number, vlan?: number): string;
export function flowKey(flow: object): string;
export function compareTruth(
  truth: Iterable<TruthEntry>,
  flows: Iterable<object>,
  opts?: { keep?: number },
): TruthReport;
export function formatTruthReport(report: TruthReport): string;
