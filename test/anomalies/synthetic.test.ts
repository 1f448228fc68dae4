// Anomalies that real-socket fixtures cannot produce on demand (a conforming stack never sends them,
// or they need loss at a precise point), stated as scripted segments through the real engine.
// Each test also checks the same script without the anomaly stays silent.

import { describe, expect, it } from "vitest";
import type { Flow } from "../../src/flow.js";
import { ACK, FIN, PSH, RST, SYN, URG, handshake, run, types, type Seg } from "./conversation.js";

const close = (cSeq: number, sSeq: number, t: number): Seg[] => [
  { from: "c", flags: FIN | ACK, seq: cSeq, ack: sSeq, t },
  { from: "s", flags: FIN | ACK, seq: sSeq, ack: cSeq + 1, t: t + 0.01 },
  { from: "c", flags: ACK, seq: cSeq + 1, ack: sSeq + 1, t: t + 0.02 },
];

describe("synthetic anomalies", () => {
  it("a clean connection has no anomaly and ends TIME_WAIT/CLOSED", () => {
    const [f] = run([
      ...handshake(),
      { from: "c", flags: PSH | ACK, seq: 1, ack: 1, len: 100, t: 0.03 },
      { from: "s", flags: ACK, seq: 1, ack: 101, t: 0.04 },
      ...close(101, 1, 0.05),
    ]);
    expect(f.anomalies).toEqual([]);
    expect([f.orig_state, f.resp_state]).toEqual(["TIME_WAIT", "CLOSED"]);
    expect(f.conn_state).toBe("SF");
  });

  it("invalid_flags: SYN+FIN, and a segment with no flags", () => {
    const [f] = run([
      { from: "c", flags: SYN | FIN, seq: 0, t: 0 },
      { from: "c", flags: 0, seq: 1, t: 0.1 },
    ]);
    const found = f.anomalies.filter((a) => a.type === "invalid_flags");
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ side: "orig", count: 2 });
  });

  it("invalid_flags: FIN+PSH+URG (Xmas) on an established connection", () => {
    const [f] = run([...handshake(), { from: "c", flags: FIN | PSH | URG | ACK, seq: 1, ack: 1, t: 0.05 }]);
    expect(types(f)).toContain("invalid_flags");
  });

  it("out_of_order: a hole filled right after the later segment, vs retransmission of seen data", () => {
    const reordered = run([
      ...handshake(),
      { from: "c", flags: ACK, seq: 101, ack: 1, len: 100, t: 0.03 },
      { from: "c", flags: ACK, seq: 1, ack: 1, len: 100, t: 0.031 },
      { from: "s", flags: ACK, seq: 1, ack: 201, t: 0.04 },
    ])[0];
    expect(types(reordered)).toEqual(["out_of_order"]);
    const resent = run([
      ...handshake(),
      { from: "c", flags: ACK, seq: 1, ack: 1, len: 100, t: 0.03 },
      { from: "s", flags: ACK, seq: 1, ack: 101, t: 0.04 },
      { from: "c", flags: ACK, seq: 1, ack: 1, len: 100, t: 0.5 },
    ])[0];
    expect(types(resent)).toEqual(["retransmission"]);
  });

  it("out-of-order ranges of both sides at once are kept apart, and a hole left unfilled is one side's gap", () => {
    // Each side sends a segment past a hole before the other fills its own: the reassembler holds
    // an out-of-order range for both endpoints at the same time.
    const both = (fillServerHole: boolean): Seg[] => [
      ...handshake(),
      { from: "c", flags: ACK, seq: 1, ack: 1, len: 100, t: 0.03 },
      { from: "c", flags: ACK, seq: 201, ack: 1, len: 100, t: 0.031 },
      { from: "s", flags: ACK, seq: 1, ack: 101, len: 50, t: 0.032 },
      { from: "s", flags: ACK, seq: 101, ack: 101, len: 50, t: 0.033 },
      { from: "c", flags: ACK, seq: 101, ack: 51, len: 100, t: 0.034 },
      ...(fillServerHole ? [{ from: "s", flags: ACK, seq: 51, ack: 301, len: 50, t: 0.035 } as Seg] : []),
      { from: "c", flags: ACK, seq: 301, ack: 151, t: 0.04 },
      { from: "s", flags: ACK, seq: 151, ack: 301, t: 0.05 },
    ];
    const filled = run(both(true))[0];
    expect(filled.missed_bytes).toBe(0);
    expect(filled.history).not.toMatch(/g/i);
    expect(types(filled)).not.toContain("content_gap");
    const hole = run(both(false))[0];
    expect(hole.missed_bytes).toBe(50);
    expect(hole.history).toContain("g");
    expect(hole.history).not.toContain("G");
    expect(hole.anomalies.filter((a) => a.type === "content_gap").map((a) => a.side)).toEqual(["resp"]);
  });

  it("duplicate_ack: the same ack three times while data is outstanding", () => {
    const segs: Seg[] = [
      ...handshake(),
      { from: "s", flags: ACK, seq: 1, ack: 1, len: 100, t: 0.03 },
      { from: "s", flags: ACK, seq: 201, ack: 1, len: 100, t: 0.031 }, // 101..200 lost upstream of the capture
      { from: "c", flags: ACK, seq: 1, ack: 101, t: 0.04 },
      { from: "c", flags: ACK, seq: 1, ack: 101, t: 0.041 },
      { from: "c", flags: ACK, seq: 1, ack: 101, t: 0.042 },
    ];
    const [f] = run(segs);
    expect(f.anomalies.find((a) => a.type === "duplicate_ack")).toMatchObject({ side: "orig", count: 2 });
    // Acknowledging everything leaves nothing outstanding: a repeated ACK is not a duplicate then.
    const [quiet] = run([
      ...handshake(),
      { from: "s", flags: ACK, seq: 1, ack: 1, len: 100, t: 0.03 },
      { from: "c", flags: ACK, seq: 1, ack: 101, t: 0.04 },
      { from: "c", flags: ACK, seq: 1, ack: 101, t: 0.05 },
    ]);
    expect(types(quiet)).not.toContain("duplicate_ack");
  });

  it("ack_of_unseen_data: an ack beyond anything the peer was seen sending", () => {
    const [f] = run([...handshake(), { from: "s", flags: ACK, seq: 1, ack: 501, t: 0.03 }]);
    expect(f.anomalies.find((a) => a.type === "ack_of_unseen_data")).toMatchObject({ side: "resp" });
  });

  it("data_after_fin: payload past the sender's own FIN", () => {
    const [f] = run([
      ...handshake(),
      { from: "c", flags: FIN | ACK, seq: 1, ack: 1, t: 0.03 },
      { from: "c", flags: PSH | ACK, seq: 2, ack: 1, len: 10, t: 0.04 },
    ]);
    expect(types(f)).toContain("data_after_fin");
  });

  it("zero_window, then a one-byte zero_window_probe into it", () => {
    const [f] = run([
      ...handshake(),
      { from: "c", flags: ACK, seq: 1, ack: 1, len: 100, t: 0.03 },
      { from: "s", flags: ACK, seq: 1, ack: 101, win: 0, t: 0.04 },
      { from: "c", flags: ACK, seq: 101, ack: 1, len: 1, t: 0.5 },
    ]);
    expect(f.anomalies.find((a) => a.type === "zero_window")).toMatchObject({ side: "resp" });
    expect(f.anomalies.find((a) => a.type === "zero_window_probe")).toMatchObject({ side: "orig" });
    expect(types(f)).not.toContain("retransmission");
  });

  it("keepalive: one octet before snd.nxt on an idle connection, not counted as a retransmission", () => {
    const [f] = run([
      ...handshake(),
      { from: "c", flags: ACK, seq: 1, ack: 1, len: 100, t: 0.03 },
      { from: "s", flags: ACK, seq: 1, ack: 101, t: 0.04 },
      { from: "c", flags: ACK, seq: 100, ack: 1, len: 1, t: 60 },
      { from: "s", flags: ACK, seq: 1, ack: 101, t: 60.01 },
    ]);
    expect(types(f)).toEqual(["keepalive"]);
  });

  it("refused is not also a reset; a mid-stream reset says data had flowed", () => {
    const [refused] = run([
      { from: "c", flags: SYN, seq: 0, t: 0 },
      { from: "s", flags: RST | ACK, seq: 0, ack: 1, t: 0.01 },
    ]);
    expect(types(refused)).toEqual(["refused"]);
    expect(refused.conn_state).toBe("REJ");
    const [reset] = run([
      ...handshake(),
      { from: "c", flags: ACK, seq: 1, ack: 1, len: 50, t: 0.03 },
      { from: "s", flags: ACK, seq: 1, ack: 51, t: 0.04 },
      { from: "s", flags: RST, seq: 1, t: 0.05 },
    ]);
    expect(reset.anomalies.find((a) => a.type === "reset")).toMatchObject({
      side: "resp",
      detail: "after data had flowed",
    });
  });

  it("syn_unanswered counts the SYNs and reports idle time to the end of the input", () => {
    const [f] = run([
      { from: "c", flags: SYN, seq: 0, t: 0 },
      { from: "c", flags: SYN, seq: 0, t: 1 },
      { from: "c", flags: SYN, seq: 0, t: 3 },
    ]);
    expect(f.anomalies.find((a) => a.type === "syn_unanswered")).toMatchObject({ side: "orig", count: 3, idle_s: 0 });
    expect(f.anomalies.find((a) => a.type === "retransmission")).toMatchObject({ count: 2 });
    expect(f.orig_state).toBe("SYN_SENT");
  });

  it("stuck_fin_wait_2 / CLOSE_WAIT: FIN acknowledged, the peer never closes", () => {
    const [f] = run([
      ...handshake(),
      { from: "c", flags: FIN | ACK, seq: 1, ack: 1, t: 0.03 },
      { from: "s", flags: ACK, seq: 1, ack: 2, t: 0.04 },
      { from: "s", flags: ACK, seq: 1, ack: 2, len: 10, t: 2 },
    ]);
    expect([f.orig_state, f.resp_state]).toEqual(["FIN_WAIT_2", "CLOSE_WAIT"]);
    expect(f.anomalies.find((a) => a.type === "stuck_fin_wait_2")).toMatchObject({ side: "orig", idle_s: 0 });
  });
});

