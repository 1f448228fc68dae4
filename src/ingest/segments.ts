/**
 * @module
 * Segment records from pipelines that have already parsed their packets: JSON or msgpack batches,
 * row by row (`{ts, src, sport, dst, dport, flags, seq, ack, win, len, options?}`) or columnar (one
 * array per field), validated and encoded into the engine's 64-byte segment records (SEG_* layout,
 * read by name: {@link SegmentLayout}). The schema is documented in `segments.md` beside this file.
 *
 * Contract: {@link encodeSegments} validates every segment of a batch before it returns anything,
 * so a caller can reject a batch whole (the engine never sees half of a bad batch). A bad value
 * throws {@link SegmentInputError} naming the segment's index in the batch and the field.
 *
 * @example
 * ```ts
 * const records = encodeSegments(parseSegmentBody(body, "json"), rec.segmentLayout);
 * rec.pushSegments(records.bytes, sink);
 * ```
 */

import { Unpackr } from "msgpackr";
import { parseAddress } from "../net/address.js";
import type { SegmentLayout } from "./segment-layout.js";

/** A segment field is missing or out of range; `index` is the segment's position in its batch. */
export class SegmentInputError extends Error {
  readonly index: number;
  readonly field: string;
  constructor(index: number, field: string, problem: string) {
    super(`segment ${index}: ${field} ${problem}`);
    this.name = "SegmentInputError";
    this.index = index;
    this.field = field;
  }
}

/** The body is not valid JSON or msgpack; `offset` is the byte where parsing failed, when known. */
export class MalformedBodyError extends Error {
  readonly offset: number | undefined;
  constructor(message: string, offset?: number) {
    super(message);
    this.name = "MalformedBodyError";
    this.offset = offset;
  }
}

/** Encoded records: `count` records of `layout.size` bytes each in `bytes`. */
export interface SegmentRecords {
  readonly bytes: Uint8Array;
  readonly count: number;
}

/** TCP flag letters: tcpdump's (`.` ACK, `W` CWR) and the obvious ones (`A` ACK, `C` CWR). */
const FLAG_BITS: Readonly<Record<string, number>> = {
  F: 0x01,
  S: 0x02,
  R: 0x04,
  P: 0x08,
  A: 0x10,
  ".": 0x10,
  U: 0x20,
  E: 0x40,
  C: 0x80,
  W: 0x80,
};

const U32_MAX = 0xffffffff;
/** The engine adds 40 (IPv4) or 60 (IPv6) header bytes to `len` in a u32. */
const LEN_MAX = U32_MAX - 60;
/** Seconds: µs since the epoch must stay exact in a double (2^53 µs is year 2255). */
const TS_MAX = 2 ** 53 / 1e6;

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: "number" });

export type SegmentEncoding = "json" | "msgpack";

/**
 * Parses a whole segment body into its batch values: JSON is one document; msgpack is one or more
 * values back to back (a client may stream several batches in one body). Throws
 * {@link MalformedBodyError}.
 */
export function parseSegmentBody(body: Uint8Array, encoding: SegmentEncoding): unknown[] {
  if (encoding === "json") {
    const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8");
    try {
      return [JSON.parse(text)];
    } catch (e) {
      const message = (e as Error).message;
      const at = /position (\d+)/.exec(message);
      throw new MalformedBodyError(`malformed JSON: ${message}`, at ? Number(at[1]) : undefined);
    }
  }
  if (body.length === 0) throw new MalformedBodyError("malformed msgpack: the body is empty", 0);
  const values: unknown[] = [];
  try {
    unpackr.unpackMultiple(Buffer.from(body.buffer, body.byteOffset, body.byteLength), (value: unknown) => {
      values.push(value);
    });
  } catch (e) {
    const err = e as Error & { lastPosition?: number; incomplete?: boolean };
    const what = err.incomplete ? "the body ends inside a value" : err.message;
    throw new MalformedBodyError(`malformed msgpack: ${what}`, err.lastPosition);
  }
  return values;
}

