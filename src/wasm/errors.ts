/**
 * @module
 * Fatal capture errors: the engine reports a numeric `Err` code (assembly/errors.ts) with the byte
 * offset and record number where decoding stopped; this file turns them into one sentence a
 * network engineer can act on. The engine stays string-free.
 *
 * Every `Err.*` member has an entry here and vice versa (checked by test/host/abi.test.ts).
 * `{offset}` and `{record}` are replaced by the numbers; the message always names the byte offset.
 *
 * The code users see (API error bodies, the CLI's JSON output, metrics labels) is the `Err` name in
 * snake_case, the style of every other API error code (`payload_too_large`): `TruncatedInput` is
 * `truncated_input`. {@link errorCode} is the one place that spelling is made.
 */

import { snakeCase } from "./layout.js";

/** Names of the engine's fatal error codes (`Err.*` without `None`). */
export type CaptureErrorCode =
  | "BadMagic"
  | "TruncatedInput"
  | "BadPcapVersion"
  | "AbsurdCaplen"
  | "BadBlockLength"
  | "BlockLengthMismatch"
  | "BadSectionMagic"
  | "UnknownInterface"
  | "MissingSectionHeader"
  | "BadBlockBody"
  | "BadSegmentRecord";

/** A damaged capture: decoding stopped at `offset`; flows decoded before it are still reported. */
export interface CaptureError {
  /** The `Err` member name in snake_case ({@link errorCode}), stable across versions (append-only). */
  readonly code: string;
  /** One sentence naming the problem, the byte offset and (for record-level damage) the record. */
  readonly message: string;
  /** Byte offset in the input where the damage starts. */
  readonly offset: number;
  /** Record number the engine reported (capture records read before the damage). */
  readonly record: number;
}

export const ERROR_MESSAGES: Readonly<Record<CaptureErrorCode, string>> = {
  BadMagic: "not a pcap or pcapng capture: no pcap or pcapng magic number at byte {offset}",
  TruncatedInput:
    "capture is truncated at byte {offset} (record {record}): the input ended inside a file header, record header or record body",
  BadPcapVersion: "unsupported pcap file at byte {offset}: only pcap version 2.x is supported",
  AbsurdCaplen:
    "damaged capture at byte {offset} (record {record}): the captured length is larger than the snapshot length allows",
  BadBlockLength:
    "damaged pcapng block at byte {offset} (record {record}): the block length is below 12, not a multiple of 4, or larger than the input window",
  BlockLengthMismatch:
    "damaged pcapng block at byte {offset} (record {record}): the trailing block length differs from the leading one",
  BadSectionMagic:
    "damaged pcapng section header at byte {offset}: the byte-order magic is neither 0x1A2B3C4D nor 0x4D3C2B1A",
  UnknownInterface:
    "damaged pcapng capture at byte {offset} (record {record}): a packet names an interface that no Interface Description Block declared",
  MissingSectionHeader: "not a valid pcapng capture at byte {offset}: the first block is not a Section Header Block",
  BadBlockBody:
    "damaged pcapng block at byte {offset} (record {record}): the block body is shorter than its fixed fields",
  BadSegmentRecord: "bad segment record at byte {offset} (record {record}): a field is out of range",
};

/** Fills a message template; unknown codes (an engine newer than this host) still name the offset. */
export function errorMessage(code: string, offset: number, record: number): string {
  const template =
    (ERROR_MESSAGES as Record<string, string>)[code] ?? `capture error ${code} at byte {offset} (record {record})`;
  return template.replace("{offset}", String(offset)).replace("{record}", String(record));
}

/** The user-facing code of an engine `Err` name: `TruncatedInput` -> `truncated_input`. */
export function errorCode(name: CaptureErrorCode | string): string {
  return snakeCase(name);
}

/** The error for engine `Err` name `name` at `offset` (`message` overrides the catalogue sentence). */
export function captureError(
  name: CaptureErrorCode | string,
  offset: number,
  record: number,
  hint = "",
  message?: string,
): CaptureError {
  return { code: errorCode(name), message: (message ?? errorMessage(name, offset, record)) + hint, offset, record };
}

/** Magic numbers of things people feed a capture tool by mistake. */
const LOOKALIKES: readonly [bytes: readonly number[], hint: string][] = [
  [[0x1f, 0x8b], "gzip-compressed data: decompress it first, e.g. zcat FILE | flowrecon analyze -"],
  [[0x28, 0xb5, 0x2f, 0xfd], "zstd-compressed data: decompress it first, e.g. zstdcat FILE | flowrecon analyze -"],
  [[0x42, 0x5a, 0x68], "bzip2-compressed data: decompress it first, e.g. bzcat FILE | flowrecon analyze -"],
  [[0xfd, 0x37, 0x7a, 0x58, 0x5a], "xz-compressed data: decompress it first, e.g. xzcat FILE | flowrecon analyze -"],
  [[0x50, 0x4b, 0x03, 0x04], "a zip archive: extract the capture first"],
  [[0x23, 0x73, 0x65, 0x70], "a Zeek log, not a capture"], // "#sep"
];

/**
 * For BadMagic: a short "(found ...)" note with the first bytes, and what they look like when
 * they are a known non-capture format.
 */
export function magicHint(head: Uint8Array): string {
  if (head.length === 0) return "";
  const shown = Array.from(head.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ");
  for (const [magic, hint] of LOOKALIKES) {
    if (head.length >= magic.length && magic.every((b, i) => head[i] === b)) return ` (found ${shown}: ${hint})`;
  }
  return ` (found ${shown})`;
}
