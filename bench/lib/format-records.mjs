/**
 * The format benches' set-up (format.mjs, format-ab.mjs): one build's engine runs a capture once,
 * then up to a window's worth of its finished records are copied into the engine's input window,
 * free once the input is finished, where the formatter reads them as it reads the output ring.
 * @module
 */
import { join } from "node:path";

/**
 * @param {string} root a repository root with dist/ and build/flowrecon.wasm
 * @param {Uint8Array} bytes the capture
 */
export async function recordsInWindow(root, bytes) {
  const { Reconstructor } = await import(join(root, "dist", "index.js"));
  const { createEngine } = await import(join(root, "dist", "wasm", "engine.js"));
  const { AsciiWriter } = await import(join(root, "dist", "format", "ascii.js"));
  const engine = createEngine();
  const rec = new Reconstructor({}, engine);
  const size = rec.layout.constants.FR_SIZE;
  const window = engine.exports.inputPtr();
  const capacity = Math.floor(engine.exports.inputSize() / size);
  const kept = [];
  const keep = (v, p) => {
    if (kept.length < capacity) kept.push(Buffer.from(v.u8.subarray(p, p + size)));
  };
  for (let off = 0; off < bytes.length; off += 1 << 20) rec.pushRecords(bytes.subarray(off, off + (1 << 20)), keep);
  rec.finishRecords(keep);
  const u8 = engine.views().u8;
  for (let i = 0; i < kept.length; i++) u8.set(kept[i], window + i * size);
  const n = kept.length;
  return {
    n,
    /**
     * The records in one format: `pass()` writes them all, its bytes moved out as the CLI moves them; `all()` keeps them.
     * `single`: one call per record (`lines.record`) even where the build has the batch entry point (`lines.records`,
     * which a build before it lacks: it then takes one call per record anyway).
     */
    format(format, single = false) {
      const lines = rec.engineLines({ format });
      const out = new AsciiWriter(4 << 20);
      /** Writes every record, handing the buffered bytes to `move` whenever they reach the flush mark, and at the end. */
      const write =
        single || typeof lines.records !== "function"
          ? (move) => {
              for (let i = 0; i < n; i++) if (lines.record(window + i * size) >= lines.flushBytes) move();
              move();
            }
          : (move) => {
              for (let i = 0; i < n; ) {
                i += lines.records(window + i * size, n - i);
                if (i < n) move();
              }
              move();
            };
      return {
        n,
        pass() {
          out.pos = 0;
          write(() => {
            lines.moveTo(out);
            out.pos = 0;
          });
        },
        all() {
          const all = new AsciiWriter(64 << 20);
          write(() => lines.moveTo(all));
          return all;
        },
      };
    },
  };
}

/**
 * CPU time (user + system) of one pass in ns: other jobs on a busy machine stretch the wall clock,
 * not the CPU time a pass takes.
 */
export function cpuNs(pass) {
  const t = process.cpuUsage();
  pass();
  const d = process.cpuUsage(t);
  return (d.user + d.system) * 1000;
}
