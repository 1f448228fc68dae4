// The engine's state is plain data: the module keeps nothing in mutable wasm globals (every
// module-level variable lives in assembly/state.ts's block of linear memory), so a copy of the
// memory is the whole state.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { Reconstructor } from "../../src/reconstructor.js";
import { FlowDecoder, type Flow } from "../../src/flow.js";
import { corpusDir, loadManifest } from "../golden/corpus.js";
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
    if (op === 0x41 || op === 0x42)
      skipSleb(bytes, at); // i32.const, i64.const
    else if (op === 0x43)
      at.pos += 4; // f32.const
    else if (op === 0x44)
      at.pos += 8; // f64.const
    else if (op === 0x23)
      uleb(bytes, at); // global.get
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
        else if (kind === 1) {
          at.pos++;
          const flags = wasm[at.pos++];
          uleb(wasm, at);
          if (flags & 1) uleb(wasm, at);
        } else if (kind === 2) {
          const flags = wasm[at.pos++];
          uleb(wasm, at);
          if (flags & 1) uleb(wasm, at);
        } else if (kind === 3) {
          at.pos++;
          if (wasm[at.pos++] === 1) imported++;
        }
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

/**
 * The standard library's Grisu2 scratch (~lib/util/number: _K, _exp, _frc_*, _exp_pow), used by the
 * engine formatter's dtoa for timestamps past 2^33 s. Every call writes each of them before reading
 * it (grisu2 sets them through normalizedBoundaries and getCachedPower), so their values between two
 * engine calls are dead: they are not state, and a restored engine computes the same digits.
 */
const DEAD_BETWEEN_CALLS = new Set([
  "$~lib/util/number/_K",
  "$~lib/util/number/_exp",
  "$~lib/util/number/_frc_plus",
  "$~lib/util/number/_frc_minus",
  "$~lib/util/number/_frc_pow",
  "$~lib/util/number/_exp_pow",
]);

describe("engine state", () => {
  it("has no mutable wasm global: every module-level variable lives in linear memory", () => {
    const wasm = readFileSync(resolve(repoRoot, "build", "flowrecon.wasm"));
    const wat = readFileSync(resolve(repoRoot, "build", "flowrecon.wat"), "utf8");
    const globals = wat
      .split("\n")
      .filter((line) => /^\s*\(global \S+ /.test(line))
      .map((line) => ({ name: line.trim().split(" ")[1], mutable: /^\s*\(global \S+ \(mut /.test(line) }));
    const named = globals.filter((g) => g.mutable && !DEAD_BETWEEN_CALLS.has(g.name)).map((g) => g.name);
    expect(named, "mutable globals in build/flowrecon.wat: move them into assembly/state.ts").toEqual([]);
    // The binary agrees with the text: its mutable globals are exactly the allowed scratch ones.
    const allowed = globals.flatMap((g, i) => (g.mutable ? [i] : []));
    expect(mutableGlobals(wasm)).toEqual({ imported: 0, defined: allowed });
  });
});

// Differential tests over the Zeek corpus: each capture split in two at its middle byte (inside a
// record, usually). A session's rollback and its reload at start rely on these.
const HASH_KEY = "000102030405060708090a0b0c0d0e0f";

function flowsOf(flows: Flow[]): string[] {
  return flows.map((f) => JSON.stringify(f)).sort();
}

function decodeAll(rec: Reconstructor, bytes: Uint8Array): string[] {
  return flowsOf([...rec.push(bytes), ...rec.finish()]);
}

// Every third case: each restore is a fresh instance and a copy of its ~30 MiB memory.
const cases = loadManifest()
  .filter((c) => c.capture.endsWith(".pcap") || c.capture.endsWith(".pcapng"))
  .filter((_c, i) => i % 3 === 0);

describe("snapshot, restore and emitLive over the corpus", () => {
  it.each(cases.map((c) => [c.case, c.capture]))("%s", (_name, capture) => {
    const bytes = readFileSync(join(corpusDir(), capture));
    const half = bytes.length >> 1;
    const whole = decodeAll(new Reconstructor({ hashKey: HASH_KEY }), bytes);

    const rec = new Reconstructor({ hashKey: HASH_KEY });
    const before = rec.push(bytes.subarray(0, half));
    const snapshot = rec.snapshot();
    const decoder = new FlowDecoder(rec.layout, { insight: rec.insight });
    const live: Flow[] = [];
    while (!rec.liveSome((v, p) => void live.push(decoder.decode(v, p))));
    const again: Flow[] = [];
    while (!rec.liveSome((v, p) => void again.push(decoder.decode(v, p))));

    // emitLive lists the live flows as finish() reports them at this point (on a restored copy).
    const probe = new Reconstructor({ hashKey: HASH_KEY });
    probe.restore(snapshot);
    expect(flowsOf(live), "emitLive against finish").toEqual(flowsOf(probe.finish()));
    expect(flowsOf(again), "a second listing").toEqual(flowsOf(live));
    // Listing changed nothing: the input goes on as if it never happened.
    expect(flowsOf([...before, ...rec.push(bytes.subarray(half)), ...rec.finish()]), "after listing").toEqual(whole);
    // A restored snapshot continues exactly as the original did.
    const restored = new Reconstructor({ hashKey: HASH_KEY });
    restored.restore(snapshot);
    expect(flowsOf([...before, ...restored.push(bytes.subarray(half)), ...restored.finish()]), "restored").toEqual(
      whole,
    );
  });

  it("restore refuses bytes that cannot be engine memory", () => {
    const rec = new Reconstructor({ hashKey: HASH_KEY });
    const snapshot = rec.snapshot();
    expect(() => rec.restore({ ...snapshot, engine: snapshot.engine.subarray(0, 1000) })).toThrow(/whole 64 KiB pages/);
    expect(() => rec.restore({ ...snapshot, engine: new Uint8Array(65536) })).toThrow(/at least/);
  });
});
