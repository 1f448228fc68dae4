// Types for bench/ref/js-typed.mjs.
import type { RefSummary } from "./summary.d.mts";

export function analyzeTyped(path: string): RefSummary;
