// Byte-order helpers over raw linear memory.
//
// Contract: callers check bounds once per layer (smoltcp's check_len idea); after that these
// helpers read freely. Wasm is little-endian, network fields are big-endian.

import { MEM } from "./state";

// SAFETY: every caller has checked that [p, p+2) lies inside the current record.
// The bytes swapped by a multiply: x * 0x10001 is x twice, 16 bits apart, and bits 8..23 of it are
// the low byte then the high byte (three instructions where bswap<u16>'s shifts and or took five).
@inline export function be16(p: usize): u32 { return ((<u32>load<u16>(p) * 0x10001) >> 8) & 0xFFFF; }
// SAFETY: every caller has checked that [p, p+4) lies inside the current record.
@inline export function be32(p: usize): u32 { return bswap<u32>(load<u32>(p)); }
@inline export function le16(p: usize): u32 { return <u32>load<u16>(p); }
@inline export function le32(p: usize): u32 { return load<u32>(p); }
/** Reads a 16-bit value in the given byte order (swap = big-endian source). */
@inline export function rd16(p: usize, swap: bool): u32 { const v = load<u16>(p); return swap ? <u32>bswap<u16>(v) : <u32>v; }
/** Reads a 32-bit value in the given byte order (swap = big-endian source). */
@inline export function rd32(p: usize, swap: bool): u32 { const v = load<u32>(p); return swap ? bswap<u32>(v) : v; }

// Small fixed-size copies and fills with SIMD loads/stores. V8 compiles wasm's bulk-memory
// memory.copy/memory.fill to a runtime call, which costs more than the copy itself for the
// 16..384-byte blocks of the per-packet path (a live record, REC_LIVE, is the largest).

/** Copies 16 bytes. */
@inline export function copy16(dst: usize, src: usize): void { v128.store(dst, v128.load(src)); }

/** Copies n bytes, n a multiple of 16. */
@inline export function copyBlock(dst: usize, src: usize, n: usize): void {
  for (let i: usize = 0; i < n; i += 16) v128.store(dst + i, v128.load(src + i));
}

/** Exchanges n bytes between a and b (non-overlapping), n a multiple of 4. */
@inline export function swapBlock(a: usize, b: usize, n: usize): void {
  let i: usize = 0;
  for (; i + 8 <= n; i += 8) {
    const t = load<u64>(a + i);
    store<u64>(a + i, load<u64>(b + i));
    store<u64>(b + i, t);
  }
  if (i < n) {
    const t = load<u32>(a + i);
    store<u32>(a + i, load<u32>(b + i));
    store<u32>(b + i, t);
  }
}

/** Zeroes n bytes, n a multiple of 4 (a constant n leaves no tail test at run time). */
@inline export function zeroBlock(dst: usize, n: usize): void {
  const z = i64x2.splat(0);
  let i: usize = 0;
  for (; i + 16 <= n; i += 16) v128.store(dst + i, z);
  if ((n & 8) != 0) { store<u64>(dst + i, 0); i += 8; }
  if ((n & 4) != 0) store<u32>(dst + i, 0);
}

/** 16-byte equality (addresses). */
@inline export function eq16(a: usize, b: usize): bool {
  return load<u64>(a) == load<u64>(b) && load<u64>(a, 8) == load<u64>(b, 8);
}

// ---- allocation -------------------------------------------------------------------------------
// A bump allocator of our own, with its pointer in the state block (assembly/state.ts), so the whole
// engine state is linear memory: the runtime's allocator (--runtime stub) keeps its pointer in a wasm
// global, which a copy of the memory would miss. It behaves as the stub does: blocks are 16-byte
// aligned, memory grows by doubling (or by what the block needs, when doubling fails), and free()
// takes back only the last block handed out.
//
// `handedOut` is the end of the highest block ever handed out. Memory above it was never written: the
// initial memory past the static data is zero, and so are the pages memory.grow adds (WebAssembly
// spec, memory.grow). allocZeroed() therefore fills only the part of a block below that mark (a block
// the allocator handed out before and took back): a 6 MiB record chunk or a doubled index no longer
// pays a memset (7% of the engine's time in the perf profile, first-touch faults included) for pages
// that are zero already.

MEM.heapTop = (__heap_base + 15) & ~<usize>15;
MEM.handedOut = 0;

@inline function blockSize(n: usize): usize { return (n + 15) & ~<usize>15; }

function bump(n: usize): usize {
  const p = MEM.heapTop;
  const end = p + blockSize(n);
  const have = <usize>memory.size() << 16;
  if (end > have) {
    const before = memory.size();
    const needed = <i32>((end - have + 0xFFFF) >>> 16);
    if (memory.grow(max(before, needed)) < 0 && memory.grow(needed) < 0) unreachable(); // out of memory
  }
  MEM.heapTop = end;
  return p;
}

/** A block of n bytes: contents undefined. */
export function alloc(n: usize): usize {
  const p = bump(n);
  if (p + n > MEM.handedOut) MEM.handedOut = p + n;
  return p;
}

/** A block of n bytes, zeroed. */
export function allocZeroed(n: usize): usize {
  const p = bump(n);
  if (p < MEM.handedOut) memory.fill(p, 0, min(n, MEM.handedOut - p));
  if (p + n > MEM.handedOut) MEM.handedOut = p + n;
  return p;
}

/**
 * The end of every byte the allocator has handed out (or rounded up to): memory from here on was
 * never written since the instance started, so it still reads as zero. A host that reuses the
 * memory for a new instance (src/wasm/spare-memory.ts) zeroes below this mark only.
 */
export function heapEnd(): usize { return max(MEM.heapTop, MEM.handedOut); }

/** Takes back the block p of n bytes if it is the last one handed out (else it stays, unused). */
export function free(p: usize, n: usize): void {
  if (p + blockSize(n) == MEM.heapTop) MEM.heapTop = p;
}
