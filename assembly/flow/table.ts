// The flow table: a record pool plus an open-addressing index, both in linear memory.
//
// Records (REC_LIVE bytes, layout in live.ts) live in fixed-size chunks, so the pool grows by
// adding a chunk without moving live records. Freed records form a free list threaded through
// FR_EXT_REF. A record's extension block (anomalies, HTTP: EXT_SIZE bytes) is allocated from a pool
// of its own on first use, since most connections never record one; FR_EXT_REF names it (block
// id + 1, 0 = none). The extension block's live-only tail (live.ts X_TAIL) is a block of a third
// pool, attached to the extension block on first use; its X_TAIL_REF names it. A stream's
// out-of-order ranges and hole clocks are a hole block of a fourth pool (live.ts X_HOLE_REF), named
// by FR_EXT_REF (with REF_HOLE set) while the record has no extension block, then by the block.
//
// The index is a power-of-two array of u64 entries (low 32 bits: record id + 1,
// high 32 bits: key hash), probed linearly and deleted with backward shift, so lookups touch a
// record only when the full 32-bit hash matches. It doubles when three quarters full: linear
// probing then averages 2.5 entries for a hit and 8.5 for a miss (Knuth, TAOCP 6.4), a cache line
// or two of 8-byte entries, and the index costs 11-21 bytes per live flow instead of 16-32.
//
// The key hash is symmetric: hash(a, b) == hash(b, a), so both directions of a connection find
// the same record. It is keyed (SipHash-1-3 under a 128-bit key the host draws per process), so a
// capture cannot be crafted to put many connections on one probe chain (HashDoS, issue 11: 40k
// IPv6 clients of one /64 cost 17x as much as 40k random ones under the old fixed-seed hash).

import { REC_LIVE, EXT_LIVE, TAIL_SIZE, X_TAIL, X_TAIL_REF, HOLE_SIZE, X_HOLE_AT, X_HOLE_REF, FR_EXT_REF, FR_FLAGS, FR_DEADLINE, FF_LIVE, FF_VLAN_KEY, FR_ORIG_ADDR, FR_RESP_ADDR, FR_ORIG_PORT, FR_RESP_PORT, FR_VLAN, FF_V6, FF_MIDSTREAM, FF_MIDSTREAM_RESP } from "./live";
import { storeMidstream } from "./anomaly";
import { zeroBlock, eq16, allocZeroed, copy16, swapBlock } from "../mem";
import { OPTIONS, TABLE, TableState } from "../state";
import { sipHash, sipKeyState } from "../hash/siphash";

const CHUNK_SHIFT: u32 = 14;                 // 16384 records per chunk
const CHUNK_RECORDS: u32 = 1 << CHUNK_SHIFT;
const MAX_CHUNKS: u32 = 8192;                // 134M records: far above any sane flow cap
const CHUNKS: usize = memory.data(<i32>MAX_CHUNKS * 4, 16);
const NO_RECORD: u32 = 0xFFFFFFFF;
/** Extension blocks come in chunks of as many blocks as a record chunk has records. */
const EXT_CHUNKS: usize = memory.data(<i32>MAX_CHUNKS * 4, 16);
const EXT_CHUNK_BYTES: usize = <usize>CHUNK_RECORDS * <usize>EXT_LIVE;
const EXT_CHUNK_PAGES: i32 = <i32>((EXT_CHUNK_BYTES + 0xFFFF) >> 16);
TABLE.nExtChunks = 0;
/**
 * IPv6 key blocks (live.ts FR_ORIG_ADDR): 32 bytes (originator's address, then the responder's) for
 * each live IPv6 connection, from a pool of their own (a free list threaded through the blocks' first
 * u32), in chunks of as many blocks as a record chunk has records. A capture without IPv6 has none.
 */
const V6_CHUNKS: usize = memory.data(<i32>MAX_CHUNKS * 4, 16);
const V6_BLOCK: usize = 32;
const V6_CHUNK_BYTES: usize = <usize>CHUNK_RECORDS * V6_BLOCK;
const V6_CHUNK_PAGES: i32 = <i32>((V6_CHUNK_BYTES + 0xFFFF) >> 16);
TABLE.nV6Chunks = 0;
TABLE.v6HighWater = 0;
TABLE.v6FreeHead = NO_RECORD;
TABLE.extHighWater = 0;
TABLE.extFreeHead = NO_RECORD;
/** Tail blocks (live.ts X_TAIL), in chunks of as many blocks as a record chunk has records. */
const TAIL_CHUNKS: usize = memory.data(<i32>MAX_CHUNKS * 4, 16);
const TAIL_CHUNK_BYTES: usize = <usize>CHUNK_RECORDS * <usize>TAIL_SIZE;
const TAIL_CHUNK_PAGES: i32 = <i32>((TAIL_CHUNK_BYTES + 0xFFFF) >> 16);
TABLE.nTailChunks = 0;
TABLE.tailHighWater = 0;
TABLE.tailFreeHead = NO_RECORD;
/** Hole blocks (live.ts X_HOLE_REF), in chunks of as many blocks as a record chunk has records. */
const HOLE_CHUNKS: usize = memory.data(<i32>MAX_CHUNKS * 4, 16);
const HOLE_CHUNK_BYTES: usize = <usize>CHUNK_RECORDS * <usize>HOLE_SIZE;
const HOLE_CHUNK_PAGES: i32 = <i32>((HOLE_CHUNK_BYTES + 0xFFFF) >> 16);
TABLE.nHoleChunks = 0;
TABLE.holeHighWater = 0;
TABLE.holeFreeHead = NO_RECORD;
/** FR_EXT_REF with this bit set names a hole block (its id + 1 in the bits below) and no extension block. */
const REF_HOLE: u32 = 0x80000000;

