/**
 * @module
 * Copies chosen frames of a capture into a new classic pcap file, with their original timestamps.
 *
 * Frames are named by number as the engine numbers them (the P_FRAME of a trace event: 1-based,
 * counting pcap records, or pcapng Enhanced/Simple/obsolete Packet Blocks), which is also
 * tshark's frame.number. This walker reads record and block headers only; the engine has already
 * validated the container on the pass that found the frames, so a damaged file here is reported,
 * never repaired.
 *
 * Output: little-endian pcap (draft-ietf-opsawg-pcap §4-5). From pcap input, the input's time
 * precision (µs or ns) and snaplen are kept and each record is copied as it was; from pcapng,
 * timestamps are converted to nanoseconds (if_tsresol, if_tsoffset) and the link type is the one
 * of the frames' interface (all chosen frames must share one, as a pcap file has one).
 */

import { closeSync, openSync, readSync, writeSync } from "node:fs";

const PCAP_US = 0xa1b2c3d4;
const PCAP_NS = 0xa1b23c4d;
const SHB = 0x0a0d0d0a;
const BOM = 0x1a2b3c4d;

export class ExtractError extends Error {}

/** Reads a file sequentially with one reusable buffer. */
class Reader {
  readonly #fd: number;
  #buf = Buffer.allocUnsafe(1 << 20);
  #start = 0;
  #end = 0;
  /** File offset of #buf[#start]. */
  offset = 0;

  constructor(fd: number) {
    this.#fd = fd;
  }

