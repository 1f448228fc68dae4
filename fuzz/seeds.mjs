/**
 * The seed corpus: every capture under test/fixtures/** and ../shared/corpus/** (recognised by its
 * magic number, not its name, so fixtures others add join automatically), cut to its first records
 * so that one mutant runs in milliseconds and stays below MAX_INPUT_BYTES.
 *
 * @module
 */

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, serialise, sniff } from "./capture-model.mjs";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const SEED_DIRS = [join(ROOT, "test", "fixtures"), join(ROOT, "..", "shared", "corpus")];
/** A seed keeps its first records up to about this many bytes. */
const SEED_BYTES = 24 << 10;

function* files(dir) {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(p);
    else if (entry.isFile() && statSync(p).size >= 4) yield p;
  }
}

/** The first records of a capture, about `limit` bytes (whole records; raw bytes if unparsable). */
export function head(bytes, limit = SEED_BYTES) {
  if (bytes.length <= limit) return bytes;
  const m = parse(bytes);
  if (m === null) return bytes.subarray(0, limit);
  if (m.kind === "pcap") {
    let size = 24;
    let n = 0;
    while (n < m.records.length && size + 16 + m.records[n].data.length <= limit) size += 16 + m.records[n++].data.length;
    m.records.length = Math.max(n, 1);
  } else {
    let size = 0;
    let n = 0;
    while (n < m.blocks.length && size <= limit) size += serialise({ kind: "pcapng", blocks: [m.blocks[n++]], trailing: new Uint8Array(0) }).length;
    m.blocks.length = n;
  }
  m.trailing = new Uint8Array(0);
  return serialise(m);
}

/** [{name, bytes}] for every capture found, cut with head(). */
export function loadSeeds(dirs = SEED_DIRS) {
  const seeds = [];
  for (const dir of dirs) {
    for (const path of files(dir)) {
      const raw = readFileSync(path);
      if (sniff(raw) === null) continue;
      seeds.push({ name: relative(ROOT, path), bytes: head(new Uint8Array(raw)) });
    }
  }
  return seeds;
}
