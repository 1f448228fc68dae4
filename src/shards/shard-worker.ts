/**
 * @module
 * A shard thread (node:worker_threads) started by {@link ShardedRun} (src/shards/sharded-run.ts):
 * runs one shard (src/shards/shard-loop.ts) until the end of its input.
 */

import { workerData } from "node:worker_threads";
import { runShard, shardFailed } from "./shard-loop.js";
import type { ShardData } from "./protocol.js";

const data = workerData as ShardData;

try {
  runShard(data);
} catch (e) {
  shardFailed(data, e);
}
