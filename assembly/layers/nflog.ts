// Linux NFLOG (link type 239, https://www.tcpdump.org/linktypes/LINKTYPE_NFLOG.html), as Zeek's
// NFLog analyzer reads it (src/packet_analysis/protocol/nflog/NFLog.cc).
//
// Contract: decodeNflog(p, cap, wire, ctx) with p at the 4-byte NFLOG header: address family (2
// AF_INET, 10 AF_INET6), version (must be 0, Zeek `unknown_nflog_version`), resource id; then
// TLVs of (length, type) in the capturing host's byte order, read little-endian here as Zeek reads
// them on the little-endian hosts that write nearly every such file. A TLV's length includes its
// 4 header bytes and is padded to a multiple of 4 (`nflog_bad_tlv_len` when < 4 or past the
// captured bytes). The packet follows the header of the payload TLV (type 9); the family picks
// Zeek's IP analyzer, which goes by the version nibble. More than 4 bytes must remain before each
// TLV (`nflog_no_pcap_payload`). Each pass consumes at least 4 captured bytes, so the loop ends.

import { Stat } from "../stats";
import { le16 } from "../mem";
import { decodeIp } from "./ip";

const NFLOG_FAMILY: usize = 0;
const NFLOG_VERSION: usize = 1;
const NFLOG_HDR: i32 = 4;
const TLV_LEN: usize = 0;
const TLV_TYPE: usize = 2;
const TLV_HDR: i32 = 4;
const TLV_ALIGN: i32 = 4;
const NFULA_PAYLOAD: u32 = 9;
const AF_INET: u32 = 2;
const AF_INET6: u32 = 10;

export function decodeNflog(p: usize, cap: i32, wire: i32, ctx: u32): i32 {
  if (cap <= NFLOG_HDR) return Stat.Truncated;                             // truncated_nflog_header
  // SAFETY: cap > 4 covers the header.
  const family = <u32>load<u8>(p + NFLOG_FAMILY);
  if (load<u8>(p + NFLOG_VERSION) != 0) return Stat.NonIp;                 // unknown_nflog_version
  let o = NFLOG_HDR;
  while (true) {
    // nflog_no_pcap_payload: at a TLV boundary the record simply has no packet (NonIp); inside a
    // TLV header it was cut short (Truncated).
    if (cap - o <= TLV_HDR) return cap == o && wire == o ? Stat.NonIp : Stat.Truncated;
    // SAFETY: o + 4 < cap covers the TLV header.
    const tlvLen = <i32>le16(p + <usize>o + TLV_LEN);
    const tlvType = le16(p + <usize>o + TLV_TYPE);
    if (tlvType == NFULA_PAYLOAD) { o += TLV_HDR; break; }
    if (tlvLen < TLV_HDR) return Stat.NonIp;                               // nflog_bad_tlv_len
    const skip = (tlvLen + TLV_ALIGN - 1) & ~(TLV_ALIGN - 1);
    if (skip > cap - o) return Stat.Truncated;                             // nflog_bad_tlv_len: runs past the record
    o += skip;
  }
  if (family != AF_INET && family != AF_INET6) return Stat.NonIp;
  return decodeIp(p + <usize>o, cap - o, wire - o, ctx);
}
