// Types for bench/ref/js-map.mjs.
import type { RefSummary } from "./summary.d.mts";

export function analyzeMap(path: string): RefSummary;
