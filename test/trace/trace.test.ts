// Engine trace mode (assembly/flow/trace.ts, src/trace): the events of one connection, from the
// tracker itself, against real Linux connections (test/fixtures/kernel) whose endpoint states are
// known from `ss`, and against the flow summary of the same connection.

import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { analyzeFile } from "../../src/analyze.js";
import type { Flow } from "../../src/flow.js";
import { findFlows, parseFlowSpec, traceEveryFlow, traceFlow } from "../../src/trace/trace.js";
import { stateSequence, type TraceEvent } from "../../src/trace/events.js";

const KERNEL = resolve(import.meta.dirname, "../fixtures/kernel");
const kernel = (name: string) => resolve(KERNEL, `${name}.pcap`);

async function flowsOf(path: string): Promise<Flow[]> {
  const flows: Flow[] = [];
  await analyzeFile(path, {}, (f) => void flows.push(f));
  return flows;
}

function trace(path: string, flow: Flow): { events: TraceEvent[]; result: ReturnType<typeof traceFlow> } {
  const events: TraceEvent[] = [];
  const result = traceFlow(path, flow, (e) => events.push(e));
  return { events, result };
}

describe("trace of an ordinary close (normal-close-client-first)", async () => {
  const path = kernel("normal-close-client-first");
  const [flow] = await flowsOf(path);
  const { events, result } = trace(path, flow);

  it("has one event per segment of the connection, in capture order", () => {
    expect(events.length).toBe(flow.orig_pkts + flow.resp_pkts);
    expect(events.map((e) => e.frame)).toEqual([...events.map((e) => e.frame)].sort((a, b) => a - b));
  });

  it("numbers the handshake as a textbook does: SYN seq 0, SYN-ACK seq 0 ack 1, ACK seq 1 ack 1", () => {
    const [syn, synAck, ack] = events;
    expect([syn.flag_names, syn.seq, syn.ack, syn.dir]).toEqual([["SYN"], 0, undefined, "orig"]);
    expect([synAck.flag_names, synAck.seq, synAck.ack, synAck.dir]).toEqual([["SYN", "ACK"], 0, 1, "resp"]);
    expect([ack.flag_names, ack.seq, ack.ack]).toEqual([["ACK"], 1, 1]);
    expect(syn.options.mss).toBe(1460);
  });

  it("walks the client through RFC 9293's active close and the server through the passive one", () => {
    const seq = stateSequence(events);
    expect(seq.orig).toEqual(["CLOSED", "SYN_SENT", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "TIME_WAIT"]);
    expect(seq.resp).toEqual(["LISTEN", "SYN_RECEIVED", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK", "CLOSED"]);
  });

  it("adds the history letters of the flow summary, segment by segment", () => {
    expect(events.map((e) => e.history).join("")).toBe(flow.history);
  });

  it("ends in the states of the flow summary", () => {
    expect(result.end).toEqual({ orig_state: flow.orig_state, resp_state: flow.resp_state });
    expect(result.flow).toEqual(flow);
  });
});

describe("trace of a connection left in FIN_WAIT_2 (fin-wait-2-close-wait)", async () => {
  const path = kernel("fin-wait-2-close-wait");
  const [flow] = await flowsOf(path);
  const { events, result } = trace(path, flow);

  it("ends FIN_WAIT_2 / CLOSE_WAIT, as ss showed", () => {
    const expected = JSON.parse(readFileSync(resolve(KERNEL, "fin-wait-2-close-wait.expected.json"), "utf8"));
    expect(result.end).toEqual({ orig_state: expected.orig_state, resp_state: expected.resp_state });
    expect(result.end).toEqual({ orig_state: "FIN_WAIT_2", resp_state: "CLOSE_WAIT" });
    expect(events.at(-1)).toMatchObject({ orig_state: "FIN_WAIT_2", resp_state: "CLOSE_WAIT" });
  });

  it("the flow it belongs to is marked stuck_fin_wait_2", () => {
    expect(result.flow.anomalies.map((a) => a.type)).toContain("stuck_fin_wait_2");
  });
});

describe("anomalies on the segment that raised them", () => {
  it("a refused connection: the RST carries `refused`, charged to the responder", async () => {
    const path = kernel("refused");
    const [flow] = await flowsOf(path);
    const { events } = trace(path, flow);
    expect(events.map((e) => e.anomalies)).toEqual([[], [{ type: "refused", side: "resp" }]]);
  });

  it("every wire anomaly of a flow is raised by some segment of its trace", async () => {
    for (const name of ["zero-window", "reset-mid-stream", "simultaneous-close", "keepalive"]) {
      const path = kernel(name);
      for (const flow of await flowsOf(path)) {
        const { events } = trace(path, flow);
        const raised = new Set(events.flatMap((e) => e.anomalies.map((a) => `${a.type}:${a.side}`)));
        const wire = flow.anomalies.filter((a) => a.idle_s === undefined).map((a) => `${a.type}:${a.side}`);
        expect([...raised].sort(), `${name} ${flow.uid}`).toEqual([...new Set(wire)].sort());
      }
    }
  });
});

describe("selection", () => {
  const path = kernel("port-reuse");

  it("a 5-tuple shared by two connections names both; the start time picks one, and its trace holds only its own segments", async () => {
    const flows = await flowsOf(path);
    expect(flows.length).toBe(2);
    const [a, b] = flows;
    const spec = parseFlowSpec(`${a["id.orig_h"]}:${a["id.orig_p"]} > ${a["id.resp_h"]}:${a["id.resp_p"]}`);
    expect(findFlows(path, spec).map((f) => f.uid)).toEqual([a.uid, b.uid]);
    expect(findFlows(path, { ...spec, start: b.ts }).map((f) => f.uid)).toEqual([b.uid]);
    const ta = trace(path, a).events,
      tb = trace(path, b).events;
    expect(ta.length).toBe(a.orig_pkts + a.resp_pkts);
    expect(tb.length).toBe(b.orig_pkts + b.resp_pkts);
    expect(Math.max(...ta.map((e) => e.frame))).toBeLessThan(Math.min(...tb.map((e) => e.frame)));
  });

  it("by uid and by Community ID", async () => {
    const [, b] = await flowsOf(path);
    expect(findFlows(path, { uid: b.uid }).map((f) => f.uid)).toEqual([b.uid]);
    expect(findFlows(path, { communityId: b.community_id, start: b.ts }).map((f) => f.uid)).toEqual([b.uid]);
  });

  it("the endpoints may be given in either order, IPv6 in brackets", async () => {
    const path6 = kernel("ipv6");
    const [f] = await flowsOf(path6);
    const spec = parseFlowSpec(`[${f["id.resp_h"]}]:${f["id.resp_p"]} > [${f["id.orig_h"]}]:${f["id.orig_p"]}`);
    expect(findFlows(path6, spec).map((x) => x.uid)).toEqual([f.uid]);
  });

  it("a malformed --flow names what is wrong", () => {
    expect(() => parseFlowSpec("10.0.0.1:80")).toThrow(/addr:port > addr:port/);
    expect(() => parseFlowSpec("10.0.0.1:80 > 10.0.0.300:1")).toThrow(/10\.0\.0\.300/);
    expect(() => parseFlowSpec("10.0.0.1:80 > 10.0.0.3:70000")).toThrow(/port out of range/);
  });
});

describe("tracing changes nothing else", () => {
  it("every flow of a multi-connection capture is the same with a trace armed", async () => {
    const path = kernel("combined");
    const flows = await flowsOf(path);
    const { result } = trace(path, flows[3]);
    expect(result.flow).toEqual(flows[3]);
  });
});

describe("tracing every connection in one pass", () => {
  it("gives each connection the events a trace of it alone gives", async () => {
    const path = kernel("combined");
    const flows = await flowsOf(path);
    const all = new Map<string, TraceEvent[]>();
    traceEveryFlow(path, (flow, events) => void all.set(flow.uid, events));
    expect([...all.keys()].sort()).toEqual(flows.map((f) => f.uid).sort());
    for (const flow of flows.slice(0, 6)) expect(all.get(flow.uid), flow.uid).toEqual(trace(path, flow).events);
  });
});
