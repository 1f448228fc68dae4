// The engine's state is plain data: the module keeps nothing in mutable wasm globals (every
// module-level variable lives in assembly/state.ts's block of linear memory), so a copy of the
// memory is the whole state.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./helpers.js";

const SECTION_IMPORT = 2;
const SECTION_GLOBAL = 6;

function uleb(bytes: Uint8Array, at: { pos: number }): number {
  let result = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[at.pos++];
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return result;
    shift += 7;
  }
}

function skipSleb(bytes: Uint8Array, at: { pos: number }): void {
  while (bytes[at.pos++] & 0x80);
}

/** Skips a global's initializer: the constant expressions AssemblyScript emits. */
function skipConstExpr(bytes: Uint8Array, at: { pos: number }): void {
  for (;;) {
    const op = bytes[at.pos++];
    if (op === 0x0b) return; // end
    if (op === 0x41 || op === 0x42) skipSleb(bytes, at); // i32.const, i64.const
    else if (op === 0x43) at.pos += 4; // f32.const
    else if (op === 0x44) at.pos += 8; // f64.const
    else if (op === 0x23) uleb(bytes, at); // global.get
    else throw new Error(`opcode 0x${op.toString(16)} in a global initializer`);
  }
}

/** The mutable globals a wasm binary defines or imports (WebAssembly core spec §5.5.10, §5.5.5). */
function mutableGlobals(wasm: Uint8Array): { imported: number; defined: number[] } {
  const at = { pos: 8 };
  let imported = 0;
  const defined: number[] = [];
  while (at.pos < wasm.length) {
    const id = wasm[at.pos++];
    const size = uleb(wasm, at);
    const end = at.pos + size;
    if (id === SECTION_IMPORT) {
      for (let n = uleb(wasm, at), i = 0; i < n; i++) {
        at.pos += uleb(wasm, at); // module name
        at.pos += uleb(wasm, at); // field name
        const kind = wasm[at.pos++];
        if (kind === 0) uleb(wasm, at);
        else if (kind === 1) { at.pos++; const flags = wasm[at.pos++]; uleb(wasm, at); if (flags & 1) uleb(wasm, at); }
        else if (kind === 2) { const flags = wasm[at.pos++]; uleb(wasm, at); if (flags & 1) uleb(wasm, at); }
        else if (kind === 3) { at.pos++; if (wasm[at.pos++] === 1) imported++; }
      }
    } else if (id === SECTION_GLOBAL) {
      for (let n = uleb(wasm, at), i = 0; i < n; i++) {
        at.pos++; // value type
        if (wasm[at.pos++] === 1) defined.push(i);
        skipConstExpr(wasm, at);
      }
    }
    at.pos = end;
  }
  return { imported, defined };
}

describe("engine state", () => {
  it("has no mutable wasm global: every module-level variable lives in linear memory", () => {
    const wasm = readFileSync(resolve(repoRoot, "build", "flowrecon.wasm"));
    const wat = readFileSync(resolve(repoRoot, "build", "flowrecon.wat"), "utf8");
    const named = wat.split("\n").filter((line) => /^\s*\(global \S+ \(mut /.test(line)).map((line) => line.trim().split(" ")[1]);
    expect(named, "mutable globals in build/flowrecon.wat: move them into assembly/state.ts").toEqual([]);
    expect(mutableGlobals(wasm)).toEqual({ imported: 0, defined: [] });
  });
});