// ---- block pools ---------------------------------------------------------------------------------
// Extension blocks and IPv6 key blocks come from pools of the same shape: fixed-size blocks in
// chunks of CHUNK_RECORDS, chunk pointers in an array of MAX_CHUNKS, freed blocks on a free list
// threaded through their first u32. A pool's state is three consecutive u32 of TableState: chunk
// count, high-water mark (ids below it were handed out) and free-list head.
// (Functions, not constants: like TABLE's field accesses they fold to constant addresses, where a
// constant computed from TABLE could become a wasm global, which the engine state must not have.)
@inline function extPool(): usize { return changetype<usize>(TABLE) + offsetof<TableState>("nExtChunks"); }
@inline function v6Pool(): usize { return changetype<usize>(TABLE) + offsetof<TableState>("nV6Chunks"); }
@inline function tailPool(): usize { return changetype<usize>(TABLE) + offsetof<TableState>("nTailChunks"); }
@inline function holePool(): usize { return changetype<usize>(TABLE) + offsetof<TableState>("nHoleChunks"); }

/** Block x of the pool whose chunk array is `chunks` and whose blocks are `size` bytes. */
// SAFETY: x < the pool's high-water mark <= its chunk count * CHUNK_RECORDS.
@inline function poolBlock(chunks: usize, size: usize, x: u32): usize {
  return load<usize>(chunks + (<usize>(x >> CHUNK_SHIFT) << 2)) + <usize>(x & (CHUNK_RECORDS - 1)) * size;
}

/** Takes a block id from a pool (state at `pool`): the free list first, else the next id, adding a chunk when needed. */
@inline function poolTake(pool: usize, chunks: usize, size: usize): u32 {
  const free = load<u32>(pool, 8);
  if (free != NO_RECORD) {
    store<u32>(pool, load<u32>(poolBlock(chunks, size, free)), 8);
    return free;
  }
  const n = load<u32>(pool), x = load<u32>(pool, 4);
  if (x == n * CHUNK_RECORDS) {
    // tableCanGrow() kept room for a chunk of each pool per record chunk, so this allocation fits.
    store<usize>(chunks + (<usize>n << 2), chunkAlloc(<usize>CHUNK_RECORDS * size));
    store<u32>(pool, n + 1);
  }
  store<u32>(pool, x + 1, 4);
  return x;
}

/** Puts block x back on the pool's free list. */
@inline function poolGive(pool: usize, chunks: usize, size: usize, x: u32): void {
  store<u32>(poolBlock(chunks, size, x), load<u32>(pool, 8));
  store<u32>(pool, x, 8);
}

TABLE.nChunks = 0;
TABLE.highWater = 0;      // records ever handed out (ids < highWater are allocated)
TABLE.freeHead = NO_RECORD;
TABLE.liveCount = 0;

TABLE.indexBase = 0;
TABLE.indexMask = 0;      // capacity - 1
TABLE.k0 = 0;
TABLE.k1 = 0;
sipKeyState();

/** Empties the table; `key0`/`key1` are the hash key for the records to come. */
export function tableInit(key0: u64, key1: u64): void {
  TABLE.k0 = key0;
  TABLE.k1 = key1;
  sipKeyState();
  if (TABLE.indexBase == 0) {
    TABLE.indexMask = (1 << 16) - 1;
    TABLE.indexBase = allocZeroed(<usize>(TABLE.indexMask + 1) << 3);
  } else {
    memory.fill(TABLE.indexBase, 0, <usize>(TABLE.indexMask + 1) << 3);
  }
  for (let c: u32 = 0; c < TABLE.nChunks; c++) {
    memory.fill(load<usize>(CHUNKS + (<usize>c << 2)), 0, CHUNK_BYTES);
  }
  restartIds();
}

/**
 * Empties the table once the end of the input emitted every live record (tracker.ts flushAll),
 * which then need not be unindexed and freed one by one (remove): the index is zeroed, and record
 * ids, extension blocks, their tail blocks, hole blocks and IPv6 key blocks restart at 0 with empty free lists,
 * as after tableInit(). Their chunks stay allocated and are not zeroed: insert() zeroes a record,
 * extAttachOf() an extension block, extTailAttachOf() a tail block, extHoleAttachOf() a hole block and setKeyAddrs() writes a key
 * block before use, and nothing reads a record, block or free-list link at or above a high-water mark.
 */
export function tableClear(): void {
  memory.fill(TABLE.indexBase, 0, <usize>(TABLE.indexMask + 1) << 3);
  restartIds();
}

/** Record ids, extension blocks, tail blocks, hole blocks and IPv6 key blocks restart at 0 with empty free lists; none is live. */
function restartIds(): void {
  TABLE.highWater = 0;
  TABLE.freeHead = NO_RECORD;
  TABLE.liveCount = 0;
  TABLE.extHighWater = 0;
  TABLE.extFreeHead = NO_RECORD;
  TABLE.tailHighWater = 0;
  TABLE.tailFreeHead = NO_RECORD;
  TABLE.holeHighWater = 0;
  TABLE.holeFreeHead = NO_RECORD;
  TABLE.v6HighWater = 0;
  TABLE.v6FreeHead = NO_RECORD;
}

