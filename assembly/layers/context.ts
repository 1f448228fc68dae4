// Per-frame decode context, passed by value down the layer decoders (no globals, no allocation).
//
// Every layer decoder has the shape `decodeX(p, cap, wire, ctx): i32`:
//   p     first byte of this layer's header
//   cap   bytes captured from p on (what may be read); never more than the enclosing lengths allow
//   wire  bytes from p on as the wire / the enclosing header says (>= cap; WIRE_UNKNOWN inside a
//         first IP fragment, whose real extent is only known after reassembly)
//   ctx   the bits below
// and returns DECODED (0) when a TCP segment was written into PKT, else the Stat member that
// explains why the frame carried none. Decoders never count stats themselves (the caller does), so
// decodeFrame() stays a pure test hook.
//
// Tunnel nesting is bounded by MAX_TUNNEL_DEPTH (Zeek's Tunnel::max_depth default, 4), which also
// bounds the recursion link -> IP -> UDP -> tunnel -> IP ...

import {
  P_TUNNEL, P_VLAN, P_SRC, P_DST, P_SPORT, P_IPPROTO, P_OUTER_SRC, P_OUTER_DST, P_OUTER_SPORT, P_OUTER_VLAN, P_OUTER_PROTO,
} from "../packet";
import { copy16 } from "../mem";
import { PACKET, CONTEXT } from "../state";

const IPPROTO_UDP: u8 = 17;

export const DECODED: i32 = 0;

/** Number of tunnel layers already entered. */
export const CTX_DEPTH_MASK: u32 = 0xFF;
/** An enclosing IPv4/IPv6 header is a first fragment (MF set): later lengths come from inner
 *  headers only, and the segment cannot be checksummed (Csum.Unverifiable). */
export const CTX_FRAG: u32 = 0x100;
/** VLAN tags recorded so far in P_VLAN (0, 1, 2+): an 802.1ah PBB or VN-Tag frame hands its tags on
 *  to the inner Ethernet frame as Zeek's Packet keeps `vlan` / `inner_vlan` across those layers. */
export const CTX_VLAN_TAGS_SHIFT: u32 = 9;
export const CTX_VLAN_TAGS_MASK: u32 = 0x3 << CTX_VLAN_TAGS_SHIFT;
/** Tunnel.* kind of the innermost tunnel entered so far (GTP-in-GTP is refused, as in Zeek). */
export const CTX_LAST_TUNNEL_SHIFT: u32 = 16;

export const MAX_TUNNEL_DEPTH: u32 = 4;

/** "Unknown, assume enough": the wire length inside a fragment. Subtracting header sizes keeps it positive. */
export const WIRE_UNKNOWN: i32 = 0x3FFFFFFF;

/**
 * Enters one tunnel layer: returns the inner context, or -1 when tunnels nest too deep.
 * Records the outermost tunnel kind in P_TUNNEL and clears the VLAN tags: like Zeek, the inner
 * packet is a new packet, so its VLAN ids are those of the inner link layer (if any).
 * Records the outer connection (P_OUTER_*) from the enclosing IP header and, for UDP tunnels, the
 * UDP ports: each nested tunnel overwrites it, so it names the innermost encapsulation, the one
 * whose uid Zeek's conn.log puts in tunnel_parents (c$tunnel[|c$tunnel|-1]). Every tunnel decoder
 * enters through here, so a new tunnel layer gets tunnel_parents without code of its own.
 * The caller passes the inner packet's wire length derived from the tunnel's own length fields.
 */
export function enterTunnel(ctx: u32, kind: i32): i64 {
  const depth = ctx & CTX_DEPTH_MASK;
  if (depth >= MAX_TUNNEL_DEPTH) return -1;
  // SAFETY: PKT is a static 128-byte block; P_TUNNEL and P_VLAN are fixed offsets inside it.
  if (load<u8>(PACKET.PKT + P_TUNNEL) == 0) store<u8>(PACKET.PKT + P_TUNNEL, <u8>kind);
  // P_SRC/P_DST still hold the enclosing IP header's addresses, P_IPPROTO its protocol and, for
  // UDP, P_SPORT/P_DPORT the datagram's ports (decodeUdp): the inner headers overwrite them later.
  copy16(PACKET.PKT + P_OUTER_SRC, PACKET.PKT + P_SRC);
  copy16(PACKET.PKT + P_OUTER_DST, PACKET.PKT + P_DST);
  const proto = load<u8>(PACKET.PKT + P_IPPROTO);
  store<u8>(PACKET.PKT + P_OUTER_PROTO, proto);
  store<u32>(PACKET.PKT + P_OUTER_SPORT, proto == IPPROTO_UDP ? load<u32>(PACKET.PKT + P_SPORT) : 0); // both ports
  store<u32>(PACKET.PKT + P_OUTER_VLAN, load<u32>(PACKET.PKT + P_VLAN));
  store<u32>(PACKET.PKT + P_VLAN, 0);
  // CTX_FRAG is cleared: the inner IP header's own lengths are authoritative again, and an inner
  // segment that the first fragment happens to hold completely can be checksummed.
  const keep = ctx & ~(CTX_DEPTH_MASK | CTX_FRAG | CTX_VLAN_TAGS_MASK | (0xFF << CTX_LAST_TUNNEL_SHIFT));
  return <i64>(keep | (depth + 1) | (<u32>kind << CTX_LAST_TUNNEL_SHIFT));
}

@inline export function lastTunnel(ctx: u32): i32 { return <i32>((ctx >> CTX_LAST_TUNNEL_SHIFT) & 0xFF); }

// ---- A-MSDU subframe cursor (IEEE 802.11-2020 §9.3.2.2) ----
// One 802.11 frame may aggregate several MSDUs, and Zeek analyses each subframe as a packet of its
// own. The decoders fill one descriptor per call, so the caller decodes the same frame once per
// subframe: decodeLink() says where in the aggregate the wanted subframe starts (0 for the first),
// the 802.11 decoder decodes that one and leaves the offset of the next, so each subframe is walked
// once (no quadratic rescans of a hostile 64 KiB aggregate of tiny subframes). Only the outermost
// A-MSDU is iterated (an A-MSDU inside a tunnel inside an A-MSDU, which no capture has been seen to
// carry, yields its first subframe each time).

CONTEXT.subframeWanted = 0;
CONTEXT.subframeTaken = false;
CONTEXT.subframeMore = false;
CONTEXT.subframeNextOffset = 0;

/** Starts a frame decode that should deliver the A-MSDU subframe at byte `offset` of the aggregate. */
export function subframeStart(offset: i32): void {
  CONTEXT.subframeWanted = offset;
  CONTEXT.subframeTaken = false;
  CONTEXT.subframeMore = false;
  CONTEXT.subframeNextOffset = 0;
}
/** Claims the cursor for the first A-MSDU met in this decode: returns the wanted offset, or -1 for a
 *  nested one (which then delivers its first subframe and never reports more). */
export function subframeClaim(): i32 {
  if (CONTEXT.subframeTaken) return -1;
  CONTEXT.subframeTaken = true;
  return CONTEXT.subframeWanted;
}
/** Called by the claiming decoder: another subframe follows, at `offset` (> the current one). */
export function subframeSetMore(offset: i32): void { CONTEXT.subframeMore = true; CONTEXT.subframeNextOffset = offset; }
/** After a decode: does the frame hold a further subframe to decode? */
export function subframeHasMore(): bool { return CONTEXT.subframeMore; }
/** After a decode that has more: where the next subframe starts. */
export function subframeNext(): i32 { return CONTEXT.subframeNextOffset; }
