/**
 * @module
 * A shard thread (node:worker_threads) of this process (src/shards/shard-threads.ts): takes the
 * engine its parent compiled, waits for its run's ShardStart, then runs one shard
 * (src/shards/shard-loop.ts) until the end of its input.
 */

import { once } from "node:events";
import { workerData } from "node:worker_threads";
import { adoptEngineModule } from "../wasm/engine.js";
import { runShard, shardFailed } from "./shard-loop.js";
import type { ShardData, ShardStart } from "./protocol.js";
import type { ShardThreadData } from "./shard-threads.js";

const thread = workerData as ShardThreadData;
adoptEngineModule(thread.module);
const [start] = (await once(thread.port, "message")) as [ShardStart];
const data: ShardData = { port: thread.port, ring: thread.ring, credits: thread.credits, ...start };

try {
  runShard(data);
} catch (e) {
  shardFailed(data, e);
}
