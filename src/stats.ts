/**
 * @module
 * Input statistics: one number per `Stat` member of assembly/stats.ts, keyed by the member name in
 * snake_case (`Stat.UnsupportedLink` -> `unsupported_link`), like every other output key. New
 * engine counters (the enum is append-only) appear without a host change.
 */

import type { MemoryViews } from "./wasm/engine.js";
import { snakeCase, type EnumInfo } from "./wasm/layout.js";

export interface Stats {
  /** Capture records (pcap records, pcapng EPB/SPB) read. */
  records: number;
  /** Capture bytes consumed. */
  bytes: number;
  /** TCP segments handed to the flow tracker. */
  segments: number;
  unsupported_link: number;
  non_ip: number;
  non_tcp: number;
  fragments: number;
  truncated: number;
  malformed: number;
  bad_checksum: number;
  bad_ip_checksum: number;
  tunnelled: number;
  flows_created: number;
  flows_emitted: number;
  flows_evicted: number;
  skipped_records: number;
  skipped_blocks: number;
  [counter: string]: number;
}

/** Reads the f64 counters at `statsPtr` into a fresh object (the engine keeps counting). */
export class StatsReader {
  readonly #keys: readonly [key: string, index: number][];

  constructor(stat: EnumInfo) {
    this.#keys = Object.entries(stat.values)
      .sort((a, b) => a[1] - b[1])
      .map(([name, value]) => [snakeCase(name), value]);
  }

  read(v: MemoryViews, statsPtr: number): Stats {
    const base = statsPtr >>> 3;
    const stats: Record<string, number> = {};
    for (const [key, index] of this.#keys) stats[key] = v.f64[base + index];
    return stats as Stats;
  }
}
