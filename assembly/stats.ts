// Input statistics: one f64 counter per Stat member, in static memory, read by the host through
// statsPtr(). Counters are f64 so that byte totals past 2^32 stay exact (up to 2^53) and JS reads
// them through one Float64Array without BigInt.
//
// Append-only: the host maps members by their exported names ("Stat.Records" ...), so a new
// counter goes at the end before Count.

export enum Stat {
  /** Capture records (pcap records, pcapng EPB/SPB) read. */
  Records = 0,
  /** Capture bytes consumed. */
  Bytes,
  /** TCP segments handed to the flow tracker (capture or segment records); not those whose header
   *  was unusable past the ports (counted as Truncated / Malformed, though they create the connection). */
  Segments,
  /** Records whose link type is not supported. */
  UnsupportedLink,
  /** Frames that are not IP (ARP, LLDP, ...). */
  NonIp,
  /** IP packets that are not TCP (UDP that is no tunnel, ICMP, ...). */
  NonTcp,
  /** Non-first IP fragments (they carry no TCP header; counted, not tracked). */
  Fragments,
  /** Frames cut short before the TCP header was complete (snaplen or damage). Cut inside the
   *  options, they still create their connection, as in Zeek. */
  Truncated,
  /** Frames with a malformed header (bad IP version, header length, TCP data offset < 20 ...). */
  Malformed,
  /** TCP segments with a bad checksum (counted, then ignored as Zeek does). */
  BadChecksum,
  /** IPv4 packets with a bad header checksum (dropped before any connection, as Zeek does). */
  BadIpChecksum,
  /** TCP segments that came out of a tunnel (Teredo, GTP-U, AYIYA, VXLAN, Geneve, GRE, IP-in-IP). */
  Tunnelled,
  /** Flows created. */
  FlowsCreated,
  /** Flows emitted (closed, timed out, evicted or flushed). */
  FlowsEmitted,
  /** Flows evicted early because the flow table reached its cap. */
  FlowsEvicted,
  /** Capture records skipped as damaged but recoverable (pcapng blocks of unknown type are not counted). */
  SkippedRecords,
  /** pcapng blocks of types we do not use (skipped by their length). */
  SkippedBlocks,
  /** Packets whose tunnels nest deeper than Zeek's Tunnel::max_depth (4); dropped, as Zeek does. */
  TunnelDepth,
  /** UDP tunnel packets (Teredo, GTP-U, AYIYA, VXLAN) with a bad outer UDP checksum: Zeek's UDP
   *  analyzer drops them before decapsulation (not counted when checksums are ignored). */
  BadTunnelChecksum,
  /** TCP segments the tracker's steady-state fast path took (flow/steady.ts); the rest took the full path. */
  SteadySegments,
  Count,
}

export const STATS: usize = memory.data(<i32>Stat.Count * 8, 16);

// SAFETY: s < Stat.Count, so the store stays inside STATS.
@inline export function statAdd(s: Stat, v: f64): void {
  const p = STATS + (<usize>s << 3);
  store<f64>(p, load<f64>(p) + v);
}
@inline export function statInc(s: Stat): void { statAdd(s, 1); }
export function statsReset(): void { memory.fill(STATS, 0, <usize>Stat.Count * 8); }
