/**
 * @module
 * The web page: `GET /` and its assets under `/assets/`, all from the installed package (web/ and
 * the preact and htm modules from node_modules), so the page works offline and with no build step.
 * Only the files named here are served; they are read once, at the first request.
 */

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";
import type { Bindings } from "../body.js";
import { ApiError } from "../errors.js";

const require = createRequire(import.meta.url);
/** web/ beside src/ (tests) and dist/ (the build, an installed package). */
const WEB = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "web");

const JS = "text/javascript; charset=utf-8";
/** Asset name -> [file, content type]. preact/hooks/htm are their ES module builds. */
const ASSETS: Record<string, () => [string, string]> = {
  "app.js": () => [join(WEB, "app.js"), JS],
  "style.css": () => [join(WEB, "style.css"), "text/css; charset=utf-8"],
  "preact.js": () => [join(dirname(require.resolve("preact")), "preact.module.js"), JS],
  "hooks.js": () => [join(dirname(require.resolve("preact/hooks")), "hooks.module.js"), JS],
  "htm.js": () => [join(dirname(require.resolve("htm")), "htm.module.js"), JS],
};

export function webRoutes(): Hono<{ Bindings: Bindings }> {
  const app = new Hono<{ Bindings: Bindings }>();
  const cache = new Map<string, Uint8Array<ArrayBuffer>>();
  const read = (path: string): Uint8Array<ArrayBuffer> => {
    let b = cache.get(path);
    if (b === undefined) cache.set(path, (b = readFileSync(path) as Uint8Array<ArrayBuffer>));
    return b;
  };

  app.get("/", function page(c) {
    return c.body(read(join(WEB, "index.html")), 200, { "content-type": "text/html; charset=utf-8" });
  });

  app.get("/assets/:name", function asset(c) {
    const entry = ASSETS[c.req.param("name")];
    if (entry === undefined) throw new ApiError(404, "not_found", `no asset '${c.req.param("name")}'`);
    const [path, type] = entry();
    return c.body(read(path), 200, { "content-type": type, "cache-control": "no-cache" });
  });

  return app;
}
