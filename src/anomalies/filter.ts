/**
 * @module
 * The anomaly filter the CLI (`--anomalies-only`, `--anomaly NAME`) and the API (`?anomaly=any`,
 * `?anomaly=NAME,...`) apply to a flow's derived anomalies: one rule for both.
 */

import type { AnomalyEntry } from "./derive.js";

/** Whether a flow with these anomalies passes: it has one at all (`any`), or one named in `names`. */
export function passesAnomalyFilter(found: readonly AnomalyEntry[], any: boolean, names: ReadonlySet<string>): boolean {
  if (found.length === 0) return false;
  return any || found.some((a) => names.has(a.type));
}
