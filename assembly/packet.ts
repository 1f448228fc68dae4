// The decoded-segment descriptor: the one hand-off point between the capture decoders
// (assembly/capture, assembly/layers) and the flow tracker (assembly/flow).
//
// A decoder fills these fields for one TCP segment and calls trackPacket(). Segment records that
// arrive already parsed (JSON/msgpack batches) fill the same descriptor, so every input goes
// through one state machine. Addresses are 16 bytes; IPv4 is stored v4-mapped (::ffff:a.b.c.d),
// as Zeek's IPBasedConnKey does, so every key has one width.

import { PACKET } from "./state";

/** Descriptors are written into a ring of PKT_RING_SLOTS slots: the tracker processes them in batches. */
export const PKT_RING_SLOTS: i32 = 32;
export const PKT_SIZE: usize = 192; // clearPkt writes 12 x 16 bytes
export const PKT_RING: usize = memory.data(<i32>PKT_SIZE * PKT_RING_SLOTS, 16);
/** The descriptor being filled: the decoders write here; trackPacket() queues it and moves on to the next slot. */
PACKET.PKT = PKT_RING;
/** Points PKT at ring slot i. */
@inline export function usePktSlot(i: i32): void { PACKET.PKT = PKT_RING + <usize>i * PKT_SIZE; }
/**
 * Zeroes the descriptor at PKT before a frame is decoded into it (every field a decoder leaves
 * alone reads as 0): twelve 16-byte stores written out, since binaryen does not unroll and every
 * pass of a wasm loop pays a compare, a branch and V8's interrupt check.
 */
@inline export function clearPkt(): void { clearPktAt(PACKET.PKT); }

/** clearPkt for the descriptor at p (PACKET.PKT, held in the caller's local). */
@inline export function clearPktAt(p: usize): void {
  if (PKT_SIZE != 192) ERROR("clearPkt writes 192 bytes: write it again for the new PKT_SIZE");
  const z = i64x2.splat(0);
  v128.store(p, z);
  v128.store(p, z, 16);
  v128.store(p, z, 32);
  v128.store(p, z, 48);
  v128.store(p, z, 64);
  v128.store(p, z, 80);
  v128.store(p, z, 96);
  v128.store(p, z, 112);
  v128.store(p, z, 128);
  v128.store(p, z, 144);
  v128.store(p, z, 160);
  v128.store(p, z, 176);
}

