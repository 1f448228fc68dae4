/**
 * @module
 * An engine thread's spare linear memory: the memory of the last engine that ended here, zeroed
 * where that engine wrote and kept for the next engine this thread starts, so a server's second
 * upload does not fault in its flow table page by page again.
 *
 * Why: a new instance's memory is fresh pages, and the first touch of each costs a page fault. On
 * the 2-vCPU VM this project measures on, a fault costs 13-16 us (touching 512 MiB of a fresh
 * ArrayBuffer: 131k faults, 1.8-2.2 s of CPU), and an upload of the 10M-segment capture faults in
 * ~27k pages of engine memory (records, index, output) on each of its threads. Zeroing what the old
 * engine wrote is a memset over pages already mapped: ~20 ms for 100 MB.
 *
 * The zeroing makes the spare read as fresh memory: the allocator of the next instance
 * (assembly/mem.ts) takes every byte past the static data as zero until it hands it out, and
 * everything an engine writes lies below its `heapEnd()` (the static data and every block it
 * allocated), so zeroing below that mark is zeroing all it wrote. The instance's data segments
 * and start function then set the static data as for a fresh memory. The engine's own memory size
 * (`memory.buffer.byteLength`, what the API's memory budget counts for a run) is the spare's from
 * the start: counted as resident, which its pages are.
 *
 * Only hosts that run engines one after another on a thread opt in (the API's engine threads,
 * src/http/engine-worker.ts and src/shards/shard-loop.ts serveShard); the CLI runs one engine a
 * thread, and sessions snapshot their engine's whole memory, which a large spare would bloat.
 * A thread keeps one spare at most, of at most {@link SPARE_MAX_BYTES}, for {@link SPARE_IDLE_MS}:
 * an idle server gives its engines' memory back to the garbage collector. That spare is not in the
 * memory budget while no run holds it (at most FLOWRECON_THREADS x SPARE_MAX_BYTES, for that long).
 */

import { createEngine, type Engine } from "./engine.js";

/** The largest memory kept as a spare (larger ones go to the garbage collector as before). */
export const SPARE_MAX_BYTES = 256 << 20;
/** How long an unused spare is kept. */
export const SPARE_IDLE_MS = 30_000;

let spare: WebAssembly.Memory | null = null;
/** The end of what the spare's last engine wrote and is not zeroed yet (0: the spare reads as fresh). */
let dirtyEnd = 0;
let idleTimer: ReturnType<typeof setTimeout> | undefined;

/** An engine over this thread's spare memory, or over a new one when there is none. */
export function engineOnSpareMemory(): Engine {
  zeroSpare();
  const memory = spare;
  spare = null;
  clearTimeout(idleTimer);
  return memory === null ? createEngine() : createEngine(memory);
}

/**
 * Keeps the memory of `engine`, which has ended and is never called again, as this thread's spare.
 * It is zeroed below the engine's heapEnd() once the thread's event loop comes round (the end of a
 * run is answered first: the pool counts a thread busy until then), or at the latest when
 * {@link engineOnSpareMemory} takes it. Does nothing when a spare is held already or the memory is
 * larger than {@link SPARE_MAX_BYTES}.
 */
export function keepSpareMemory(engine: Engine): void {
  const memory = engine.exports.memory;
  if (spare !== null || memory.buffer.byteLength > SPARE_MAX_BYTES) return;
  spare = memory;
  dirtyEnd = Math.min(engine.exports.heapEnd(), memory.buffer.byteLength);
  setImmediate(zeroSpare);
  idleTimer = setTimeout(dropSpareMemory, SPARE_IDLE_MS);
  idleTimer.unref();
}

/** Zeroes what the spare's last engine wrote, if that is still to do. */
function zeroSpare(): void {
  if (spare === null || dirtyEnd === 0) return;
  new Uint8Array(spare.buffer, 0, dirtyEnd).fill(0);
  dirtyEnd = 0;
}

/** Lets the spare go (the idle timer; tests). */
export function dropSpareMemory(): void {
  spare = null;
  dirtyEnd = 0;
  clearTimeout(idleTimer);
}

/** The spare's size in bytes, 0 when none is held. */
export function spareMemoryBytes(): number {
  return spare === null ? 0 : spare.buffer.byteLength;
}
