/**
 * Peak-RSS reporter for Node children, the fallback when GNU time (/usr/bin/time) is missing.
 * Preload it into a node process (`node --import ./bench/lib/report-rss.mjs ...`, or through
 * NODE_OPTIONS=--import=<file URL> so it reaches node started by scripts too): at exit it appends
 * one JSON line `{pid, maxRssKb, argv}` to the file named by FLOWRECON_RSS_FILE.
 *
 * process.resourceUsage().maxRSS is getrusage(RUSAGE_SELF).ru_maxrss, in KiB: the process's
 * high-water mark, the same number GNU time prints as %M. A process killed by a signal, or one
 * that dies in a fatal V8 error, reports nothing.
 * @module
 */
import { appendFileSync } from "node:fs";

const file = process.env.FLOWRECON_RSS_FILE;
if (file) {
  process.on("exit", () => {
    try {
      const line = JSON.stringify({
        pid: process.pid,
        maxRssKb: process.resourceUsage().maxRSS,
        argv: process.argv.slice(1),
      });
      appendFileSync(file, line + "\n");
    } catch {
      // Reporting must never change how the measured process exits.
    }
  });
}