/** Growable record buffer: the batch is encoded once, never as objects. */
class RecordBuffer {
  bytes: Uint8Array;
  view: DataView;
  count = 0;
  readonly size: number;

  constructor(size: number, expected: number) {
    this.size = size;
    this.bytes = new Uint8Array(Math.max(1, expected) * size);
    this.view = new DataView(this.bytes.buffer);
  }

  /** Offset of a new zeroed record. */
  next(): number {
    const off = this.count * this.size;
    if (off + this.size > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, off + this.size));
      grown.set(this.bytes);
      this.bytes = grown;
      this.view = new DataView(grown.buffer);
    }
    this.count++;
    return off;
  }
}

/**
 * Validates and encodes the batch values of one body (from {@link parseSegmentBody}): each is an
 * array of row objects, `{segments: [...]}`, or a columnar object (`ts` is an array). Indexes in
 * errors count across the values of the body.
 */
export function encodeSegments(values: readonly unknown[], layout: SegmentLayout): SegmentRecords {
  const out = new RecordBuffer(layout.size, 1024);
  for (const value of values) {
    if (Array.isArray(value)) encodeRows(value, layout, out);
    else if (isObject(value) && Array.isArray(value.segments)) encodeRows(value.segments as unknown[], layout, out);
    else if (isObject(value) && isArrayLike(value.ts)) encodeColumns(value, layout, out);
    else {
      throw new SegmentInputError(
        out.count,
        "batch",
        'must be an array of segments, {"segments": [...]}, or columnar arrays ({"ts": [...], ...})',
      );
    }
  }
  return { bytes: out.bytes.subarray(0, out.count * layout.size), count: out.count };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

type ArrayLikeColumn = ArrayLike<unknown>;

function isArrayLike(v: unknown): v is ArrayLikeColumn {
  return Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));
}

function encodeRows(rows: readonly unknown[], layout: SegmentLayout, out: RecordBuffer): void {
  for (const row of rows) {
    const index = out.count;
    if (!isObject(row)) throw new SegmentInputError(index, "segment", "must be an object");
    const off = out.next();
    const ver = writeAddress(out.bytes, off + layout.src, row.src, index, "src");
    const verDst = writeAddress(out.bytes, off + layout.dst, row.dst, index, "dst");
    if (ver !== verDst) throw new SegmentInputError(index, "dst", "is not of the same IP version as src");
    const v = out.view;
    writeTs(v, off + layout.ts, row.ts, index);
    v.setUint16(off + layout.sport, int(row.sport, 0xffff, index, "sport"), true);
    v.setUint16(off + layout.dport, int(row.dport, 0xffff, index, "dport"), true);
    out.bytes[off + layout.flags] = flags(row.flags, index);
    out.bytes[off + layout.ipver] = ver;
    v.setUint32(off + layout.seq, int(row.seq, U32_MAX, index, "seq"), true);
    v.setUint32(off + layout.ack, int(row.ack ?? 0, U32_MAX, index, "ack"), true);
    v.setUint16(off + layout.win, int(row.win ?? 0, 0xffff, index, "win"), true);
    v.setUint32(off + layout.len, int(row.len ?? 0, LEN_MAX, index, "len"), true);
    if (row.options !== undefined && row.options !== null) writeOptions(out, off, row.options, layout, index);
  }
}

function writeOptions(out: RecordBuffer, off: number, options: unknown, layout: SegmentLayout, index: number): void {
  if (!isObject(options)) throw new SegmentInputError(index, "options", "must be an object");
  let bits = 0;
  if (options.mss !== undefined && options.mss !== null) {
    bits |= layout.optMss;
    out.view.setUint16(off + layout.mss, int(options.mss, 0xffff, index, "options.mss"), true);
  }
  if (options.wscale !== undefined && options.wscale !== null) {
    bits |= layout.optWscale;
    out.bytes[off + layout.wscale] = int(options.wscale, 0xff, index, "options.wscale");
  }
  if (bool(options.sack_permitted, index, "options.sack_permitted")) bits |= layout.optSackPerm;
  if (bool(options.sack, index, "options.sack")) bits |= layout.optSack;
  if (bool(options.timestamps, index, "options.timestamps")) bits |= layout.optTs;
  out.bytes[off + layout.opts] = bits;
}

