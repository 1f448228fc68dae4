// The conn.log `history` string and role flips (Zeek Session::AddHistory/CheckHistory/
// ScaledHistoryEntry and Connection::FlipRoles; zeek-semantics.md §3-4).
//
// Upper case letters are the originator's, lower case the responder's, as known when the letter
// is recorded: letters written before a flip keep their old case. Once-only letters use the
// connection's hist_seen mask (originator bits low 16, responder bits high 16), which a flip does
// NOT swap. Logarithmic letters (C, T, W, G) are recorded at the 1st, 10th, 100th ... event.

import {
  FF_HIST_LEN, FF_HIST_LEN_SHIFT, FR_HISTORY, HIST_CAP, FR_FLAGS, FF_HIST_FULL, FF_FLIPPED, FF_PARTIAL, FF_FPS_ORIG, FF_FPS_RESP,
  FR_HIST_SEEN, FR_ORIG, FR_RESP, FR_ORIG_PORT, FR_RESP_PORT, EP_SIZE, HIST_INLINE, X_HIST_MORE, FF_MIDSTREAM, FF_MIDSTREAM_RESP,
  EP_FLAGS2, EF2_HIST_FIN_AT_FIN, EP_FIN_SEQ, X_HIST_FIN,
} from "./live";
import { swapBlock } from "../mem";
import { extTailOf, extTailAttachOf, swapKeyAddrs } from "./table";
import { flipExtensionSides, extTailSide, extTailSideIfAny } from "./anomaly";
import { relAt, bumpGaps } from "./narrow";


/**
 * The letters a history holds (Zeek's, zeek-semantics.md §4: upper case the originator's, lower
 * case the responder's, and the flip mark '^'), by their 5-bit code in the live record's FR_HISTORY
 * (live.ts); code 0 is no letter.
 */
const HIST_LETTERS: usize = memory.data<u8>([
  0, 0x53, 0x73, 0x48, 0x68, 0x41, 0x61, 0x44, 0x64, 0x46, 0x66, 0x52, 0x72, 0x43, 0x63, 0x47, 0x67, 0x54, 0x74, 0x57, 0x77,
  0x49, 0x69, 0x51, 0x71, 0x5E,
]);
const HIST_CODES: u32 = 26;
const CODE_H: u64 = 3;
const CODE_LOWER_H: u64 = 4;
const CODE_CARET: u64 = 25;

/**
 * HIST_LETTERS inverted: the 5-bit code of each ASCII letter (0 = not a history letter), filled
 * from HIST_LETTERS by historyInit(), so addHistory() finds a code in one load, not a search.
 */
const HIST_CODE_OF: usize = memory.data(128, 16);

/** Fills HIST_CODE_OF (tracker.ts trackerInit). */
export function historyInit(): void {
  for (let c: u32 = 1; c < HIST_CODES; c++) store<u8>(HIST_CODE_OF + <usize>load<u8>(HIST_LETTERS + <usize>c), <u8>c);
}

/** The 5-bit code of a history letter (every letter the tracker records is in HIST_LETTERS). */
@inline function letterCode(letter: u32): u64 {
  const c = letter < 128 ? <u32>load<u8>(HIST_CODE_OF + <usize>letter) : 0;
  if (c == 0) unreachable(); // a letter outside Zeek's alphabet: a tracker bug
  return <u64>c;
}

/** The history letter (ASCII, 0 = none) in the 5-bit slot i of the packed letters h. */
@inline export function inlineLetter(h: u64, i: i32): u32 { return <u32>load<u8>(HIST_LETTERS + <usize>((h >> (<u64>i * 5)) & 31)); }

/** Zeek's hist_last_FIN of endpoint ep of the live record rec (live.ts EF2_HIST_FIN_AT_FIN). */
export function histLastFin(rec: usize, ep: usize): u32 {
  if ((load<u8>(ep + EP_FLAGS2) & EF2_HIST_FIN_AT_FIN) != 0) return <u32>(relAt(rec, ep, EP_FIN_SEQ) - 1);
  const x = extTailSideIfAny(rec, ep, X_HIST_FIN);
  return x != 0 ? load<u32>(x) : 0;
}

/**
 * A lone FIN set hist_last_FIN to the relative sequence after its payload; process() sets
 * EP_FIN_SEQ one past it for the same FIN, which then holds both.
 */
export function setHistLastFinAtFin(ep: usize): void {
  store<u8>(ep + EP_FLAGS2, load<u8>(ep + EP_FLAGS2) | EF2_HIST_FIN_AT_FIN);
}

/** Before a FIN with SYN or RST moves EP_FIN_SEQ (and not hist_last_FIN): keeps hist_last_FIN apart. */
export function keepHistLastFin(rec: usize, ep: usize): void {
  if ((load<u8>(ep + EP_FLAGS2) & EF2_HIST_FIN_AT_FIN) == 0) return;
  store<u32>(extTailSide(rec, ep, X_HIST_FIN), <u32>(relAt(rec, ep, EP_FIN_SEQ) - 1));
  store<u8>(ep + EP_FLAGS2, load<u8>(ep + EP_FLAGS2) & ~EF2_HIST_FIN_AT_FIN);
}

/** True when `ep` is the record's originator endpoint block. */
@inline export function isOrigEp(rec: usize, ep: usize): bool { return ep == rec + <usize>FR_ORIG; }

/** The number of history letters of the live record at rec (the output record's FR_HIST_LEN; live.ts FF_HIST_LEN). */
@inline export function histLen(rec: usize): i32 { return <i32>((load<u32>(rec + FR_FLAGS) & FF_HIST_LEN) >> FF_HIST_LEN_SHIFT); }
@inline function setHistLen(rec: usize, n: i32): void {
  store<u32>(rec + FR_FLAGS, (load<u32>(rec + FR_FLAGS) & ~FF_HIST_LEN) | (<u32>n << FF_HIST_LEN_SHIFT));
}

