/**
 * @module
 * Shard threads of the process's own (the CLI's), started before their run: a thread takes ~100 ms
 * to start its Node and load its modules, so the CLI starts them as it starts (bin/flowrecon.js),
 * while it loads its own modules, and {@link ShardedRun} (sharded-run.ts) sends each its
 * {@link ShardStart} once it knows the run, as to a thread an API engine pool lends.
 *
 * Light on purpose: it is loaded before the rest of the CLI.
 */

import { statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { engineModule } from "../wasm/engine.js";
import { createLink, type ShardLink } from "./protocol.js";
import { forwardStdio, OWN_STDIO } from "../worker-stdio.js";

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

/**
 * The frame rings of one run's shard threads started here, all together (protocol.ts RING_BYTES is a
 * lent thread's ring): the thread took its first frame ~190 ms after the run started (its Node,
 * modules and engine), while the reading thread routes ~125 MB/s of frame records on the
 * header-only cap2m: with one 4 MiB ring it found the ring full at 123 ms, before the shard thread
 * had begun. 16 MiB holds the start-up's worth; with N engines each ring takes 1/(N-1) of the
 * routed frames, so 1/(N-1) of that. A ring's pages are touched (faulted in, by the reading thread)
 * once it wraps: 16 MiB per ring had 16 engines touch 240 MiB of rings, which took the reading
 * thread 1.82 s of CPU on cap2m against 1.0 s with 4 MiB rings and 0.82 s with 2 MiB ones
 * (`--threads 16`, 2-core machine, medians of 3 and 2 runs, /proc task stat).
 */
const OWN_RINGS_BYTES = 16 << 20;
/** The smallest ring of a thread started here: a whole staging area (assembly/shard/route.ts ROUTE_FLUSH, 1 MiB) and its header. */
const MIN_OWN_RING_BYTES = 2 << 20;

/** The frame ring of each shard thread started for a run of `engines` engines: a power of two. */
export function ownRingBytes(engines: number): number {
  const share = OWN_RINGS_BYTES / Math.max(1, engines - 1);
  let bytes = MIN_OWN_RING_BYTES;
  while (bytes * 2 <= share) bytes *= 2;
  return bytes;
}

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

/** A shard thread of this process: the reading thread's end of its link, and the thread. */
export interface ShardThread {
  link: ShardLink;
  worker: Worker;
  /** The thread's failure before a run took it (an 'error' event needs a listener from the start). */
  failure: Error | null;
}

/** What a shard thread gets at its start (shard-worker.ts): its end of the link, the compiled engine. */
export interface ShardThreadData extends ShardLink {
  module: WebAssembly.Module;
}

function workerUrl(): URL {
  const here = import.meta.url;
  return here.endsWith(".ts") ? new URL("../../dist/shards/shard-worker.js", here) : new URL("./shard-worker.js", here);
}

/**
 * Starts a shard thread of a run of `engines` engines (its ring: {@link ownRingBytes}); it loads
 * its modules and waits for its ShardStart. It holds the process open only once a run takes it
 * (ShardedRun refs it); the run's close() ends it.
 */
export function startShardThread(engines: number): ShardThread {
  const ends = createLink(ownRingBytes(engines));
  const data: ShardThreadData = { ...ends.shard, module: engineModule() };
  const worker = new Worker(workerUrl(), { workerData: data, transferList: [ends.shard.port], ...OWN_STDIO });
  forwardStdio(worker);
  const thread: ShardThread = { link: ends.reader, worker, failure: null };
  worker.on("error", (e) => {
    thread.failure ??= e;
  });
  worker.unref();
  return thread;
}

/**
 * The shard threads `flowrecon analyze` will want, started as the process starts, before the CLI
 * has parsed its arguments: a guess from argv (`--threads N`/`-j N`, else the largest regular file
 * named among the arguments against THREAD_MIN_BYTES). The CLI decides (engineThreads) once it
 * parsed them; it takes these threads, starts any more it needs, and ends the ones it does not.
 */
export function startShardThreadsFor(argv: readonly string[]): ShardThread[] {
  if (argv[0] !== "analyze") return [];
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
  const n = engineThreads(given, { isFile: true, size });
  const engines = Math.min(MAX_THREADS, n);
  return Array.from({ length: engines - 1 }, () => startShardThread(engines));
}

/** Ends the shard threads no run took (and empties the list). */
export function endShardThreads(threads: ShardThread[]): void {
  for (const t of threads.splice(0)) void t.worker.terminate();
}
