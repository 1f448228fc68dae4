/**
 * Chunked capture reader for the JavaScript reference contenders: classic pcap (either byte order,
 * micro- or nanosecond timestamps) and pcapng (per-section byte order, per-interface if_tsresol,
 * EPB, SPB and the obsolete Packet Block). Only Ethernet links are accepted: the references parse
 * Ethernet frames and nothing else.
 *
 * Contract: `walkCapture(path, onPacket)` calls `onPacket(u8, dv, off, caplen, wireLen, ts)` once
 * per record, in file order. `u8`/`dv` view the current chunk; the frame is `u8[off, off + caplen)`;
 * the views are only valid during the call (the chunk is reused). `ts` is in seconds.
 * A record cut short by the end of the file, or a block length that does not parse, throws.
 *
 * The file is read with fs.readSync into one reusable buffer (8 MiB, grown only for a larger
 * block), so memory stays flat whatever the capture size, as a streaming tool's would.
 *
 * Formats: draft-ietf-opsawg-pcap §4-5; draft-ietf-opsawg-pcapng §4.1-4.4, §4.2 if_tsresol.
 *
 * @module
 */
import { closeSync, openSync, readSync } from "node:fs";

const LINKTYPE_ETHERNET = 1;
const PCAP_US = 0xa1b2c3d4;
const PCAP_NS = 0xa1b23c4d;
const NG_SHB = 0x0a0d0d0a;
const NG_IDB = 1;
const NG_PB = 2; // obsolete Packet Block
const NG_SPB = 3;
const NG_EPB = 6;
const NG_BOM = 0x1a2b3c4d;
const OPT_IF_TSRESOL = 9;
const TWO_POW_32 = 4294967296;

class ChunkedFile {
  constructor(path, chunkBytes) {
    this.fd = openSync(path, "r");
    /** @type {Buffer} */
    this.buf = Buffer.alloc(0);
    this.u8 = new Uint8Array(0);
    this.dv = new DataView(new ArrayBuffer(0));
    this.setBuffer(Buffer.allocUnsafe(chunkBytes));
    this.pos = 0; // next unread byte in buf
    this.end = 0; // end of valid bytes in buf
    this.fileOffset = 0; // file offset of buf[0]
    this.eof = false;
  }

  setBuffer(buf) {
    this.buf = buf;
    this.u8 = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
  }

  /** Make at least n bytes available from pos; returns false when the file ends first. */
  ensure(n) {
    if (this.end - this.pos >= n) return true;
    if (n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2));
      this.buf.copy(bigger, 0, this.pos, this.end);
      this.fileOffset += this.pos;
      this.end -= this.pos;
      this.pos = 0;
      this.setBuffer(bigger);
    } else if (this.pos > 0) {
      this.buf.copy(this.buf, 0, this.pos, this.end);
      this.fileOffset += this.pos;
      this.end -= this.pos;
      this.pos = 0;
    }
    while (this.end - this.pos < n && !this.eof) {
      const got = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, null);
      if (got === 0) this.eof = true;
      this.end += got;
    }
    return this.end - this.pos >= n;
  }

  close() {
    closeSync(this.fd);
  }
}

function truncated(f, what) {
  return new Error(`capture ends inside ${what} at file offset ${f.fileOffset + f.pos}`);
}

/**
 * Call onPacket for every record of a pcap or pcapng file.
 * @param {string} path
 * @param {(u8: Uint8Array, dv: DataView, off: number, caplen: number, wireLen: number, ts: number) => void} onPacket
 * @param {{chunkBytes?: number}} [opts]
 * @returns {{format: string, packets: number, bytes: number}}
 */
export function walkCapture(path, onPacket, opts = {}) {
  const f = new ChunkedFile(path, opts.chunkBytes ?? 8 << 20);
  try {
    if (!f.ensure(4)) throw truncated(f, "the file header");
    const m = f.dv.getUint32(0, true);
    if (m === NG_SHB) return walkPcapng(f, onPacket);
    return walkPcap(f, onPacket);
  } finally {
    f.close();
  }
}

