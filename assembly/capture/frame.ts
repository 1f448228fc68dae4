// One captured frame -> counters and the tracker. Shared by the pcap and pcapng readers.
//
// Contract: deliverFrame(linktype, p, caplen, wirelen, tsUs) reads only [p, p+caplen). It counts the
// record, decodes it (layers/link.ts), and either hands the TCP segment to trackPacket() (counting
// BadChecksum / Tunnelled on the way; Segments is the tracker's counter) or counts the Stat member
// that explains the skip. An 802.11 A-MSDU frame is decoded once per subframe, each a packet of its
// own as in Zeek (layers/context.ts): one record, several segments or skips.

import { statInc, Stat, STATS } from "../stats";
import { P_TS, P_CSUM, P_TUNNEL, P_FRAME, P_CLOCK, Csum, isHeaderOnly, clearPktAt } from "../packet";
import { trackPacket } from "../flow/tracker";
import { decodeLinkWith, decodeLinkStraight, LINKTYPE_ETHERNET } from "../layers/link";
import { STRAIGHT_MISS, decodeEthStraight } from "../layers/straight";
import { DECODED, subframeHasMore, subframeNext } from "../layers/context";
import { PACKET, READER, ROUTE } from "../state";
import { noteRecordTime, recordClockNow } from "../flow/tracker";
import { routeFrame } from "../shard/route";

/** Wire lengths are i32 in the decoders: a larger one (from a pcap record header) is taken as this. */
export const WIRELEN_CLAMP: u32 = 0x7FFFFFFF;

@inline export function deliverFrame(linktype: i32, p: usize, caplen: i32, wirelen: i32, tsUs: i64): void {
  if (READER.checkOnly) return; // a framing check (capture/check.ts) walks records only
  deliverRecord(linktype, p, caplen, wirelen, tsUs);
}

/**
 * deliverFrame outside a framing check (pcap.ts pcapRun, which runs only then). `inlined` (a
 * constant): deliverRoutedFrame's body is inlined here (pcapRun's loop, the common file's records),
 * which saves the call a record and the argument moves and reloads around it.
 */
@inline export function deliverRecord(linktype: i32, p: usize, caplen: i32, wirelen: i32, tsUs: i64, inlined: bool = false): void {
  statInc(Stat.Records);
  // The record's number (counted here) travels with its segments: traces and extract name frames
  // by it (tshark's frame.number).
  const frame = load<f64>(STATS + (<usize>Stat.Records << 3));
  // Every record moves the capture clock (flow/tracker.ts noteRecordTime).
  noteRecordTime(tsUs);
  if (ROUTE.routing) routeFrame(linktype, p, caplen, wirelen, tsUs, frame, recordClockNow());
  else if (inlined) deliverTracked(linktype, p, caplen, wirelen, tsUs, frame);
  else deliverRoutedFrame(linktype, p, caplen, wirelen, tsUs, frame);
}

/** Decodes and tracks one frame, record `frame` of the capture (counted and clocked by the caller). */
export function deliverRoutedFrame(linktype: i32, p: usize, caplen: i32, wirelen: i32, tsUs: i64, frame: f64): void {
  deliverTracked(linktype, p, caplen, wirelen, tsUs, frame);
}

/** deliverRoutedFrame's body. */
@inline function deliverTracked(linktype: i32, p: usize, caplen: i32, wirelen: i32, tsUs: i64, frame: f64): void {
  // The straight path first (layers/straight.ts): an Ethernet frame is one pass, with no A-MSDU
  // cursor to set up or ask. A frame it does not take is decoded again from the start by
  // deliverGeneral.
  if (linktype == LINKTYPE_ETHERNET && !ROUTE.routing) {
    const code = decodeLinkStraight(p, caplen, wirelen, tsUs);
    if (code != STRAIGHT_MISS) {
      deliverDecoded(code, frame);
      return;
    }
  }
  deliverGeneral(linktype, p, caplen, wirelen, tsUs, frame);
}

