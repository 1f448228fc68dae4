// Fatal input errors: the capture container itself is damaged, so decoding stops at that byte.
// Everything decoded before the damage stays valid (its flows are still emitted).
// The host maps each code to a message (src/wasm/errors.ts); the wasm side stays string-free.
// Append-only: codes are part of the API (JSON errors carry them by name).

import { ERRORS } from "./state";

export enum Err {
  None = 0,
  /** The first 4 bytes are no pcap or pcapng magic. */
  BadMagic,
  /** The input ended inside a file header, record header or record body. */
  TruncatedInput,
  /** pcap file header: unsupported major version. */
  BadPcapVersion,
  /** pcap record: captured length larger than the maximum snaplen (262144) or than the file's snaplen allows. */
  AbsurdCaplen,
  /** pcapng block: total length < 12, not a multiple of 4, or larger than the input window. */
  BadBlockLength,
  /** pcapng block: trailing total length differs from the leading one. */
  BlockLengthMismatch,
  /** pcapng SHB: byte-order magic is neither 0x1A2B3C4D nor its swap. */
  BadSectionMagic,
  /** pcapng EPB/SPB names an interface that no IDB declared in this section. */
  UnknownInterface,
  /** pcapng: the first block is not a Section Header Block. */
  MissingSectionHeader,
  /** pcapng IDB/EPB body shorter than its fixed fields. */
  BadBlockBody,
  /** Segment-record batch: a field out of range. */
  BadSegmentRecord,
}

ERRORS.errCode = 0;
ERRORS.errOffset = 0;
ERRORS.errRecord = 0;

/** Records the first fatal error; later ones are ignored (the first names the real damage). */
export function setError(code: Err, offset: f64, record: f64): void {
  if (ERRORS.errCode != 0) return;
  ERRORS.errCode = code;
  ERRORS.errOffset = offset;
  ERRORS.errRecord = record;
}
export function clearError(): void { ERRORS.errCode = 0; ERRORS.errOffset = 0; ERRORS.errRecord = 0; }
export function getErrCode(): i32 { return ERRORS.errCode; }
export function getErrOffset(): f64 { return ERRORS.errOffset; }
export function getErrRecord(): f64 { return ERRORS.errRecord; }
