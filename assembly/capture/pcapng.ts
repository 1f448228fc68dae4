// pcapng (draft-ietf-opsawg-pcapng: §3.1 block layout, §4.1 Section Header Block, §4.2 Interface
// Description Block with if_tsresol/if_tsoffset, §4.3 Enhanced Packet Block, §4.4 Simple Packet Block,
// Appendix A obsolete Packet Block).
//
// Contract: pcapngStep(p, avail, pos) looks at [p, p+avail) (stream offset `pos`) and decodes at most
// one block. It returns the bytes consumed (> 0), 0 when the block is not complete yet, or -1 after
// setError() on fatal damage. Errors name the block's start offset and its 1-based block number:
//   BadBlockLength       total length < 12 (< 28 for an SHB), not a multiple of 4, or > 8 MiB (the host
//                        window is at least 8 MiB; a block must fit in it whole)
//   BlockLengthMismatch  the trailing copy of the length differs
//   BadSectionMagic      SHB byte-order magic is neither 0x1A2B3C4D nor its swap
//   BadPcapVersion       SHB major version is not 1
//   BadBlockBody         an IDB/EPB/SPB/PB body shorter than its fixed fields, or a captured length
//                        running past the block
//   UnknownInterface     a packet names an interface this section never described
// Each SHB sets the byte order for its section and forgets the interfaces. Unknown block types are
// skipped by length (Stat.SkippedBlocks). Interfaces past MAX_IFACES are remembered only as
// "unsupported": their packets count as Stat.UnsupportedLink.
// Timestamps: 64-bit counts in units of if_tsresol (code 9: high bit clear = 10^-n s, set = 2^-n s;
// default 10^-6), plus if_tsoffset (code 14) seconds, converted to µs since the epoch, truncating.
// A Simple Packet Block has no timestamp: it gets the previous packet's (0 before any).

import { setError, Err } from "../errors";
import { statInc, Stat } from "../stats";
import { rd16, rd32 } from "../mem";
import { deliverFrame } from "./frame";
import { PCAPNG } from "../state";

export const BT_SHB: u32 = 0x0A0D0D0A;
const BT_IDB: u32 = 1;
const BT_PB: u32 = 2;
const BT_SPB: u32 = 3;
const BT_EPB: u32 = 6;

const BOM: u32 = 0x1A2B3C4D;

// Generic block: type, total length, body, total length again.
const BLK_TYPE: usize = 0;
const BLK_LEN: usize = 4;
const BLK_BODY: usize = 8;
const BLK_MIN: u32 = 12;
const BLK_TRAILER: i32 = 4;
export const MAX_BLOCK_BYTES: u32 = 8 << 20;

// SHB body: byte-order magic, major, minor, section length (i64), options.
const SHB_BOM: usize = 8;
const SHB_MAJOR: usize = 12;
const SHB_MIN: u32 = 28;
const SHB_VERSION_MAJOR: u32 = 1;

// IDB body: link type (u16), reserved (u16), snaplen (u32), options.
const IDB_LINKTYPE: usize = 8;
const IDB_FIXED: i32 = 8;

// EPB body: interface id, ts high, ts low, captured length, original length, data, options.
const EPB_IFACE: usize = 8;
const EPB_TS_HIGH: usize = 12;
const EPB_TS_LOW: usize = 16;
const EPB_CAPLEN: usize = 20;
const EPB_ORIGLEN: usize = 24;
const EPB_DATA: usize = 28;
const EPB_FIXED: i32 = 20;

// Obsolete Packet Block body: interface id (u16), drops count (u16), ts high, ts low, caplen, len, data.
const PB_IFACE: usize = 8;
const PB_TS_HIGH: usize = 12;
const PB_TS_LOW: usize = 16;
const PB_CAPLEN: usize = 20;
const PB_ORIGLEN: usize = 24;
const PB_DATA: usize = 28;
const PB_FIXED: i32 = 20;

// SPB body: original length, data.
const SPB_ORIGLEN: usize = 8;
const SPB_DATA: usize = 12;
const SPB_FIXED: i32 = 4;

// Options (§3.5): code (u16), length (u16), value padded to 4 bytes.
const OPT_HDR: i32 = 4;
const OPT_ENDOFOPT: u32 = 0;
const OPT_IF_TSRESOL: u32 = 9;
const OPT_IF_TSOFFSET: u32 = 14;
const TSRESOL_DEFAULT: u32 = 6;        // 10^-6 s
const TSRESOL_POW2: u32 = 0x80;

// Interface table: one slot per IDB of the current section.
const MAX_IFACES: i32 = 256;
const IF_SIZE: usize = 16;
const IF_LINKTYPE: usize = 0;    // i32
const IF_TSRESOL: usize = 4;     // u32 raw if_tsresol byte
const IF_TSOFFSET: usize = 8;    // i64 seconds
/** Bytes of the interface table (capture/check.ts saves and restores it around a framing check). */
export const IFACES_SIZE: usize = <usize>MAX_IFACES * IF_SIZE;
export const IFACES: usize = memory.data(<i32>IFACES_SIZE, 16);
const LINKTYPE_UNSUPPORTED: i32 = -1;