export function tableLive(): i32 { return TABLE.liveCount; }
export function tableHighWater(): u32 { return TABLE.highWater; }

/** A chunk holds CHUNK_RECORDS live records; chunks start on a cache line. */
const CHUNK_ALIGN: usize = 64;
const CHUNK_BYTES: usize = <usize>CHUNK_RECORDS * <usize>REC_LIVE;

/** Address of record `id`. */
// SAFETY: id < highWater <= nChunks * CHUNK_RECORDS, so the chunk pointer exists.
@inline export function recPtr(id: u32): usize {
  return load<usize>(CHUNKS + (<usize>(id >> CHUNK_SHIFT) << 2)) + <usize>(id & (CHUNK_RECORDS - 1)) * <usize>REC_LIVE;
}

/** Address of the u32 naming record `id`'s extension block (block id + 1, 0 = none). */
@inline function extRef(id: u32): usize { return recPtr(id) + <usize>FR_EXT_REF; }

/** Address of extension block `x`. */
// SAFETY: x < extHighWater <= nExtChunks * CHUNK_RECORDS.
@inline function extBlockPtr(x: u32): usize { return poolBlock(EXT_CHUNKS, <usize>EXT_LIVE, x); }

/** Address of the extension block of record `id`, or 0 when it has none yet (all its fields read as zero). */
export function extPtr(id: u32): usize { return extOf(recPtr(id)); }

/** Address of the extension block of the live record at r, or 0 when it has none yet. */
export function extOf(r: usize): usize {
  const x = load<u32>(r + FR_EXT_REF);
  // One test for none (0, which wraps) and a hole block alone (REF_HOLE set).
  return x - 1 >= REF_HOLE - 1 ? 0 : extBlockPtr(x - 1);
}

/** The extension block of record `id`, allocated and zeroed on first use. */
export function extAttach(id: u32): usize { return extAttachOf(recPtr(id)); }

/** The extension block of the live record at r, allocated and zeroed on first use. */
export function extAttachOf(r: usize): usize {
  const ref = r + <usize>FR_EXT_REF;
  const cur = load<u32>(ref);
  if (cur - 1 < REF_HOLE - 1) return extBlockPtr(cur - 1);
  const x = poolTake(extPool(), EXT_CHUNKS, <usize>EXT_LIVE);
  const p = extBlockPtr(x);
  zeroBlock(p, <usize>EXT_LIVE);
  // A hole block the record took first stays where it is: the extension block names it now.
  if (cur != 0) store<u32>(p + X_HOLE_REF, cur & ~REF_HOLE);
  store<u32>(ref, x + 1);
  // The midstream anomaly the record kept in its flags (live.ts FF_MIDSTREAM) moves into the block.
  const f = load<u32>(r + FR_FLAGS);
  if ((f & FF_MIDSTREAM) != 0) {
    storeMidstream(p, (f & FF_MIDSTREAM_RESP) != 0);
    store<u32>(r + FR_FLAGS, f & ~(FF_MIDSTREAM | FF_MIDSTREAM_RESP));
  }
  return p;
}

/** Address of tail block `t`. */
// SAFETY: t < tailHighWater <= nTailChunks * CHUNK_RECORDS.
@inline function tailBlockPtr(t: u32): usize { return poolBlock(TAIL_CHUNKS, <usize>TAIL_SIZE, t); }

/**
 * The tail base (live.ts X_TAIL: a tail field x is at the base + x) of the extension block at ext,
 * or 0 when ext is 0 or has no tail yet (all tail fields read as zero).
 */
@inline export function extTailIn(ext: usize): usize {
  if (ext == 0) return 0;
  const t = load<u32>(ext + X_TAIL_REF);
  return t == 0 ? 0 : tailBlockPtr(t - 1) - <usize>X_TAIL;
}

/** The tail base of the live record at r (extTailIn), or 0 when it has no tail yet. */
export function extTailOf(r: usize): usize { return extTailIn(extOf(r)); }

/** The tail base of the live record at r, its extension block and the block's tail allocated and zeroed on first use. */
export function extTailAttachOf(r: usize): usize {
  const ext = extAttachOf(r);
  const cur = load<u32>(ext + X_TAIL_REF);
  if (cur != 0) return tailBlockPtr(cur - 1) - <usize>X_TAIL;
  const t = poolTake(tailPool(), TAIL_CHUNKS, <usize>TAIL_SIZE);
  const p = tailBlockPtr(t);
  zeroBlock(p, <usize>TAIL_SIZE);
  store<u32>(ext + X_TAIL_REF, t + 1);
  return p - <usize>X_TAIL;
}

/** Address of hole block `h`. */
// SAFETY: h < holeHighWater <= nHoleChunks * CHUNK_RECORDS.
@inline function holeBlockPtr(h: u32): usize { return poolBlock(HOLE_CHUNKS, <usize>HOLE_SIZE, h); }

/**
 * The hole base (live.ts X_HOLE_AT: a hole field x, X_BLOCKS or X_HOLE_*, is at the base + x) of
 * the live record at r, or 0 when it has no hole block yet (all hole fields read as zero).
 */
export function extHoleOf(r: usize): usize {
  const x = load<u32>(r + FR_EXT_REF);
  const h = x - 1 < REF_HOLE - 1 ? load<u32>(extBlockPtr(x - 1) + X_HOLE_REF) : x & ~REF_HOLE;
  return h == 0 ? 0 : holeBlockPtr(h - 1) - <usize>X_HOLE_AT;
}

