/**
 * @module
 * Loads the WebAssembly engine: compiles `build/flowrecon.wasm` once per process, instantiates it
 * once per {@link Engine}, and keeps typed-array views over its memory valid.
 *
 * Contract (see `assembly/index.ts` for the call protocol):
 * - The module is located relative to this file (`../../build/flowrecon.wasm`), which holds for
 *   `src/wasm/` (tests), `dist/wasm/` (the build) and an installed package alike.
 * - Memory may grow during any engine call, which detaches `memory.buffer` and every view on it
 *   (assemblyscript-performance.md §3.3). Callers re-read views through {@link Engine.views} after
 *   each call; the check is one pointer comparison.
 * - `env.abort` (AssemblyScript assertions, our own bugs) throws an {@link EngineFault}; so does any
 *   trap. After a fault the instance may be half-updated and must be dropped (house style, "Wasm
 *   trap is our bug").
 * - An engine's whole state is its linear memory (assembly/state.ts: the module has no mutable
 *   global), so {@link snapshotEngine} is a copy of the memory and {@link restoreEngine} a fresh
 *   instance with the copy written over its memory.
 */

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { readLayout, type Layout } from "./layout.js";

/** The exported functions of `assembly/index.ts` that the host calls. Numbers only. */
export interface EngineExports {
  readonly memory: WebAssembly.Memory;
  init(windowBytes: number): void;
  inputPtr(): number;
  inputSize(): number;
  feed(len: number, eof: number, at?: number): number;
  finish(): number;
  /** Framing check (assembly/capture/check.ts): feed() walks records without delivering frames until checkEnd(). */
  checkBegin(): void;
  checkEnd(): void;
  /** Copies every live flow into the output ring without ending it; 1 = drain and call again. */
  emitLive(): number;
  /** The capture clock: the latest packet time seen, µs (i64, so a BigInt). */
  clockUs(): bigint;
  outPtr(): number;
  outLen(): number;
  outClear(): void;
  statsPtr(): number;
  errCode(): number;
  errOffset(): number;
  errRecord(): number;
  setOption(option: number, value: number): void;
  /** The flow-table hash key (two u64 halves, so BigInts); takes effect at the next init(). */
  setHashKey(key0: bigint, key1: bigint): void;
  /** The 8 KiB likely_server_ports bitmap (bit p = port p); absent in older engines. */
  serverPortsPtr?(): number;
  /** The segment descriptor (assembly/packet.ts) that feedPacket() tracks. */
  pktPtr?(): number;
  feedPacket?(): void;
  /** Tracks n pre-parsed segment records (SEG_* layout) at inputPtr(); returns how many it consumed. */
  feedSegments?(n: number, firstIndex: number): number;
  /** The end of the memory the engine's allocator has handed out (assembly/mem.ts heapEnd). */
  heapEnd(): number;
  /** Shards (assembly/shard/): route mode of the reading thread's engine, frame records of a shard's. */
  routeInit?(n: number, ownShare: number): void;
  routeAreaPtr?(i: number): number;
  routeAreaLen?(i: number): number;
  routeClear?(): void;
  feedFrames?(len: number): number;
  advanceClock?(us: number, sweepSlots: number): void;
  /** Trace mode (assembly/flow/trace.ts): the selection's addresses go at traceKeyPtr(), then traceArm(). */
  traceKeyPtr?(): number;
  traceArm?(portA: number, portB: number, startUs: bigint): void;
  traceArmAll?(): void;
  tracePtr?(): number;
  traceLen?(): number;
  traceClear?(): void;
  traceLost?(): number;
}

/** Typed views over the engine memory, all on the same (current) buffer. */
export interface MemoryViews {
  readonly buffer: ArrayBuffer;
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
}

/** A trap or an `abort()` inside the engine: a flowrecon bug, not bad input. */
export class EngineFault extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EngineFault";
  }
}

const WASM_URL = new URL("../../build/flowrecon.wasm", import.meta.url);

