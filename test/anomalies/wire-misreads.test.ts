// Issue 9: seven cases where the anomaly rules misread the wire, found against Wireshark's
// tcp.analysis flags. One test per misread, each on a real capture (the Zeek corpus, Wireshark's
// own test captures in ../shared/corpus/wireshark) or a hand-built one (test/fixtures/anomalies,
// made by make-fixtures.py with scapy).

import { existsSync, readFileSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { Reconstructor } from "../../src/index.js";
import type { Flow } from "../../src/flow.js";
import { corpusDir } from "../golden/corpus.js";

const WIRESHARK = resolve(corpusDir(), "..", "wireshark");
const FIXTURES = resolve(import.meta.dirname, "../fixtures/anomalies");

function flowsOf(file: string): Flow[] {
  const rec = new Reconstructor({ ignoreChecksums: true, vlanInKey: false });
  const flows = [...rec.push(readFileSync(file)), ...rec.finish()];
  expect(rec.error, file).toBeNull();
  return flows;
}

/** The one record whose originator port (or either port) is `port`. */
function conn(flows: Flow[], port: number): Flow {
  const found = flows.filter((f) => f["id.orig_p"] === port || f["id.resp_p"] === port);
  expect(found, `records on port ${port}`).toHaveLength(1);
  return found[0];
}

const count = (f: Flow, type: string, side?: "orig" | "resp") =>
  f.anomalies
    .filter((a) => a.type === type && (side === undefined || a.side === side))
    .reduce((n, a) => n + a.count, 0);

describe("issue 9: anomalies that tell the truth", () => {
  it("1. a SYN carrying data is new data: not out_of_order, and its HTTP request is counted (cose_keyset.pcap)", () => {
    const [f] = flowsOf(resolve(WIRESHARK, "cose_keyset.pcap"));
    expect(count(f, "out_of_order")).toBe(0);
    expect(count(f, "retransmission")).toBe(0);
    expect(f.http).toMatchObject({ requests: 1, methods: { POST: 1 } });
  });

  it("1. TCP Fast Open shapes: a SYN with a request, a SYN-ACK with a response 20 ms later (tfo-syn-data.pcap)", () => {
    const flows = flowsOf(resolve(WIRESHARK, "tfo-syn-data.pcap"));
    const synData = conn(flows, 40001),
      synAckData = conn(flows, 40002);
    for (const f of [synData, synAckData]) {
      expect(count(f, "out_of_order"), `${f["id.orig_p"]}`).toBe(0);
      expect(count(f, "retransmission"), `${f["id.orig_p"]}`).toBe(0);
    }
    expect(synData.http).toMatchObject({ requests: 1, methods: { GET: 1 } });
    expect(synAckData.http).toMatchObject({ responses: 1, status_codes: { "200": 1 } });
  });

  it("2. a hole filled by a segment stamped before its predecessor is reordering, not a retransmission (http-ooo2.pcap frame 5)", () => {
    const [f] = flowsOf(resolve(WIRESHARK, "http-ooo2.pcap"));
    // Frames 3 and 5 fill holes (5 with a timestamp that goes backwards); 4 and 7 repeat frame 3.
    expect(count(f, "out_of_order", "orig")).toBe(2);
    expect(count(f, "retransmission", "orig")).toBe(2);
  });

  it("3. a fast retransmission after duplicate ACKs with SACK, and the delayed original, are both retransmissions (41001)", () => {
    const f = conn(flowsOf(resolve(FIXTURES, "fast-retransmission.pcap")), 41001);
    expect(count(f, "out_of_order")).toBe(0);
    expect(count(f, "retransmission", "orig")).toBe(2);
    expect(count(f, "duplicate_ack", "resp")).toBe(3);
  });

  it("3. without duplicate ACKs a newer TSval (41002) or, without timestamps, a newer IP ID (41003) says the hole was filled by a resend", () => {
    const flows = flowsOf(resolve(FIXTURES, "fast-retransmission.pcap"));
    for (const port of [41002, 41003]) {
      const f = conn(flows, port);
      expect(count(f, "out_of_order"), `${port}`).toBe(0);
      expect(count(f, "retransmission", "orig"), `${port}`).toBe(1);
    }
  });

  it("3. true reordering (older TSval and IP ID, 0.5 ms late) stays out_of_order (41004)", () => {
    const f = conn(flowsOf(resolve(FIXTURES, "fast-retransmission.pcap")), 41004);
    expect(count(f, "out_of_order", "orig")).toBe(1);
    expect(count(f, "retransmission")).toBe(0);
  });

  it("4. the request in a hole-filling segment is counted (http-ooo.pcap frame 6: GET /2)", () => {
    const [f] = flowsOf(resolve(WIRESHARK, "http-ooo.pcap"));
    expect(f.http).toMatchObject({ requests: 5, methods: { GET: 1, PUT: 4 } });
  });

  it("4. a request is counted once whenever it arrives: in the hole it fills, not again when retransmitted (41005)", () => {
    const [f] = flowsOf(resolve(FIXTURES, "http-hole.pcap"));
    expect(count(f, "out_of_order", "orig")).toBe(1);
    expect(count(f, "retransmission", "orig")).toBe(1);
    expect(f.http).toMatchObject({ requests: 3, methods: { GET: 3 } });
  });

  it("5. syn_unanswered counts SYNs, not packets (tcp-syn-then-rst: SYN, then RST)", () => {
    const [f] = flowsOf(resolve(corpusDir(), "tcp-syn-then-rst.pcap"));
    expect(f.anomalies.find((a) => a.type === "syn_unanswered")).toMatchObject({ count: 1, detail: "1 SYN" });
  });

  it("5. a side that sent ACKs, data and a FIN after its SYN left SYN_SENT (ssh-half-duplex-client, 192.168.2.1:56821)", () => {
    const f = conn(flowsOf(resolve(corpusDir(), "ssh-half-duplex-client.pcap")), 56821);
    expect(f.orig_pkts).toBe(26);
    expect(count(f, "syn_unanswered")).toBe(0);
    expect(f.orig_state).toBe("FIN_WAIT_1");
  });

  it("6. a pure ACK repeating the ack and window of a data segment is a duplicate ACK (ssh-basic, 192.168.1.32:33910 frame 707)", () => {
    const f = conn(flowsOf(resolve(corpusDir(), "ssh-basic.pcap")), 33910);
    const server = f["id.orig_p"] === 33910 ? "resp" : "orig";
    expect(count(f, "duplicate_ack", server)).toBeGreaterThan(0);
  });

  it("7. no content_gap where no byte is missing: mid-stream pickups whose FIN was not captured (tls12-chacha20poly1305.pcap)", () => {
    const flows = flowsOf(resolve(WIRESHARK, "tls12-chacha20poly1305.pcap"));
    expect(flows.length).toBeGreaterThan(0);
    for (const f of flows) {
      expect(f.missed_bytes, `${f["id.orig_p"]}`).toBe(0);
      expect(count(f, "content_gap"), `${f["id.orig_p"]}`).toBe(0);
    }
  });
});

/**
 * Captures cut by a snaplen: Zeek counts the payload it could not see in missed_bytes, but nothing
 * was lost on the wire, so flowrecon reports no content_gap for those bytes (reassembly.ts gap()).
 */
const SNAPLEN_CUT: Record<string, string> = {
  "tcp-retransmit-fast009.pcap":
    "captured with a 54-byte snaplen: every payload is cut, missed_bytes 24257, no byte lost on the wire",
};

describe("issue 9: content_gap agrees with missed_bytes on every capture", () => {
  const dirs = [corpusDir(), WIRESHARK, resolve(import.meta.dirname, "../fixtures/kernel"), FIXTURES].filter((d) =>
    existsSync(d),
  );
  for (const dir of dirs) {
    for (const file of readdirSync(dir)
      .filter((n) => /\.pcap(ng)?$/.test(n))
      .sort()) {
      it(file, () => {
        for (const f of flowsOf(resolve(dir, file))) {
          const gap = count(f, "content_gap") > 0,
            what = `${f["id.orig_h"]}:${f["id.orig_p"]} missed_bytes=${f.missed_bytes}`;
          if (SNAPLEN_CUT[file] !== undefined) expect(gap, what).toBe(false);
          else expect(gap, what).toBe(f.missed_bytes > 0);
        }
      });
    }
  }
});
