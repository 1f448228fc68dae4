// Decoding flow records (assembly/flow/record.ts layout) into Flow objects: every field, and the
// Zeek rule that duration/orig_bytes/resp_bytes exist only when the duration is positive.
import { describe, expect, it } from "vitest";
import { FlowDecoder } from "../../src/flow.js";
import { makeViews } from "../../src/wasm/engine.js";
import { communityIdOf } from "../../src/ids/community-id.js";
import { realLayout, writeRecord, type RecordSpec } from "./helpers.js";

const layout = realLayout();
const c = layout.constants;

function decode(spec: RecordSpec, ptr = 2 * c.FR_SIZE) {
  const buffer = new ArrayBuffer(4 * c.FR_SIZE);
  new Uint8Array(buffer).fill(0xa5); // neighbours full of junk: the decoder must stay inside its record
  writeRecord(buffer, ptr, layout, spec);
  return new FlowDecoder(layout).decode(makeViews(buffer), ptr);
}

const FULL: RecordSpec = {
  orig: "192.168.1.79",
  resp: "131.159.21.1",
  origPort: 51880,
  respPort: 22,
  tsUs: 1_324_071_333_493_287,
  lastUs: 1_324_071_339_652_613,
  rttUs: 1234,
  history: "ShAdDaFf",
  connState: "SF",
  endReason: "Closed",
  o: {
    pkts: 25,
    ipBytes: 3981,
    bytes: 2669,
    missed: 10,
    mss: 1460,
    wscale: 7,
    opts: c.OPT_SACK_PERM | c.OPT_TS | c.OPT_MSS | c.OPT_WSCALE,
  },
  r: { pkts: 20, ipBytes: 3549, bytes: 2501, missed: 5, mss: 1380, opts: c.OPT_MSS },
};

