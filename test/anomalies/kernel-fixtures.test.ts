// Endpoint states and anomalies against real Linux traffic: the captures in test/fixtures/kernel
// were made by real sockets in network namespaces (make-fixtures.sh), and each connection's
// expected orig_state/resp_state is what `ss` showed for its sockets at capture end. Intended
// anomalies must be reported; nothing outside intended + incidental-possible may be.

import { readFileSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { Reconstructor } from "../../src/index.js";
import type { Flow } from "../../src/flow.js";
import { ANOMALIES } from "../../src/anomalies/index.js";

const DIR = resolve(import.meta.dirname, "../fixtures/kernel");

interface Conn {
  kind: string;
  client: { addr: string; port: number };
  server: { addr: string; port: number };
  orig_state: string;
  resp_state: string;
  intended_anomalies: string[];
  incidental_possible_anomalies?: string[];
}
interface Scenario {
  scenario: string;
  pcap: string;
  connections: Conn[];
}

/**
 * Where the wire cannot show what the kernel did. Each entry: scenario/kind -> the states flowrecon
 * reports, and why they differ from `ss`.
 */
const STATE_EXCEPTIONS: Record<string, { states: [string, string]; why: string }> = {
  "peer-vanished": {
    states: ["ESTABLISHED", "ESTABLISHED"],
    why: "the client gave up through TCP_USER_TIMEOUT after the last packet of the capture, without sending anything: on the wire it is still retransmitting",
  },
};

const scenarios: Scenario[] = readdirSync(DIR)
  .filter((f) => f.endsWith(".expected.json"))
  .sort()
  .map((f) => JSON.parse(readFileSync(resolve(DIR, f), "utf8")) as Scenario);

const flowsOf = new Map<string, Flow[]>();
function flows(s: Scenario): Flow[] {
  let out = flowsOf.get(s.pcap);
  if (out === undefined) {
    const rec = new Reconstructor({});
    out = [...rec.push(readFileSync(resolve(DIR, s.pcap))), ...rec.finish()].sort((a, b) => a.ts - b.ts);
    expect(rec.error).toBeNull();
    flowsOf.set(s.pcap, out);
  }
  return out;
}

/** The records of one connection's 5-tuple, in time order (a reused port gives several). */
function recordsOf(s: Scenario, c: Conn): Flow[] {
  return flows(s).filter(
    (f) =>
      (f["id.orig_h"] === c.client.addr &&
        f["id.orig_p"] === c.client.port &&
        f["id.resp_h"] === c.server.addr &&
        f["id.resp_p"] === c.server.port) ||
      (f["id.orig_h"] === c.server.addr &&
        f["id.orig_p"] === c.server.port &&
        f["id.resp_h"] === c.client.addr &&
        f["id.resp_p"] === c.client.port),
  );
}

/** Pairs each expected connection with its record: the n-th connection on a tuple is its n-th record. */
function paired(s: Scenario): [Conn, Flow | undefined][] {
  const seen = new Map<string, number>();
  return s.connections.map((c) => {
    const key = `${c.client.addr}:${c.client.port}-${c.server.addr}:${c.server.port}`;
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    return [c, recordsOf(s, c)[n]];
  });
}

const types = (f: Flow) => [...new Set(f.anomalies.map((a) => a.type))];

describe("real kernel fixtures", () => {
  for (const s of scenarios) {
    it(`${s.scenario}: kernel socket states, intended anomalies and nothing else`, () => {
      const conns = paired(s);
      for (const [c, f] of conns) {
        const what = `${s.scenario}/${c.kind} ${c.client.addr}:${c.client.port}`;
        expect(f, `${what}: a record`).toBeDefined();
        if (f === undefined) continue;
        // The kernel's client socket is flowrecon's originator here (every scenario starts with its SYN).
        expect(f["id.orig_p"], what).toBe(c.client.port);
        const exception = STATE_EXCEPTIONS[c.kind];
        const want = exception ? exception.states : [c.orig_state, c.resp_state];
        expect([f.orig_state, f.resp_state], `${what}: states`).toEqual(want);
        const got = types(f);
        for (const a of c.intended_anomalies) expect(got, `${what}: reports ${a}`).toContain(a);
        const allowed = new Set([...c.intended_anomalies, ...(c.incidental_possible_anomalies ?? [])]);
        expect(
          got.filter((a) => !allowed.has(a)),
          `${what}: anomalies the scenario did not cause`,
        ).toEqual([]);
      }
      // Every record of the capture belongs to one of the expected connections.
      expect(flows(s).length, `${s.scenario}: records`).toBe(conns.length);
    });
  }

  const normal = scenarios.filter((s) => s.scenario.startsWith("normal-close")).flatMap((s) => flows(s));
  const covered = new Set(scenarios.flatMap((s) => s.connections.flatMap((c) => c.intended_anomalies)));
  for (const a of ANOMALIES) {
    if (!covered.has(a.name)) continue; // the rest are in synthetic.test.ts (no conforming stack produces them on demand)
    it(`${a.name}: fires on its scenario and stays silent on a normal connection`, () => {
      const fired = scenarios.some((s) =>
        paired(s).some(
          ([c, f]) => c.intended_anomalies.includes(a.name) && f !== undefined && types(f).includes(a.name),
        ),
      );
      expect(fired).toBe(true);
      expect(normal.length).toBeGreaterThan(0);
      for (const f of normal) expect(types(f)).not.toContain(a.name);
    });
  }

  it("the HTTP scenarios: keep-alive with several requests vs one request per connection", () => {
    const keep = flows(scenarios.find((s) => s.scenario === "http11-keepalive")!);
    expect(keep).toHaveLength(1);
    expect(keep[0].http).toMatchObject({
      requests: 3,
      responses: 3,
      keep_alive: true,
      versions: ["HTTP/1.1"],
      methods: { GET: 3 },
    });
    expect(keep[0].http!.status_classes).toEqual({ "2xx": 2, "4xx": 1 });
    const short = flows(scenarios.find((s) => s.scenario === "http10-short")!);
    expect(short.length).toBeGreaterThan(1);
    for (const f of short)
      expect(f.http).toMatchObject({ requests: 1, responses: 1, keep_alive: false, versions: ["HTTP/1.0"] });
    for (const f of normal) expect(f.http).toBeUndefined();
  });
});
