// One captured frame -> counters and the tracker. Shared by the pcap and pcapng readers.
//
// Contract: deliverFrame(linktype, p, caplen, wirelen, tsUs) reads only [p, p+caplen). It counts the
// record, decodes it (layers/link.ts), and either hands the TCP segment to trackPacket() (counting
// BadChecksum / Tunnelled on the way; Segments is the tracker's counter) or counts the Stat member
// that explains the skip.

import { statInc, Stat, STATS } from "../stats";
import { PKT, P_CSUM, P_TUNNEL, P_FRAME, Csum } from "../packet";
import { trackPacket } from "../flow/tracker";
import { decodeLink } from "../layers/link";
import { DECODED } from "../layers/context";

export function deliverFrame(linktype: i32, p: usize, caplen: i32, wirelen: i32, tsUs: i64): void {
  statInc(Stat.Records);
  const code = decodeLink(linktype, p, caplen, wirelen, tsUs);
  if (code != DECODED) {
    statInc(<Stat>code);
    return;
  }
  // SAFETY: PKT is the static descriptor; fixed offsets.
  if (load<u8>(PKT + P_CSUM) == <u8>Csum.Bad) statInc(Stat.BadChecksum);
  if (load<u8>(PKT + P_TUNNEL) != 0) statInc(Stat.Tunnelled);
  // The record's number (counted above) travels with the segment: traces and extract name frames by it.
  store<f64>(PKT + P_FRAME, load<f64>(STATS + (<usize>Stat.Records << 3)));
  trackPacket();
}
