// Address text: IPv4 dotted for v4-mapped keys, IPv6 in RFC 5952 canonical form.
import { describe, expect, it } from "vitest";
import { formatAddress, isV4Mapped, parseAddress } from "../../src/net/address.js";

const fmt = (text: string) => formatAddress(parseAddress(text), 0);

describe("formatAddress", () => {
  it("prints v4-mapped addresses as dotted quads", () => {
    expect(fmt("192.168.1.79")).toBe("192.168.1.79");
    expect(fmt("0.0.0.0")).toBe("0.0.0.0");
    expect(fmt("255.255.255.255")).toBe("255.255.255.255");
    expect(fmt("::ffff:10.1.2.3")).toBe("10.1.2.3");
  });

  // RFC 5952 §4: canonical text representation.
  const rfc5952: [input: string, canonical: string][] = [
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"], // §4.1 leading zeros, §4.2.1 longest run
    ["2001:DB8::ABCD", "2001:db8::abcd"], // §4.3 lowercase
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // §4.2.2 a single 0 group is not compressed
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"], // §4.2.3 the longest run wins
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // §4.2.3 the first of equal runs wins
    ["0:0:0:0:0:0:0:1", "::1"],
    ["0:0:0:0:0:0:0:0", "::"],
    ["fe80:0:0:0:0:0:0:0", "fe80::"],
    ["fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1:203:405:607:809:a0b:c0d"],
    ["2607:f8b0:400c:0c03:0000:0000:0000:001a", "2607:f8b0:400c:c03::1a"],
    ["::ffff:0:1.2.3.4", "::ffff:0:102:304"], // not v4-mapped (::ffff:0:0/96 is SIIT): plain IPv6
    ["::1.2.3.4", "::102:304"], // deprecated IPv4-compatible form: plain IPv6
    ["1:0:0:2:0:0:0:0", "1:0:0:2::"],
  ];
  for (const [input, canonical] of rfc5952) {
    it(`${input} -> ${canonical}`, () => expect(fmt(input)).toBe(canonical));
  }

  it("reads at an offset", () => {
    const buf = new Uint8Array(40);
    buf.set(parseAddress("2001:db8::7"), 20);
    expect(formatAddress(buf, 20)).toBe("2001:db8::7");
    expect(isV4Mapped(buf, 20)).toBe(false);
  });
});

describe("parseAddress", () => {
  it("rejects malformed text", () => {
    for (const bad of ["", "1.2.3", "1.2.3.256", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "g::1", "1:2:3:4:5:6:7"]) {
      expect(() => parseAddress(bad), bad).toThrow(SyntaxError);
    }
  });
});
