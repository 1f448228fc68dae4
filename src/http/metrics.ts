/**
 * @module
 * Prometheus metrics in the text exposition format (version 0.0.4): counters, gauges and
 * histograms with labels, kept in plain maps. Small on purpose: the API needs a dozen series.
 */

type Labels = Readonly<Record<string, string>>;

function labelText(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return "";
  // Label values escape backslash, double quote and newline (exposition format).
  return "{" + keys.map((k) => `${k}="${labels[k].replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`).join(",") + "}";
}

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge" | "histogram",
  ) {}
  abstract lines(): string[];
  header(): string[] {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
  }
}

export class Counter extends Metric {
  readonly #values = new Map<string, number>();
  constructor(name: string, help: string, type: "counter" | "gauge" = "counter") {
    super(name, help, type);
  }
  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    this.#values.set(key, (this.#values.get(key) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.#values.get(labelText(labels)) ?? 0;
  }
  lines(): string[] {
    return [...this.#values].map(([labels, v]) => `${this.name}${labels} ${v}`);
  }
}

/** A gauge read when scraped. */
export class Gauge extends Metric {
  constructor(name: string, help: string, readonly read: () => number) {
    super(name, help, "gauge");
  }
  lines(): string[] {
    return [`${this.name} ${this.read()}`];
  }
}

export class Histogram extends Metric {
  readonly #series = new Map<string, { counts: number[]; sum: number; count: number; labels: Labels }>();
  constructor(name: string, help: string, readonly buckets: readonly number[]) {
    super(name, help, "histogram");
  }
  observe(labels: Labels, value: number): void {
    const key = labelText(labels);
    let s = this.#series.get(key);
    if (s === undefined) this.#series.set(key, (s = { counts: this.buckets.map(() => 0), sum: 0, count: 0, labels }));
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) s.counts[i]++;
    s.sum += value;
    s.count++;
  }
  lines(): string[] {
    const out: string[] = [];
    for (const s of this.#series.values()) {
      this.buckets.forEach((le, i) => {
        out.push(`${this.name}_bucket${labelText({ ...s.labels, le: String(le) })} ${s.counts[i]}`);
      });
      out.push(`${this.name}_bucket${labelText({ ...s.labels, le: "+Inf" })} ${s.count}`);
      out.push(`${this.name}_sum${labelText(s.labels)} ${s.sum}`);
      out.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return out;
  }
}

/** The API's metrics. Counters only grow; gauges are read at scrape time. */
export class ApiMetrics {
  readonly requests = new Counter("flowrecon_http_requests_total", "HTTP requests by route, method and status.");
  readonly latency = new Histogram(
    "flowrecon_http_request_duration_seconds",
    "HTTP request latency (until the response headers, or the end of a streamed body), by route.",
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  );
  readonly segments = new Counter("flowrecon_segments_total", "TCP segments handed to the flow tracker (captures and segment records).");
  readonly bytes = new Counter("flowrecon_input_bytes_total", "Capture bytes decoded.");
  readonly records = new Counter("flowrecon_segment_records_total", "Pre-parsed segment records accepted.");
  readonly flows = new Counter("flowrecon_flows_total", "Flows reported, by conn_state.");
  readonly anomalies = new Counter("flowrecon_anomalies_total", "Anomalies on reported flows, by type.");
  readonly captureErrors = new Counter("flowrecon_capture_errors_total", "Damaged captures, by error code.");
  readonly sessionsCreated = new Counter("flowrecon_sessions_created_total", "Sessions created.");
  readonly sessionsExpired = new Counter("flowrecon_sessions_expired_total", "Sessions deleted after their idle TTL.");
  readonly rejected = new Counter("flowrecon_rejected_total", "Requests refused by a limit, by reason.");
  readonly #gauges: Gauge[] = [];

  gauge(name: string, help: string, read: () => number): void {
    this.#gauges.push(new Gauge(name, help, read));
  }

  /** The exposition text. */
  render(): string {
    const metrics: Metric[] = [
      this.requests, this.latency, this.segments, this.bytes, this.records, this.flows, this.anomalies,
      this.captureErrors, this.sessionsCreated, this.sessionsExpired, this.rejected, ...this.#gauges,
    ];
    return metrics.flatMap((m) => [...m.header(), ...m.lines()]).join("\n") + "\n";
  }
}
