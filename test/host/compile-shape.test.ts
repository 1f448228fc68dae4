// The shape of the engine's functions where it decides what V8 compiles with TurboFan in every run.
// V8 tiers a function up from Liftoff as a whole, once it has run enough, so code inlined into a
// hot function is compiled even when it never runs; compile time grows faster than a function's
// size. Read from build/flowrecon.wat (the release build's text, written with the module).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./helpers.js";

/** The body of the defined function `name` (its wat lines), by its path-qualified name's last part. */
function funcBody(wat: string, name: string): string[] {
  const lines = wat.split("\n");
  const start = lines.findIndex((l) => l.startsWith(" (func $") && l.split(" ")[2].endsWith(`/${name}`));
  expect(start, `function ${name} in build/flowrecon.wat`).toBeGreaterThanOrEqual(0);
  const end = lines.findIndex((l, i) => i > start && l.startsWith(" (func $"));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

describe("compile shape", () => {
  const wat = readFileSync(resolve(repoRoot, "build", "flowrecon.wat"), "utf8");

  it("writeRecord leaves the slot loops (the column switch) to slotTsvRow and slotJsonRow", () => {
    // writeRecord runs for every flow and is tiered up in every run; the slot loops run only
    // without a straight-line row (assembly/format/fields.ts). Each loop inlines the value rule's
    // switch (a br_table); inlined into writeRecord they made it 9.2 kB, 24 ms of TurboFan.
    const body = funcBody(wat, "writeRecord");
    expect(
      body.filter((l) => l.trim().startsWith("br_table")),
      "a column switch inlined into writeRecord",
    ).toEqual([]);
    const calls = body.filter((l) => l.trim().startsWith("call $")).map((l) => l.trim().split("/").pop());
    expect(calls).toContain("slotTsvRow");
    expect(calls).toContain("slotJsonRow");
  });

  it("the Zeek JSON row copies its 41 keys without a loop each (copy32)", () => {
    // V8 unrolls every small loop it finds: with a copy loop per key the row had 67 loops and
    // compiled in 17 ms, without 26 loops (the digit loops of its numbers) and 9 ms.
    const loops = funcBody(wat, "rowZeekJson<u32>").filter((l) => l.trim().startsWith("loop"));
    expect(loops.length).toBeLessThan(41);
  });
});
