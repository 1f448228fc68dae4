/**
 * ../shared: the read-only checkout beside the repository's root (CI clones it there; a worktree
 * under /work finds /work/shared the same way). It holds the Zeek and Wireshark corpora
 * (corpus/zeek, corpus/wireshark), the C floor (perf/) and the docs. Every test, benchmark and fuzz
 * script that reads it locates it here, so there is one rule for where it lies.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** ../shared beside the repository's root. */
export const SHARED = join(fileURLToPath(new URL("../..", import.meta.url)), "..", "shared");

/**
 * A path under ../shared.
 * @param {...string} parts
 * @returns {string}
 */
export function sharedPath(...parts) {
  return join(SHARED, ...parts);
}
