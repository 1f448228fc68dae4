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
import { ipLength, wrap } from "./frames.mjs";
import { sharedPath } from "../bench/lib/shared.mjs";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const SEED_DIRS = [join(ROOT, "test", "fixtures"), sharedPath("corpus")];
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
    while (n < m.records.length && size + 16 + m.records[n].data.length <= limit)
      size += 16 + m.records[n++].data.length;
    m.records.length = Math.max(n, 1);
  } else {
    let size = 0;
    let n = 0;
    while (n < m.blocks.length && size <= limit)
      size += serialise({ kind: "pcapng", blocks: [m.blocks[n++]], trailing: new Uint8Array(0) }).length;
    m.blocks.length = n;
  }
  m.trailing = new Uint8Array(0);
  return serialise(m);
}

/**
 * Encapsulations the engine decodes that no fixture carries, built from a layer fixture: PPTP's
 * enhanced GRE (version 1, PPP inside, gre.ts) around the IPv4 packets of ppp-serial.pcap (link
 * type 50: FF 03 0021, then IPv4), in Ethernet. [{name, bytes}], empty when the fixture is missing.
 */
export function synthesisedSeeds() {
  const from = join(ROOT, "test", "fixtures", "layers", "ppp-serial.pcap");
  if (!existsSync(from)) return [];
  const m = parse(new Uint8Array(readFileSync(from)));
  if (m === null || m.kind !== "pcap") return [];
  const eth = Uint8Array.of(2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00);
  for (const rec of m.records) {
    const ip = rec.data.subarray(4, 4 + ipLength(rec.data, 4, 4));
    const frame = wrap("pptp", ip, 4, 4, () => 0.5);
    rec.data = new Uint8Array(eth.length + frame.length);
    rec.data.set(eth);
    rec.data.set(frame, eth.length);
    rec.caplen = null;
    rec.origlen = rec.data.length;
  }
  m.linktype = 1;
  return [{ name: "pptp (synthesised from test/fixtures/layers/ppp-serial.pcap)", bytes: serialise(m) }];
}

/** [{name, bytes}] for every capture found, cut with head(), and the synthesised ones. */
export function loadSeeds(dirs = SEED_DIRS) {
  const seeds = [];
  for (const dir of dirs) {
    for (const path of files(dir)) {
      const raw = readFileSync(path);
      if (sniff(raw) === null) continue;
      seeds.push({ name: relative(ROOT, path), bytes: head(new Uint8Array(raw)) });
    }
  }
  return [...seeds, ...synthesisedSeeds()];
}
