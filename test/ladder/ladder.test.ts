// Ladder diagrams (src/ladder) of real and generated connections, through the command line.

import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli.js";
import { analyzeFile } from "../../src/analyze.js";
import type { Flow } from "../../src/flow.js";
import { writeLongConnection } from "../trace/long-connection.js";

const KERNEL = resolve(import.meta.dirname, "../fixtures/kernel");
const tmp = mkdtempSync(join(tmpdir(), "flowrecon-ladder-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough(),
    stderr = new PassThrough();
  let out = "",
    err = "";
  stdout.on("data", (d) => (out += d));
  stderr.on("data", (d) => (err += d));
  const code = await main(argv, stdout, stderr);
  return { code, out, err };
}

async function flowsOf(path: string, options = {}): Promise<Flow[]> {
  const flows: Flow[] = [];
  await analyzeFile(path, options, (f) => void flows.push(f));
  return flows;
}

describe("flowrecon ladder on an ordinary close", async () => {
  const path = join(KERNEL, "normal-close-client-first.pcap");
  const [flow] = await flowsOf(path);

  it("SVG: the handshake labels, the states on each lifeline and the end states", async () => {
    const { code, out } = await run("ladder", path, "--uid", flow.uid);
    expect(code).toBe(0);
    expect(out.startsWith("<svg")).toBe(true);
    expect(out).toContain("[SYN] seq=0 win=64240 mss=1460");
    expect(out).toContain("[SYN, ACK] seq=0 ack=1");
    expect(out).toContain("[ACK] seq=1 ack=1");
    const states = [...out.matchAll(/<text class="state[^"]*" x="(\d+)"[^>]*>([^<]+)</g)].map((m) => [
      Number(m[1]) < 400 ? "client" : "server",
      m[2],
    ]);
    const client = states
      .filter(([s]) => s === "client")
      .map(([, t]) => t)
      .join(" → ");
    const server = states
      .filter(([s]) => s === "server")
      .map(([, t]) => t)
      .join(" → ");
    expect(client).toBe("CLOSED → SYN_SENT → ESTABLISHED → FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT → end: TIME_WAIT");
    expect(server).toBe("LISTEN → SYN_RECEIVED → ESTABLISHED → CLOSE_WAIT → LAST_ACK → CLOSED → end: CLOSED");
  });

  it("text: one line per drawn row, arrows pointing from the sender", async () => {
    const { code, out } = await run("ladder", path, "--uid", flow.uid, "--format", "text");
    expect(code).toBe(0);
    expect(out).toMatch(/SYN_SENT \|─+ \[SYN\] seq=0 win=64240 mss=1460.*▶\|/);
    expect(out).toMatch(/ESTABLISHED \|◀─+ \[SYN, ACK\] seq=0 ack=1 .*\| SYN_RECEIVED/);
    expect(out).toMatch(/end +TIME_WAIT \| +\| CLOSED/);
  });

  it("json: every event, and the end states of the flow", async () => {
    const { code, out } = await run(
      "ladder",
      path,
      "--flow",
      `${flow["id.orig_h"]}:${flow["id.orig_p"]} > ${flow["id.resp_h"]}:${flow["id.resp_p"]}`,
      "--format",
      "json",
    );
    expect(code).toBe(0);
    const doc = JSON.parse(out);
    expect(doc.flow.uid).toBe(flow.uid);
    expect(doc.events.length).toBe(flow.orig_pkts + flow.resp_pkts);
    expect(doc.events[0]).toMatchObject({
      frame: 1,
      dir: "orig",
      flag_names: ["SYN"],
      seq: 0,
      orig_state: "SYN_SENT",
      resp_state: "LISTEN",
    });
    expect(doc.end).toEqual({ orig_state: flow.orig_state, resp_state: flow.resp_state });
  });

  it("--all draws the data segments the default folds into a band", async () => {
    const folded = (await run("ladder", path, "--uid", flow.uid, "--format", "text")).out;
    const all = (await run("ladder", path, "--uid", flow.uid, "--format", "text", "--all")).out;
    expect(folded).toMatch(/4 segments, 30 B/);
    expect(all).not.toMatch(/segments, .* B/);
    expect(all).toContain("[PSH, ACK] seq=1 ack=1 len=16");
  });
});

