/**
 * @module
 * One JSON document: `{"flows": [...], "stats": {...}}`, plus `"error"` when the capture was
 * damaged. Flows are still written as they finish (one per line inside the array), so memory stays
 * bounded; the document is complete only after the last line.
 */

import type { Flow } from "../flow.js";
import type { Formatter, RunSummary } from "./formatter.js";
import { flowJson } from "./ndjson.js";

export class JsonFormatter implements Formatter {
  #first = true;

  begin(): string {
    return '{"flows":[';
  }

  flow(flow: Flow): string {
    const sep = this.#first ? "\n" : ",\n";
    this.#first = false;
    return sep + flowJson(flow);
  }

  end({ stats, error }: RunSummary): string {
    let s = (this.#first ? "" : "\n") + '],"stats":' + JSON.stringify(stats);
    if (error !== null) s += ',"error":' + JSON.stringify(error);
    return s + "}\n";
  }
}
