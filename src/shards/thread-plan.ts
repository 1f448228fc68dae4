/**
 * @module
 * How many engines (shard threads) an analyze run gets, and the guess bin/flowrecon.js makes from
 * argv before the CLI has parsed it: decided without loading node:worker_threads or the shard
 * modules, which a run of one engine (every capture file under THREAD_MIN_BYTES) never needs.
 * Importing them cost a small `analyze` ~2 ms of its start (worker_threads, the link and ring
 * modules; shard-threads.ts starts the threads and loads them only when there are any).
 */

import { statSync } from "node:fs";
import { availableParallelism } from "node:os";
import type { ShardThread } from "./shard-threads.js";

/** Most shard threads one run starts. */
export const MAX_THREADS = 64;

/**
 * Below this size a capture file gets one engine (and, in other formats, is formatted on the main
 * thread): a thread costs its start-up, and runs its first records slowly while V8 compiles for it,
 * which costs more than it saves on small inputs (measured for format threads: 18 MB and 94 MB
 * captures ran 5-20% slower on a thread, a 470 MB one 20% faster). 256 MiB, was 64: on 2 cores
 * the 188 MB cap2m (bench/) ran faster with one engine and no threads than with two engines.
 */
export const THREAD_MIN_BYTES = 256 << 20;

/** The default thread count: the cores this process may use. */
export function availableThreads(): number {
  return Math.max(1, Math.min(MAX_THREADS, availableParallelism()));
}

/**
 * How many engines (shard threads) analyze runs: `--threads`, else the cores available for a
 * capture file of THREAD_MIN_BYTES or more. A smaller file does not repay starting threads, and
 * standard input keeps one engine unless asked: a live pipeline stage then prints its flows in the
 * order they finish.
 */
export function engineThreads(threads: number | undefined, input: { isFile: boolean; size: number }): number {
  if (threads !== undefined) return threads;
  return input.isFile && input.size >= THREAD_MIN_BYTES ? availableThreads() : 1;
}

/**
 * The engines `flowrecon analyze` will want, guessed as the process starts, before the CLI has
 * parsed its arguments: `--threads N`/`-j N`, else the largest regular file named among the
 * arguments against THREAD_MIN_BYTES; 1 for any other command. The CLI decides (engineThreads)
 * once it parsed them.
 */
export function enginesGuessed(argv: readonly string[]): number {
  if (argv[0] !== "analyze") return 1;
  let threads: number | undefined;
  let size = 0;
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i];
    const flag = /^(?:--threads|-j)(?:=?(\d+))?$/.exec(arg);
    if (flag !== null) threads = Number(flag[1] ?? argv[++i]);
    else if (!arg.startsWith("-")) {
      try {
        const st = statSync(arg);
        if (st.isFile()) size = Math.max(size, st.size);
      } catch {
        // not a file: an option's value
      }
    }
  }
  const given = threads !== undefined && Number.isInteger(threads) && threads >= 1 ? threads : undefined;
  return Math.min(MAX_THREADS, engineThreads(given, { isFile: true, size }));
}

/** Ends the shard threads no run took (and empties the list). */
export function endShardThreads(threads: ShardThread[]): void {
  for (const t of threads.splice(0)) void t.worker.terminate();
}