/** The hole base of the live record at r, its hole block allocated and zeroed on first use (the extension block is not). */
export function extHoleAttachOf(r: usize): usize {
  const b = extHoleOf(r);
  if (b != 0) return b;
  const h = poolTake(holePool(), HOLE_CHUNKS, <usize>HOLE_SIZE);
  const p = holeBlockPtr(h);
  zeroBlock(p, <usize>HOLE_SIZE);
  const x = load<u32>(r + FR_EXT_REF);
  // x is 0 or names an extension block: a record whose FR_EXT_REF names a hole block has one.
  if (x == 0) store<u32>(r + FR_EXT_REF, REF_HOLE | (h + 1));
  else store<u32>(extBlockPtr(x - 1) + X_HOLE_REF, h + 1);
  return p - <usize>X_HOLE_AT;
}

/** Returns record `id`'s extension block, if any, its tail and its hole block, if any, to their pools. */
function extRelease(id: u32): void {
  const ref = extRef(id);
  const cur = load<u32>(ref);
  if (cur == 0) return;
  if ((cur & REF_HOLE) != 0) {
    poolGive(holePool(), HOLE_CHUNKS, <usize>HOLE_SIZE, (cur & ~REF_HOLE) - 1);
  } else {
    const e = extBlockPtr(cur - 1);
    const t = load<u32>(e + X_TAIL_REF);
    if (t != 0) poolGive(tailPool(), TAIL_CHUNKS, <usize>TAIL_SIZE, t - 1);
    const h = load<u32>(e + X_HOLE_REF);
    if (h != 0) poolGive(holePool(), HOLE_CHUNKS, <usize>HOLE_SIZE, h - 1);
    poolGive(extPool(), EXT_CHUNKS, <usize>EXT_LIVE, cur - 1);
  }
  store<u32>(ref, 0);
}

// ---- addresses ---------------------------------------------------------------------------------------
// A connection's addresses are the 16-byte forms of packet.ts (IPv4 v4-mapped); the live record keeps
// them as live.ts FR_ORIG_ADDR says. These functions are the only readers and writers of that form.

/** Two 16-byte address forms for keyAddr() to write an IPv4 connection's addresses into. */
const ADDR_SCRATCH: usize = memory.data(32, 16);

/** Whether the live record r's addresses are in an IPv6 key block (live.ts FF_V6). */
@inline function isV6(r: usize): bool { return (load<u32>(r + FR_FLAGS) & FF_V6) != 0; }

/** Whether the 16-byte address at p is v4-mapped (::ffff:a.b.c.d). */
@inline function isV4Mapped(p: usize): bool { return load<u64>(p) == 0 && load<u32>(p, 8) == 0xFFFF0000; }

/** IPv6 key block `x`. */
// SAFETY: x < v6HighWater <= nV6Chunks * CHUNK_RECORDS (x comes from a record with FF_V6 set).
@inline function v6Block(x: u32): usize { return poolBlock(V6_CHUNKS, V6_BLOCK, x); }

/**
 * Address of the 16-byte form of the live record r's originator (resp false) or responder address:
 * in its IPv6 key block, or written into a scratch form that stays valid until the next call for
 * the same side.
 */
export function keyAddr(r: usize, resp: bool): usize {
  if (isV6(r)) return v6Block(load<u32>(r + FR_ORIG_ADDR)) + (resp ? 16 : 0);
  const p = ADDR_SCRATCH + (resp ? 16 : 0);
  store<u64>(p, 0);
  store<u32>(p, 0xFFFF0000, 8);
  store<u32>(p, load<u32>(r + (resp ? FR_RESP_ADDR : FR_ORIG_ADDR)), 12);
  return p;
}

/** Whether the 16-byte address at p is the live record r's originator (resp false) or responder address. */
export function addrMatches(r: usize, resp: bool, p: usize): bool {
  if (isV6(r)) return eq16(v6Block(load<u32>(r + FR_ORIG_ADDR)) + (resp ? 16 : 0), p);
  return isV4Mapped(p) && load<u32>(r + (resp ? FR_RESP_ADDR : FR_ORIG_ADDR)) == load<u32>(p, 12);
}

/**
 * Sets the addresses of the new live record r to the 16-byte forms at src (originator) and dst
 * (taking an IPv6 key block for an IPv6 connection; remove() gives it back).
 */
export function setKeyAddrs(r: usize, src: usize, dst: usize): void {
  if (isV4Mapped(src) && isV4Mapped(dst)) {
    store<u32>(r + FR_ORIG_ADDR, load<u32>(src, 12));
    store<u32>(r + FR_RESP_ADDR, load<u32>(dst, 12));
    store<u32>(r + FR_FLAGS, load<u32>(r + FR_FLAGS) & ~FF_V6);
    return;
  }
  const x = poolTake(v6Pool(), V6_CHUNKS, V6_BLOCK);
  store<u32>(r + FR_ORIG_ADDR, x);
  store<u32>(r + FR_RESP_ADDR, 0);
  store<u32>(r + FR_FLAGS, load<u32>(r + FR_FLAGS) | FF_V6);
  const b = v6Block(x);
  copy16(b, src);
  copy16(b + 16, dst);
}

