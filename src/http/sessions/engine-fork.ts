/**
 * @module
 * Forkable engines: a copy of a running engine, to read a session's live flows without ending them.
 *
 * The engine has no "list live flows" export, and ending the input (`finish()`) removes the flows it
 * reports. So `GET /v1/sessions/{id}/flows` copies the session's engine into a scratch instance and
 * calls `finish()` there: the scratch reports every live flow as if the input ended now, and the
 * session's own engine is untouched.
 *
 * An instance's whole state is its linear memory plus its mutable wasm globals (AssemblyScript
 * compiles module-level `let`s to globals, which JS cannot read unless they are exported). So the
 * sessions run a variant of `build/flowrecon.wasm` whose export section also names every mutable
 * numeric global (`__fork_g<index>`): same code, same behaviour, one extra export per global. The
 * variant is made once per process by rewriting the export section (WebAssembly core spec §5.5).
 *
 * Cost of a fork: one copy of the session's memory (its `memory.buffer.byteLength`, about 20 MiB
 * for a fresh session) plus a fresh instance; the scratch is dropped after use.
 */

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Engine, EngineFault, readAsString, type EngineExports } from "../../wasm/engine.js";

const WASM_URL = new URL("../../../build/flowrecon.wasm", import.meta.url);
const EXPORT_PREFIX = "__fork_g";

const SECTION_IMPORT = 2;
const SECTION_GLOBAL = 6;
const SECTION_EXPORT = 7;
const KIND_GLOBAL = 3;
/** Value types a JS WebAssembly.Global can hold as a number or BigInt. */
const NUMERIC_TYPES = new Set([0x7f /* i32 */, 0x7e /* i64 */, 0x7d /* f32 */, 0x7c /* f64 */]);

class Reader {
  pos: number;
  constructor(readonly bytes: Uint8Array, pos = 0) {
    this.pos = pos;
  }
  u8(): number {
    if (this.pos >= this.bytes.length) throw new Error("unexpected end of the wasm module");
    return this.bytes[this.pos++];
  }
  uleb(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.u8();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
    }
  }
  skip(n: number): void {
    this.pos += n;
  }
  /** Skips a constant expression (global initializers): the opcodes AssemblyScript emits. */
  constExpr(): void {
    for (;;) {
      const op = this.u8();
      switch (op) {
        case 0x0b: return; // end
        case 0x41: case 0x42: this.sleb(); break; // i32.const, i64.const
        case 0x43: this.skip(4); break; // f32.const
        case 0x44: this.skip(8); break; // f64.const
        case 0x23: case 0xd2: this.uleb(); break; // global.get, ref.func
        case 0xd0: this.u8(); break; // ref.null t
        case 0x6a: case 0x6b: case 0x6c: case 0x7c: case 0x7d: case 0x7e: break; // extended-const arithmetic
        case 0xfd: if (this.uleb() === 12) this.skip(16); else throw new Error("unsupported SIMD constant"); break;
        default: throw new Error(`unsupported opcode 0x${op.toString(16)} in a constant expression`);
      }
    }
  }
  sleb(): void {
    while (this.u8() & 0x80);
  }
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/**
 * Adds an export for every mutable numeric global to a wasm binary. Returns the new binary and
 * the indexes of the globals exported (`__fork_g<index>`).
 */
export function exportMutableGlobals(wasm: Uint8Array): { bytes: Uint8Array; globals: number[] } {
  const r = new Reader(wasm, 8);
  let importedGlobals = 0;
  const mutable: number[] = [];
  let exportSection: { start: number; end: number; bodyStart: number } | null = null;
  while (r.pos < wasm.length) {
    const start = r.pos;
    const id = r.u8();
    const size = r.uleb();
    const bodyStart = r.pos;
    const end = bodyStart + size;
    if (id === SECTION_IMPORT) {
      for (let n = r.uleb(), i = 0; i < n; i++) {
        r.skip(r.uleb()); // module
        r.skip(r.uleb()); // name
        const kind = r.u8();
        if (kind === 0) r.uleb(); // function: type index
        else if (kind === 1) { r.u8(); const flags = r.u8(); r.uleb(); if (flags & 1) r.uleb(); } // table
        else if (kind === 2) { const flags = r.u8(); r.uleb(); if (flags & 1) r.uleb(); } // memory
        else if (kind === KIND_GLOBAL) { r.u8(); r.u8(); importedGlobals++; }
        else throw new Error(`unsupported import kind ${kind}`);
      }
    } else if (id === SECTION_GLOBAL) {
      for (let n = r.uleb(), i = 0; i < n; i++) {
        const type = r.u8();
        const mut = r.u8();
        r.constExpr();
        if (mut === 1 && NUMERIC_TYPES.has(type)) mutable.push(importedGlobals + i);
      }
    } else if (id === SECTION_EXPORT) {
      exportSection = { start, end, bodyStart };
    }
    r.pos = end;
  }
  if (exportSection === null) throw new Error("the wasm module has no export section");
  const er = new Reader(wasm, exportSection.bodyStart);
  const count = er.uleb();
  const entries = wasm.subarray(er.pos, exportSection.end);
  const added: number[] = [];
  for (const index of mutable) {
    const name = Buffer.from(EXPORT_PREFIX + index, "utf8");
    added.push(...uleb(name.length), ...name, KIND_GLOBAL, ...uleb(index));
  }
  const body = [...uleb(count + mutable.length), ...entries, ...added];
  const section = [SECTION_EXPORT, ...uleb(body.length), ...body];
  const bytes = new Uint8Array(exportSection.start + section.length + (wasm.length - exportSection.end));
  bytes.set(wasm.subarray(0, exportSection.start), 0);
  bytes.set(section, exportSection.start);
  bytes.set(wasm.subarray(exportSection.end), exportSection.start + section.length);
  return { bytes, globals: mutable };
}