describe("flowrecon ladder on a connection left in FIN_WAIT_2", () => {
  it("ends FIN_WAIT_2 / CLOSE_WAIT and marks stuck_fin_wait_2", async () => {
    const path = join(KERNEL, "fin-wait-2-close-wait.pcap");
    const [flow] = await flowsOf(path);
    const { out } = await run("ladder", path, "--uid", flow.uid);
    expect(out).toContain(">end: FIN_WAIT_2<");
    expect(out).toContain(">end: CLOSE_WAIT<");
    expect(out).toMatch(/class="anomaly end"[^>]*>⚠ stuck_fin_wait_2 \(orig/);
  });
});

describe("anomalies and gaps", () => {
  it("a refused connection's RST is marked on its arrow", async () => {
    const path = join(KERNEL, "refused.pcap");
    const [flow] = await flowsOf(path);
    const { out } = await run("ladder", path, "--uid", flow.uid);
    expect(out).toMatch(
      /<text class="label"[^>]*fill="#c62828"[^>]*>\[RST, ACK\] seq=1 ack=1<\/text><text class="anomaly"[^>]*>⚠ refused</,
    );
  });

  it("a pause of seconds is compressed into a labelled gap", async () => {
    const path = join(KERNEL, "keepalive.pcap");
    const [flow] = await flowsOf(path);
    const { out } = await run("ladder", path, "--uid", flow.uid, "--format", "text");
    expect(out).toMatch(/⋯ \d+\.\d s without segments ⋯/);
    expect(out).toContain("! keepalive");
  });
});

// The connection key and Zeek's timers decide which connection a segment belongs to: ladder takes
// them as analyze does, so a uid analyze printed with them is drawn with the same segments.
describe("ladder takes analyze's connection key and timers", () => {
  const segments = async (...argv: string[]): Promise<number> => {
    const { code, out, err } = await run("ladder", ...argv, "-f", "json");
    expect(code, err).toBe(0);
    return JSON.parse(out).segments;
  };
  const pkts = (f: Flow): number => f.orig_pkts + f.resp_pkts;

  it("--close-timeout 0: the last ACK after the close is a connection of its own, not the first one's", async () => {
    const path = join(KERNEL, "port-reuse.pcap");
    const lingering = await flowsOf(path);
    const closed = await flowsOf(path, { closeTimeout: 0 });
    const first = closed.find((f) => f.uid === lingering[0].uid)!;
    expect(pkts(first)).toBeLessThan(pkts(lingering[0]));
    expect(await segments(path, "--uid", first.uid)).toBe(pkts(lingering[0]));
    expect(await segments(path, "--uid", first.uid, "--close-timeout", "0")).toBe(pkts(first));
    const ack = closed.find((f) => !lingering.some((g) => g.uid === f.uid))!;
    expect(await segments(path, "--uid", ack.uid, "--close-timeout", "0")).toBe(pkts(ack));
    expect((await run("ladder", path, "--uid", ack.uid)).code).toBe(1);
  });

  it("--vlan-key: each VLAN's half of a router-on-a-stick connection is a connection", async () => {
    const path = resolve(import.meta.dirname, "../fixtures/pcap/router-on-a-stick.pcap");
    const [whole] = await flowsOf(path);
    const halves = await flowsOf(path, { vlanInKey: true });
    expect(halves.length).toBe(2);
    for (const half of halves) {
      expect(await segments(path, "--uid", half.uid, "--vlan-key")).toBe(pkts(half));
      expect((await run("ladder", path, "--uid", half.uid)).code).toBe(1);
    }
    expect(await segments(path, "--uid", whole.uid)).toBe(pkts(whole));
  });
});

describe("usage errors name what is wrong", () => {
  const path = join(KERNEL, "port-reuse.pcap");
  it.each([
    [["ladder", path], /needs a connection/],
    [["ladder", path, "--uid", "x", "--flow", "1.2.3.4:1 > 5.6.7.8:2"], /one way/],
    [["ladder", path, "--flow", "1.2.3.4 > 5.6.7.8:2"], /not an endpoint/],
    [["ladder", path, "--uid", "x", "--format", "png"], /unknown ladder format 'png'/],
    [["extract", path, "--uid", "x"], /-w <out.pcap>/],
    [
      ["ladder", path, "--uid", "x", "--close-timeout", "soon"],
      /--close-timeout needs a number of seconds >= 0, got 'soon'/,
    ],
  ])("%j", async (argv, message) => {
    const { code, err } = await run(...(argv as string[]));
    expect(code).toBe(2);
    expect(err).toMatch(message);
  });

  it("two connections on one 5-tuple: the error lists them and asks for --start or --uid", async () => {
    const flows = await flowsOf(path);
    const f = flows[0];
    const { code, err } = await run(
      "ladder",
      path,
      "--flow",
      `${f["id.orig_h"]}:${f["id.orig_p"]} > ${f["id.resp_h"]}:${f["id.resp_p"]}`,
    );
    expect(code).toBe(2);
    expect(err).toContain(`2 connections match`);
    for (const x of flows) expect(err).toContain(x.uid);
  });

  it("an unknown uid is an input error", async () => {
    const { code, err } = await run("ladder", path, "--uid", "CXXXXXXXXXXXXXXXXX");
    expect(code).toBe(1);
    expect(err).toContain("no connection with uid CXXXXXXXXXXXXXXXXX");
  });
});

describe("a connection of a million segments", () => {
  it("renders in under 1 MB of SVG, every segment traced, the retransmission kept", async () => {
    const path = join(tmp, "long.pcap");
    const { frames } = writeLongConnection(path, 500_000, 10, 250_000);
    expect(frames).toBe(1_000_007);
    const [flow] = await flowsOf(path, { ignoreChecksums: true });
    const svg = join(tmp, "long.svg");
    const { code } = await run("ladder", path, "--uid", flow.uid, "-C", "-o", svg);
    expect(code).toBe(0);
    const text = readFileSync(svg, "utf8");
    expect(statSync(svg).size).toBeLessThan(1 << 20);
    expect(text).toContain("1000007 segments");
    expect(text).toMatch(/⚠ retransmission/);
    // The bands around the retransmission hold every ordinary segment.
    const bands = [...text.matchAll(/>(\d+) segments, [\d.]+ [kMG]?B, /g)].map((m) => Number(m[1]));
    const drawn = (text.match(/<g class="segment"/g) ?? []).length;
    expect(bands.reduce((a, b) => a + b, 0) + drawn).toBe(frames);
  }, 300_000);
});