describe("FlowDecoder", () => {
  it("decodes every field of a finished connection, in Zeek's key order", () => {
    const flow = decode(FULL);
    expect(flow).toEqual({
      ts: 1324071333.493287,
      uid: flow.uid,
      "id.orig_h": "192.168.1.79",
      "id.orig_p": 51880,
      "id.resp_h": "131.159.21.1",
      "id.resp_p": 22,
      proto: "tcp",
      duration: 6.159326,
      orig_bytes: 2669,
      resp_bytes: 2501,
      conn_state: "SF",
      // Zeek's default Site::local_nets: the private address space.
      local_orig: true,
      local_resp: false,
      missed_bytes: 15,
      history: "ShAdDaFf",
      orig_pkts: 25,
      orig_ip_bytes: 3981,
      resp_pkts: 20,
      resp_ip_bytes: 3549,
      ip_proto: 6,
      community_id: communityIdOf("192.168.1.79", 51880, "131.159.21.1", 22),
      handshake_rtt: 0.001234,
      orig_tcp_options: { mss: 1460, wscale: 7, sack_permitted: true, timestamps: true },
      resp_tcp_options: { mss: 1380, sack_permitted: false, timestamps: false },
      end_reason: "closed",
      // The synthetic record carries no SYN/FIN/RST facts, so both sides read as established.
      orig_state: "ESTABLISHED",
      resp_state: "ESTABLISHED",
      anomalies: [],
    });
    expect(Object.keys(flow)).toEqual([
      "ts",
      "uid",
      "id.orig_h",
      "id.orig_p",
      "id.resp_h",
      "id.resp_p",
      "proto",
      "duration",
      "orig_bytes",
      "resp_bytes",
      "conn_state",
      "local_orig",
      "local_resp",
      "missed_bytes",
      "history",
      "orig_pkts",
      "orig_ip_bytes",
      "resp_pkts",
      "resp_ip_bytes",
      "ip_proto",
      "community_id",
      "handshake_rtt",
      "orig_tcp_options",
      "resp_tcp_options",
      "end_reason",
      "orig_state",
      "resp_state",
      "anomalies",
    ]);
    expect(flow.uid).toMatch(/^C[0-9A-Za-z]{17}$/);
  });

  it("omits duration and byte counts when the duration is 0, but keeps packet counters", () => {
    const flow = decode({ ...FULL, lastUs: FULL.tsUs });
    expect(flow).not.toHaveProperty("duration");
    expect(flow).not.toHaveProperty("orig_bytes");
    expect(flow).not.toHaveProperty("resp_bytes");
    expect(flow.orig_pkts).toBe(25);
    expect(flow.resp_ip_bytes).toBe(3549);
    expect(flow.missed_bytes).toBe(15);
  });

  it("omits history when empty and handshake_rtt when not measured (-1)", () => {
    const flow = decode({ ...FULL, history: "", rttUs: -1 });
    expect(flow).not.toHaveProperty("history");
    expect(flow).not.toHaveProperty("handshake_rtt");
  });

  it("keeps 64-bit counters exact past 2^32", () => {
    const flow = decode({
      ...FULL,
      r: { bytes: 5_416_666_670, ipBytes: 5_600_000_123, missed: 4_294_967_297, pkts: 4_000_000_000 },
    });
    expect(flow.resp_bytes).toBe(5_416_666_670);
    expect(flow.resp_ip_bytes).toBe(5_600_000_123);
    expect(flow.missed_bytes).toBe(4_294_967_297 + 10);
    expect(flow.resp_pkts).toBe(4_000_000_000);
  });

  it("prints IPv6 endpoints in RFC 5952 form", () => {
    const flow = decode({ ...FULL, orig: "2001:0DB8:0:0:0:0:0:1", resp: "fe80::0202:b3ff:fe1e:8329" });
    expect(flow["id.orig_h"]).toBe("2001:db8::1");
    expect(flow["id.resp_h"]).toBe("fe80::202:b3ff:fe1e:8329");
    expect(flow.community_id).toBe(communityIdOf("2001:db8::1", 51880, "fe80::202:b3ff:fe1e:8329", 22));
  });

  it("splits the VLAN word into vlan and inner_vlan (Zeek's vlan-logging names)", () => {
    expect(decode({ ...FULL, vlan: 100 })).toMatchObject({ vlan: 100 });
    expect(decode({ ...FULL, vlan: 100 })).not.toHaveProperty("inner_vlan");
    expect(decode({ ...FULL, vlan: 100 | (200 << 12) })).toMatchObject({ vlan: 100, inner_vlan: 200 });
    expect(decode(FULL)).not.toHaveProperty("vlan");
  });

  it("names tunnels, conn states and end reasons", () => {
    expect(decode({ ...FULL, tunnel: "Teredo" }).tunnel).toBe("teredo");
    expect(decode({ ...FULL, tunnel: "IpInIp" }).tunnel).toBe("ip_in_ip");
    expect(decode(FULL)).not.toHaveProperty("tunnel");
    for (const name of Object.keys(layout.connState.values))
      expect(decode({ ...FULL, connState: name }).conn_state).toBe(name);
    expect(decode({ ...FULL, endReason: "AttemptTimeout" }).end_reason).toBe("attempt_timeout");
    expect(decode({ ...FULL, endReason: "EndOfInput" }).end_reason).toBe("end_of_input");
  });

  it("reports absent TCP options as absent", () => {
    const flow = decode({ ...FULL, o: {}, r: {} });
    expect(flow.orig_tcp_options).toEqual({ sack_permitted: false, timestamps: false });
    expect(flow.resp_tcp_options).toEqual({ sack_permitted: false, timestamps: false });
  });

  it("caps the history at HIST_CAP letters and masks non-letters", () => {
    const long = "ShADadtTtTtTtTtTtTtTtTtTtTtTtTtTtTtTtTtTtTt".slice(0, c.HIST_CAP);
    expect(decode({ ...FULL, history: long }).history).toBe(long);
    expect(decode({ ...FULL, history: 'Sh"\\' }).history).toBe("Sh??");
  });

  it("gives the same uid for the same flow and a different one for a later flow on the same tuple", () => {
    expect(decode(FULL).uid).toBe(decode(FULL, 0).uid);
    expect(decode({ ...FULL, tsUs: FULL.tsUs! + 1, lastUs: FULL.lastUs! + 1 }).uid).not.toBe(decode(FULL).uid);
  });
});