const REQUIRED_COLUMNS = ["ts", "src", "sport", "dst", "dport", "flags", "seq"] as const;
const OPTIONAL_COLUMNS = ["ack", "win", "len", "opts", "mss", "wscale"] as const;

function encodeColumns(cols: Record<string, unknown>, layout: SegmentLayout, out: RecordBuffer): void {
  const first = out.count;
  const ts = cols.ts as ArrayLikeColumn;
  const n = ts.length;
  const column = (name: string, required: boolean): ArrayLikeColumn | undefined => {
    const c = cols[name];
    if (c === undefined || c === null) {
      if (required) throw new SegmentInputError(first, name, "column is missing");
      return undefined;
    }
    if (name === "src" || name === "dst") {
      if (c instanceof Uint8Array) {
        if (c.length !== 16 * n)
          throw new SegmentInputError(
            first,
            name,
            `binary column must hold 16 bytes per segment (${16 * n}), got ${c.length}`,
          );
        return c;
      }
    }
    if (!isArrayLike(c)) throw new SegmentInputError(first, name, "column must be an array");
    if (c.length !== n) throw new SegmentInputError(first, name, `column has ${c.length} values, ts has ${n}`);
    return c;
  };
  const [cTs, cSrc, cSport, cDst, cDport, cFlags, cSeq] = REQUIRED_COLUMNS.map((name) => column(name, true)!);
  const [cAck, cWin, cLen, cOpts, cMss, cWscale] = OPTIONAL_COLUMNS.map((name) => column(name, false));
  const srcBinary = cSrc instanceof Uint8Array;
  const dstBinary = cDst instanceof Uint8Array;
  const optMask = layout.optMss | layout.optWscale | layout.optSackPerm | layout.optSack | layout.optTs;
  for (let i = 0; i < n; i++) {
    const index = first + i;
    const off = out.next();
    const bytes = out.bytes;
    const v = out.view;
    const ver = srcBinary
      ? copyBinaryAddress(bytes, off + layout.src, cSrc as Uint8Array, i)
      : writeAddress(bytes, off + layout.src, cSrc[i], index, "src");
    const verDst = dstBinary
      ? copyBinaryAddress(bytes, off + layout.dst, cDst as Uint8Array, i)
      : writeAddress(bytes, off + layout.dst, cDst[i], index, "dst");
    if (ver !== verDst) throw new SegmentInputError(index, "dst", "is not of the same IP version as src");
    writeTs(v, off + layout.ts, cTs[i], index);
    v.setUint16(off + layout.sport, int(cSport[i], 0xffff, index, "sport"), true);
    v.setUint16(off + layout.dport, int(cDport[i], 0xffff, index, "dport"), true);
    bytes[off + layout.flags] = flags(cFlags[i], index);
    bytes[off + layout.ipver] = ver;
    v.setUint32(off + layout.seq, int(cSeq[i], U32_MAX, index, "seq"), true);
    if (cAck !== undefined) v.setUint32(off + layout.ack, int(cAck[i], U32_MAX, index, "ack"), true);
    if (cWin !== undefined) v.setUint16(off + layout.win, int(cWin[i], 0xffff, index, "win"), true);
    if (cLen !== undefined) v.setUint32(off + layout.len, int(cLen[i], LEN_MAX, index, "len"), true);
    if (cOpts !== undefined) {
      const bits = int(cOpts[i], 0xff, index, "opts");
      if ((bits & ~optMask) !== 0) throw new SegmentInputError(index, "opts", `has unknown bits (known: ${optMask})`);
      bytes[off + layout.opts] = bits;
      if ((bits & layout.optMss) !== 0) {
        if (cMss === undefined) throw new SegmentInputError(index, "mss", "column is missing but opts has the MSS bit");
        v.setUint16(off + layout.mss, int(cMss[i], 0xffff, index, "mss"), true);
      }
      if ((bits & layout.optWscale) !== 0) {
        if (cWscale === undefined)
          throw new SegmentInputError(index, "wscale", "column is missing but opts has the window-scale bit");
        bytes[off + layout.wscale] = int(cWscale[i], 0xff, index, "wscale");
      }
    }
  }
}

