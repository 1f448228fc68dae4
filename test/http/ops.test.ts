// Operations routes and cross-cutting middleware: /healthz, /metrics, /openapi.json (checked
// against the app's real routes), bearer-token auth, and the draining state of a shutdown.
import { Hono } from "hono";
import SwaggerParser from "@apidevtools/swagger-parser";
import { spawnSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { errorHandler } from "../../src/http/errors.js";
import type { ApiEnv } from "../../src/http/body.js";
import { EngineFault } from "../../src/wasm/engine.js";
import { VERSION } from "../../src/version.js";
import { capture, json, logLines, PCAP, post, RXMIT, testApp } from "./helpers.js";

const api = testApp();
afterAll(() => api.close());

describe("GET /healthz", () => {
  it("answers 200 with the version and what the server holds", async () => {
    const res = await api.app.request("/healthz");
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ status: "ok", sessions: 0 });
  });
});

describe("GET /metrics", () => {
  it("Prometheus text with segments, bytes, flows by conn_state, sessions, errors and latencies", async () => {
    const a = testApp();
    try {
      await post(a, "/v1/analyze", capture(RXMIT), PCAP);
      await post(a, "/v1/analyze", Buffer.from("nope, not a capture"), PCAP);
      await post(a, "/v1/sessions", null);
      const res = await a.app.request("/metrics");
      expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      for (const line of [
        /^flowrecon_segments_total 57$/m,
        /^flowrecon_input_bytes_total 35967$/m,
        /^flowrecon_flows_total\{conn_state="SF"\} 3$/m,
        /^flowrecon_capture_errors_total\{code="bad_magic"\} 1$/m,
        /^flowrecon_sessions 1$/m,
        /^flowrecon_sessions_created_total 1$/m,
        /^flowrecon_http_requests_total\{route="\/v1\/analyze",method="POST",status="200"\} 1$/m,
        /^flowrecon_http_requests_total\{route="\/v1\/analyze",method="POST",status="422"\} 1$/m,
        /^flowrecon_http_request_duration_seconds_count\{route="\/v1\/analyze"\} 2$/m,
        /^flowrecon_http_request_duration_seconds_bucket\{le="\+Inf",route="\/v1\/analyze"\} 2$/m,
        /^# TYPE flowrecon_anomalies_total counter$/m,
        /^flowrecon_memory_bytes \d+$/m,
      ]) {
        expect(text).toMatch(line);
      }
      // Every sample line is "name{labels} value" (the exposition format; a runtime gauge with no
      // sample yet is NaN, which Prometheus parses case-insensitively).
      for (const line of text.split("\n").filter((l) => l !== "" && !l.startsWith("#"))) {
        expect(line).toMatch(
          /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? (-?[0-9.e+-]+|NaN|Nan)$/,
        );
      }
    } finally {
      a.close();
    }
  });

  it("the flow and anomaly tallies are the same whether the engine printed the flows (NDJSON) or FlowWriter did (JSON)", async () => {
    // NDJSON answers tally the anomalies the engine derived for each line; JSON answers derive
    // them again in JavaScript (FlowCounter.count). A conn_state filter leaves the tallies whole.
    const tallies = (text: string): string[] =>
      text
        .split("\n")
        .filter((l) => /^flowrecon_(flows|anomalies)_total\{/.test(l))
        .sort();
    for (const name of [
      "cisco-fabricpath-syn-retx.pcap",
      "ssh-basic.pcap",
      "teredo-ipv6.pcap",
      "ssh-half-duplex-client.pcap",
      "pop3-rej-and-sf.pcap",
      "m57-gaps-rxmit.pcap",
      "ftp-cwd-gaps-s1.pcap",
    ]) {
      for (const query of ["", "?conn_state=SF"]) {
        const printed = testApp();
        const derived = testApp();
        try {
          const bytes = capture(name);
          const a = await post(printed, `/v1/analyze${query}`, bytes, PCAP, { accept: "application/x-ndjson" });
          const b = await post(derived, `/v1/analyze${query}`, bytes, PCAP, { accept: "application/json" });
          expect([a.status, b.status]).toEqual([200, 200]);
          await a.arrayBuffer();
          await b.arrayBuffer();
          const got = tallies(await (await printed.app.request("/metrics")).text());
          const want = tallies(await (await derived.app.request("/metrics")).text());
          expect(want.some((l) => l.startsWith("flowrecon_anomalies_total"))).toBe(true);
          expect({ name, query, got }).toEqual({ name, query, got: want });
        } finally {
          printed.close();
          derived.close();
        }
      }
    }
  });

  it("issue-11: standard process and Node.js runtime metrics and flowrecon_build_info beside the API's", async () => {
    const text = await (await api.app.request("/metrics")).text();
    for (const family of [
      "process_cpu_seconds_total",
      "process_resident_memory_bytes",
      "process_open_fds",
      "process_start_time_seconds",
      "nodejs_eventloop_lag_seconds",
      "nodejs_heap_size_used_bytes",
      "nodejs_gc_duration_seconds",
    ]) {
      expect(text).toMatch(new RegExp(`^# TYPE ${family} `, "m"));
    }
    expect(text).toMatch(
      new RegExp(
        `^flowrecon_build_info\\{version="${VERSION.replace(/\./g, "\\.")}",nodejs="${process.versions.node.replace(/\./g, "\\.")}"\\} 1$`,
        "m",
      ),
    );
    expect(text).toMatch(/^# TYPE flowrecon_http_requests_total counter$/m);
  });

  // promtool (Debian package prometheus, in .ci/run's APT_PACKAGES) is the reference linter.
  it("issue-11: promtool check metrics finds nothing to complain about", async () => {
    const a = testApp();
    try {
      await post(a, "/v1/analyze", capture(RXMIT), PCAP);
      await post(a, "/v1/analyze", Buffer.from("nope, not a capture"), PCAP);
      const text = await (await a.app.request("/metrics")).text();
      const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8", timeout: 30_000 });
      expect(r.error, "promtool is not installed (apt-get install prometheus)").toBeUndefined();
      expect(r.stdout + r.stderr).toBe("");
      expect(r.status).toBe(0);
    } finally {
      a.close();
    }
  });
});

describe("GET /openapi.json", () => {
  it("is OpenAPI 3.1 and lists exactly the app's routes", async () => {
    const doc = await json(await api.app.request("/openapi.json"));
    expect(doc.openapi).toBe("3.1.0");
    const documented = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(item))
        if (method !== "parameters") documented.add(`${method.toUpperCase()} ${path}`);
    }
    const routes = new Set(
      api.app.routes
        .filter((r) => r.method !== "ALL")
        .map((r) => `${r.method} ${r.path.replace(/:([a-z]+)/g, "{$1}")}`),
    );
    expect([...documented].sort()).toEqual([...routes].sort());
  });

  it("issue-11: is valid OpenAPI 3.1 (swagger-parser), with and without tokens", async () => {
    const secured = testApp({ tenants: { a: "x" } });
    try {
      for (const app of [api, secured]) {
        const doc = await json(await app.app.request("/openapi.json"));
        await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
      }
    } finally {
      secured.close();
    }
  });

  it("names every query parameter the handlers accept", async () => {
    const doc = await json(await api.app.request("/openapi.json"));
    const analyzeParams = (doc.paths["/v1/analyze"].post.parameters as { $ref: string }[]).map((p) =>
      p.$ref.split("/").pop(),
    );
    for (const name of [
      "ignore_checksums",
      "flow_cap",
      "inactivity_timeout",
      "likely_server_ports",
      "conn_state",
      "anomaly",
      "partial",
    ]) {
      expect(analyzeParams).toContain(name);
      expect(doc.components.parameters[name]).toBeDefined();
    }
    // An undocumented name is refused by the handler: the two agree.
    expect((await post(api, "/v1/analyze?undocumented=1", capture(RXMIT), PCAP)).status).toBe(400);
  });
});

