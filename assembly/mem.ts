// Byte-order helpers over raw linear memory.
//
// Contract: callers check bounds once per layer (smoltcp's check_len idea); after that these
// helpers read freely. Wasm is little-endian, network fields are big-endian.

// SAFETY: every caller has checked that [p, p+2) lies inside the current record.
@inline export function be16(p: usize): u32 { return <u32>bswap<u16>(load<u16>(p)); }
// SAFETY: every caller has checked that [p, p+4) lies inside the current record.
@inline export function be32(p: usize): u32 { return bswap<u32>(load<u32>(p)); }
@inline export function le16(p: usize): u32 { return <u32>load<u16>(p); }
@inline export function le32(p: usize): u32 { return load<u32>(p); }
/** Reads a 16-bit value in the given byte order (swap = big-endian source). */
@inline export function rd16(p: usize, swap: bool): u32 { const v = load<u16>(p); return swap ? <u32>bswap<u16>(v) : <u32>v; }
/** Reads a 32-bit value in the given byte order (swap = big-endian source). */
@inline export function rd32(p: usize, swap: bool): u32 { const v = load<u32>(p); return swap ? bswap<u32>(v) : v; }
