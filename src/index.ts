/**
 * @module
 * flowrecon: WebAssembly-accelerated TCP connection reconstruction from pcap/pcapng captures,
 * one summary per connection with Zeek conn.log semantics.
 *
 * @example
 * ```ts
 * import { analyzeFile } from "flowrecon";
 * const { stats, error } = await analyzeFile("trace.pcap", { ignoreChecksums: true }, (flow) => {
 *   if (flow.conn_state === "REJ") console.log(flow["id.resp_h"], flow["id.resp_p"]);
 * });
 * ```
 */

import { zeekFieldTable } from "./format/engine-lines.js";

export {
  Reconstructor,
  DEFAULT_WINDOW_BYTES,
  MIN_WINDOW_BYTES,
  type ReconstructorOptions,
  type RecordSink,
} from "./reconstructor.js";
export { analyzeStream, analyzeFile, type AnalysisResult, type FlowCallback } from "./analyze.js";
export type { Flow, TcpOptions, ConnStateName, EndReasonName, TunnelName } from "./flow.js";
export type { Stats } from "./stats.js";
export type { CaptureError, CaptureErrorCode } from "./wasm/errors.js";
export { EngineFault } from "./wasm/engine.js";
export { AbiMismatchError } from "./wasm/layout.js";
export {
  createFormatter,
  AsciiWriter,
  flowJson,
  zeekRow,
  FORMAT_NAMES,
  type FormatName,
  type Formatter,
  type RunSummary,
} from "./format/index.js";
export { FlowDecoder } from "./flow.js";

/**
 * The Zeek view's names, in order (the TSV `#fields` line): the engine's column table's
 * (assembly/format/fields.ts), read once at import. Only the library's entry point reads it this
 * early (the CLI and the format threads read the table when they write a Zeek header).
 */
export const ZEEK_FIELDS: readonly string[] = zeekFieldTable().names;
export { RecordReader } from "./wasm/record.js";
export type { MemoryViews } from "./wasm/engine.js";
export type { Layout } from "./wasm/layout.js";
export { communityIdOf } from "./ids/community-id.js";
export { VERSION } from "./version.js";