export const P_TS: usize = 0;        // i64  capture time, microseconds since the epoch (Zeek truncates to µs)
export const P_SRC: usize = 8;       // 16 B source address (v4-mapped for IPv4)
export const P_DST: usize = 24;      // 16 B destination address
export const P_SPORT: usize = 40;    // u16
export const P_DPORT: usize = 42;    // u16
export const P_VLAN: usize = 44;     // u32  outer VLAN id (12 bits) | inner VLAN id << 12; 0 = untagged
export const P_IPVER: usize = 48;    // u8   4 or 6 (of the IP header carrying the TCP segment)
export const P_FLAGS: usize = 49;    // u8   TCP flags byte 13 (FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 ECE 0x40 CWR 0x80)
export const P_CSUM: usize = 50;     // u8   Csum.* below
export const P_THLEN: usize = 51;    // u8   TCP header length in bytes (data offset * 4)
export const P_SEQ: usize = 52;      // u32
export const P_ACK: usize = 56;      // u32
export const P_WIN: usize = 60;      // u16  raw (unscaled) window
export const P_OPTS: usize = 62;     // u8   Opt* bits below: options present in this segment
export const P_WSCALE: usize = 63;   // u8   window-scale shift when OPT_WSCALE is set
export const P_MSS: usize = 64;      // u16  when OPT_MSS is set
export const P_TUNNEL: usize = 66;   // u8   Tunnel.* below: outermost tunnel the segment came out of
export const P_TSVAL: usize = 68;    // u32  when OPT_TS is set
export const P_TSECR: usize = 72;    // u32
export const P_IPLEN: usize = 76;    // u32  IP bytes as Zeek counts them: IPv4 total length (0 for TSO), IPv6 payload length + 40
export const P_PAYLEN: usize = 80;   // u32  TCP payload length from the IP length fields (from caplen when IPv4 total length is 0)
export const P_PAYPTR: usize = 84;   // u32  pointer to the captured payload bytes
export const P_PAYCAP: usize = 88;   // u32  captured payload bytes available at P_PAYPTR (<= P_PAYLEN under a snaplen)
export const P_SACKN: usize = 92;    // u8   number of SACK blocks in this segment (0..4)
export const P_WHOLE: usize = 93;    // u8   1 = the whole TCP payload was seen (captured, or reassembled from IP fragments)
export const P_IPID: usize = 94;     // u16  IPv4 identification of the IP header carrying the segment; 0 for IPv6 or unknown
export const P_SACK: usize = 96;     // 4 x (u32 left, u32 right) SACK blocks, raw sequence numbers
// The innermost tunnel's outer connection (valid when P_TUNNEL != 0), written by enterTunnel():
// what Zeek's EncapsulatingConn records and what conn.log's tunnel_parents names.
export const P_OUTER_SRC: usize = 128;   // 16 B outer source address (v4-mapped for IPv4)
export const P_OUTER_DST: usize = 144;   // 16 B outer destination address
export const P_OUTER_SPORT: usize = 160; // u16  outer UDP source port (0 for IP tunnels: IP-in-IP, GRE)
export const P_OUTER_DPORT: usize = 162; // u16  outer UDP destination port
export const P_OUTER_VLAN: usize = 164;  // u32  outer packet's VLAN ids (as P_VLAN)
export const P_OUTER_PROTO: usize = 168; // u8   outer IP protocol: 17 UDP, 4/41 IP-in-IP, 47 GRE
export const P_IPPROTO: usize = 169;     // u8   protocol of the innermost IP header decoded so far (decodeTransport)
export const P_FRAME: usize = 176;     // f64  1-based number of the capture record (tshark frame.number) or segment record
export const P_CLOCK: usize = 184;     // i64  capture clock as of this segment's record (latest record time so far; 0 = its own time)

export const OPT_MSS: u8 = 1;
export const OPT_WSCALE: u8 = 2;
export const OPT_SACK_PERM: u8 = 4;
export const OPT_SACK: u8 = 8;
export const OPT_TS: u8 = 16;
export const OPT_TFO: u8 = 32;

export const TH_FIN: u32 = 0x01;
export const TH_SYN: u32 = 0x02;
export const TH_RST: u32 = 0x04;
export const TH_PSH: u32 = 0x08;
export const TH_ACK: u32 = 0x10;
export const TH_URG: u32 = 0x20;

export enum Csum {
  /** Checksum verified and correct. */
  Ok = 0,
  /** Checksum verified and wrong: Zeek records C/c and drops the segment. */
  Bad = 1,
  /** Segment cut short by the snaplen (or an IP fragment): cannot be verified, accepted (Zeek does the same). */
  Unverifiable = 2,
  /** Validation turned off (--ignore-checksums, Zeek -C) or a pre-parsed segment record. */
  NotChecked = 3,
  /** The TCP header is unusable beyond its fixed 20 bytes (data offset < 5, or options past the IP
   *  payload: Zeek `bad_TCP_header_len` / `truncated_header`). Zeek has keyed and created the
   *  connection by then; the segment is otherwise dropped: no packet, byte or history is counted. */
  HeaderBad = 4,
  /** The TCP options are cut by the snaplen (Zeek `truncated_header`), with the same consequences. */
  HeaderCut = 5,
}

/**
 * True for Csum.HeaderBad and Csum.HeaderCut: a segment whose TCP header is unusable, of which the
 * tracker counts nothing. They are the two largest codes, so this is one compare.
 */
@inline export function isHeaderOnly(csum: u8): bool {
  if (Csum.HeaderBad != 4 || Csum.HeaderCut != 5) ERROR("isHeaderOnly: HeaderBad and HeaderCut must stay the largest codes");
  return csum >= <u8>Csum.HeaderBad;
}

export enum Tunnel { None = 0, Teredo = 1, Gtpu = 2, Ayiya = 3, Vxlan = 4, Gre = 5, IpInIp = 6, Geneve = 7 }
