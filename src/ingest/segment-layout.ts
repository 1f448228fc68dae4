/**
 * @module
 * The segment-record layout (assembly/capture/segments.ts): 64-byte records the host writes into
 * the input window for `feedSegments()`. Offsets and option bits are read by export name, like the
 * flow-record layout (src/wasm/layout.ts), so nothing here repeats a number from the engine.
 */

import { AbiMismatchError } from "../wasm/layout.js";

/** Byte offsets inside one segment record, its size, and the OPT_* bits of `opts`. */
export interface SegmentLayout {
  readonly size: number;
  readonly ts: number;
  readonly src: number;
  readonly dst: number;
  readonly sport: number;
  readonly dport: number;
  readonly flags: number;
  readonly opts: number;
  readonly wscale: number;
  readonly ipver: number;
  readonly seq: number;
  readonly ack: number;
  readonly win: number;
  readonly mss: number;
  readonly len: number;
  readonly optMss: number;
  readonly optWscale: number;
  readonly optSackPerm: number;
  readonly optSack: number;
  readonly optTs: number;
}

const NAMES = {
  size: "SEG_SIZE",
  ts: "SEG_TS",
  src: "SEG_SRC",
  dst: "SEG_DST",
  sport: "SEG_SPORT",
  dport: "SEG_DPORT",
  flags: "SEG_FLAGS",
  opts: "SEG_OPTS",
  wscale: "SEG_WSCALE",
  ipver: "SEG_IPVER",
  seq: "SEG_SEQ",
  ack: "SEG_ACK",
  win: "SEG_WIN",
  mss: "SEG_MSS",
  len: "SEG_LEN",
  optMss: "OPT_MSS",
  optWscale: "OPT_WSCALE",
  optSackPerm: "OPT_SACK_PERM",
  optSack: "OPT_SACK",
  optTs: "OPT_TS",
} as const satisfies Record<keyof SegmentLayout, string>;

export function readSegmentLayout(exports: WebAssembly.Exports): SegmentLayout {
  const out = {} as Record<keyof SegmentLayout, number>;
  for (const [key, name] of Object.entries(NAMES) as [keyof SegmentLayout, string][]) {
    const g = exports[name] as { value?: unknown } | undefined;
    if (g === undefined || typeof g.value !== "number") throw new AbiMismatchError(name);
    out[key] = g.value;
  }
  return out;
}
