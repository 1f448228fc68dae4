/**
 * Small order statistics for benchmark runs. Benchmarks on shared machines are noisy, so results are
 * reported as best (min time), median and spread (min-max), never as a mean alone.
 * @module
 */

/** @param {number[]} xs @returns {number} median (mean of the two middle values for even n) */
export function median(xs) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** @param {number[]} xs @returns {{min: number, median: number, max: number, n: number}} */
export function summarize(xs) {
  const v = xs.filter((x) => Number.isFinite(x));
  if (v.length === 0) return { min: NaN, median: NaN, max: NaN, n: 0 };
  return { min: Math.min(...v), median: median(v), max: Math.max(...v), n: v.length };
}