function walkPcap(f, onPacket) {
  if (!f.ensure(24)) throw truncated(f, "the pcap file header");
  let le;
  let scale;
  const mLE = f.dv.getUint32(0, true);
  const mBE = f.dv.getUint32(0, false);
  if (mLE === PCAP_US || mLE === PCAP_NS) {
    le = true;
    scale = mLE === PCAP_NS ? 1e-9 : 1e-6;
  } else if (mBE === PCAP_US || mBE === PCAP_NS) {
    le = false;
    scale = mBE === PCAP_NS ? 1e-9 : 1e-6;
  } else throw new Error(`not a pcap or pcapng file (magic 0x${mLE.toString(16)})`);
  const linktype = f.dv.getUint32(20, le) & 0x0fffffff; // upper bits: FCS length (pcap §5)
  if (linktype !== LINKTYPE_ETHERNET) throw new Error(`link type ${linktype} is not Ethernet`);
  f.pos = 24;
  let packets = 0;
  for (;;) {
    if (!f.ensure(16)) {
      if (f.end > f.pos) throw truncated(f, "a record header");
      break;
    }
    const dv = f.dv;
    const p = f.pos;
    const sec = dv.getUint32(p, le);
    const frac = dv.getUint32(p + 4, le);
    const caplen = dv.getUint32(p + 8, le);
    const wireLen = dv.getUint32(p + 12, le);
    if (caplen > 0x4000000)
      throw new Error(`record caplen ${caplen} at file offset ${f.fileOffset + p} is not plausible`);
    if (!f.ensure(16 + caplen)) throw truncated(f, "a record");
    const q = f.pos; // ensure() may have moved the record to the front of the buffer
    onPacket(f.u8, f.dv, q + 16, caplen, wireLen, sec + frac * scale);
    f.pos = q + 16 + caplen;
    packets++;
  }
  return { format: "pcap", packets, bytes: f.fileOffset + f.pos };
}

function walkPcapng(f, onPacket) {
  let le = true;
  /** Per interface of the current section: seconds per timestamp unit. */
  let tsUnit = [];
  let snaplens = [];
  let packets = 0;
  for (;;) {
    if (!f.ensure(12)) {
      if (f.end > f.pos) throw truncated(f, "a block header");
      break;
    }
    let p = f.pos;
    const type = f.dv.getUint32(p, le);
    if (type === NG_SHB) {
      // The byte-order magic decides how to read this section, its own length included.
      const bom = f.dv.getUint32(p + 8, true);
      if (bom === NG_BOM) le = true;
      else if (f.dv.getUint32(p + 8, false) === NG_BOM) le = false;
      else throw new Error(`pcapng section at file offset ${f.fileOffset + p} has a bad byte-order magic`);
      tsUnit = [];
      snaplens = [];
    }
    const len = f.dv.getUint32(p + 4, le);
    if (len < 12 || len % 4 !== 0)
      throw new Error(`pcapng block length ${len} at file offset ${f.fileOffset + p} is invalid`);
    if (!f.ensure(len)) throw truncated(f, "a block");
    p = f.pos;
    const dv = f.dv;
    if (type === NG_EPB || type === NG_PB) {
      const iface = type === NG_EPB ? dv.getUint32(p + 8, le) : dv.getUint16(p + 8, le);
      if (iface >= tsUnit.length) throw new Error(`packet block for undeclared interface ${iface}`);
      const ts = (dv.getUint32(p + 12, le) * TWO_POW_32 + dv.getUint32(p + 16, le)) * tsUnit[iface];
      const caplen = dv.getUint32(p + 20, le);
      const wireLen = dv.getUint32(p + 24, le);
      if (28 + caplen > len - 4)
        throw new Error(`packet block caplen ${caplen} exceeds its block at file offset ${f.fileOffset + p}`);
      onPacket(f.u8, dv, p + 28, caplen, wireLen, ts);
      packets++;
    } else if (type === NG_SPB) {
      if (tsUnit.length === 0) throw new Error("simple packet block before any interface");
      const wireLen = dv.getUint32(p + 8, le);
      const caplen = Math.min(wireLen, snaplens[0] || Infinity, len - 16);
      onPacket(f.u8, dv, p + 12, caplen, wireLen, 0);
      packets++;
    } else if (type === NG_IDB) {
      const linktype = dv.getUint16(p + 8, le);
      if (linktype !== LINKTYPE_ETHERNET)
        throw new Error(`interface ${tsUnit.length} has link type ${linktype}, not Ethernet`);
      snaplens.push(dv.getUint32(p + 12, le));
      let unit = 1e-6;
      for (let o = p + 16; o + 4 <= p + len - 4; ) {
        const code = dv.getUint16(o, le);
        const olen = dv.getUint16(o + 2, le);
        if (code === 0) break;
        if (code === OPT_IF_TSRESOL && olen >= 1) {
          const v = dv.getUint8(o + 4);
          unit = v & 0x80 ? 2 ** -(v & 0x7f) : 10 ** -v;
        }
        o += 4 + ((olen + 3) & ~3);
      }
      tsUnit.push(unit);
    }
    f.pos = p + len;
  }
  return { format: "pcapng", packets, bytes: f.fileOffset + f.pos };
}