let compiled: WebAssembly.Module | undefined;
/** The bytes compiled into {@link compiled} (none for a module adopted from the parent thread). */
let compiledBytes: Uint8Array | undefined;

function engineBytes(): Uint8Array<ArrayBuffer> {
  try {
    return readFileSync(WASM_URL) as Uint8Array<ArrayBuffer>;
  } catch (cause) {
    throw new Error(`cannot read the engine at ${fileURLToPath(WASM_URL)}: run "npm run build" first`, { cause });
  }
}

/**
 * The compiled module, shared by every engine in this process (and postMessage-able to workers).
 * Compilation is synchronous: Node has no size limit on synchronous compiles, and the CLI needs the
 * engine before it reads a byte.
 */
export function engineModule(): WebAssembly.Module {
  if (compiled === undefined) {
    const bytes = engineBytes();
    compiled = new WebAssembly.Module(bytes);
    compiledBytes = bytes;
  }
  return compiled;
}

/**
 * A worker thread takes the module its parent compiled (posted to it) instead of compiling its own:
 * V8 shares the compiled code between the threads, functions the parent already optimised included.
 */
export function adoptEngineModule(module: WebAssembly.Module): void {
  compiled ??= module;
}

/**
 * The engine binary this process runs: the bytes compiled here, or the file's for a module adopted
 * from the parent thread (which compiled the same file). Its SHA-256 is a session file's engine
 * fingerprint (src/http/sessions/session-file.ts), hashed there: this module does not load
 * node:crypto, which every engine thread of the CLI would otherwise load at its start.
 */
export function engineBinary(): Uint8Array {
  engineModule();
  return compiledBytes ?? engineBytes();
}

/** Decodes an AssemblyScript string: UTF-16LE code units, byte length in the u32 at ptr - 4. */
export function readAsString(memory: WebAssembly.Memory, ptr: number): string {
  if (ptr === 0) return "(null)";
  const buffer = memory.buffer;
  if (ptr < 4 || ptr > buffer.byteLength) return `(bad string pointer ${ptr})`;
  const byteLength = new DataView(buffer).getUint32(ptr - 4, true);
  const units = Math.min(byteLength >>> 1, (buffer.byteLength - ptr) >>> 1);
  const bytes = new Uint8Array(buffer, ptr, units * 2);
  return new TextDecoder("utf-16le").decode(bytes);
}

export class Engine {
  readonly exports: EngineExports;
  readonly layout: Layout;
  #views: MemoryViews;

  /** Wraps an instance's exports; tests pass a fake with the same exports. */
  constructor(exports: EngineExports & WebAssembly.Exports) {
    this.exports = exports;
    this.layout = readLayout(exports);
    this.#views = makeViews(exports.memory.buffer);
  }