/** Exchanges the live record r's originator and responder addresses (a role flip). */
export function swapKeyAddrs(r: usize): void {
  if (isV6(r)) {
    const b = v6Block(load<u32>(r + FR_ORIG_ADDR));
    swapBlock(b, b + 16, 16);
  } else {
    swapBlock(r + FR_ORIG_ADDR, r + FR_RESP_ADDR, 4);
  }
}

// ---- hashing -------------------------------------------------------------------------------------
// SipHash-1-3 (Aumasson & Bernstein, "SipHash: a fast short-input PRF"; one compression and three
// finalisation rounds, the variant Rust's HashMap and CPython use against hash flooding) of the
// canonical key: the endpoint that sorts first (address, then port), then the other, then the
// VLAN id. Without the key nobody can tell which tuples share a slot; with it the output is the
// same, since nothing the host sees depends on the hash (records are found by full key compare,
// and ids, sweep and output order follow the record pool).
//
// The message is the two addresses (32 bytes, or 8 for an IPv4 key), the VLAN ids (3 bytes: two
// 12-bit ids, P_VLAN) and the two ports (4 bytes): 39 or 15 bytes, so the ids and ports share
// SipHash's last block with the length byte (the paper's §2: b = len << 56 | the last len mod 8
// bytes) and no block holds the length alone.

/** The last message block: VLAN ids (bytes 0..2), ports (3..6), the message length (7). */
@inline function sipLastBlock(ports: u32, vlan: u32, len: u64): u64 {
  return (len << 56) | (<u64>ports << 24) | <u64>(vlan & VLAN_KEY_MASK);
}
/** P_VLAN's 24 bits: outer id | inner id << 12 (packet.ts). */
const VLAN_KEY_MASK: u32 = 0xFFFFFF;
const SIP_LEN: u64 = 39;
/** An IPv4 key's message length (keyHashV4). */
const SIP_LEN_V4: u64 = 15;

/** Symmetric keyed hash of a connection key (see above). */
@inline export function keyHash(src: usize, sport: u32, dst: usize, dport: u32, vlan: u32): u32 {
  return <u32>keyHashFamily(src, sport, dst, dport, vlan);
}

/**
 * keyHash() in the low half, and in the high half the key's family as the record's flags say it
 * (FF_V6 for an IPv6 key, else 0): what lookup() takes, found by the test keyHash() makes anyway.
 */
@inline export function keyHashFamily(src: usize, sport: u32, dst: usize, dport: u32, vlan: u32): u64 {
  const s0 = load<u64>(src), s1 = load<u64>(src, 8), d0 = load<u64>(dst), d1 = load<u64>(dst, 8);
  // Both addresses v4-mapped (packet.ts: bytes 0..9 zero, 10..11 0xFF, the IPv4 address in 12..15), in one test.
  if ((s0 | d0 | <u64>((<u32>s1 ^ 0xFFFF0000) | (<u32>d1 ^ 0xFFFF0000))) == 0) return <u64>keyHashV4(s1 >>> 32, sport, d1 >>> 32, dport, vlan);
  return (<u64>FF_V6 << 32) | <u64>keyHashV6(s0, s1, d0, d1, sport, dport, vlan);
}

/** keyHash of an IPv6 key: addresses as the descriptor holds them (s0, s1 the source's two words, d0, d1 the destination's). */
@inline function keyHashV6(s0: u64, s1: u64, d0: u64, d1: u64, sport: u32, dport: u32, vlan: u32): u32 {
  // Any total order will do, as long as both directions of a connection pick the same first endpoint.
  const swap = s0 > d0 || (s0 == d0 && (s1 > d1 || (s1 == d1 && sport > dport)));
  // The message: four address words, then the last block (VLAN ids, ports, length).
  const m0 = select<u64>(d0, s0, swap), m1 = select<u64>(d1, s1, swap);
  const m2 = select<u64>(s0, d0, swap), m3 = select<u64>(s1, d1, swap);
  const ports = swap ? (dport << 16) | sport : (sport << 16) | dport;
  const m4 = sipLastBlock(ports, vlan, SIP_LEN);
  return sipHash(5, 3, m0, m1, m2, m3, m4);
}

/**
 * keyHash of an IPv4 key (`sa`, `da` the 4-byte addresses): the same canonical key as a 15-byte
 * message, the two addresses then the VLAN ids and ports: two compression rounds where the 39-byte
 * form takes five. The length byte keeps the two forms apart; either is SipHash-1-3 of an
 * injective encoding of the key under the secret key.
 */
@inline function keyHashV4(sa: u64, sport: u32, da: u64, dport: u32, vlan: u32): u32 {
  // The endpoint that sorts first (address, then port) leads: one compare of the 48-bit address:port forms.
  const swap = ((sa << 16) | <u64>sport) > ((da << 16) | <u64>dport);
  const m0 = swap ? (da << 32) | sa : (sa << 32) | da;
  const p = (sport << 16) | dport;
  const ports = swap ? rotl<u32>(p, 16) : p;
  const m1 = sipLastBlock(ports, vlan, SIP_LEN_V4);
  return sipHash(2, 3, m0, m1, 0, 0, 0);
}

/**
 * Test hook: keyHash of the key (src, sport, dst, dport, vlan), addresses at src and dst as the
 * descriptor holds them (16 bytes, v4-mapped for IPv4). test/host/table-hash.test.ts checks it
 * against a reference SipHash-1-3.
 */
export function keyHashOf(src: usize, sport: u32, dst: usize, dport: u32, vlan: u32): u32 {
  return keyHash(src, sport, dst, dport, vlan);
}

