// Capture stream reader: sniffs the container from its first four bytes (classic pcap in either byte
// order and timestamp precision, or pcapng) and feeds whole records to that format's decoder.
//
// Contract (the host protocol, see assembly/index.ts):
//   feedCapture(ptr, len, eof) decodes whole records from [ptr, ptr+len) and returns the bytes it
//   consumed. The host keeps the unconsumed tail and prepends it to the next chunk, so a record (or
//   the file header) split across chunks of any size decodes the same as a whole one. Every record
//   consumed has been decoded and tracked before the call returns.
//   It returns early, with less consumed, when the output ring is nearly full (outNearlyFull()).
//   Fatal container damage calls setError(code, byte offset, record number) and returns; records before
//   the damage are already decoded. After an error every call consumes nothing.
//   eof = true: no bytes follow. A partial record left over is Err.TruncatedInput at that record's start.
//   Empty input (or fewer than 4 bytes that could still begin a magic) at eof is Err.TruncatedInput
//   at offset 0: the file header never arrived. Four bytes that are no magic are Err.BadMagic at 0.
//
// Error positions: byte offsets count from the start of the stream (across calls). Record numbers:
// pcap records from 1 (0 = the file header); pcapng blocks from 1 (the first SHB is block 1).
// Stat.Bytes counts the bytes consumed.

import { setError, getErrCode, Err } from "../errors";
import { statAdd, Stat } from "../stats";
import { outNearlyFull } from "../flow/output";
import { decodeLink, decodeLinkWith } from "../layers/link";
import { routeFull } from "../shard/route";
import { fragmentsReset } from "../layers/fragments";
import { pcapReset, pcapStep, pcapRun, pcapNextRecord, isPcapMagic, PCAP_MAGIC_US, PCAP_MAGIC_NS } from "./pcap";
import { pcapngReset, pcapngStep, pcapngNextBlock, BT_SHB } from "./pcapng";
import { PCAP, READER } from "../state";

const FMT_UNKNOWN: i32 = 0;
const FMT_PCAP: i32 = 1;
const FMT_PCAPNG: i32 = 2;
const MAGIC_LEN: i32 = 4;

READER.format = FMT_UNKNOWN;
/** Stream offset of the first byte of the current window. */
READER.streamPos = 0;
/** True during a framing check (capture/check.ts): records are walked, no frame is delivered. */
READER.checkOnly = false;

export function readerReset(): void {
  READER.format = FMT_UNKNOWN;
  READER.streamPos = 0;
  pcapReset();
  pcapngReset();
  fragmentsReset();
}

export function feedCapture(ptr: usize, len: i32, eof: bool): i32 {
  if (getErrCode() != 0) return 0;
  if (len < 0) len = 0;

  if (READER.format == FMT_UNKNOWN) {
    if (len < MAGIC_LEN) {
      if (eof) setError(couldBeMagic(ptr, len) ? Err.TruncatedInput : Err.BadMagic, READER.streamPos, 0);
      return 0;
    }
    // SAFETY: len >= 4.
    const m = load<u32>(ptr);
    if (isPcapMagic(m)) READER.format = FMT_PCAP;
    else if (m == BT_SHB) READER.format = FMT_PCAPNG;
    else {
      setError(Err.BadMagic, READER.streamPos, 0);
      return 0;
    }
  }

  let off: i32 = 0;
  // The common pcap file's records go through pcapRun's loop; what stops it (a partial or damaged
  // record, a full ring) is then found and answered by pcapStep below, as for any other file.
  if (READER.format == FMT_PCAP && PCAP.headerDone && !PCAP.swap && !READER.checkOnly) {
    off = pcapRun(ptr, len, READER.streamPos);
    if (getErrCode() != 0) len = off;
  }
  while (off < len) {
    if (outNearlyFull() || routeFull()) break;
    const pos = READER.streamPos + <f64>off;
    const n = READER.format == FMT_PCAP ? pcapStep(ptr + <usize>off, len - off, pos) : pcapngStep(ptr + <usize>off, len - off, pos);
    if (n > 0) {
      off += n;
      continue;
    }
    // n == 0: the unit at `off` is incomplete; with no more input that is damage.
    if (n == 0 && eof) {
      setError(Err.TruncatedInput, pos, READER.format == FMT_PCAP ? pcapNextRecord() : pcapngNextBlock());
    }
    break;
  }
  statAdd(Stat.Bytes, <f64>off);
  READER.streamPos += <f64>off;
  return off;
}

export function decodeFrame(linktype: i32, ptr: usize, caplen: i32, wirelen: i32, tsUs: i64): i32 {
  return decodeLink(linktype, ptr, caplen, wirelen, tsUs);
}

/** decodeFrame without the straight path (layers/straight.ts): the general decoders alone. */
export function decodeFrameGeneral(linktype: i32, ptr: usize, caplen: i32, wirelen: i32, tsUs: i64): i32 {
  return decodeLinkWith(linktype, ptr, caplen, wirelen, tsUs, 0, false);
}

/** True when the `len` (< 4) bytes at p begin some pcap or pcapng magic, so more bytes could have made a file. */
function couldBeMagic(p: usize, len: i32): bool {
  return isPrefixOf(p, len, PCAP_MAGIC_US) || isPrefixOf(p, len, bswap<u32>(PCAP_MAGIC_US)) ||
         isPrefixOf(p, len, PCAP_MAGIC_NS) || isPrefixOf(p, len, bswap<u32>(PCAP_MAGIC_NS)) ||
         isPrefixOf(p, len, BT_SHB);
}

/** `magic` as it would be loaded little-endian from the file: compares its first `len` bytes. */
function isPrefixOf(p: usize, len: i32, magic: u32): bool {
  for (let i = 0; i < len; i++) {
    // SAFETY: i < len, the bytes the caller has.
    if (<u32>load<u8>(p + <usize>i) != ((magic >> (<u32>i << 3)) & 0xFF)) return false;
  }
  return true;
}
