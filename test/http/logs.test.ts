// issue-11 logs: one JSON access line per request (method, route, status, bytes in and out,
// duration, tenant, error code), and the server's startup and shutdown lines.
import { describe, expect, it } from "vitest";
import { startServer } from "../../src/server.js";
import { capture, logLines, PCAP, post, RXMIT, testApp, tempDataDir } from "./helpers.js";

describe("access log", () => {
  it("one line per request, written once the body is sent: method, route, status, bytes in and out, duration, tenant", async () => {
    const log = logLines();
    const api = testApp({ tenants: { tenantA: "t1" } }, log.logger);
    try {
      const cap = capture(RXMIT);
      const res = await post(api, "/v1/analyze", cap, PCAP, { authorization: "Bearer t1" });
      const body = Buffer.from(await res.arrayBuffer());
      expect(res.status).toBe(200);
      expect(log.lines).toHaveLength(1);
      expect(log.lines[0]).toMatchObject({
        level: "info",
        msg: "request",
        service: "flowrecon",
        method: "POST",
        route: "/v1/analyze",
        status: 200,
        bytes_in: cap.length,
        bytes_out: body.length,
        tenant: "tenantA",
      });
      expect(log.lines[0].duration_ms).toBeGreaterThan(0);
      expect(Date.parse(log.lines[0].time)).not.toBeNaN();
      expect(log.lines[0]).not.toHaveProperty("error_code");
    } finally {
      api.close();
    }
  });

  it("error responses carry their code, 4xx at warn; routes are patterns, not paths", async () => {
    const log = logLines();
    const api = testApp({}, log.logger);
    try {
      await (await api.app.request("/v1/sessions/0f39b9bd-9e50-4d49-877f-eb0d3e737b2a")).text();
      await (await post(api, "/v1/analyze", Buffer.from("nope, not a capture"), PCAP)).text();
      await (await api.app.request("/v1/analyze")).text();
      await (await api.app.request("/healthz")).text();
      expect(log.lines.map((l) => [l.level, l.route, l.status, l.error_code ?? null, l.tenant])).toEqual([
        ["warn", "/v1/sessions/:id", 404, "session_not_found", null],
        ["warn", "/v1/analyze", 422, "bad_magic", null],
        ["warn", "unmatched", 405, "method_not_allowed", null],
        ["info", "/healthz", 200, null, null],
      ]);
    } finally {
      api.close();
    }
  });
});

describe("server log", () => {
  it("startup and shutdown lines", async () => {
    const log = logLines();
    const s = await startServer(
      { port: 0, host: "127.0.0.1", dataDir: tempDataDir(), token: "x" },
      { logger: log.logger },
    );
    expect(log.lines[0]).toMatchObject({
      level: "info",
      msg: "listening",
      host: "127.0.0.1",
      port: s.port,
      auth: true,
    });
    await s.close(1000, "SIGTERM");
    expect(log.lines.slice(1)).toMatchObject([
      { level: "info", msg: "draining", reason: "SIGTERM", in_flight: 0, grace_s: 1 },
      { level: "info", msg: "stopped", forced: false },
    ]);
  });
});
