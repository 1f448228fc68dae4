// HTTP/1.x insight: counts request lines and status lines at the start of segments whose first
// payload octet is seen for the first time (new data, a hole filled, a SYN or SYN-ACK with data:
// the tracker decides, wire-anomalies.ts startsUnseen), so each line counts once whenever it arrives.
// Cheap by design: only the first bytes of a segment are read, nothing is buffered, so a request
// or response that starts in the middle of a segment (pipelining) is not counted (documented).
//
// Request line (RFC 9112 §3): method SP request-target SP HTTP-version. Status line (§4):
// HTTP-version SP 3DIGIT SP reason.

import {
  X_HTTP_REQ, X_HTTP_RESP, X_HTTP_METHODS, X_HTTP_VERSIONS, X_HTTP_CLASSES, X_HTTP_CODES, HTTP_CODE_SLOTS,
} from "./record";
import { currentExt } from "./anomaly";

export enum HttpMethod { GET = 0, POST, HEAD, PUT, DELETE, OPTIONS, PATCH, CONNECT, TRACE, Count }

/** How far into a request line we look for " HTTP/1.". */
const MAX_LINE: u32 = 2048;

@inline function b(p: usize, i: u32): u32 { return <u32>load<u8>(p + <usize>i); }

/** Method of a request starting at p (n bytes available), or -1. The method must be followed by a space. */
function methodOf(p: usize, n: u32): i32 {
  if (n < 4) return -1;
  const w = load<u32>(p); // first four bytes, little-endian
  // Compare against pre-swapped constants: "GET " is 0x20544547 as read little-endian.
  if (w == 0x20544547) return HttpMethod.GET;
  if (w == 0x54534F50 && n > 4 && b(p, 4) == 0x20) return HttpMethod.POST;   // "POST"
  if (w == 0x44414548 && n > 4 && b(p, 4) == 0x20) return HttpMethod.HEAD;   // "HEAD"
  if (w == 0x20545550) return HttpMethod.PUT;                                 // "PUT "
  if (w == 0x454C4544 && n > 6 && b(p, 4) == 0x54 && b(p, 5) == 0x45 && b(p, 6) == 0x20) return HttpMethod.DELETE; // "DELETE "
  if (w == 0x4954504F && n > 7 && b(p, 4) == 0x4F && b(p, 5) == 0x4E && b(p, 6) == 0x53 && b(p, 7) == 0x20) return HttpMethod.OPTIONS; // "OPTIONS "
  if (w == 0x43544150 && n > 5 && b(p, 4) == 0x48 && b(p, 5) == 0x20) return HttpMethod.PATCH;   // "PATCH "
  if (w == 0x4E4E4F43 && n > 7 && b(p, 4) == 0x45 && b(p, 5) == 0x43 && b(p, 6) == 0x54 && b(p, 7) == 0x20) return HttpMethod.CONNECT; // "CONNECT "
  if (w == 0x43415254 && n > 5 && b(p, 4) == 0x45 && b(p, 5) == 0x20) return HttpMethod.TRACE;   // "TRACE "
  return -1;
}

/** "HTTP/1.x" at p: returns x's version bit (1 for 1.0, 2 for 1.1), or 0. */
@inline function versionAt(p: usize, n: u32, i: u32): u32 {
  if (i + 8 > n) return 0;
  // "HTTP" little-endian is 0x50545448; then "/1."
  if (load<u32>(p + <usize>i) != 0x50545448 || b(p, i + 4) != 0x2F || b(p, i + 5) != 0x31 || b(p, i + 6) != 0x2E) return 0;
  const minor = b(p, i + 7);
  return minor == 0x30 ? 1 : minor == 0x31 ? 2 : 0;
}

/**
 * The first letters a request or status line can start with, as bits of (letter - 0x40): C(ONNECT),
 * D(ELETE), G(ET), H(EAD, TTP/), O(PTIONS), P(OST, UT, ATCH), T(RACE). Any other first octet matches
 * neither methodOf() nor versionAt(), so most payloads are turned away by one test.
 */
const FIRST_LETTERS: u32 = (1 << 0x03) | (1 << 0x04) | (1 << 0x07) | (1 << 0x08) | (1 << 0x0F) | (1 << 0x10) | (1 << 0x14);

/**
 * Looks at the first bytes of a new data segment of the current record (its extension block is
 * allocated on a match). Inlined where the tracker calls it: the first-octet test turns most
 * payloads away without a call.
 */
@inline export function scanHttp(p: usize, n: u32): void {
  if (n < 12) return;
  // SAFETY: n >= 12.
  const first = b(p, 0) - 0x40;
  if (first < 32 && ((FIRST_LETTERS >> first) & 1) != 0) scanHttpLine(p, n);
}

/** scanHttp past its first-octet test. */
function scanHttpLine(p: usize, n: u32): void {
  const m = methodOf(p, n);
  if (m >= 0) {
    // Find " HTTP/1.x" before the end of the first line.
    const lim = n < MAX_LINE ? n : MAX_LINE;
    for (let i: u32 = 4; i + 9 <= lim; i++) {
      const c = b(p, i);
      if (c == 0x0D || c == 0x0A) return;
      if (c == 0x20) {
        const v = versionAt(p, lim, i + 1);
        if (v != 0) {
          const ext = currentExt();
          store<u16>(ext + X_HTTP_REQ, sat(load<u16>(ext + X_HTTP_REQ)));
          const mp = ext + X_HTTP_METHODS + (<usize>m << 1);
          store<u16>(mp, sat(load<u16>(mp)));
          store<u8>(ext + X_HTTP_VERSIONS, load<u8>(ext + X_HTTP_VERSIONS) | <u8>v);
          return;
        }
      }
    }
    return;
  }
  const v = versionAt(p, n, 0);
  if (v == 0 || b(p, 8) != 0x20) return;
  const d0 = b(p, 9) - 0x30, d1 = b(p, 10) - 0x30, d2 = b(p, 11) - 0x30;
  if (d0 < 1 || d0 > 5 || d1 > 9 || d2 > 9) return;
  const code = d0 * 100 + d1 * 10 + d2;
  const ext = currentExt();
  store<u16>(ext + X_HTTP_RESP, sat(load<u16>(ext + X_HTTP_RESP)));
  store<u8>(ext + X_HTTP_VERSIONS, load<u8>(ext + X_HTTP_VERSIONS) | <u8>v);
  const cp = ext + X_HTTP_CLASSES + (<usize>(d0 - 1) << 1);
  store<u16>(cp, sat(load<u16>(cp)));
  for (let i = 0; i < HTTP_CODE_SLOTS; i++) {
    const s = ext + X_HTTP_CODES + (<usize>i << 2);
    const c = <u32>load<u16>(s);
    if (c == code) { store<u16>(s, sat(load<u16>(s, 2)), 2); return; }
    if (c == 0) { store<u16>(s, <u16>code); store<u16>(s, 1, 2); return; }
  }
}

@inline function sat(v: u16): u16 { return v == 0xFFFF ? v : v + 1; }
