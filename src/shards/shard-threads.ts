/**
 * @module
 * Shard threads of the process's own (the CLI's), started before their run: a thread takes ~100 ms
 * to start its Node and load its modules, so the CLI starts them as it starts (bin/flowrecon.js),
 * while it loads its own modules, and {@link ShardedRun} (sharded-run.ts) sends each its
 * {@link ShardStart} once it knows the run, as to a thread an API engine pool lends.
 *
 * Light on purpose: it is loaded before the rest of the CLI, when bin/flowrecon.js guessed more
 * than one engine (thread-plan.ts); a run of one engine does not load it.
 */

import { Worker } from "node:worker_threads";
import { engineModule } from "../wasm/engine.js";
import { createLink, type ShardLink } from "./protocol.js";
import { forwardStdio, OWN_STDIO } from "../worker-stdio.js";

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
 * The shard threads of a run of `engines` engines but this thread's: `engines - 1` of them. bin/
 * flowrecon.js starts them as the process starts, for the engines thread-plan.ts enginesGuessed
 * from argv; the CLI decides (engineThreads) once it parsed its arguments, takes these threads,
 * starts any more it needs, and ends the ones it does not.
 */
export function startShardThreads(engines: number): ShardThread[] {
  return Array.from({ length: engines - 1 }, () => startShardThread(engines));
}