// A connection picked up without its SYN records the midstream anomaly when it is created. The live
// record keeps it in two flag bits while it has no extension block (live.ts FF_MIDSTREAM): it must
// come out as the block's first anomaly would, whether the record never takes a block, or takes one
// later for something else (the anomaly then moves into it), and on the side the record ends up on.
describe("midstream kept in the live record's flags (live.ts FF_MIDSTREAM)", () => {
  const midstream = (f: Flow) => ({ type: "midstream", side: "orig", ts: f.ts, count: 1 });

  it("a connection with nothing else to record reports it once, by the originator, at its start", () => {
    const [f] = run([
      { from: "c", flags: PSH | ACK, seq: 1, ack: 1, len: 100, t: 0 },
      { from: "s", flags: ACK, seq: 1, ack: 101, t: 0.01 },
    ]);
    expect(f.history).toBe("Da");
    expect(f.anomalies).toEqual([midstream(f)]);
  });

  it("a first packet from the server port makes the client the originator, which the anomaly names", () => {
    const [f] = run([
      { from: "s", flags: PSH | ACK, seq: 1, ack: 1, len: 100, t: 0 },
      { from: "c", flags: ACK, seq: 1, ack: 101, t: 0.01 },
    ]);
    expect(f["id.orig_h"]).toBe("10.0.0.1");
    expect(f.history).toBe("^dA");
    expect(f.anomalies).toEqual([midstream(f)]);
  });

  it("an extension block attached later for another anomaly takes it first, with its count and time", () => {
    const [f] = run([
      { from: "c", flags: PSH | ACK, seq: 1, ack: 1, len: 100, t: 0 },
      { from: "s", flags: ACK, seq: 1, ack: 101, t: 0.01 },
      { from: "c", flags: PSH | ACK, seq: 1, ack: 1, len: 100, t: 0.5 },
      { from: "c", flags: PSH | ACK, seq: 1, ack: 1, len: 100, t: 0.9 },
    ]);
    expect(f.anomalies).toEqual([midstream(f), { type: "retransmission", side: "orig", ts: f.ts + 0.5, count: 2 }]);
  });
});
