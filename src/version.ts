/**
 * @module
 * The package version, read from package.json (one level above both src/ and dist/), so it is
 * never repeated in code.
 */

import { readFileSync } from "node:fs";

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

export const VERSION: string = readVersion();
