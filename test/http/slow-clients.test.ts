// issue-11 defect 2: slow clients on a real server on 127.0.0.1. A body trickled a byte at a
// time, a body that stops, headers that never end: each gets its 408 (or its connection closed)
// in seconds, holds only the bytes it sent meanwhile (no engine), and one client address runs at
// most maxUploadsPerClient uploads. Clients are raw sockets, so the pace is exactly the test's.
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/server.js";
import { configFromEnv, type ServerConfig } from "../../src/http/config.js";
import { capture, PCAP, RXMIT, testServer } from "./helpers.js";

const started: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close(500)));
});

async function server(config: Partial<ServerConfig>): Promise<RunningServer> {
  const s = await testServer(config);
  started.push(s);
  return s;
}

interface Client {
  socket: Socket;
  /** Everything the server sent, once it closed the connection (or the deadline passed: null). */
  reply(deadlineMs: number): Promise<string | null>;
  /** Writes `bytes` one byte every `everyMs` until `stop()` (or the bytes run out). */
  trickle(bytes: Uint8Array, everyMs: number): { stop(): void; sent(): number };
}

function client(port: number, head: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port }, () => {
      socket.write(head);
      let text = "";
      let closed = false;
      const waiters: (() => void)[] = [];
      socket.on("data", (d) => (text += d.toString("latin1")));
      socket.on("error", () => {});
      socket.on("close", () => {
        closed = true;
        for (const w of waiters.splice(0)) w();
      });
      resolve({
        socket,
        reply: (deadlineMs) =>
          new Promise((done) => {
            if (closed) return done(text);
            const timer = setTimeout(() => done(null), deadlineMs);
            waiters.push(() => {
              clearTimeout(timer);
              done(text);
            });
          }),
        trickle(bytes, everyMs) {
          let i = 0;
          const timer = setInterval(() => {
            if (i >= bytes.length || socket.destroyed) return clearInterval(timer);
            socket.write(bytes.subarray(i, i + 1));
            i++;
          }, everyMs);
          return { stop: () => clearInterval(timer), sent: () => i };
        },
      });
    });
    socket.on("error", reject);
  });
}

const uploadHead = (path = "/v1/analyze", length?: number): string =>
  `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-type: ${PCAP}\r\n` +
  (length === undefined ? "transfer-encoding: chunked\r\n" : `content-length: ${length}\r\n`) +
  "\r\n";

const status = (reply: string | null): number | undefined =>
  reply === null ? undefined : Number(/^HTTP\/1\.1 (\d+)/.exec(reply)?.[1]);
const errorCode = (reply: string | null): string | undefined =>
  reply === null ? undefined : /"code":"([a-z_]+)"/.exec(reply)?.[1];

