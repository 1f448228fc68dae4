/**
 * @module
 * The engine's flow-table hash key (assembly/flow/table.ts: SipHash-1-3, 128-bit key).
 *
 * Each process draws a random key once, so nobody outside can craft a capture whose connections all
 * share a probe chain (HashDoS, issue 11). `FLOWRECON_HASH_KEY` (or the `hashKey` option, or the
 * CLI's `--hash-key`) fixes it for a reproducible run, e.g. to replay a performance problem. No
 * output depends on the key: it only decides where records sit in the table's index.
 */

import { closeSync, openSync, readSync } from "node:fs";

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
    const [key0, key1] = randomWords();
    processKey = { key0, key1 };
  }
  return processKey;
}

/**
 * 128 random bits from the kernel's CSPRNG (/dev/urandom), else (a platform without it) from Web
 * Crypto's. Not node:crypto: loading it cost every engine thread of the CLI ~8M instructions at its
 * start (callgrind), and this is all the CLI wanted from it.
 */
function randomWords(): BigUint64Array {
  const words = new BigUint64Array(2);
  const bytes = new Uint8Array(words.buffer);
  try {
    const fd = openSync("/dev/urandom", "r");
    try {
      for (let got = 0; got < bytes.length; ) {
        const n = readSync(fd, bytes, got, bytes.length - got, null);
        if (n <= 0) throw new Error("/dev/urandom ended");
        got += n;
      }
    } finally {
      closeSync(fd);
    }
    return words;
  } catch {
    return globalThis.crypto.getRandomValues(words);
  }
}
