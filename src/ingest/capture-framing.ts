/**
 * @module
 * A container-framing validator for pcap and pcapng streams: walks record and block headers only,
 * chunk by chunk (a chunk may end at any byte), and reports the first fatal container error exactly
 * as the engine would report it (same `Err` code, stream offset and record number).
 *
 * Why: a session batch that fails validation must be rejected whole and leave the session as it
 * was. The engine's state changes as it decodes and cannot be rolled back from the host (its state
 * is linear memory *and* wasm globals, which JS cannot read), so the API checks a batch's framing
 * here, against a clone of the session's framing state, before the engine sees a byte of it. Cost:
 * one pass over the record headers of the batch (the payload is skipped by length), no copy.
 *
 * Contract: the checks mirror assembly/capture/reader.ts, pcap.ts and pcapng.ts, which are the
 * only sources of fatal errors on capture input (test/http/framing.test.ts compares this walker
 * with the engine on the corpus and on mutated captures). `TruncatedInput` is not reported here:
 * it exists only at the end of the input, which the engine decides at finish.
 */

import type { CaptureErrorCode } from "../wasm/errors.js";

/** The first fatal container error: the engine's code, the stream offset and the record number. */
export interface FramingError {
  readonly code: CaptureErrorCode;
  readonly offset: number;
  readonly record: number;
}

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 1;
const BT_PB = 2;
const BT_SPB = 3;
const BT_EPB = 6;
const BOM = 0x1a2b3c4d;

const PCAP_FILE_HEADER = 24;
const PCAP_RECORD_HEADER = 16;
const PCAP_VERSION_AT = 4;
const PCAP_SNAPLEN_AT = 16;
const PCAP_INCL_AT = 8;
/** libpcap's MAXIMUM_SNAPLEN: a caplen up to this is always accepted (assembly/capture/pcap.ts). */
const MAX_SNAPLEN = 262144;
/** A record or block must fit the engine's 8 MiB window whole (MAX_RECORD_BYTES, MAX_BLOCK_BYTES). */
const MAX_RECORD_BYTES = 8 << 20;

const BLOCK_MIN = 12;
const SHB_MIN = 28;
const SHB_BOM_AT = 8;
const SHB_MAJOR_AT = 12;
const PKT_IFACE_AT = 8;
const PKT_CAPLEN_AT = 20;
const PKT_FIXED = 20;
const IDB_FIXED = 8;
const SPB_FIXED = 4;
/** Header bytes kept per block: enough for every fixed field a check reads (EPB/PB caplen ends at 24). */
const BLOCK_HEAD = 28;

enum Format {
  Unknown,
  Pcap,
  Pcapng,
}

enum Phase {
  /** Collecting `want` bytes of the current unit into `head`. */
  Head,
  /** Skipping `skip` bytes of record or block body. */
  Skip,
  /** Collecting a pcapng block's 4-byte trailing length. */
  Trailer,
}

function bswap32(x: number): number {
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
}

/** The container a stream starts with, from its first four bytes (null: not a capture). */
export function captureFormat(head: Uint8Array): "pcap" | "pcapng" | null {
  if (head.length < 4) return null;
  const m = (head[0] | (head[1] << 8) | (head[2] << 16) | (head[3] << 24)) >>> 0;
  if (m === PCAP_MAGIC_US || m === PCAP_MAGIC_NS || m === bswap32(PCAP_MAGIC_US) || m === bswap32(PCAP_MAGIC_NS)) return "pcap";
  return m === BT_SHB ? "pcapng" : null;
}

export class CaptureFraming {
  #format = Format.Unknown;
  #phase = Phase.Head;
  /** Stream offset of the next byte to look at. */
  #pos = 0;
  /** Stream offset where the current unit (file header, record, block) starts. */
  #unitStart = 0;
  #head = new Uint8Array(BLOCK_HEAD);
  #have = 0;
  #want = 4;
  #skip = 0;
  #trailer = new Uint8Array(4);
  #trailerHave = 0;
  #swap = false;
  // pcap
  #pcapHeaderDone = false;
  #snaplen = 0;
  #records = 0;
  // pcapng
  #blocks = 0;
  #interfaces = 0;
  #blockType = 0;
  #blockTotal = 0;
  #error: FramingError | null = null;

