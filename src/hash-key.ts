/**
 * @module
 * The engine's flow-table hash key (assembly/flow/table.ts: SipHash-1-3, 128-bit key).
 *
 * Each process draws a random key once, so nobody outside can craft a capture whose connections all
 * share a probe chain (HashDoS, issue 11). `FLOWRECON_HASH_KEY` (or the `hashKey` option, or the
 * CLI's `--hash-key`) fixes it for a reproducible run, e.g. to replay a performance problem. No
 * output depends on the key: it only decides where records sit in the table's index.
 */

import { getRandomValues } from "node:crypto";

/** A hash key: 32 hex digits (128 bits). */
export const HASH_KEY_PATTERN = /^[0-9a-fA-F]{32}$/;

export const HASH_KEY_ENV = "FLOWRECON_HASH_KEY";

/** The key as the engine takes it: two u64 halves (the first 16 hex digits are `key0`). */
export interface HashKey {
  readonly key0: bigint;
  readonly key1: bigint;
}

/** Parses 32 hex digits; `what` names the source in the error (an option, a variable). */
export function parseHashKey(text: string, what: string): HashKey {
  if (!HASH_KEY_PATTERN.test(text)) throw new RangeError(`${what} must be 32 hex digits (128 bits), got '${text}'`);
  return { key0: BigInt(`0x${text.slice(0, 16)}`), key1: BigInt(`0x${text.slice(16)}`) };
}

let processKey: HashKey | undefined;

/**
 * This process's key: `FLOWRECON_HASH_KEY` when set (throws a RangeError naming it when malformed),
 * else drawn at random on first use.
 */
export function processHashKey(): HashKey {
  if (processKey !== undefined) return processKey;
  const text = process.env[HASH_KEY_ENV];
  if (text !== undefined && text !== "") {
    processKey = parseHashKey(text, HASH_KEY_ENV);
  } else {
    const [key0, key1] = getRandomValues(new BigUint64Array(2));
    processKey = { key0, key1 };
  }
  return processKey;
}
