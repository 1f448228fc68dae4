/**
 * Shrinks a failing input while it still fails the same way (same finding signature): first whole
 * records or blocks (the capture model), then byte ranges (ddmin-style halving down to single
 * bytes), within a time budget. Small fixtures make the regression test fast and the bug readable.
 *
 * @module
 */

import { parse, serialise } from "./capture-model.mjs";

/**
 * `fails(bytes)` says whether a candidate still fails the same way. Returns the smallest input found.
 * `onTry` is called before each attempt (the campaign's watchdog heartbeat).
 */
export function minimise(bytes, fails, { budgetMs = 60_000, onTry = () => {} } = {}) {
  const deadline = Date.now() + budgetMs;
  const attempt = (candidate) => {
    if (Date.now() > deadline) return false;
    onTry();
    try {
      return fails(candidate);
    } catch {
      return false;
    }
  };
  let best = bytes;
  // 1. Whole records / blocks, in runs that halve.
  const m = parse(best);
  if (m !== null) {
    /** @type {unknown[]} */
    const list = m.kind === "pcap" ? m.records : m.blocks;
    for (let size = Math.max(1, list.length >> 1); size >= 1 && Date.now() < deadline; size >>= 1) {
      for (let i = list.length - size; i >= 0; i -= size) {
        const removed = list.splice(i, size);
        const candidate = serialise(m);
        if (candidate.length < best.length && attempt(candidate)) best = candidate;
        else list.splice(i, 0, ...removed);
      }
    }
    if (m.trailing.length > 0) {
      const keep = m.trailing;
      m.trailing = new Uint8Array(0);
      const candidate = serialise(m);
      if (attempt(candidate)) best = candidate;
      else m.trailing = keep;
    }
  }
  // 2. Byte ranges: remove chunks, halving the chunk size.
  for (let size = best.length >> 1; size >= 1 && Date.now() < deadline; size = size >> 1) {
    for (let i = best.length - size; i >= 0 && Date.now() < deadline; i -= size) {
      const candidate = new Uint8Array(best.length - size);
      candidate.set(best.subarray(0, i));
      candidate.set(best.subarray(i + size), i);
      if (attempt(candidate)) best = candidate;
    }
  }
  return best;
}