  /** Bytes validated so far (the stream offset after the last chunk). */
  get position(): number {
    return this.#pos;
  }

  /** The first fatal error seen, or null. */
  get error(): FramingError | null {
    return this.#error;
  }

  /** An independent copy: validate a batch on the copy, keep it only when the batch is accepted. */
  clone(): CaptureFraming {
    const c = new CaptureFraming();
    c.#format = this.#format;
    c.#phase = this.#phase;
    c.#pos = this.#pos;
    c.#unitStart = this.#unitStart;
    c.#head = this.#head.slice();
    c.#have = this.#have;
    c.#want = this.#want;
    c.#skip = this.#skip;
    c.#trailer = this.#trailer.slice();
    c.#trailerHave = this.#trailerHave;
    c.#swap = this.#swap;
    c.#pcapHeaderDone = this.#pcapHeaderDone;
    c.#snaplen = this.#snaplen;
    c.#records = this.#records;
    c.#blocks = this.#blocks;
    c.#interfaces = this.#interfaces;
    c.#blockType = this.#blockType;
    c.#blockTotal = this.#blockTotal;
    c.#error = this.#error;
    return c;
  }

  /** Walks the next bytes of the stream; returns the first fatal error (then sticky), or null. */
  check(chunk: Uint8Array): FramingError | null {
    let i = 0;
    while (i < chunk.length && this.#error === null) {
      if (this.#phase === Phase.Head) {
        const n = Math.min(this.#want - this.#have, chunk.length - i);
        this.#head.set(chunk.subarray(i, i + n), this.#have);
        this.#have += n;
        i += n;
        this.#pos += n;
        if (this.#have === this.#want) this.#headReady();
      } else if (this.#phase === Phase.Skip) {
        const n = Math.min(this.#skip, chunk.length - i);
        this.#skip -= n;
        i += n;
        this.#pos += n;
        if (this.#skip === 0) this.#bodyDone();
      } else {
        const n = Math.min(4 - this.#trailerHave, chunk.length - i);
        this.#trailer.set(chunk.subarray(i, i + n), this.#trailerHave);
        this.#trailerHave += n;
        i += n;
        this.#pos += n;
        if (this.#trailerHave === 4) this.#blockDone();
      }
    }
    return this.#error;
  }

  #u16(at: number): number {
    const h = this.#head;
    return this.#swap ? (h[at] << 8) | h[at + 1] : h[at] | (h[at + 1] << 8);
  }

  #u32(bytes: Uint8Array, at: number): number {
    const le = (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
    return this.#swap ? bswap32(le) : le;
  }

  #fail(code: CaptureErrorCode, offset: number, record: number): void {
    this.#error = { code, offset, record };
  }

  /** Starts the next unit: a pcap record header, or the first 8 bytes of a pcapng block. */
  #nextUnit(): void {
    this.#phase = Phase.Head;
    this.#unitStart = this.#pos;
    this.#have = 0;
    this.#want = this.#format === Format.Pcap ? PCAP_RECORD_HEADER : 8;
  }

  #headReady(): void {
    if (this.#format === Format.Unknown) {
      // reader.ts: four bytes decide the container; anything else is BadMagic at the stream start.
      const format = captureFormat(this.#head.subarray(0, 4));
      if (format === null) return this.#fail("BadMagic", this.#unitStart, 0);
      this.#format = format === "pcap" ? Format.Pcap : Format.Pcapng;
      this.#want = format === "pcap" ? PCAP_FILE_HEADER : 8;
      if (this.#have < this.#want) return;
    }
    if (this.#format === Format.Pcap) this.#pcapHead();
    else this.#pcapngHead();
  }

  /** pcap.ts pcapStep: the file header (version), then each record header (caplen limit). */
  #pcapHead(): void {
    if (!this.#pcapHeaderDone) {
      const m = this.#u32Le(0);
      this.#swap = m === bswap32(PCAP_MAGIC_US) || m === bswap32(PCAP_MAGIC_NS);
      if (this.#u16(PCAP_VERSION_AT) !== 2) return this.#fail("BadPcapVersion", this.#unitStart + PCAP_VERSION_AT, 0);
      this.#snaplen = this.#u32(this.#head, PCAP_SNAPLEN_AT);
      this.#pcapHeaderDone = true;
      return this.#nextUnit();
    }
    const incl = this.#u32(this.#head, PCAP_INCL_AT);
    const limit = Math.min(Math.max(this.#snaplen, MAX_SNAPLEN), MAX_RECORD_BYTES - PCAP_RECORD_HEADER);
    if (incl > limit) return this.#fail("AbsurdCaplen", this.#unitStart, this.#records + 1);
    this.#startSkip(incl);
  }

  #u32Le(at: number): number {
    const h = this.#head;
    return (h[at] | (h[at + 1] << 8) | (h[at + 2] << 16) | (h[at + 3] << 24)) >>> 0;
  }

  /** pcapng.ts pcapngStep, up to the length checks; the rest waits for the whole block. */
  #pcapngHead(): void {
    if (this.#have === 8 || (this.#have === SHB_MAJOR_AT && this.#blockTotal === 0)) {
      const raw = this.#u32Le(0);
      if (raw === BT_SHB) {
        if (this.#have < SHB_MAJOR_AT) {
          this.#want = SHB_MAJOR_AT;
          return;
        }
        const bom = this.#u32Le(SHB_BOM_AT);
        if (bom === BOM) this.#swap = false;
        else if (bom === bswap32(BOM)) this.#swap = true;
        else return this.#fail("BadSectionMagic", this.#unitStart + SHB_BOM_AT, this.#blocks + 1);
      }
      const type = raw === BT_SHB ? BT_SHB : this.#swap ? bswap32(raw) : raw;
      const total = this.#u32(this.#head, 4);
      if (total < BLOCK_MIN || (total & 3) !== 0 || total > MAX_RECORD_BYTES || (type === BT_SHB && total < SHB_MIN)) {
        return this.#fail("BadBlockLength", this.#unitStart, this.#blocks + 1);
      }
      this.#blockType = type;
      this.#blockTotal = total;
      const head = Math.min(total - 4, BLOCK_HEAD);
      if (this.#have < head) {
        this.#want = head;
        return;
      }
    }
    // The kept head is complete: skip the rest of the body, then read the trailing length.
    this.#startSkip(this.#blockTotal - 4 - this.#have);
  }

  #startSkip(n: number): void {
    this.#phase = Phase.Skip;
    this.#skip = n;
    if (n === 0) this.#bodyDone();
  }

  #bodyDone(): void {
    if (this.#format === Format.Pcap) {
      this.#records++;
      return this.#nextUnit();
    }
    this.#phase = Phase.Trailer;
    this.#trailerHave = 0;
  }

  /** The whole block is in: the checks pcapngStep makes once it has the block (in its order). */
  #blockDone(): void {
    const total = this.#blockTotal;
    const blockNo = this.#blocks + 1;
    const at = this.#unitStart;
    this.#blockTotal = 0;
    if (this.#u32(this.#trailer, 0) !== total) return this.#fail("BlockLengthMismatch", at, blockNo);
    this.#blocks++;
    const bodyLen = total - 12;
    switch (this.#blockType) {
      case BT_SHB:
        if (this.#u16(SHB_MAJOR_AT) !== 1) return this.#fail("BadPcapVersion", at + SHB_MAJOR_AT, blockNo);
        this.#interfaces = 0;
        break;
      case BT_IDB:
        if (bodyLen < IDB_FIXED) return this.#fail("BadBlockBody", at, blockNo);
        this.#interfaces++;
        break;
      case BT_EPB:
      case BT_PB: {
        if (bodyLen < PKT_FIXED) return this.#fail("BadBlockBody", at, blockNo);
        if (this.#u32(this.#head, PKT_CAPLEN_AT) > bodyLen - PKT_FIXED) return this.#fail("BadBlockBody", at, blockNo);
        const iface = this.#blockType === BT_EPB ? this.#u32(this.#head, PKT_IFACE_AT) : this.#u16(PKT_IFACE_AT);
        if (iface >= this.#interfaces) return this.#fail("UnknownInterface", at, blockNo);
        break;
      }
      case BT_SPB:
        if (bodyLen < SPB_FIXED) return this.#fail("BadBlockBody", at, blockNo);
        if (this.#interfaces === 0) return this.#fail("UnknownInterface", at, blockNo);
        break;
    }
    this.#nextUnit();
  }
}
