/**
 * @module
 * The standard output and error of this process's worker threads, forwarded without a pipe each.
 *
 * By default Node pipes a worker's stdout and stderr into the process's (`worker.stdout.pipe(
 * process.stdout)`), and each pipe adds its own 'error', 'drain', 'close', 'finish' and 'unpipe'
 * listeners to process.stdout and process.stderr, left there while the worker lives. With 16 shard
 * threads (`--threads 16`, the default on 16 cores) process.stdout held 16 'error' listeners, and
 * the CLI's own (cli.ts Output) was the 17th: Node printed a MaxListenersExceededWarning on stderr.
 * Forwarded here, a worker's output still reaches the process's streams (a shard or format thread
 * prints nothing there; a warning or a debug line of one would), and the process's streams get no
 * listener per thread.
 */

import type { Worker, WorkerOptions } from "node:worker_threads";

/** Worker options that leave the thread's stdout and stderr to {@link forwardStdio}. */
export const OWN_STDIO = { stdout: true, stderr: true } as const satisfies WorkerOptions;

/** Writes what a worker started with {@link OWN_STDIO} prints to the process's stdout and stderr. */
export function forwardStdio(worker: Worker): void {
  worker.stdout.on("data", (chunk: Buffer) => process.stdout.write(chunk));
  worker.stderr.on("data", (chunk: Buffer) => process.stderr.write(chunk));
}
