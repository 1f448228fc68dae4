// The HTTP insight's first-line scan (assembly/flow/http.ts) on every request method and a status
// line, and on near misses that must count nothing: one connection per line, through the real
// decoder and tracker, so a first-octet filter that turned a method away fails its own case.

import { describe, expect, it } from "vitest";
import { Reconstructor } from "../../src/index.js";
import { ether, ipv4Tcp } from "../decode/builders.js";
import { writePcap, type PcapRecord } from "../decode/capture-io.js";

const SYN = 0x02,
  PSH = 0x08,
  ACK = 0x10;

/** A handshake, then the client's first data segment `line` and the server's `reply`. */
function http(line: string, reply: string) {
  const c = { src: "10.0.0.1", dst: "10.0.0.2" },
    s = { src: "10.0.0.2", dst: "10.0.0.1" };
  const ci = 1000,
    si = 9000;
  const enc = (t: string) => new TextEncoder().encode(t);
  const req = enc(line),
    rsp = enc(reply);
  const segs = [
    ipv4Tcp({ seq: ci, flags: SYN }, c),
    ipv4Tcp({ sport: 80, dport: 40000, seq: si, ack: ci + 1, flags: SYN | ACK }, s),
    ipv4Tcp({ seq: ci + 1, ack: si + 1, flags: ACK }, c),
    ipv4Tcp({ seq: ci + 1, ack: si + 1, flags: PSH | ACK, payload: req }, c),
    ipv4Tcp({ sport: 80, dport: 40000, seq: si + 1, ack: ci + 1 + req.length, flags: PSH | ACK, payload: rsp }, s),
  ];
  const records: PcapRecord[] = segs.map((ip, i) => {
    const data = ether(0x0800, ip);
    return { tsSec: 1_700_000_000, tsFrac: i * 1000, wirelen: data.length, data };
  });
  const rec = new Reconstructor({});
  const flows = [...rec.push(writePcap({ linktype: 1, records })), ...rec.finish()];
  expect(rec.error).toBeNull();
  expect(flows).toHaveLength(1);
  return flows[0].http;
}

describe("HTTP first lines", () => {
  for (const m of ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"]) {
    it(`counts a ${m} request and its status line`, () => {
      expect(http(`${m} /x HTTP/1.1\r\nHost: a\r\n\r\n`, "HTTP/1.0 404 Not Found\r\n\r\n")).toMatchObject({
        requests: 1,
        responses: 1,
        methods: { [m]: 1 },
        status_codes: { "404": 1 },
      });
    });
  }

  for (const [what, line, reply] of [
    ["a lower-case method and version", "get /x http/1.1\r\n\r\n", "http/1.1 200 OK\r\n\r\n"],
    ["a method with a leading space", " GET /x HTTP/1.1\r\n\r\n", " HTTP/1.1 200 OK\r\n\r\n"],
    ["an unknown method", "FETCH /x HTTP/1.1\r\n\r\n", "XHTTP/1.1 200 OK\r\n\r\n"],
  ]) {
    it(`counts nothing for ${what}`, () => {
      expect(http(line, reply)).toBeUndefined();
    });
  }
});
