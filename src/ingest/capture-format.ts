/**
 * @module
 * Which container a stream starts with, from its first four bytes: the routes refuse a body that is
 * no capture (415) before reading the rest of it. The engine sniffs the same magic numbers
 * (assembly/capture/reader.ts) and reports every other container error itself.
 */

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
/** pcapng Section Header Block type, the same in both byte orders. */
const BT_SHB = 0x0a0d0d0a;

function bswap32(x: number): number {
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
}

/** The container a stream starts with, from its first four bytes (null: not a capture). */
export function captureFormat(head: Uint8Array): "pcap" | "pcapng" | null {
  if (head.length < 4) return null;
  const m = (head[0] | (head[1] << 8) | (head[2] << 16) | (head[3] << 24)) >>> 0;
  if (m === PCAP_MAGIC_US || m === PCAP_MAGIC_NS || m === bswap32(PCAP_MAGIC_US) || m === bswap32(PCAP_MAGIC_NS))
    return "pcap";
  return m === BT_SHB ? "pcapng" : null;
}
