// Pre-parsed segment records: for pipelines that have already decoded packets. The host writes
// an array of fixed-size records (SEG_SIZE bytes each, layout below) into the input window and
// calls feedSegments(n); each record fills the segment descriptor and goes through the same
// tracker as a captured packet. One call handles a whole batch, so the JS/WASM boundary is
// crossed once per batch, not per segment.
//
// Segment records carry no payload bytes: the payload is taken as seen whole (no snaplen), so
// acknowledged data is not reported as a content gap, and checksums are not validated.

import {
  P_TS, P_SRC, P_DST, P_SPORT, P_DPORT, P_VLAN, P_IPVER, P_FLAGS, P_CSUM, P_THLEN, P_SEQ, P_ACK, P_WIN, P_OPTS, P_FRAME,
  P_WSCALE, P_MSS, P_TUNNEL, P_IPLEN, P_PAYLEN, P_PAYPTR, P_PAYCAP, P_SACKN, P_WHOLE, P_IPID, P_TSVAL, Csum,
} from "../packet";
import { trackPacket } from "../flow/tracker";
import { outNearlyFull } from "../flow/output";
import { setError, Err } from "../errors";
import { copy16 } from "../mem";
import { PACKET } from "../state";

export const SEG_TS: i32 = 0;        // i64 µs since the epoch
export const SEG_SRC: i32 = 8;       // 16 B (IPv4 v4-mapped)
export const SEG_DST: i32 = 24;      // 16 B
export const SEG_SPORT: i32 = 40;    // u16
export const SEG_DPORT: i32 = 42;    // u16
export const SEG_FLAGS: i32 = 44;    // u8 TCP flags byte
export const SEG_OPTS: i32 = 45;     // u8 OPT_* bits of the options present
export const SEG_WSCALE: i32 = 46;   // u8 window-scale shift (with OPT_WSCALE)
export const SEG_IPVER: i32 = 47;    // u8 4 or 6
export const SEG_SEQ: i32 = 48;      // u32
export const SEG_ACK: i32 = 52;      // u32
export const SEG_WIN: i32 = 56;      // u16 raw window
export const SEG_MSS: i32 = 58;      // u16 (with OPT_MSS)
export const SEG_LEN: i32 = 60;      // u32 payload length; IP bytes are derived (IPv4 40 + len, IPv6 60 + len)
export const SEG_SIZE: i32 = 64;

/**
 * Tracks records [0, n) at `base`. Returns how many were consumed: fewer than n when the output
 * ring needs draining (call again with the rest). A record with IP version other than 4 or 6
 * stops the batch with Err.BadSegmentRecord (its index in errRecord()).
 */
export function feedSegments(base: usize, n: i32, firstIndex: f64): i32 {
  for (let i = 0; i < n; i++) {
    if (outNearlyFull()) return i;
    // SAFETY: the host wrote n whole records at base, inside the input window.
    const r = base + <usize>i * <usize>SEG_SIZE;
    const ver = load<u8>(r + SEG_IPVER);
    if (ver != 4 && ver != 6) { setError(Err.BadSegmentRecord, 0, firstIndex + <f64>i); return i; }
    store<i64>(PACKET.PKT + P_TS, load<i64>(r + SEG_TS));
    copy16(PACKET.PKT + P_SRC, r + SEG_SRC);
    copy16(PACKET.PKT + P_DST, r + SEG_DST);
    store<u16>(PACKET.PKT + P_SPORT, load<u16>(r + SEG_SPORT));
    store<u16>(PACKET.PKT + P_DPORT, load<u16>(r + SEG_DPORT));
    store<u32>(PACKET.PKT + P_VLAN, 0);
    store<u8>(PACKET.PKT + P_IPVER, ver);
    store<u8>(PACKET.PKT + P_FLAGS, load<u8>(r + SEG_FLAGS));
    store<u8>(PACKET.PKT + P_CSUM, <u8>Csum.NotChecked);
    store<u8>(PACKET.PKT + P_THLEN, 20);
    store<u32>(PACKET.PKT + P_SEQ, load<u32>(r + SEG_SEQ));
    store<u32>(PACKET.PKT + P_ACK, load<u32>(r + SEG_ACK));
    store<u16>(PACKET.PKT + P_WIN, load<u16>(r + SEG_WIN));
    store<u8>(PACKET.PKT + P_OPTS, load<u8>(r + SEG_OPTS));
    store<u8>(PACKET.PKT + P_WSCALE, load<u8>(r + SEG_WSCALE));
    store<u16>(PACKET.PKT + P_MSS, load<u16>(r + SEG_MSS));
    store<u8>(PACKET.PKT + P_TUNNEL, 0);
    const len = load<u32>(r + SEG_LEN);
    store<u32>(PACKET.PKT + P_IPLEN, len + (ver == 4 ? 40 : 60));
    store<u32>(PACKET.PKT + P_PAYLEN, len);
    store<u32>(PACKET.PKT + P_PAYPTR, 0);
    store<u32>(PACKET.PKT + P_PAYCAP, 0);
    store<u8>(PACKET.PKT + P_SACKN, 0);
    store<u8>(PACKET.PKT + P_WHOLE, 1);
    // Segment records carry no IP identification and no TSval: 0 says unknown (wire-anomalies.ts).
    store<u16>(PACKET.PKT + P_IPID, 0);
    store<u32>(PACKET.PKT + P_TSVAL, 0);
    store<f64>(PACKET.PKT + P_FRAME, firstIndex + <f64>i + 1);
    trackPacket();
  }
  return n;
}
