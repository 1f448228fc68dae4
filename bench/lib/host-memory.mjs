/**
 * Two facts about the host's memory that move every memory-bound contender's figures, recorded
 * with each results table so that two tables can be told apart (bench/throughput.mjs):
 *
 * - The transparent huge page mode (/sys/kernel/mm/transparent_hugepage/enabled). Under the usual
 *   `madvise`, V8's WebAssembly memory gets 4 KiB pages (it advises none), so each first touch is
 *   a page fault and each record a TLB entry; under `always` the engine's memory gets 2 MiB pages.
 *   On the 2-vCPU AMD VM (issue 10's host), `always` took the engine alone 0.83× the time (pinned
 *   to one vCPU, 3 alternated pairs), the CLI 0.89× and a fresh server's upload 0.90× (README,
 *   Deployment). It moves the C floor and the other contenders too, so tables under two modes do
 *   not compare.
 * - Each vCPU's latency for a load that misses the caches (pointer-chase.mjs pinned with
 *   `taskset -c N`). On that VM one vCPU ran memory-bound work 1.25–1.45× slower than the other for
 *   a while (the C floor 3.18–3.44 against 4.22–4.28 M segments/s, the Map loop 23.5 against 16.3 s,
 *   each pinned) with compute-only loops alike, and half an hour later both were alike again: a
 *   single-thread contender's time then depends on which vCPU it ran on, and a ratio to the CLI
 *   (which uses both) moves with it. The chase over 128 MiB saw that episode as 1.1–1.2× apart
 *   (223–237 against 254–275 ns), the 64 MiB one taken here 1.0–1.1× once it was over: a weaker
 *   signal than the contenders', but one taken before and after every run of the harness.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { which } from "./harness.mjs";

const THP_ENABLED = "/sys/kernel/mm/transparent_hugepage/enabled";
const CHASE = fileURLToPath(new URL("./pointer-chase.mjs", import.meta.url));
/** The most vCPUs probed (each takes ~2 s): the first ones, on a large machine. */
export const MAX_PROBED_VCPUS = 8;
/** The chase each vCPU runs: 16 Mi int32 slots (64 MiB, past the caches), 3 M dependent loads. */
export const CHASE_SLOTS = 16 << 20;
export const CHASE_STEPS = 3_000_000;

/** The selected mode in the kernel's `always [madvise] never` form, or null when it has none. */
export function thpMode(text) {
  return /\[([a-z]+)\]/.exec(text)?.[1] ?? null;
}

/** This host's transparent huge page mode (`always`, `madvise`, `never`), or null where the kernel does not say. */
export function transparentHugePages() {
  try {
    return thpMode(readFileSync(THP_ENABLED, "utf8"));
  } catch {
    return null;
  }
}

/** The CPU numbers of a `Cpus_allowed_list` (/proc/PID/status): `0-3,8,10-11` → 0,1,2,3,8,10,11. */
export function cpuList(text) {
  const out = [];
  for (const part of text.trim().split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (m === null) return null;
    for (let c = Number(m[1]); c <= Number(m[2] ?? m[1]); c++) out.push(c);
  }
  return out;
}

/** The vCPUs this process may run on (its affinity, where Linux says it), else 0..cpus-1. */
export function allowedVcpus() {
  try {
    const line = /^Cpus_allowed_list:\s*(.+)$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    const list = line === undefined ? null : cpuList(line);
    if (list !== null && list.length > 0) return list;
  } catch {
    // not Linux
  }
  return Array.from({ length: cpus().length }, (_, i) => i);
}

/**
 * Each vCPU's latency for a dependent load from memory, ns (pointer-chase.mjs pinned to it), for
 * the first {@link MAX_PROBED_VCPUS} this process may use ({@link allowedVcpus}); null without
 * `taskset` (util-linux) or where a vCPU cannot be pinned. `slots` and `steps`: a chase other than
 * {@link CHASE_SLOTS} and {@link CHASE_STEPS} (tests use a small one).
 * @param {{ slots?: number, steps?: number }} [opts]
 * @returns {{ cpu: number, nsPerLoad: number }[] | null}
 */
export function vcpuLatency(opts = {}) {
  const taskset = which("taskset");
  if (taskset === null) return null;
  const args = [CHASE, String(opts.slots ?? CHASE_SLOTS), String(opts.steps ?? CHASE_STEPS)];
  const out = [];
  for (const cpu of allowedVcpus().slice(0, MAX_PROBED_VCPUS)) {
    try {
      const line = execFileSync(taskset, ["-c", String(cpu), process.execPath, ...args], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
        timeout: 60_000,
      });
      out.push({ cpu, nsPerLoad: JSON.parse(line).nsPerLoad });
    } catch {
      return null;
    }
  }
  return out;
}

/** A probe in words: `vCPU 0 201 ns, vCPU 1 179 ns (1.12× apart)`. */
export function latencyLine(probe) {
  if (probe === null || probe.length === 0) return "not measured";
  const ns = probe.map((p) => p.nsPerLoad);
  const spread = Math.max(...ns) / Math.min(...ns);
  return `${probe.map((p) => `vCPU ${p.cpu} ${p.nsPerLoad.toFixed(0)} ns`).join(", ")} (${spread.toFixed(2)}× apart)`;
}

/**
 * A results table's line on the host's memory as the rounds found it: the huge page mode and each
 * vCPU's latency for a load from memory, before and after the rounds; null probes (skipped) say so.
 */
export function hostMemoryLine(thp, before, after) {
  const latency =
    before === null && after === null
      ? "not measured (--no-vcpu-probe, no taskset, or a vCPU that could not be pinned)"
      : `before the rounds ${latencyLine(before)}; after ${latencyLine(after)}`;
  return (
    `Host memory: transparent huge pages \`${thp ?? "unknown"}\`; a dependent load from memory (bench/lib/pointer-chase.mjs, ${(CHASE_SLOTS * 4) >> 20} MiB, pinned to each vCPU): ${latency}. ` +
    "A single-thread contender's time moves with the vCPU it ran on where these differ."
  );
}
