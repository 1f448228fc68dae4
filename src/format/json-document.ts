/**
 * @module
 * The layout of a JSON document of flows, the CLI's `--format json` and the API's
 * `application/json` answer: `{"flows":[`, then each flow on a line of its own (its NDJSON line
 * without the newline) with a comma between two, then `]` and the run's members (`stats`, `error`,
 * ...) after `flows`. Whoever prints one (src/format/json.ts record by record, an engine's formatter
 * for the flows it tracked, src/http/flow-writer.ts for stored records) takes the layout from here.
 */

import type { RunSummary } from "./formatter.js";

/**
 * How the document opens: its flows follow, each as `,\n` and the flow's NDJSON line without its
 * newline, the first without the comma (the layout of the CLI's and the API's JSON answers).
 */
export const JSON_DOCUMENT_OPEN = '{"flows":[';

/**
 * How the document closes after its flows (`empty`: there were none): the array's end, then
 * `meta`'s members (`stats`, `error`, ...) after `flows`, and a newline.
 */
export function jsonDocumentClose(meta: Record<string, unknown>, empty: boolean): string {
  const rest = JSON.stringify(meta);
  return (empty ? "]" : "\n]") + (rest === "{}" ? "}" : "," + rest.slice(1)) + "\n";
}

/** A run's summary as the document's members after `flows`: `stats`, and `error` when the capture was damaged. */
export function summaryMembers({ stats, error }: RunSummary): Record<string, unknown> {
  return error === null ? { stats } : { stats, error };
}

/**
 * The flows of one document printed as array members by engines (src/format/engine-lines.ts
 * `arrayItems`: each `,\n` and the flow) and gathered as they arrive, from one engine or several:
 * the first in the body loses its comma.
 */
export class GatheredArray {
  #empty = true;

  /** No flow has gone into the body yet. */
  get empty(): boolean {
    return this.#empty;
  }

  /** `bytes` (whole members) as they go into the body next. */
  piece(bytes: Uint8Array): Uint8Array {
    if (!this.#empty || bytes.length === 0) return bytes;
    if (bytes[0] !== 0x2c) throw new Error("an engine printed a JSON flow that is not an array member");
    this.#empty = false;
    return bytes.subarray(1);
  }
}
