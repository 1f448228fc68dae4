// Packets cut short inside the TCP header, end to end, as Zeek treats them: with the 20 fixed bytes
// captured, Zeek keys and creates the connection (IPBasedAnalyzer::AnalyzePacket needs only the
// ports) before TCPAnalyzer::ExtractTCP_Header refuses the header (`truncated_header` when the
// options are cut or run past the IP payload, `bad_TCP_header_len` when the data offset is < 5).
// The connection exists, nothing is counted and the history is empty. Fewer than 20 bytes
// (`truncated_header` / `internally_truncated_header` in CheckHeaderTrunc) create nothing.

import { describe, expect, it } from "vitest";
import { Reconstructor } from "../../src/reconstructor.js";
import type { Flow } from "../../src/flow.js";
import { ether, ipv4Tcp } from "./builders.js";
import { writePcap } from "./capture-io.js";

const MSS_WS = Uint8Array.of(2, 4, 5, 0xb4, 1, 3, 3, 7); // 28-byte TCP header

/** Frames as pcap records 1 ms apart, each with its captured length (the wire length stays whole). */
function run(frames: { data: Uint8Array; caplen?: number }[]): { flows: Flow[]; stats: Record<string, number> } {
  const pcap = writePcap({
    linktype: 1,
    records: frames.map((f, i) => ({
      tsSec: 1700000000,
      tsFrac: i * 1000,
      wirelen: f.data.length,
      data: f.data.subarray(0, f.caplen ?? f.data.length),
    })),
  });
  const rec = new Reconstructor({});
  const flows = [...rec.push(pcap), ...rec.finish()];
  return { flows, stats: rec.stats as unknown as Record<string, number> };
}

const SYN = ether(0x0800, ipv4Tcp({ sport: 40000, dport: 80, flags: 0x02, seq: 100, options: MSS_WS }));

describe("TCP header cut short (Zeek: connection created, nothing counted)", () => {
  it("a SYN whose options are cut by the snaplen makes an OTH connection with no packets and no history", () => {
    const { flows, stats } = run([{ data: SYN, caplen: 14 + 20 + 24 }]);
    expect(flows).toHaveLength(1);
    const f = flows[0];
    expect({
      orig: `${f["id.orig_h"]}:${f["id.orig_p"]}`,
      resp: `${f["id.resp_h"]}:${f["id.resp_p"]}`,
      conn_state: f.conn_state,
      history: f.history,
      orig_pkts: f.orig_pkts,
      resp_pkts: f.resp_pkts,
      orig_ip_bytes: f.orig_ip_bytes,
      resp_ip_bytes: f.resp_ip_bytes,
    }).toEqual({
      orig: "10.0.0.1:40000",
      resp: "10.0.0.2:80",
      conn_state: "OTH",
      history: undefined,
      orig_pkts: 0,
      resp_pkts: 0,
      orig_ip_bytes: 0,
      resp_ip_bytes: 0,
    });
    expect({ segments: stats.segments, truncated: stats.truncated }).toEqual({ segments: 0, truncated: 1 });
  });

  it("a data offset below 5 words (bad_TCP_header_len) also makes the connection, counted as Malformed", () => {
    const bad = SYN.slice();
    bad[14 + 20 + 12] = 0x40;
    const { flows, stats } = run([{ data: bad }]);
    expect(flows.map((f) => [f.conn_state, f.history, f.orig_pkts])).toEqual([["OTH", undefined, 0]]);
    expect({ segments: stats.segments, malformed: stats.malformed }).toEqual({ segments: 0, malformed: 1 });
  });

  it("fewer than 20 TCP bytes captured: no connection", () => {
    const { flows, stats } = run([{ data: SYN, caplen: 14 + 20 + 19 }]);
    expect(flows).toHaveLength(0);
    expect(stats.truncated).toBe(1);
  });

  it("inside a connection, a cut segment adds no packet, byte or letter", () => {
    const synAck = ether(
      0x0800,
      ipv4Tcp(
        { sport: 80, dport: 40000, flags: 0x12, seq: 500, ack: 101, options: MSS_WS },
        { src: "10.0.0.2", dst: "10.0.0.1" },
      ),
    );
    const ack = ether(0x0800, ipv4Tcp({ sport: 40000, dport: 80, flags: 0x10, seq: 101, ack: 501 }));
    const whole = run([{ data: SYN }, { data: synAck }, { data: ack }]).flows[0];
    const cut = run([{ data: SYN }, { data: synAck, caplen: 14 + 20 + 21 }, { data: ack }]).flows[0];
    expect(whole).toMatchObject({ history: "ShA", resp_pkts: 1 });
    expect(cut).toMatchObject({ history: "SA", orig_pkts: 2, resp_pkts: 0, resp_ip_bytes: 0 });
  });
});