export function addHistory(rec: usize, letter: u32): void {
  const n = histLen(rec);
  if (n >= HIST_CAP) {
    store<u32>(rec + FR_FLAGS, load<u32>(rec + FR_FLAGS) | FF_HIST_FULL);
    return;
  }
  // The first HIST_INLINE letters are in the record, the rest in its extension block's tail (live.ts).
  if (n < HIST_INLINE) store<u64>(rec + FR_HISTORY, load<u64>(rec + FR_HISTORY) | (letterCode(letter) << (<u64>n * 5)));
  else store<u8>(extTailAttachOf(rec) + <usize>X_HIST_MORE + <usize>(n - HIST_INLINE), <u8>letter);
  setHistLen(rec, n + 1);
}

/** History letter i (i < histLen(rec)) of the live record at rec. */
export function historyLetter(rec: usize, i: i32): u32 {
  if (i < HIST_INLINE) return inlineLetter(load<u64>(rec + FR_HISTORY), i);
  // SAFETY: letter i >= HIST_INLINE was written by addHistory(), which attached the extension block's tail.
  return <u32>load<u8>(extTailOf(rec) + <usize>X_HIST_MORE + <usize>(i - HIST_INLINE));
}

/** Letter in the endpoint's current orientation: lower case for the responder. */
@inline export function caseFor(rec: usize, ep: usize, upper: u32): u32 { return isOrigEp(rec, ep) ? upper : upper | 0x20; }

/**
 * Zeek CheckHistory: records the letter the first time its mask is seen for this side.
 * Returns true when it had been seen before (and records nothing).
 */
export function checkHistory(rec: usize, ep: usize, mask: u32, upper: u32): bool {
  const m = isOrigEp(rec, ep) ? mask : mask << 16;
  const seen = load<u32>(rec + FR_HIST_SEEN);
  if ((seen & m) == 0) {
    store<u32>(rec + FR_HIST_SEEN, seen | m);
    addHistory(rec, caseFor(rec, ep, upper));
    return false;
  }
  return true;
}

/** Zeek ScaledHistoryEntry with base 10: bumps the u32 counter at p and records the letter at 1, 10, 100 ... */
export function scaledHistoryAt(rec: usize, ep: usize, p: usize, upper: u32): void {
  const c = load<u32>(p) + 1;
  store<u32>(p, c);
  scaledLetter(rec, ep, c, upper);
}

/** The G letter (Zeek's content gap): bumps the side's gap counter (narrow.ts bumpGaps), recorded as scaledHistoryAt() does. */
export function gapHistory(rec: usize, ep: usize): void {
  scaledLetter(rec, ep, bumpGaps(rec, ep), 0x47); // 'G'
}

/** Records the letter `upper` (its case for ep) when counter value c is 1, 10, 100 ... (Zeek ScaledHistoryEntry, base 10). */
@inline function scaledLetter(rec: usize, ep: usize, c: u32, upper: u32): void {
  if (c == 1 || c == 10 || c == 100 || c == 1000 || c == 10000 || c == 100000 || c == 1000000 || c == 10000000 ||
      c == 100000000 || c == 1000000000) addHistory(rec, caseFor(rec, ep, upper));
}

/**
 * Zeek Connection::FlipRoles + TCPSessionAdapter::FlipRoles: swaps addresses, ports and the two
 * endpoint blocks (their counters and sequence state move with them), appends '^', swaps
 * first_packet_seen and clears is_partial. hist_seen stays as it is (Zeek does not swap it).
 * Callers holding endpoint pointers must swap them: the block formerly at FR_ORIG is now at FR_RESP.
 */
export function flipRoles(rec: usize): void {
  swapKeyAddrs(rec);
  const op = load<u16>(rec + FR_ORIG_PORT);
  store<u16>(rec + FR_ORIG_PORT, load<u16>(rec + FR_RESP_PORT));
  store<u16>(rec + FR_RESP_PORT, op);
  swapBlock(rec + FR_ORIG, rec + FR_RESP, <usize>EP_SIZE);
  let f = load<u32>(rec + FR_FLAGS);
  const fps = ((f & FF_FPS_ORIG) != 0 ? FF_FPS_RESP : 0) | ((f & FF_FPS_RESP) != 0 ? FF_FPS_ORIG : 0);
  f = (f & ~(FF_FPS_ORIG | FF_FPS_RESP | FF_PARTIAL)) | fps | FF_FLIPPED;
  store<u32>(rec + FR_FLAGS, f);
  addHistory(rec, 0x5E); // '^'
  // A midstream anomaly in the flags (live.ts FF_MIDSTREAM: the record has no extension block, even
  // after the '^', which may have attached one) changes side as the block's would.
  const g = load<u32>(rec + FR_FLAGS);
  if ((g & FF_MIDSTREAM) != 0) store<u32>(rec + FR_FLAGS, g ^ FF_MIDSTREAM_RESP);
  flipExtensionSides();
}

/** True while the whole history is exactly "H" (a SYN-ACK created the record and was not flipped). */
@inline export function historyIsLoneH(rec: usize): bool {
  return histLen(rec) == 1 && load<u64>(rec + FR_HISTORY) == CODE_H;
}

/** Rewrites the history to "^h": the late flip of zeek-semantics.md §3.4 drops the original H. */
export function rewriteHistoryCaretH(rec: usize): void {
  store<u64>(rec + FR_HISTORY, CODE_CARET | (CODE_LOWER_H << 5));
  setHistLen(rec, 2);
}
