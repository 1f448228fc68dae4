// Builds the WebAssembly module (and the TypeScript host) when a source is newer than the build,
// so `npm test` always tests the code in the tree, not a stale build.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function stale(output: string, ...sources: string[]): boolean {
  if (!existsSync(output)) return true;
  const built = statSync(output).mtimeMs;
  return sources.some(
    (s) => existsSync(s) && (statSync(s).isDirectory() ? newestMtime(s) : statSync(s).mtimeMs) > built,
  );
}

export default function setup(): void {
  if (stale("build/flowrecon.wasm", "assembly", "asconfig.json")) {
    execFileSync("npx", ["asc", "assembly/index.ts", "--target", "release"], { stdio: "inherit" });
  }
  if (stale("dist/index.js", "src", "tsconfig.json")) {
    execFileSync("npx", ["tsc", "-p", "tsconfig.json"], { stdio: "inherit" });
  }
}
