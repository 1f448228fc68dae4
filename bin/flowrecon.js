#!/usr/bin/env node
// The flowrecon command; the implementation is src/cli.ts (built to dist/cli.js).
// The shard threads a large capture will want start first, while the CLI loads its modules
// (src/shards/shard-threads.ts); the rest of the CLI is imported after that. A run of one engine
// loads no shard-thread module (src/shards/thread-plan.ts).
import { enginesGuessed } from "../dist/shards/thread-plan.js";

const argv = process.argv.slice(2);
const engines = enginesGuessed(argv);
const started = engines > 1 ? (await import("../dist/shards/shard-threads.js")).startShardThreads(engines) : [];
const { runCommandLine } = await import("../dist/cli.js");
// Exits as soon as stdout and stderr have written everything (not once the threads end).
await runCommandLine(argv, started);