  /** The next n bytes (a view valid until the next call), or null at a clean end of file. */
  take(n: number): Buffer | null {
    if (this.#end - this.#start < n) {
      if (n > this.#buf.length) {
        const bigger = Buffer.allocUnsafe(Math.max(n, this.#buf.length * 2));
        this.#buf.copy(bigger, 0, this.#start, this.#end);
        this.#buf = bigger;
      } else this.#buf.copy(this.#buf, 0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
      while (this.#end < n) {
        const got = readSync(this.#fd, this.#buf, this.#end, this.#buf.length - this.#end, null);
        if (got === 0) break;
        this.#end += got;
      }
      if (this.#end === 0) return null;
      if (this.#end < n) throw new ExtractError(`capture ends inside a record at byte ${this.offset}`);
    }
    const view = this.#buf.subarray(this.#start, this.#start + n);
    this.#start += n;
    this.offset += n;
    return view;
  }
}

/** Writes records to a pcap file through one buffer. */
class PcapOut {
  readonly #fd: number;
  readonly #buf = Buffer.allocUnsafe(1 << 20);
  #pos = 0;
  frames = 0;

  constructor(fd: number, nanos: boolean, snaplen: number, linktype: number) {
    this.#fd = fd;
    const h = this.#room(24);
    this.#buf.writeUInt32LE(nanos ? PCAP_NS : PCAP_US, h);
    this.#buf.writeUInt16LE(2, h + 4);
    this.#buf.writeUInt16LE(4, h + 6);
    this.#buf.writeUInt32LE(0, h + 8);
    this.#buf.writeUInt32LE(0, h + 12);
    this.#buf.writeUInt32LE(snaplen, h + 16);
    this.#buf.writeUInt32LE(linktype, h + 20);
  }

  record(sec: number, frac: number, orig: number, data: Uint8Array): void {
    const p = this.#room(16 + data.length);
    this.#buf.writeUInt32LE(sec >>> 0, p);
    this.#buf.writeUInt32LE(frac >>> 0, p + 4);
    this.#buf.writeUInt32LE(data.length, p + 8);
    this.#buf.writeUInt32LE(orig >>> 0, p + 12);
    if (data.length + 16 > this.#buf.length) {
      writeSync(this.#fd, this.#buf, 0, 16);
      writeSync(this.#fd, data);
      this.#pos = 0;
    } else this.#buf.set(data, p + 16);
    this.frames++;
  }

  close(): void {
    if (this.#pos > 0) writeSync(this.#fd, this.#buf, 0, this.#pos);
    this.#pos = 0;
  }

  #room(n: number): number {
    if (this.#pos + Math.min(n, this.#buf.length) > this.#buf.length) {
      writeSync(this.#fd, this.#buf, 0, this.#pos);
      this.#pos = 0;
    }
    const p = this.#pos;
    this.#pos += Math.min(n, this.#buf.length);
    return p;
  }
}

/**
 * Writes the frames whose numbers are in `frames` (ascending, 1-based) from the capture at `input`
 * to a new pcap file at `output`. Returns the number of frames written.
 */
export function extractFrames(input: string, frames: readonly number[], output: string): number {
  const inFd = openSync(input, "r");
  try {
    const r = new Reader(inFd);
    const head = r.take(4);
    if (head === null) throw new ExtractError("capture is empty");
    const magicLE = head.readUInt32LE(0);
    const outFd = openSync(output, "w");
    try {
      const written = magicLE === SHB ? pcapng(r, frames, outFd) : pcap(r, head, frames, outFd);
      if (written !== frames.length)
        throw new ExtractError(`the capture ended after ${written} of the ${frames.length} frames to extract`);
      return written;
    } finally {
      closeSync(outFd);
    }
  } finally {
    closeSync(inFd);
  }
}

function pcap(r: Reader, head: Buffer, frames: readonly number[], outFd: number): number {
  const le = head.readUInt32LE(0);
  const be = head.readUInt32BE(0);
  const magic = le === PCAP_US || le === PCAP_NS ? le : be === PCAP_US || be === PCAP_NS ? be : undefined;
  if (magic === undefined) throw new ExtractError("not a pcap or pcapng capture (bad magic at byte 0)");
  const little = le === magic;
  const u32 = (b: Buffer, at: number) => (little ? b.readUInt32LE(at) : b.readUInt32BE(at));
  const rest = r.take(20);
  if (rest === null) throw new ExtractError("pcap file header is truncated");
  const out = new PcapOut(outFd, magic === PCAP_NS, u32(rest, 12), u32(rest, 16));
  let no = 0,
    k = 0;
  while (k < frames.length) {
    const rh = r.take(16);
    if (rh === null) break;
    const sec = u32(rh, 0),
      frac = u32(rh, 4),
      incl = u32(rh, 8),
      orig = u32(rh, 12);
    if (incl > 1 << 26)
      throw new ExtractError(`record ${no + 1} at byte ${r.offset - 16} has an impossible length ${incl}`);
    const data = r.take(incl);
    if (data === null) throw new ExtractError(`capture ends inside record ${no + 1}`);
    no++;
    if (no === frames[k]) {
      out.record(sec, frac, orig, data);
      k++;
    }
  }
  out.close();
  return out.frames;
}

interface Iface {
  linktype: number;
  snaplen: number;
  resol: number;
  offsetS: bigint;
}

/** Units per second of an if_tsresol byte (high bit clear: 10^-n, set: 2^-n). */
function unitsPerSecond(resol: number): bigint {
  return (resol & 0x80) !== 0 ? 1n << BigInt(resol & 0x7f) : 10n ** BigInt(resol);
}

function pcapng(r: Reader, frames: readonly number[], outFd: number): number {
  let little = true;
  let ifaces: Iface[] = [];
  let out: PcapOut | null = null;
  let linktype = -1;
  let no = 0,
    k = 0;
  let first = true;
  while (k < frames.length) {
    const bh = first ? null : r.take(8);
    let type: number, total: number;
    if (first) {
      // The block type was read to find the format; the rest of the SHB header follows.
      const rest = r.take(8);
      if (rest === null) throw new ExtractError("pcapng section header is truncated");
      const bom = rest.readUInt32LE(4);
      little = bom === BOM;
      if (!little && rest.readUInt32BE(4) !== BOM)
        throw new ExtractError("pcapng section header has a bad byte-order magic at byte 8");
      type = SHB;
      total = little ? rest.readUInt32LE(0) : rest.readUInt32BE(0);
      first = false;
      if (total < 28 || r.take(total - 12) === null) throw new ExtractError("pcapng section header is truncated");
      ifaces = [];
      continue;
    }
    if (bh === null) break;
    const at = r.offset - 8;
    const rawType = bh.readUInt32LE(0);
    if (rawType === SHB) {
      const bomBuf = r.take(4);
      if (bomBuf === null) throw new ExtractError(`pcapng section header truncated at byte ${at}`);
      little = bomBuf.readUInt32LE(0) === BOM;
      total = little ? bh.readUInt32LE(4) : bh.readUInt32BE(4);
      if (total < 28 || r.take(total - 12) === null)
        throw new ExtractError(`pcapng section header truncated at byte ${at}`);
      ifaces = [];
      continue;
    }
    type = little ? rawType : bh.readUInt32BE(0);
    total = little ? bh.readUInt32LE(4) : bh.readUInt32BE(4);
    if (total < 12 || (total & 3) !== 0) throw new ExtractError(`pcapng block at byte ${at} has a bad length ${total}`);
    const body = r.take(total - 8);
    if (body === null) throw new ExtractError(`capture ends inside the pcapng block at byte ${at}`);
    const u32 = (o: number) => (little ? body.readUInt32LE(o) : body.readUInt32BE(o));
    const u16 = (o: number) => (little ? body.readUInt16LE(o) : body.readUInt16BE(o));
    if (type === 1) {
      const iface: Iface = { linktype: u16(0), snaplen: u32(4), resol: 6, offsetS: 0n };
      for (let o = 8; o + 4 <= body.length - 4; ) {
        const code = u16(o),
          len = u16(o + 2);
        if (code === 0) break;
        if (code === 9 && len >= 1) iface.resol = body[o + 4];
        if (code === 14 && len >= 8) iface.offsetS = little ? body.readBigInt64LE(o + 4) : body.readBigInt64BE(o + 4);
        o += 4 + ((len + 3) & ~3);
      }
      ifaces.push(iface);
      continue;
    }
    if (type !== 6 && type !== 3 && type !== 2) continue;
    no++;
    if (no !== frames[k]) continue;
    k++;
    let ifaceNo = 0,
      ticks: bigint | undefined,
      caplen: number,
      orig: number,
      dataAt: number;
    if (type === 6) {
      ifaceNo = u32(0);
      ticks = (BigInt(u32(4)) << 32n) | BigInt(u32(8));
      caplen = u32(12);
      orig = u32(16);
      dataAt = 20;
    } else if (type === 2) {
      ifaceNo = u16(0);
      ticks = (BigInt(u32(4)) << 32n) | BigInt(u32(8));
      caplen = u32(12);
      orig = u32(16);
      dataAt = 20;
    } else {
      orig = u32(0);
      dataAt = 4;
      caplen = Math.min(orig, body.length - 4 - dataAt);
    }
    const iface = ifaces[ifaceNo];
    if (iface === undefined)
      throw new ExtractError(`frame ${no} names interface ${ifaceNo}, which has no description block`);
    if (linktype === -1) {
      linktype = iface.linktype;
      out = new PcapOut(outFd, true, Math.max(iface.snaplen || 262144, 65535), linktype);
    } else if (iface.linktype !== linktype) {
      throw new ExtractError(
        `frame ${no} has link type ${iface.linktype}, frame ${frames[0]} has ${linktype}: one pcap file holds one link type`,
      );
    }
    let sec = 0,
      ns = 0;
    if (ticks !== undefined) {
      const per = unitsPerSecond(iface.resol);
      const s = ticks / per + iface.offsetS;
      sec = Number(s);
      ns = Number(((ticks % per) * 1_000_000_000n) / per);
    }
    out!.record(sec, ns, orig, body.subarray(dataAt, dataAt + caplen));
  }
  out?.close();
  return out?.frames ?? 0;
}