let forkable: { module: WebAssembly.Module; globals: string[] } | undefined;

function forkableModule(): { module: WebAssembly.Module; globals: string[] } {
  if (forkable === undefined) {
    let wasm: Uint8Array;
    try {
      wasm = readFileSync(WASM_URL);
    } catch (cause) {
      throw new Error(`cannot read the engine at ${fileURLToPath(WASM_URL)}: run "npm run build" first`, { cause });
    }
    const { bytes, globals } = exportMutableGlobals(wasm);
    forkable = { module: new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), globals: globals.map((g) => EXPORT_PREFIX + g) };
  }
  return forkable;
}

/** A fresh engine of the forkable variant (pass it to `new Reconstructor(options, engine)`). */
export function createForkableEngine(): Engine {
  const { module } = forkableModule();
  let memory: WebAssembly.Memory | undefined;
  const imports = {
    env: {
      abort(msgPtr: number, filePtr: number, line: number, column: number): never {
        const msg = memory ? readAsString(memory, msgPtr) : `message at ${msgPtr}`;
        const file = memory ? readAsString(memory, filePtr) : `file at ${filePtr}`;
        throw new EngineFault(`engine abort: ${msg} at ${file}:${line}:${column}`);
      },
    },
  };
  const instance = new WebAssembly.Instance(module, imports);
  const exports = instance.exports as EngineExports & WebAssembly.Exports;
  memory = exports.memory;
  return new Engine(exports);
}

/**
 * A new engine in exactly the state of `source` (an engine from {@link createForkableEngine}):
 * its memory copied byte for byte and every mutable global set to the source's value.
 */
export function forkEngine(source: Engine): Engine {
  const { globals } = forkableModule();
  const src = source.exports as unknown as Record<string, WebAssembly.Global>;
  if (!(globals[0] === undefined || globals[0] in src)) throw new Error("forkEngine needs an engine from createForkableEngine()");
  const copy = createForkableEngine();
  const dst = copy.exports as unknown as Record<string, WebAssembly.Global>;
  const from = source.exports.memory;
  const to = copy.exports.memory;
  const pages = (from.buffer.byteLength - to.buffer.byteLength) / 65536;
  if (pages > 0) to.grow(pages);
  new Uint8Array(to.buffer).set(new Uint8Array(from.buffer));
  for (const name of globals) dst[name].value = src[name].value;
  return copy;
}

/** An engine's whole state at one moment: its memory bytes and its mutable globals. */
export interface EngineSnapshot {
  readonly memory: Uint8Array;
  readonly globals: readonly (number | bigint)[];
}

/** Copies the state of `engine` (from {@link createForkableEngine}); one copy of its memory. */
export function snapshotEngine(engine: Engine): EngineSnapshot {
  const { globals } = forkableModule();
  const src = engine.exports as unknown as Record<string, WebAssembly.Global>;
  return { memory: new Uint8Array(engine.exports.memory.buffer).slice(), globals: globals.map((name) => src[name].value as number | bigint) };
}

/**
 * Puts `engine` back in the state of `snapshot`, taken from the same engine. Memory that grew since
 * stays allocated (wasm memory never shrinks) but is unused again: the allocator's globals are back.
 */
export function restoreEngine(engine: Engine, snapshot: EngineSnapshot): void {
  const { globals } = forkableModule();
  const dst = engine.exports as unknown as Record<string, WebAssembly.Global>;
  new Uint8Array(engine.exports.memory.buffer).set(snapshot.memory);
  globals.forEach((name, i) => {
    dst[name].value = snapshot.globals[i];
  });
}

/**
 * One step of ending a forked engine's input: emits at most one output ring of its live flows to
 * `sink`. Returns true once every live flow has been emitted. (The fork is not a Reconstructor: it
 * has no input left to decode, only flows to report.)
 */
export function emitLiveStep(fork: Engine, sink: (v: ReturnType<Engine["views"]>, p: number) => void): boolean {
  const ex = fork.exports;
  const size = fork.layout.constants.FR_SIZE;
  const more = ex.finish();
  const n = ex.outLen();
  const v = fork.views();
  const base = ex.outPtr();
  try {
    for (let i = 0; i < n; i++) sink(v, base + i * size);
  } finally {
    ex.outClear();
  }
  if (more !== 0 && n === 0) throw new EngineFault("finish() asked to be called again without emitting a flow");
  return more === 0;
}