  /** Views on the current memory buffer; rebuilt only when a grow detached the old one. */
  views(): MemoryViews {
    const buffer = this.exports.memory.buffer;
    if (this.#views.buffer !== buffer) this.#views = makeViews(buffer);
    return this.#views;
  }
}

/** Views over any buffer laid out like engine memory (a copy of flow records, for instance). */
export function makeViews(buffer: ArrayBuffer): MemoryViews {
  return {
    buffer,
    u8: new Uint8Array(buffer),
    u16: new Uint16Array(buffer),
    u32: new Uint32Array(buffer),
    i32: new Int32Array(buffer),
    f64: new Float64Array(buffer),
  };
}

/** The limits of the linear memory the module imports (asconfig.json initialMemory / maximumMemory), in 64 KiB pages. */
export interface MemoryLimits {
  initial: number;
  maximum: number | undefined;
}

let memoryLimits: MemoryLimits | undefined;

/** The module's memory limits, read from its import of `env.memory` (the binary is their one source). */
export function engineMemoryLimits(): MemoryLimits {
  memoryLimits ??= importedMemoryLimits(engineBinary());
  return memoryLimits;
}

/**
 * A new linear memory for an engine: what the module imports (asconfig.json `importMemory`), so a
 * host may hand an instance a memory another instance used (src/wasm/spare-memory.ts).
 */
export function newEngineMemory(): WebAssembly.Memory {
  const { initial, maximum } = engineMemoryLimits();
  return new WebAssembly.Memory(maximum === undefined ? { initial } : { initial, maximum });
}

/**
 * Instantiates an engine from the shared compiled module over `memory`: a new one by default. A
 * memory another instance used must read as zero (spare-memory.ts zeroes what that instance wrote):
 * an instance takes its memory as fresh (its allocator zeroes only blocks it handed out before).
 */
export function createEngine(memory: WebAssembly.Memory = newEngineMemory()): Engine {
  const imports = {
    env: {
      memory,
      abort(msgPtr: number, filePtr: number, line: number, column: number): never {
        const msg = readAsString(memory, msgPtr);
        const file = readAsString(memory, filePtr);
        throw new EngineFault(`engine abort: ${msg} at ${file}:${line}:${column}`);
      },
    },
  };
  const instance = new WebAssembly.Instance(engineModule(), imports);
  return new Engine(instance.exports as EngineExports & WebAssembly.Exports);
}

/** Reads an unsigned LEB128 at `at`: [value, next offset]. */
function leb(b: Uint8Array, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = b[at++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [value, at];
    shift += 7;
  }
}

/**
 * The limits of the memory a module binary imports (WebAssembly core spec 5.5.10, the import
 * section: module name, field name, kind 2 = memory, then the limits: flag 0 = min only, 1 = min and max).
 */
export function importedMemoryLimits(b: Uint8Array): MemoryLimits {
  let at = 8; // magic and version
  while (at < b.length) {
    const id = b[at]!;
    const [size, body] = leb(b, at + 1);
    if (id === 2) {
      let [count, p] = leb(b, body);
      for (; count > 0; count--) {
        let n: number;
        [n, p] = leb(b, p);
        p += n; // module name
        [n, p] = leb(b, p);
        p += n; // field name
        const kind = b[p++]!;
        if (kind === 0)
          [, p] = leb(b, p); // function: type index
        else if (kind === 1) {
          p++; // table: element type, then limits
          const flag = b[p++]!;
          [, p] = leb(b, p);
          if (flag & 1) [, p] = leb(b, p);
        } else if (kind === 2) {
          const flag = b[p++]!;
          const [initial, q] = leb(b, p);
          return { initial, maximum: flag & 1 ? leb(b, q)[0] : undefined };
        } else if (kind === 3)
          p += 2; // global: value type, mutability
        else break;
      }
    }
    at = body + size;
  }
  throw new Error("the engine binary imports no memory: build it with asconfig.json's importMemory");
}

/** An engine's complete state: a copy of its linear memory (whole 64 KiB pages). */
export function snapshotEngine(engine: Engine): Uint8Array<ArrayBuffer> {
  return new Uint8Array(engine.exports.memory.buffer).slice();
}

const PAGE = 65536;

/**
 * A fresh engine in the state of `snapshot` (from {@link snapshotEngine}, of this same module): a
 * new instance, its memory grown to the snapshot's size and overwritten with it. Throws a RangeError
 * when the bytes cannot be engine memory (not whole pages, smaller than a fresh instance's memory,
 * or past the module's maximum).
 */
export function restoreEngine(snapshot: Uint8Array): Engine {
  const engine = createEngine();
  const memory = engine.exports.memory;
  const have = memory.buffer.byteLength;
  if (snapshot.length % PAGE !== 0 || snapshot.length < have) {
    throw new RangeError(`an engine snapshot is whole 64 KiB pages, at least ${have} bytes; got ${snapshot.length}`);
  }
  if (snapshot.length > have) {
    try {
      memory.grow((snapshot.length - have) / PAGE);
    } catch (cause) {
      throw new RangeError(`an engine snapshot of ${snapshot.length} bytes exceeds the engine's maximum memory`, {
        cause,
      });
    }
  }
  new Uint8Array(memory.buffer).set(snapshot);
  return engine;
}