const US_PER_S: i64 = 1_000_000;
const WIRELEN_CLAMP: u32 = 0x7FFFFFFF;

PCAPNG.swap = false;
PCAPNG.ifaceCount = 0;
PCAPNG.blocks = 0;
PCAPNG.lastTs = 0;

export function pcapngReset(): void {
  PCAPNG.swap = false;
  PCAPNG.ifaceCount = 0;
  PCAPNG.blocks = 0;
  PCAPNG.lastTs = 0;
}

export function pcapngStep(p: usize, avail: i32, pos: f64): i32 {
  if (avail < <i32>BLK_BODY) return 0;
  // SAFETY: avail >= 8 covers type and length.
  // The SHB type 0x0A0D0D0A reads the same in both byte orders; its byte-order magic then sets `swap`
  // for the rest of the section, including the type of every later block.
  const raw = load<u32>(p + BLK_TYPE);
  const type = raw == BT_SHB ? BT_SHB : (PCAPNG.swap ? bswap<u32>(raw) : raw);
  const blockNo = PCAPNG.blocks + 1;
  if (type == BT_SHB) {
    if (avail < <i32>SHB_MAJOR) return 0;
    // SAFETY: avail >= 12 covers the byte-order magic.
    const bom = load<u32>(p + SHB_BOM);
    if (bom == BOM) PCAPNG.swap = false;
    else if (bom == bswap<u32>(BOM)) PCAPNG.swap = true;
    else { setError(Err.BadSectionMagic, pos + <f64>SHB_BOM, blockNo); return -1; }
  }
  const total = rd32(p + BLK_LEN, PCAPNG.swap);
  if (total < BLK_MIN || (total & 3) != 0 || total > MAX_BLOCK_BYTES || (type == BT_SHB && total < SHB_MIN)) {
    setError(Err.BadBlockLength, pos, blockNo);
    return -1;
  }
  const n = <i32>total;
  if (avail < n) return 0;
  // SAFETY: avail >= total >= 12, so the trailing length and the whole body are in the window.
  if (rd32(p + <usize>(n - BLK_TRAILER), PCAPNG.swap) != total) {
    setError(Err.BlockLengthMismatch, pos, blockNo);
    return -1;
  }
  PCAPNG.blocks += 1;
  const bodyLen = n - <i32>BLK_BODY - BLK_TRAILER;   // >= 0

  if (type == BT_SHB) {
    // SAFETY: total >= 28 covers the version fields.
    if (rd16(p + SHB_MAJOR, PCAPNG.swap) != SHB_VERSION_MAJOR) { setError(Err.BadPcapVersion, pos + <f64>SHB_MAJOR, blockNo); return -1; }
    PCAPNG.ifaceCount = 0;
    return n;
  }
  if (type == BT_IDB) {
    if (bodyLen < IDB_FIXED) { setError(Err.BadBlockBody, pos, blockNo); return -1; }
    addInterface(p, n);
    return n;
  }
  if (type == BT_EPB) {
    if (bodyLen < EPB_FIXED) { setError(Err.BadBlockBody, pos, blockNo); return -1; }
    const caplen = rd32(p + EPB_CAPLEN, PCAPNG.swap);
    if (caplen > <u32>(bodyLen - EPB_FIXED)) { setError(Err.BadBlockBody, pos, blockNo); return -1; }
    const iface = rd32(p + EPB_IFACE, PCAPNG.swap);
    if (iface >= <u32>PCAPNG.ifaceCount) { setError(Err.UnknownInterface, pos, blockNo); return -1; }
    const ticks = (<u64>rd32(p + EPB_TS_HIGH, PCAPNG.swap) << 32) | <u64>rd32(p + EPB_TS_LOW, PCAPNG.swap);
    packet(<i32>iface, p + EPB_DATA, <i32>caplen, rd32(p + EPB_ORIGLEN, PCAPNG.swap), ticks, true);
    return n;
  }
  if (type == BT_SPB) {
    if (bodyLen < SPB_FIXED) { setError(Err.BadBlockBody, pos, blockNo); return -1; }
    if (PCAPNG.ifaceCount == 0) { setError(Err.UnknownInterface, pos, blockNo); return -1; }
    const orig = rd32(p + SPB_ORIGLEN, PCAPNG.swap);
    const caplen = min(<u32>(bodyLen - SPB_FIXED), orig);
    packet(0, p + SPB_DATA, <i32>caplen, orig, 0, false);
    return n;
  }
  if (type == BT_PB) {
    if (bodyLen < PB_FIXED) { setError(Err.BadBlockBody, pos, blockNo); return -1; }
    const caplen = rd32(p + PB_CAPLEN, PCAPNG.swap);
    if (caplen > <u32>(bodyLen - PB_FIXED)) { setError(Err.BadBlockBody, pos, blockNo); return -1; }
    const iface = rd16(p + PB_IFACE, PCAPNG.swap);
    if (iface >= <u32>PCAPNG.ifaceCount) { setError(Err.UnknownInterface, pos, blockNo); return -1; }
    const ticks = (<u64>rd32(p + PB_TS_HIGH, PCAPNG.swap) << 32) | <u64>rd32(p + PB_TS_LOW, PCAPNG.swap);
    packet(<i32>iface, p + PB_DATA, <i32>caplen, rd32(p + PB_ORIGLEN, PCAPNG.swap), ticks, true);
    return n;
  }
  statInc(Stat.SkippedBlocks);
  return n;
}

