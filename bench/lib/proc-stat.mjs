/**
 * CPU time and page faults of a live process and of its threads, from Linux's /proc/PID/stat and
 * /proc/PID/task/TID/stat (proc(5): after the command name in parentheses, field 10 is minflt,
 * 14 utime, 15 stime, in clock ticks). One reader for the harness (the HTTP API server's CPU
 * over an upload) and bench/http-upload.mjs --ab (per thread).
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks a second (`getconf CLK_TCK`; 100 where it cannot be asked). */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** A stat file's CPU seconds (utime + stime, and stime alone) and minor faults; null once it is gone. */
function readStat(path) {
  try {
    const stat = readFileSync(path, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const sys = Number(f[12]) / CLOCK_TICKS;
    return { cpu: Number(f[11]) / CLOCK_TICKS + sys, sys, minflt: Number(f[7]) };
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) of a live process so far, all its threads; null once it is gone. */
export function processCpuS(pid) {
  return readStat(`/proc/${pid}/stat`)?.cpu ?? null;
}

/** CPU seconds (utime + stime, and stime alone) and minor page faults per thread of a live process, by thread id. */
export function threadCpu(pid) {
  const out = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const s = readStat(`/proc/${pid}/task/${tid}/stat`);
    if (s !== null) out.set(Number(tid), s); // else the thread ended meanwhile
  }
  return out;
}