/**
 * deliverRoutedFrame through the general decoders, subframe by subframe. A function of its own (not
 * inlined: Binaryen leaves functions with loops alone): in deliverRoutedFrame its loop and calls
 * kept the arguments and a zero vector on the stack, some 20 spills and reloads a frame that the
 * straight path paid too.
 */
function deliverGeneral(linktype: i32, p: usize, caplen: i32, wirelen: i32, tsUs: i64, frame: f64): void {
  // Each subframe pass moves the offset past at least one 14-byte A-MSDU subframe header, so the loop ends.
  for (let subframe = 0; ; subframe = subframeNext()) {
    // decodeLink's body, inlined: the call a segment cost more than its straight path saves.
    deliverDecoded(decodeLinkWith(linktype, p, caplen, wirelen, tsUs, subframe, false), frame);
    if (!subframeHasMore()) return;
  }
}

/**
 * deliverRecord for an Ethernet record while not routing (pcap.ts pcapRunEthernet's loop, the
 * common file's records): its caller has counted the record (`frame`, its number) and moved the
 * capture clock (`clock`, recordClockNow() after it). `caplen` >= 0 (a pcap caplen, bounded).
 * The straight path first, as deliverTracked; a frame it does not take goes to deliverGeneral.
 * A segment it decodes has no tunnel (the straight path takes no encapsulation: handOver does not
 * ask). `origLen` is the record's wire length as the file has it
 * (clamped to WIRELEN_CLAMP for the general decoders only).
 */
@inline export function deliverEthernet(p: usize, caplen: i32, origLen: u32, tsUs: i64, frame: f64, clock: i64): void {
  const pkt = PACKET.PKT; // a local: stores through it could alias the state block
  clearPktAt(pkt);
  store<i64>(pkt + P_TS, tsUs);
  // The straight path compares the wire length unsigned only, so it takes it unclamped.
  const code = decodeEthStraight(pkt, p, caplen, <i32>max(origLen, <u32>caplen));
  if (code == DECODED) {
    handOver(pkt, frame, clock, false);
  } else if (code == STRAIGHT_MISS) {
    deliverGeneral(LINKTYPE_ETHERNET, p, caplen, <i32>min(origLen, WIRELEN_CLAMP), tsUs, frame);
  } else {
    statInc(<Stat>code);
  }
}

/** Counts a decode's outcome `code` (layers/link.ts) and hands a decoded segment to the tracker. */
@inline function deliverDecoded(code: i32, frame: f64): void {
  if (code != DECODED) {
    statInc(<Stat>code);
  } else {
    // SAFETY: PKT is the descriptor slot just filled; fixed offsets. (Held in a local: a store
    // through it could alias the state block, so every PACKET.PKT would be loaded again.)
    handOver(PACKET.PKT, frame, recordClockNow(), true);
  }
}

/**
 * A decoded segment's counters, then the tracker: its record number and clock go with it.
 * `tunnels` (a constant): whether the decode that filled `pkt` can have left the segment inside a
 * tunnel (the straight path takes no encapsulation, so it passes false).
 */
@inline function handOver(pkt: usize, frame: f64, clock: i64, tunnels: bool): void {
  const csum = load<u8>(pkt + P_CSUM);
  if (isHeaderOnly(csum)) {
    // An unusable TCP header still creates the connection (Zeek), but is no segment: it is
    // counted as the skip it is, and the tracker leaves it out of Stat.Segments.
    statInc(csum == <u8>Csum.HeaderBad ? Stat.Malformed : Stat.Truncated);
  } else {
    if (csum == <u8>Csum.Bad) statInc(Stat.BadChecksum);
    if (tunnels && load<u8>(pkt + P_TUNNEL) != 0) statInc(Stat.Tunnelled);
  }
  store<f64>(pkt + P_FRAME, frame);
  store<i64>(pkt + P_CLOCK, clock);
  trackPacket();
}