/** Records an IDB of `n` bytes at p (body >= 8 bytes, checked) in the interface table. */
function addInterface(p: usize, n: i32): void {
  const index = PCAPNG.ifaceCount;
  PCAPNG.ifaceCount++;
  if (index >= MAX_IFACES) return;   // remembered as unsupported: see ifaceLinktype()
  const slot = IFACES + <usize>index * IF_SIZE;
  let resol = TSRESOL_DEFAULT;
  let offset: i64 = 0;
  // Options run from after the fixed fields to the trailer; a bad option length ends parsing.
  let o = <i32>BLK_BODY + IDB_FIXED;
  const end = n - BLK_TRAILER;
  while (o + OPT_HDR <= end) {
    // SAFETY: o + 4 <= end <= n, inside the block.
    const code = rd16(p + <usize>o, PCAPNG.swap);
    const len = <i32>rd16(p + <usize>o + 2, PCAPNG.swap);
    if (code == OPT_ENDOFOPT) break;
    if (o + OPT_HDR + len > end) break;
    // SAFETY: [o+4, o+4+len) is inside the block.
    if (code == OPT_IF_TSRESOL && len >= 1) resol = <u32>load<u8>(p + <usize>(o + OPT_HDR));
    else if (code == OPT_IF_TSOFFSET && len == 8) {
      // An i64 in section byte order: the first word is the low half little-endian, the high half big-endian.
      const w0 = <u64>rd32(p + <usize>(o + OPT_HDR), PCAPNG.swap);
      const w1 = <u64>rd32(p + <usize>(o + OPT_HDR + 4), PCAPNG.swap);
      offset = PCAPNG.swap ? <i64>((w0 << 32) | w1) : <i64>((w1 << 32) | w0);
    }
    o += OPT_HDR + ((len + 3) & ~3);
  }
  // SAFETY: index < MAX_IFACES, so the slot is inside IFACES.
  store<i32>(slot + IF_LINKTYPE, <i32>rd16(p + IDB_LINKTYPE, PCAPNG.swap));
  store<u32>(slot + IF_TSRESOL, resol);
  store<i64>(slot + IF_TSOFFSET, offset);
}

/** Converts and delivers one packet of interface `iface` (< ifaceCount, checked by the caller). */
function packet(iface: i32, data: usize, caplen: i32, orig: u32, ticks: u64, hasTs: bool): void {
  let linktype = LINKTYPE_UNSUPPORTED;
  let ts = PCAPNG.lastTs;
  if (iface < MAX_IFACES) {
    // SAFETY: iface < MAX_IFACES.
    const slot = IFACES + <usize>iface * IF_SIZE;
    linktype = load<i32>(slot + IF_LINKTYPE);
    if (hasTs) ts = ticksToUs(ticks, load<u32>(slot + IF_TSRESOL)) + load<i64>(slot + IF_TSOFFSET) * US_PER_S;
  }
  PCAPNG.lastTs = ts;
  deliverFrame(linktype, data, caplen, <i32>min(orig, WIRELEN_CLAMP), ts);
}

/**
 * Timestamp units -> µs since the epoch, truncating. resol is the raw if_tsresol byte.
 * Arithmetic wraps on absurd inputs instead of trapping (garbage in, garbage time out).
 */
export function ticksToUs(ticks: u64, resol: u32): i64 {
  const n = resol & 0x7F;
  if ((resol & TSRESOL_POW2) == 0) {
    if (n == 6) return <i64>ticks;
    if (n == 9) return <i64>(ticks / 1000);
    if (n < 6) return <i64>(ticks * pow10(6 - n));
    if (n - 6 > 19) return 0;                    // 10^20 > 2^64 > ticks
    return <i64>(ticks / pow10(n - 6));
  }
  // ticks / 2^n seconds: floor(ticks * 10^6 / 2^n) from a 96-bit product hi:lo, exact.
  const hiMul = (ticks >> 32) * 1_000_000;         // < 2^52
  const loMul = (ticks & 0xFFFFFFFF) * 1_000_000;  // < 2^52
  const a = hiMul + (loMul >> 32);                 // product = a * 2^32 + b
  const b = loMul & 0xFFFFFFFF;
  if (n >= 32) {
    const s = n - 32;
    return s >= 64 ? 0 : <i64>(a >> <u64>s);
  }
  return <i64>((a << <u64>(32 - n)) | (b >> <u64>n));
}

function pow10(k: u32): u64 {
  let r: u64 = 1;
  for (let i: u32 = 0; i < k; i++) r *= 10;
  return r;
}

/** Number (from 1) of the block the next pcapngStep() reads, for error reports. */
export function pcapngNextBlock(): f64 { return PCAPNG.blocks + 1; }
