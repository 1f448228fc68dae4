/**
 * @module
 * Prometheus metrics through prom-client, in the text exposition format (0.0.4):
 * - the API's own families (`flowrecon_*`), one registry per app (tests run many apps);
 * - the standard process and Node.js runtime metrics (`process_*`, `nodejs_*`: CPU, memory, file
 *   descriptors, event-loop lag, GC, heap spaces) and `flowrecon_build_info`, one registry per
 *   process (they describe the process, and their collectors are started once).
 */

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { VERSION } from "../version.js";

let processRegistry: Registry | undefined;

/** The process-wide registry: default metrics and build_info, made on first use. */
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
    // prom-client names these gauges *_total, which Prometheus reserves for counters (promtool
    // check metrics says so); their per-type families (nodejs_active_handles, ...) stay.
    for (const name of [
      "nodejs_active_handles_total",
      "nodejs_active_requests_total",
      "nodejs_active_resources_total",
    ]) {
      processRegistry.removeSingleMetric(name);
    }
    const info = new Gauge({
      name: "flowrecon_build_info",
      help: "Always 1; the labels say which flowrecon and which Node.js run.",
      labelNames: ["version", "nodejs"],
      registers: [processRegistry],
    });
    info.set({ version: VERSION, nodejs: process.versions.node }, 1);
  }
  return processRegistry;
}

/** The API's metrics. Counters only grow; gauges are read at scrape time. */
export class ApiMetrics {
  readonly registry = new Registry();
  readonly contentType = this.registry.contentType;
  readonly requests = this.#counter("flowrecon_http_requests_total", "HTTP requests by route, method and status.", [
    "route",
    "method",
    "status",
  ]);
  readonly latency = new Histogram({
    name: "flowrecon_http_request_duration_seconds",
    help: "HTTP request latency (until the response headers, or the end of a streamed body), by route.",
    labelNames: ["route"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly segments = this.#counter(
    "flowrecon_segments_total",
    "TCP segments handed to the flow tracker (captures and segment records).",
  );
  readonly bytes = this.#counter("flowrecon_input_bytes_total", "Capture bytes decoded.");
  readonly records = this.#counter("flowrecon_segment_records_total", "Pre-parsed segment records accepted.");
  readonly uploadShards = this.#counter(
    "flowrecon_upload_shards_total",
    "Engine threads lent to capture uploads as shards, beyond each upload's own (FLOWRECON_UPLOAD_SHARDS).",
  );
  readonly outputReused = this.#counter(
    "flowrecon_output_buffers_reused_total",
    "Engine-thread output buffers written to a client and printed into again (instead of a new buffer).",
  );
  readonly flows = this.#counter("flowrecon_flows_total", "Flows reported, by conn_state.", ["conn_state"]);
  readonly anomalies = this.#counter("flowrecon_anomalies_total", "Anomalies on reported flows, by type.", ["type"]);
  readonly captureErrors = this.#counter("flowrecon_capture_errors_total", "Damaged captures, by error code.", [
    "code",
  ]);
  readonly sessionsCreated = this.#counter("flowrecon_sessions_created_total", "Sessions created.");
  readonly sessionsExpired = this.#counter(
    "flowrecon_sessions_expired_total",
    "Sessions deleted after their idle TTL.",
  );
  readonly rejected = this.#counter("flowrecon_rejected_total", "Requests refused by a limit, by reason.", ["reason"]);

  #counter(name: string, help: string, labelNames: string[] = []): Counter {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  /** A gauge read when scraped. */
  gauge(name: string, help: string, read: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  /** The exposition text: the process's metrics, then the API's. */
  async render(): Promise<string> {
    return (await processMetrics().metrics()) + "\n" + (await this.registry.metrics());
  }
}
