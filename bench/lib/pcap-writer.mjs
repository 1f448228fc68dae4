/**
 * Capture-file writer for the traffic generator: classic pcap (little-endian, microsecond
 * timestamps, LINKTYPE_ETHERNET) or pcapng (one little-endian section, one Ethernet interface,
 * Enhanced Packet Blocks, default if_tsresol = 10^-6).
 *
 * Contract: the caller asks for room with `begin(tsUs, maxFrameLen)`, writes the frame bytes
 * directly into `this.buf` starting at the returned offset, then calls `end(frameLen)`. Only
 * min(frameLen, snaplen) bytes are kept (caplen); the record says the original length. The frame may
 * be written past caplen (the generator writes whole headers): those bytes are overwritten by the
 * next record, never flushed.
 *
 * One preallocated Buffer is filled and flushed with fs.writeSync when it runs out of room, so the
 * hot path is plain byte stores with no allocation.
 *
 * Formats: pcap per draft-ietf-opsawg-pcap §4-5; pcapng per draft-ietf-opsawg-pcapng §4.1 (SHB),
 * §4.2 (IDB), §4.3 (EPB).
 *
 * @module
 */
import { writeSync } from "node:fs";

export const LINKTYPE_ETHERNET = 1;
const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_RECORD_HEADER = 16;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_IDB = 0x00000001;
const PCAPNG_EPB = 0x00000006;
const PCAPNG_BOM = 0x1a2b3c4d;
/** EPB fixed part: type, total length, interface id, ts high, ts low, caplen, origlen. */
const PCAPNG_EPB_HEADER = 28;
/** EPB trailer: the repeated total length. */
const PCAPNG_EPB_TRAILER = 4;
const TWO_POW_32 = 4294967296;

export class CaptureWriter {
  /**
   * @param {number} fd open file descriptor (the writer does not close it)
   * @param {{format?: "pcap"|"pcapng", snaplen?: number, chunkBytes?: number}} [opts]
   */
  constructor(fd, opts = {}) {
    this.fd = fd;
    this.format = opts.format ?? "pcap";
    if (this.format !== "pcap" && this.format !== "pcapng") throw new Error(`unknown capture format ${this.format}`);
    this.ng = this.format === "pcapng";
    this.snaplen = opts.snaplen ?? 65535;
    if (!(this.snaplen >= 1 && this.snaplen <= 262144)) throw new Error(`snaplen out of range: ${this.snaplen}`);
    this.buf = Buffer.allocUnsafe(opts.chunkBytes ?? 8 << 20);
    this.pos = 0;
    this.recStart = 0;
    this.frameStart = 0;
    /** Capture time of the record begin() started, µs. */
    this.tsUs = 0;
    /** Bytes handed to the file so far (the file size after close). */
    this.bytesWritten = 0;
    this.packets = 0;
    this.#writeFileHeader();
  }

  #writeFileHeader() {
    const b = this.buf;
    if (!this.ng) {
      b.writeUInt32LE(PCAP_MAGIC_US, 0);
      b.writeUInt16LE(2, 4); // version major
      b.writeUInt16LE(4, 6); // version minor
      b.writeInt32LE(0, 8); // thiszone (reserved)
      b.writeUInt32LE(0, 12); // sigfigs (reserved)
      b.writeUInt32LE(this.snaplen, 16);
      b.writeUInt32LE(LINKTYPE_ETHERNET, 20);
      this.pos = 24;
      return;
    }
    // Section Header Block, no options: 28 bytes.
    b.writeUInt32LE(PCAPNG_SHB, 0);
    b.writeUInt32LE(28, 4);
    b.writeUInt32LE(PCAPNG_BOM, 8);
    b.writeUInt16LE(1, 12); // major
    b.writeUInt16LE(0, 14); // minor
    b.writeInt32LE(-1, 16); // section length: -1 = not specified (64-bit, both halves 0xffffffff)
    b.writeInt32LE(-1, 20);
    b.writeUInt32LE(28, 24);
    // Interface Description Block, no options (so if_tsresol is the default, microseconds): 20 bytes.
    b.writeUInt32LE(PCAPNG_IDB, 28);
    b.writeUInt32LE(20, 32);
    b.writeUInt16LE(LINKTYPE_ETHERNET, 36);
    b.writeUInt16LE(0, 38);
    b.writeUInt32LE(this.snaplen, 40);
    b.writeUInt32LE(20, 44);
    this.pos = 48;
  }

  /**
   * Start a record.
   * @param {number} tsUs capture time in whole microseconds since the epoch (< 2^53)
   * @param {number} maxFrameLen the most bytes the caller may write at the returned offset
   * @returns {number} offset in `this.buf` where the frame starts
   */
  begin(tsUs, maxFrameLen) {
    const need = maxFrameLen + PCAPNG_EPB_HEADER + PCAPNG_EPB_TRAILER + 4;
    if (this.pos + need > this.buf.length) this.flush();
    if (need > this.buf.length) throw new Error(`frame of ${maxFrameLen} bytes does not fit the chunk`);
    this.recStart = this.pos;
    this.tsUs = tsUs;
    this.frameStart = this.pos + (this.ng ? PCAPNG_EPB_HEADER : PCAP_RECORD_HEADER);
    return this.frameStart;
  }

  /**
   * Finish the record started by begin().
   * @param {number} frameLen the frame's original length on the wire
   * @returns {number} the record's caplen
   */
  end(frameLen) {
    const b = this.buf;
    const r = this.recStart;
    const caplen = Math.min(frameLen, this.snaplen);
    const tsUs = this.tsUs;
    if (!this.ng) {
      const sec = Math.floor(tsUs / 1e6);
      b.writeUInt32LE(sec >>> 0, r);
      b.writeUInt32LE(tsUs - sec * 1e6, r + 4);
      b.writeUInt32LE(caplen, r + 8);
      b.writeUInt32LE(frameLen, r + 12);
      this.pos = this.frameStart + caplen;
    } else {
      const padded = (caplen + 3) & ~3;
      const total = PCAPNG_EPB_HEADER + padded + PCAPNG_EPB_TRAILER;
      const hi = Math.floor(tsUs / TWO_POW_32);
      b.writeUInt32LE(PCAPNG_EPB, r);
      b.writeUInt32LE(total, r + 4);
      b.writeUInt32LE(0, r + 8); // interface id
      b.writeUInt32LE(hi >>> 0, r + 12);
      b.writeUInt32LE((tsUs - hi * TWO_POW_32) >>> 0, r + 16);
      b.writeUInt32LE(caplen, r + 20);
      b.writeUInt32LE(frameLen, r + 24);
      // Zero the padding: the frame writer may have left header bytes there.
      for (let i = this.frameStart + caplen; i < this.frameStart + padded; i++) b[i] = 0;
      b.writeUInt32LE(total, this.frameStart + padded);
      this.pos = this.frameStart + padded + PCAPNG_EPB_TRAILER;
    }
    this.packets++;
    return caplen;
  }

  /** Hand everything buffered to the file. */
  flush() {
    let off = 0;
    while (off < this.pos) off += writeSync(this.fd, this.buf, off, this.pos - off);
    this.bytesWritten += this.pos;
    this.pos = 0;
  }
}