/**
 * The key hash of the live record at r, as lookup() and insert() had it from the packet (the live
 * record does not keep it: it is needed only when the record leaves the table).
 */
export function recordHash(r: usize): u32 {
  const vlan = (load<u32>(r + FR_FLAGS) & FF_VLAN_KEY) != 0 ? load<u32>(r + FR_VLAN) : 0;
  if (!isV6(r)) {
    // An IPv4 record: its 4-byte addresses are what keyHash() takes from the v4-mapped ones.
    return keyHashV4(<u64>load<u32>(r + FR_ORIG_ADDR), <u32>load<u16>(r + FR_ORIG_PORT), <u64>load<u32>(r + FR_RESP_ADDR),
      <u32>load<u16>(r + FR_RESP_PORT), vlan);
  }
  return keyHash(keyAddr(r, false), <u32>load<u16>(r + FR_ORIG_PORT), keyAddr(r, true), <u32>load<u16>(r + FR_RESP_PORT), vlan);
}


// ---- lookup ----------------------------------------------------------------------------------------

// lookup() reads an IPv4 record's two addresses as one u64 and its two ports as one u32.
if (FR_RESP_ADDR != FR_ORIG_ADDR + 4 || FR_RESP_PORT != FR_ORIG_PORT + 2) ERROR("lookup() needs FR_RESP_ADDR right after FR_ORIG_ADDR, FR_RESP_PORT right after FR_ORIG_PORT");
// lookup() returns the record's address with the direction in its low bit.
if ((REC_LIVE & 3) != 0 || (CHUNK_ALIGN & 3) != 0) ERROR("lookup() needs records on a 4-byte boundary");

/**
 * Finds the live record for the key in either direction (inlined into tracker.ts trackOne, its one
 * caller, once a segment). `v6` is keyFamily()'s answer for the packet, `vlanKey` OPTIONS.vlanInKey.
 * Returns 0 when there is none, else found(): the record's id, its address, and whether the
 * packet's source is its originator, in one value (wasm has no out-parameters; a field of the
 * table's state would be a store and a load a segment).
 */
@inline export function lookup(h: u32, v6: u32, src: usize, sport: u32, dst: usize, dport: u32, vlan: u32, vlanKey: bool): u64 {
  // An IPv4 record's key as the packet would have it from its originator: addresses (live.ts
  // FR_ORIG_ADDR then FR_RESP_ADDR) as one u64, ports (FR_ORIG_PORT then FR_RESP_PORT) as one u32,
  // little-endian; from the responder both halves swap. One compare each instead of two.
  const addrs = (<u64>load<u32>(dst, 12) << 32) | <u64>load<u32>(src, 12);
  const ports = (dport << 16) | sport;
  // Nothing is stored while probing: the index's base and mask stay in locals.
  const base = TABLE.indexBase, mask = TABLE.indexMask;
  let i = h & mask;
  while (true) {
    // SAFETY: i <= indexMask, inside the index.
    const e = load<u64>(base + (<usize>i << 3));
    if (e == 0) return 0;
    if (<u32>(e >>> 32) == h) {
      const id = <u32>e - 1;
      const r = recPtr(id);
      // Zeek's default key is the plain 5-tuple; the VLAN ids count only with vlan_fivetuple.
      // An IPv4 packet (both addresses v4-mapped) can only be an IPv4 record's, and the other way round.
      if ((!vlanKey || load<u32>(r + FR_VLAN) == vlan) && (load<u32>(r + FR_FLAGS) & FF_V6) == v6) {
        const rports = load<u32>(r + FR_ORIG_PORT);
        if (v6 == 0) {
          const raddrs = load<u64>(r + FR_ORIG_ADDR);
          if (rports == ports && raddrs == addrs) return found(id, r, true);
          if (rports == rotl<u32>(ports, 16) && raddrs == rotl<u64>(addrs, 32)) return found(id, r, false);
        } else {
          const op = rports & 0xFFFF, rp = rports >>> 16;
          const b = v6Block(load<u32>(r + FR_ORIG_ADDR));
          if (op == sport && rp == dport && eq16(b, src) && eq16(b + 16, dst)) return found(id, r, true);
          if (op == dport && rp == sport && eq16(b, dst) && eq16(b + 16, src)) return found(id, r, false);
        }
      }
    }
    i = (i + 1) & mask;
  }
  return 0;
}

/** lookup()'s answer for record `id` at r: the id in the high half, the address with the direction in bit 0 below. */
@inline function found(id: u32, r: usize, isOrig: bool): u64 { return (<u64>id << 32) | <u64>(r | <usize>isOrig); }
/** The record lookup() found (its answer not 0). */
@inline export function foundRec(f: u64): usize { return <usize>(<u32>f & ~3); }
/** The id of the record lookup() found. */
@inline export function foundId(f: u64): u32 { return <u32>(f >>> 32); }
/** Whether the packet's source is the originator of the record lookup() found. */
@inline export function foundIsOrig(f: u64): bool { return (<u32>f & 1) != 0; }

export function isNoRecord(id: u32): bool { return id == NO_RECORD; }

/** Loads the key's home index slot (a cache hint; the value is only folded into a sink). */
@inline export function touchIndex(h: u32): u32 {
  // SAFETY: h & indexMask is inside the index.
  return <u32>load<u64>(TABLE.indexBase + (<usize>(h & TABLE.indexMask) << 3));
}