describe("issue-11 defect 2: slow request bodies", () => {
  it("a body trickled at one byte per 100 ms gets 408 body_timeout once a rate window is below the minimum", async () => {
    const s = await server({ minBodyRate: 1000, bodyRateWindowMs: 1000 });
    const bytes = capture(RXMIT);
    const c = await client(s.port, uploadHead("/v1/analyze", bytes.length));
    const t = c.trickle(bytes, 100);
    const start = performance.now();
    const reply = await c.reply(8000);
    t.stop();
    expect(status(reply), "no answer within 8 s").toBe(408);
    expect(errorCode(reply)).toBe("body_timeout");
    expect(reply).toMatch(/below the minimum of 1000 bytes\/s/);
    expect(performance.now() - start).toBeLessThan(5000);
    expect(s.api.context.budget.used()).toBe(0);
  });

  it("a body that stops arriving gets 408 after the idle timeout", async () => {
    const s = await server({ bodyIdleTimeoutMs: 500, minBodyRate: 0 });
    const bytes = capture(RXMIT);
    const c = await client(s.port, uploadHead("/v1/analyze", bytes.length));
    c.socket.write(bytes.subarray(0, 100));
    const reply = await c.reply(5000);
    expect(status(reply), "no answer within 5 s").toBe(408);
    expect(reply).toMatch(/no request body bytes for 0\.5 s/);
    expect(s.api.context.budget.used()).toBe(0);
  });

  it("headers that never end: the connection is closed after the headers timeout", async () => {
    const s = await server({ headersTimeoutMs: 500 });
    const c = await client(s.port, "POST /v1/analyze HTTP/1.1\r\nhost: 127.0.0.1\r\n");
    const reply = await c.reply(5000);
    expect(reply, "the connection was still open after 5 s").not.toBeNull();
    expect(status(reply)).toBe(408);
  });

  it("while a body trickles, the server holds the bytes it sent, not an engine", async () => {
    const s = await server({ minBodyRate: 0 });
    const bytes = capture(RXMIT);
    const c = await client(s.port, uploadHead("/v1/analyze", bytes.length));
    c.socket.write(bytes.subarray(0, 200));
    const deadline = performance.now() + 3000;
    while (s.api.context.budget.used() < 200 && performance.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    expect(s.api.context.budget.used()).toBe(200);
    // The rest arrives: the answer is the usual one.
    c.socket.write(bytes.subarray(200));
    const reply = await c.reply(5000);
    expect(status(reply)).toBe(200);
    expect(reply).toMatch(/"flows":\[/);
  });

  it("at most maxUploadsPerClient uploads from one address; 429 too_many_uploads beyond, and a slot frees when one ends", async () => {
    const s = await server({ maxUploadsPerClient: 2, minBodyRate: 0 });
    const bytes = capture(RXMIT);
    const a = await client(s.port, uploadHead("/v1/analyze", bytes.length));
    const session = (await (await fetch(`http://127.0.0.1:${s.port}/v1/sessions`, { method: "POST" })).json()) as {
      id: string;
    };
    const b = await client(s.port, uploadHead(`/v1/sessions/${session.id}/batches`, bytes.length));
    a.socket.write(bytes.subarray(0, 10));
    b.socket.write(bytes.subarray(0, 10));
    const deadline = performance.now() + 3000;
    while (s.api.context.budget.used() < 10 && performance.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    const third = await client(s.port, uploadHead("/v1/analyze", bytes.length));
    third.socket.write(bytes);
    const refused = await third.reply(5000);
    expect(status(refused)).toBe(429);
    expect(errorCode(refused)).toBe("too_many_uploads");
    a.socket.write(bytes.subarray(10));
    expect(status(await a.reply(5000))).toBe(200);
    const fourth = await client(s.port, uploadHead("/v1/analyze", bytes.length));
    fourth.socket.write(bytes);
    expect(status(await fourth.reply(5000))).toBe(200);
    b.socket.destroy();
  });
});

describe("slow-client settings", () => {
  it("have defaults that bound a trickle, and are read from the environment in seconds and bytes", () => {
    const defaults = configFromEnv({});
    expect(defaults).toMatchObject({
      headersTimeoutMs: 20_000,
      bodyIdleTimeoutMs: 30_000,
      minBodyRate: 16_384,
      bodyRateWindowMs: 10_000,
      responseIdleTimeoutMs: 30_000,
      minResponseRate: 16_384,
      responseRateWindowMs: 10_000,
      maxUploadsPerClient: 8,
      logLevel: "info",
    });
    const env = {
      FLOWRECON_HEADERS_TIMEOUT: "5",
      FLOWRECON_BODY_IDLE_TIMEOUT: "7",
      FLOWRECON_MIN_BODY_RATE: "1000",
      FLOWRECON_BODY_RATE_WINDOW: "2.5",
      FLOWRECON_RESPONSE_IDLE_TIMEOUT: "9",
      FLOWRECON_MIN_RESPONSE_RATE: "2000",
      FLOWRECON_RESPONSE_RATE_WINDOW: "1.5",
      FLOWRECON_MAX_UPLOADS_PER_CLIENT: "3",
      FLOWRECON_LOG_LEVEL: "warn",
    };
    expect(configFromEnv(env)).toMatchObject({
      headersTimeoutMs: 5000,
      bodyIdleTimeoutMs: 7000,
      minBodyRate: 1000,
      bodyRateWindowMs: 2500,
      responseIdleTimeoutMs: 9000,
      minResponseRate: 2000,
      responseRateWindowMs: 1500,
      maxUploadsPerClient: 3,
      logLevel: "warn",
    });
    expect(() => configFromEnv({ FLOWRECON_MIN_BODY_RATE: "fast" })).toThrow(
      /FLOWRECON_MIN_BODY_RATE must be a number >= 0/,
    );
    expect(() => configFromEnv({ FLOWRECON_LOG_LEVEL: "loud" })).toThrow(
      /FLOWRECON_LOG_LEVEL must be one of trace, debug, info/,
    );
  });
});