describe("bearer-token auth", () => {
  const secured = testApp({ token: "s3cret" });
  afterAll(() => secured.close());

  it("401 JSON with a challenge without a token or with a wrong one; 200 with the right one", async () => {
    const none = await post(secured, "/v1/analyze", capture(RXMIT), PCAP);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer realm="flowrecon"$/);
    expect((await json(none)).error.code).toBe("unauthorized");
    const wrong = await post(secured, "/v1/analyze", capture(RXMIT), PCAP, { authorization: "Bearer nope" });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toMatch(/invalid_token/);
    const right = await post(secured, "/v1/analyze", capture(RXMIT), PCAP, { authorization: "Bearer s3cret" });
    expect(right.status).toBe(200);
    expect((await secured.app.request("/metrics")).status).toBe(401);
    expect((await secured.app.request("/v1/sessions/x")).status).toBe(401);
  });

  it("leaves /healthz and /openapi.json open, and documents the scheme", async () => {
    expect((await secured.app.request("/healthz")).status).toBe(200);
    const doc = await json(await secured.app.request("/openapi.json"));
    expect(doc.paths["/v1/analyze"].post.security).toEqual([{ bearer: [] }]);
    expect((await json(await api.app.request("/openapi.json"))).paths["/v1/analyze"].post.security).toBeUndefined();
  });
});

describe("draining", () => {
  it("new requests get 503 with Connection: close", async () => {
    const a = testApp();
    try {
      a.context.draining = true;
      const res = await post(a, "/v1/analyze", capture(RXMIT), PCAP);
      expect(res.status).toBe(503);
      expect(res.headers.get("connection")).toBe("close");
      expect((await json(res)).error.code).toBe("shutting_down");
    } finally {
      a.close();
    }
  });
});

describe("500s", () => {
  it("an engine fault or a bug is a JSON 500 that says which, and is logged with its code and stack", async () => {
    const log = logLines();
    {
      const app = new Hono<ApiEnv>();
      app.onError(errorHandler(log.logger));
      app.get("/fault", () => {
        throw new EngineFault("engine trap: unreachable");
      });
      app.get("/bug", () => {
        throw new TypeError("x is undefined");
      });
      const fault = await app.request("/fault");
      expect(fault.status).toBe(500);
      expect((await json(fault)).error).toMatchObject({
        code: "engine_fault",
        message: expect.stringMatching(/unreachable/),
      });
      const bug = await app.request("/bug");
      expect(bug.status).toBe(500);
      expect((await json(bug)).error.code).toBe("internal_error");
      expect(log.lines).toHaveLength(2);
      expect(log.lines[0]).toMatchObject({
        level: "error",
        msg: "engine fault",
        code: "engine_fault",
        path: "/fault",
        err: { type: "EngineFault", message: "engine trap: unreachable" },
      });
      expect(log.lines[1]).toMatchObject({
        level: "error",
        msg: "internal error",
        code: "internal_error",
        path: "/bug",
        err: { type: "TypeError", stack: expect.stringMatching(/x is undefined/) },
      });
    }
  });
});
