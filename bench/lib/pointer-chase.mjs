#!/usr/bin/env node
/**
 * One vCPU's latency for a load that misses the caches: a pointer chase around one random cycle
 * (Sattolo's shuffle) of `slots` int32 slots, every load's address the value of the one before, so
 * no two loads overlap. Prints one JSON line, `{"nsPerLoad": …}`. bench/lib/host-memory.mjs runs it
 * pinned to each vCPU in turn (`taskset -c N`).
 *
 *   node bench/lib/pointer-chase.mjs [slots] [steps]     (default: host-memory.mjs CHASE_SLOTS, CHASE_STEPS)
 *
 * @module
 */
import { CHASE_SLOTS, CHASE_STEPS } from "./host-memory.mjs";

const slots = Number(process.argv[2] ?? CHASE_SLOTS);
const steps = Number(process.argv[3] ?? CHASE_STEPS);
if (!Number.isInteger(slots) || slots < 2 || slots > 1 << 28 || !Number.isInteger(steps) || steps < 1) {
  console.error("usage: node bench/lib/pointer-chase.mjs [slots 2..2^28] [steps >= 1]");
  process.exit(2);
}
const next = new Int32Array(slots);
for (let i = 0; i < slots; i++) next[i] = i;
// Sattolo's shuffle: the permutation is one cycle through every slot. xorshift32: a fixed sequence.
let seed = 0x9e3779b9;
for (let i = slots - 1; i > 0; i--) {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  const j = (seed >>> 0) % i;
  const t = next[i];
  next[i] = next[j];
  next[j] = t;
}
let p = 0;
for (let i = 0; i < Math.min(steps, 100_000); i++) p = next[p];
const t0 = performance.now();
for (let i = 0; i < steps; i++) p = next[p];
const ms = performance.now() - t0;
// `end` keeps the chase from being optimised away.
console.log(JSON.stringify({ nsPerLoad: Number(((ms * 1e6) / steps).toFixed(1)), end: p }));