function int(value: unknown, max: number, index: number, field: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > max) {
    throw new SegmentInputError(index, field, `must be an integer in [0, ${max}], got ${describe(value)}`);
  }
  return value;
}

function bool(value: unknown, index: number, field: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== "boolean")
    throw new SegmentInputError(index, field, `must be true or false, got ${describe(value)}`);
  return value;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? value.slice(0, 40) + "..." : value);
  if (value === undefined) return "nothing (the field is missing)";
  return typeof value === "object"
    ? value === null
      ? "null"
      : Array.isArray(value)
        ? "an array"
        : "an object"
    : String(value);
}

/** `ts` in seconds since the epoch (fraction = µs) -> i64 µs, as two u32 words (no BigInt per segment). */
function writeTs(v: DataView, at: number, value: unknown, index: number): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > TS_MAX) {
    throw new SegmentInputError(index, "ts", `must be seconds since the epoch (a number >= 0), got ${describe(value)}`);
  }
  const us = Math.round(value * 1e6);
  v.setUint32(at, us % 4294967296, true);
  v.setUint32(at + 4, Math.floor(us / 4294967296), true);
}

function flags(value: unknown, index: number): number {
  if (typeof value === "number") return int(value, 0xff, index, "flags");
  if (typeof value !== "string")
    throw new SegmentInputError(
      index,
      "flags",
      `must be a string of flag letters ("SA") or a bitmask, got ${describe(value)}`,
    );
  let bits = 0;
  for (let i = 0; i < value.length; i++) {
    const bit = FLAG_BITS[value[i].toUpperCase()];
    if (bit === undefined) {
      throw new SegmentInputError(
        index,
        "flags",
        `has an unknown letter ${JSON.stringify(value[i])} (known: F S R P A U E C, and tcpdump's . W)`,
      );
    }
    bits |= bit;
  }
  return bits;
}

/** Writes the 16-byte engine form of an address text (IPv4 v4-mapped); returns the IP version. */
function writeAddress(bytes: Uint8Array, at: number, value: unknown, index: number, field: string): 4 | 6 {
  if (typeof value !== "string")
    throw new SegmentInputError(index, field, `must be an IPv4 or IPv6 address string, got ${describe(value)}`);
  if (writeIpv4(bytes, at, value)) return 4;
  let parsed: Uint8Array;
  try {
    parsed = parseAddress(value);
  } catch {
    throw new SegmentInputError(index, field, `is not an IPv4 or IPv6 address: ${describe(value)}`);
  }
  bytes.set(parsed, at);
  return isMapped(bytes, at) ? 4 : 6;
}

/** Dotted quad without a regex or an allocation (the common case, on the hot path of big batches). */
function writeIpv4(bytes: Uint8Array, at: number, text: string): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e;
    if (c >= 0x30 && c <= 0x39) {
      value = value * 10 + (c - 0x30);
      if (++digits > 3 || value > 255) return false;
    } else if (c === 0x2e) {
      if (digits === 0 || part > 3) return false;
      bytes[at + 12 + part] = value;
      part++;
      value = 0;
      digits = 0;
    } else {
      return false;
    }
  }
  if (part !== 4) return false;
  bytes.fill(0, at, at + 10);
  bytes[at + 10] = 0xff;
  bytes[at + 11] = 0xff;
  return true;
}

function isMapped(bytes: Uint8Array, at: number): boolean {
  for (let i = 0; i < 10; i++) if (bytes[at + i] !== 0) return false;
  return bytes[at + 10] === 0xff && bytes[at + 11] === 0xff;
}

function copyBinaryAddress(bytes: Uint8Array, at: number, column: Uint8Array, i: number): 4 | 6 {
  bytes.set(column.subarray(16 * i, 16 * i + 16), at);
  return isMapped(bytes, at) ? 4 : 6;
}