/**
 * Loads the first word of the record at r, a word every 64 bytes after it and its last word: one
 * in every cache line it spans (r need not start a line: records are REC_LIVE bytes apart, so the
 * first line can hold only the key, which lookup() reads first). The offsets are constants; records
 * of up to 384 bytes.
 */
@inline function touchLines(r: usize): u32 {
  let s = load<u32>(r) ^ load<u32>(r + <usize>REC_LIVE - 4);
  if (REC_LIVE > 64) s ^= load<u32>(r, 64);
  if (REC_LIVE > 128) s ^= load<u32>(r, 128);
  if (REC_LIVE > 192) s ^= load<u32>(r, 192);
  if (REC_LIVE > 256) s ^= load<u32>(r, 256);
  if (REC_LIVE > 320) s ^= load<u32>(r, 320);
  return s;
}

/**
 * Where recordHinted() points when no record carries the hash: a record-sized block of its own,
 * whose lines stay in cache, so touching it as a record costs nothing.
 */
export const NO_RECORD_BLOCK: usize = memory.data(REC_LIVE, 64);

/**
 * The record whose index entry carries hash h, else NO_RECORD_BLOCK (a cache hint: follows the
 * probe chain a few slots, as lookup() will; the key is not compared).
 */
@inline export function recordHinted(h: u32): usize {
  let i = h & TABLE.indexMask;
  for (let k = 0; k < 4; k++) {
    // SAFETY: i <= indexMask, inside the index.
    const e = load<u64>(TABLE.indexBase + (<usize>i << 3));
    if (e == 0) break;
    // SAFETY: a non-zero entry names a live record id < highWater.
    if (<u32>(e >>> 32) == h) return recPtr(<u32>e - 1);
    i = (i + 1) & TABLE.indexMask;
  }
  return NO_RECORD_BLOCK;
}

/**
 * Loads every cache line of record r (recordHinted: a record, or NO_RECORD_BLOCK, whose lines are
 * as harmless to load), with no branch on what it loads: a loop of these keeps the misses of
 * many records in flight at once.
 */
@inline export function touchRecordLines(r: usize): u32 {
  return load<u32>(r + FR_FLAGS) ^ touchLines(r);
}

/**
 * Loads the line of an IPv6 record's key block, which lookup() compares (a cache hint: the
 * record's own lines were touched before, so its flags are at hand).
 */
@inline export function touchKeyBlock(r: usize): u32 {
  return isV6(r) ? load<u32>(v6Block(load<u32>(r + FR_ORIG_ADDR))) : 0;
}

/**
 * Loads the two words of pool slot `id` that the sweep (tracker.ts) reads, its flags and cached
 * deadline (a cache hint: the sweep walks the pool one slot per segment, a miss per segment when
 * the pool is larger than the cache). `id` must be below the high-water mark.
 */
@inline export function touchSweepSlot(id: u32): u32 {
  const r = recPtr(id);
  return load<u32>(r + FR_FLAGS) ^ load<u32>(r + FR_DEADLINE);
}

/** The record the next insert() will take from the free list, or NO_RECORD. */
export function freeListHead(): u32 { return TABLE.freeHead; }

/**
 * Loads every cache line of free record `id` (a cache hint for the insert() that will zero it),
 * and returns the next free record id.
 */
@inline export function touchFreeRecord(id: u32): u32 {
  const r = recPtr(id);
  return load<u32>(r + FR_EXT_REF) | (touchLines(r) & 0);
}

// ---- insert / remove -----------------------------------------------------------------------------------

// ---- spare memory -----------------------------------------------------------------------------------
// The runtime's bump allocator never takes a block back, so each index array a doubling leaves
// behind would stay resident for good: the index generations below the current one add up to
// its size again (16-32 more bytes per live flow, a third of the 438-byte peak-RSS slope of
// bench/scaling.mjs). They become spare regions, and record and extension chunks are carved from
// them before the allocator is asked for new pages.

const MAX_SPARE: i32 = 32;                   // one region per doubling: 2^16 -> 2^48 entries
const SPARE: usize = memory.data(MAX_SPARE * 16, 16); // (start, end) usize pairs; start == end when used up
TABLE.nSpare = 0;

/** Makes [p, p + n) spare (an old index array: nothing points into it any more). */
function addSpare(p: usize, n: usize): void {
  if (TABLE.nSpare == MAX_SPARE) return; // cannot happen (one region per doubling); the memory is then simply left idle
  store<usize>(SPARE + (<usize>TABLE.nSpare << 4), p);
  store<usize>(SPARE + (<usize>TABLE.nSpare << 4), p + n, 8);
  TABLE.nSpare++;
}

/**
 * A zeroed block of n bytes starting on a cache line (CHUNK_ALIGN): carved from the first spare
 * region it fits in, else from the allocator.
 */
function chunkAlloc(n: usize): usize {
  for (let i = 0; i < TABLE.nSpare; i++) {
    const e = SPARE + (<usize>i << 4);
    const p = (load<usize>(e) + CHUNK_ALIGN - 1) & ~(CHUNK_ALIGN - 1);
    const end = load<usize>(e, 8);
    if (p <= end && end - p >= n) {
      store<usize>(e, p + n);
      memory.fill(p, 0, n); // the old index entries
      return p;
    }
  }
  return (allocZeroed(n + CHUNK_ALIGN) + CHUNK_ALIGN - 1) & ~(CHUNK_ALIGN - 1);
}

