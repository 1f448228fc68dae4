// conn_state, derived from the two endpoint states exactly as Zeek's conn_state() function in
// scripts/base/protocols/conn/main.zeek does (zeek-semantics.md §2), plus the byte sizes that
// conn.log shows. Computed once, when a record is emitted, from the live record (live.ts layout)
// into its output record (record.ts layout).

import { FR_ORIG, FR_RESP, EP_STATE, Half, ConnState } from "./live";
import * as O from "./record";
import { historyLetter, histLen } from "./history";
import { endpointSize } from "./seq";

@inline function inactiveOrPartial(s: u8): bool { return s == <u8>Half.Inactive || s == <u8>Half.Partial; }

/** The history matches /^\^?S[^HAFGIQ]*R.*$/ (Zeek's RSTOS0 test). */
function historyIsRstos0(rec: usize): bool {
  const n = histLen(rec);
  let i = 0;
  if (i < n && historyLetter(rec, i) == 0x5E) i++;       // optional '^'
  if (i >= n || historyLetter(rec, i) != 0x53) return false; // 'S'
  for (i++; i < n; i++) {
    const c = historyLetter(rec, i);
    if (c == 0x52) return true;                     // 'R' before any excluded letter
    if (c == 0x48 || c == 0x41 || c == 0x46 || c == 0x47 || c == 0x49 || c == 0x51) return false; // H A F G I Q
  }
  return false;
}

/** Fills EP_BYTES of both endpoints and FR_CONN_STATE of the output record `out` of live record `rec`. */
export function finalizeRecord(out: usize, rec: usize): void {
  const o = rec + <usize>FR_ORIG, r = rec + <usize>FR_RESP;
  const os = load<u8>(o + EP_STATE), rs = load<u8>(r + EP_STATE);
  const ob = endpointSize(rec, o, rs), rb = endpointSize(rec, r, os);
  store<u64>(out + O.FR_ORIG + O.EP_BYTES, ob);
  store<u64>(out + O.FR_RESP + O.EP_BYTES, rb);
  let cs: ConnState;
  if (rs == <u8>Half.Reset) {
    if (os == <u8>Half.SynSent || os == <u8>Half.SynAckSent || (os == <u8>Half.Reset && ob == 0 && rb == 0)) cs = ConnState.REJ;
    else if (inactiveOrPartial(os)) cs = ConnState.RSTRH;
    else cs = ConnState.RSTR;
  } else if (os == <u8>Half.Reset) {
    if (inactiveOrPartial(rs)) cs = historyIsRstos0(rec) ? ConnState.RSTOS0 : ConnState.OTH;
    else cs = ConnState.RSTO;
  } else if (rs == <u8>Half.Closed && os == <u8>Half.Closed) cs = ConnState.SF;
  else if (os == <u8>Half.Closed) cs = inactiveOrPartial(rs) ? ConnState.SH : ConnState.S2;
  else if (rs == <u8>Half.Closed) cs = inactiveOrPartial(os) ? ConnState.SHR : ConnState.S3;
  else if (os == <u8>Half.SynSent && rs == <u8>Half.Inactive) cs = ConnState.S0;
  else if (os == <u8>Half.Established && rs == <u8>Half.Established) cs = ConnState.S1;
  else cs = ConnState.OTH;
  store<u8>(out + O.FR_CONN_STATE, <u8>cs);
}