function growIndex(): void {
  const oldBase = TABLE.indexBase, oldCap = TABLE.indexMask + 1;
  const newCap = oldCap << 1;
  TABLE.indexBase = allocZeroed(<usize>newCap << 3);
  TABLE.indexMask = newCap - 1;
  for (let i: u32 = 0; i < oldCap; i++) {
    const e = load<u64>(oldBase + (<usize>i << 3));
    if (e == 0) continue;
    let j = <u32>(e >>> 32) & TABLE.indexMask;
    while (load<u64>(TABLE.indexBase + (<usize>j << 3)) != 0) j = (j + 1) & TABLE.indexMask;
    store<u64>(TABLE.indexBase + (<usize>j << 3), e);
  }
  addSpare(oldBase, <usize>oldCap << 3);
}

function newRecordId(): u32 {
  if (TABLE.freeHead != NO_RECORD) {
    const id = TABLE.freeHead;
    TABLE.freeHead = load<u32>(recPtr(id) + FR_EXT_REF);
    return id;
  }
  if (TABLE.highWater == TABLE.nChunks * CHUNK_RECORDS) {
    if (TABLE.nChunks == MAX_CHUNKS) unreachable(); // flow cap keeps us far below this
    const chunk = chunkAlloc(CHUNK_BYTES);
    store<usize>(CHUNKS + (<usize>TABLE.nChunks << 2), chunk);
    TABLE.nChunks++;
  }
  return TABLE.highWater++;
}

/** Pages a new chunk needs. */
const CHUNK_PAGES: i32 = <i32>((CHUNK_BYTES + CHUNK_ALIGN + 0xFFFF) >> 16);
/**
 * Linear memory stays below this many 64 KiB pages (3.75 GiB): the bump allocator (mem.ts)
 * cannot address the last pages of a 4 GiB memory (its byte offset wraps), and a failed grow traps.
 */
const MAX_PAGES: i32 = 61440;

/** Whether another record can be had without growing memory past MAX_PAGES (else evict first). */
export function tableCanGrow(): bool {
  if (TABLE.freeHead != NO_RECORD || TABLE.highWater < TABLE.nChunks * CHUNK_RECORDS) return true;
  // A chunk, room for the index to double once, and room for an extension block, its tail and a hole block for
  // every record (they are allocated later, during processing, where there is no evicting first).
  const indexPages = <i32>((<usize>(TABLE.indexMask + 1) << 4) >> 16) + 1;
  const extPages = <i32>(TABLE.nChunks + 1 - TABLE.nExtChunks) * EXT_CHUNK_PAGES +
    <i32>(TABLE.nChunks + 1 - TABLE.nTailChunks) * TAIL_CHUNK_PAGES + <i32>(TABLE.nChunks + 1 - TABLE.nHoleChunks) * HOLE_CHUNK_PAGES;
  // Likewise an IPv6 key chunk for every record chunk (allocated when its first IPv6 record is created).
  const v6Pages = <i32>(TABLE.nChunks + 1 - TABLE.nV6Chunks) * V6_CHUNK_PAGES;
  return memory.size() + CHUNK_PAGES + indexPages + extPages + v6Pages < MAX_PAGES && TABLE.nChunks < MAX_CHUNKS;
}

/** Allocates a zeroed live record for hash h and indexes it; the caller fills the key. */
export function insert(h: u32): u32 {
  if (<u64>(TABLE.liveCount + 1) * 4 > <u64>(TABLE.indexMask + 1) * 3) growIndex();
  const id = newRecordId();
  const r = recPtr(id);
  zeroBlock(r, <usize>REC_LIVE);
  store<u32>(r + FR_FLAGS, FF_LIVE);
  let i = h & TABLE.indexMask;
  while (load<u64>(TABLE.indexBase + (<usize>i << 3)) != 0) i = (i + 1) & TABLE.indexMask;
  store<u64>(TABLE.indexBase + (<usize>i << 3), (<u64>h << 32) | <u64>(id + 1));
  TABLE.liveCount++;
  return id;
}

/**
 * Unindexes and frees record `id`, whose key hash is h (recordHash; backward-shift deletion keeps
 * probe chains intact).
 */
export function remove(id: u32, h: u32): void {
  const r = recPtr(id);
  const want = (<u64>h << 32) | <u64>(id + 1);
  let i = h & TABLE.indexMask;
  while (load<u64>(TABLE.indexBase + (<usize>i << 3)) != want) i = (i + 1) & TABLE.indexMask;
  // Backward shift: move later entries of the cluster into the hole when their home slot allows.
  let j = i;
  while (true) {
    j = (j + 1) & TABLE.indexMask;
    const e = load<u64>(TABLE.indexBase + (<usize>j << 3));
    if (e == 0) break;
    const home = <u32>(e >>> 32) & TABLE.indexMask;
    // The entry at j may fill hole i if its home is not cyclically within (i, j].
    const fits = i <= j ? (home <= i || home > j) : (home <= i && home > j);
    if (fits) {
      store<u64>(TABLE.indexBase + (<usize>i << 3), e);
      i = j;
    }
  }
  store<u64>(TABLE.indexBase + (<usize>i << 3), 0);
  extRelease(id);
  if (isV6(r)) poolGive(v6Pool(), V6_CHUNKS, V6_BLOCK, load<u32>(r + FR_ORIG_ADDR));
  store<u32>(r + FR_FLAGS, 0);
  store<u32>(r + FR_EXT_REF, TABLE.freeHead);
  TABLE.freeHead = id;
  TABLE.liveCount--;
}
