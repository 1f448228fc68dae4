// The conn.log columns from Zeek's scripts and the options behind them, end to end through the
// CLI as users run it: the connection key (--vlan-key), local_orig/local_resp (--local-nets),
// tunnel_parents, --json-style zeek and --likely-server-ports. Agreement with Zeek's own values on
// real captures: test/golden/zeek-columns.test.ts.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { Reconstructor } from "../../src/index.js";
import { ZEEK_FIELDS } from "../../src/index.js";
import { LocalNets, LocalNetsError, PRIVATE_ADDRESS_SPACE, parseAddress } from "../../src/net/local-nets.js";
import { writeTunnelUid, UID_LENGTH } from "../../src/ids/uid.js";
import { corpus, repoRoot } from "./helpers.js";

const BIN = resolve(repoRoot, "bin", "flowrecon.js");
/** Client on VLAN 10, server on VLAN 20, one HTTP exchange (test/fixtures/pcap/make-router-on-a-stick.py). */
const ROUTER_ON_A_STICK = resolve(repoRoot, "test", "fixtures", "pcap", "router-on-a-stick.pcap");
/** Zeek's Teredo trace: an IPv6 connection inside a Teredo tunnel, IPv4 connections beside it. */
const TEREDO = resolve(repoRoot, "test", "fixtures", "pcap", "teredo-mixed.pcap");

// biome-ignore lint/suspicious/noExplicitAny: parsed NDJSON lines, read field by field in assertions
type Json = Record<string, any>;

function analyze(
  args: string[],
  env: Record<string, string> = {},
): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, "analyze", ...args], {
    cwd: repoRoot,
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function flows(args: string[], env: Record<string, string> = {}): Json[] {
  const r = analyze(args, env);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return r.stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l));
}

describe("connection key", () => {
  it("router on a stick: one connection by default (Zeek's 5-tuple key), logged with its first packet's VLAN", () => {
    const [flow, ...rest] = flows([ROUTER_ON_A_STICK]);
    expect(rest).toEqual([]);
    expect(flow).toMatchObject({
      "id.orig_h": "10.0.10.5",
      "id.resp_h": "10.0.20.7",
      conn_state: "SF",
      history: "ShADadfF",
      orig_pkts: 5,
      resp_pkts: 5,
      vlan: 10,
      service: "http",
    });
  });

  it("router on a stick: two connections with --vlan-key (Zeek's vlan_fivetuple), each half-seen", () => {
    const both = flows([ROUTER_ON_A_STICK, "--vlan-key"]);
    expect(both.map((f) => [f.vlan, f.orig_pkts, f.resp_pkts])).toEqual(
      expect.arrayContaining([
        [10, 5, 0],
        [20, 0, 5],
      ]),
    );
    expect(both).toHaveLength(2);
  });

  it("the uid hashes the key: the same uid without VLAN as for untagged traffic, a different one per VLAN with the VLAN key", () => {
    const plain = flows([ROUTER_ON_A_STICK])[0];
    const keyed = flows([ROUTER_ON_A_STICK, "--vlan-key"]).find((f) => f.vlan === 10)!;
    expect(keyed.uid).not.toBe(plain.uid);
    expect(flows([ROUTER_ON_A_STICK])[0].uid).toBe(plain.uid); // deterministic
  });

  it("library and API spell the option vlanInKey / vlan_in_key", () => {
    const bytes = readFileSync(ROUTER_ON_A_STICK);
    const count = (vlanInKey?: boolean) => {
      const rec = new Reconstructor(vlanInKey === undefined ? {} : { vlanInKey });
      return [...rec.push(bytes), ...rec.finish()].length;
    };
    expect([count(), count(false), count(true)]).toEqual([1, 1, 2]);
  });
});

describe("local_orig / local_resp (Site::local_nets)", () => {
  it("default: Zeek's private address space is local", () => {
    const f = flows([ROUTER_ON_A_STICK])[0];
    expect([f.local_orig, f.local_resp]).toEqual([true, true]);
    // The Teredo client's address is in 2001::/23 (IETF protocol assignments), part of the private space.
    const teredo = flows([TEREDO]).find((x) => x["id.resp_h"] === "2001:4860:0:2001::68")!;
    expect([teredo.local_orig, teredo.local_resp]).toEqual([true, false]);
  });

  it("--local-nets adds networks; a - entry drops the private space; - alone leaves the columns unset", () => {
    // A list starting with "-" is given as --local-nets=... (node's parseArgs reads "-x" as an option).
    const f = (nets: string) => flows([ROUTER_ON_A_STICK, `--local-nets=${nets}`])[0];
    expect([f("-,10.0.20.0/24").local_orig, f("-,10.0.20.0/24").local_resp]).toEqual([false, true]);
    const none = f("-");
    expect(none).not.toHaveProperty("local_orig");
    expect(none).not.toHaveProperty("local_resp");
    const v6 = flows([TEREDO, "--local-nets=-,2001:4860::/32"]).find((x) => x["id.resp_h"] === "2001:4860:0:2001::68")!;
    expect([v6.local_orig, v6.local_resp]).toEqual([false, true]);
  });

  it("FLOWRECON_LOCAL_NETS is the same setting", () => {
    expect(flows([ROUTER_ON_A_STICK], { FLOWRECON_LOCAL_NETS: "-" })[0]).not.toHaveProperty("local_orig");
  });

  it("a bad network is a usage error naming it", () => {
    const r = analyze([ROUTER_ON_A_STICK, "--local-nets", "10.0.0.0/33"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^flowrecon: --local-nets: '10\.0\.0\.0\/33' has a bad prefix length/);
    expect(() => new LocalNets("example.com")).toThrow(LocalNetsError);
  });

  it("matches prefixes bit by bit, IPv4 as v4-mapped", () => {
    const nets = new LocalNets("-,172.16.0.0/12,2001:db8:8000::/33");
    const has = (a: string) => nets.contains(parseAddress(a)!, 0);
    expect([
      has("172.31.255.255"),
      has("172.32.0.0"),
      has("2001:db8:8000::1"),
      has("2001:db8:7fff::1"),
      has("::ffff:172.16.0.1"),
    ]).toEqual([true, false, true, false, true]);
  });

  it("the default private address space, parsed without the address check, is the checked parse of its list", () => {
    const checked = new LocalNets(["-", ...PRIVATE_ADDRESS_SPACE].join(","));
    expect(new LocalNets().tables).toEqual(checked.tables);
    expect(checked.tables.v4.length + checked.tables.v6.length).toBeGreaterThan(0);
  });
});

describe("tunnel_parents", () => {
  it("names the Teredo connection the inner flow came out of, as our uid of the outer UDP 5-tuple", () => {
    const all = flows([TEREDO]);
    const inner = all.find((f) => f.tunnel === "teredo")!;
    // The outer connection, from tshark -d udp.port==32900,teredo: the client 192.168.2.16:3797 and
    // the Teredo relay 83.170.1.38:32900, over UDP.
    const u8 = new Uint8Array(32);
    u8.set(parseAddress("192.168.2.16")!, 0);
    u8.set(parseAddress("83.170.1.38")!, 16);
    const uid = new Uint8Array(UID_LENGTH);
    writeTunnelUid(u8, new Uint32Array(u8.buffer), 0, 16, 3797, 32900, 17, 0, uid, 0);
    expect(inner.tunnel_parents).toEqual([Buffer.from(uid).toString("latin1")]);
    // Both directions give the same parent.
    writeTunnelUid(u8, new Uint32Array(u8.buffer), 16, 0, 32900, 3797, 17, 0, uid, 0);
    expect(inner.tunnel_parents).toEqual([Buffer.from(uid).toString("latin1")]);
    for (const f of all.filter((x) => x.tunnel === undefined)) expect(f).not.toHaveProperty("tunnel_parents");
  });
});

describe("--json-style zeek", () => {
  it("writes the zeek TSV's columns as flat keys, in its order, sets as arrays of strings", () => {
    const nested = flows([TEREDO]);
    const zeek = flows([TEREDO, "--json-style", "zeek"]);
    expect(zeek).toHaveLength(nested.length);
    for (const [i, z] of zeek.entries()) {
      const keys = Object.keys(z);
      expect(
        keys.every((k) => ZEEK_FIELDS.includes(k)),
        keys.join(" "),
      ).toBe(true);
      expect(keys).toEqual(ZEEK_FIELDS.filter((k) => k in z)); // Zeek's column order
      const n = nested[i];
      expect(z["orig_tcp_options.sack_permitted"]).toBe(n.orig_tcp_options.sack_permitted);
      expect(z["orig_tcp_options.mss"]).toBe(n.orig_tcp_options.mss);
      expect(z.anomalies).toEqual([...new Set(n.anomalies.map((a: Json) => a.type))]);
      expect(z.uid).toBe(n.uid);
    }
    expect(zeek.find((f) => f.tunnel === "teredo")!.tunnel_parents).toEqual(
      nested.find((f) => f.tunnel === "teredo")!.tunnel_parents,
    );
  });

  it("an unknown style is a usage error", () => {
    const r = analyze([TEREDO, "--json-style", "flat"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^flowrecon: unknown JSON style 'flat' \(choose nested, zeek\)/);
  });
});

describe("--likely-server-ports", () => {
  // wikipedia's lone SYN-ACK from port 80 is flipped only when 80 is a likely server port: ^h with
  // Zeek's default scripts (corpus wikipedia-default), H in bare mode (wikipedia-bare).
  const capture = corpus("wikipedia-bare.pcap");

  it("decides the orientation of a connection seen without its SYN", () => {
    const lone = (args: string[]) =>
      flows([capture, "-C", ...args])
        .filter((f) => /^(H|\^h)$/.test(f.history ?? ""))
        .map((f) => `${f["id.orig_p"]} ${f.history}`);
    expect(lone(["-b"])).toEqual(["80 H"]);
    expect(lone(["-b", "--likely-server-ports", "80"])).toEqual(["6705 ^h"]);
    expect(lone(["--likely-server-ports", "none"])).toEqual(["80 H"]);
    expect(lone(["--likely-server-ports", "default"])).toEqual(["6705 ^h"]);
  });

  it("a bad list is a usage error", () => {
    const r = analyze([capture, "--likely-server-ports", "80,http"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^flowrecon: --likely-server-ports needs default, none or a comma-separated list of ports, got '80,http'/,
    );
  });
});

describe("service", () => {
  /** The capture with every frame cut to `snaplen` bytes (classic pcap: 24-byte header, 16-byte record headers). */
  function cut(bytes: Buffer, snaplen: number): Buffer {
    const header = Buffer.from(bytes.subarray(0, 24));
    header.writeUInt32LE(snaplen, 16);
    const parts: Uint8Array[] = [header];
    for (let off = 24; off < bytes.length; ) {
      const incl = bytes.readUInt32LE(off + 8);
      const head = Buffer.from(bytes.subarray(off, off + 16));
      const keep = Math.min(incl, snaplen);
      head.writeUInt32LE(keep, 8);
      parts.push(head, bytes.subarray(off + 16, off + 16 + keep));
      off += 16 + incl;
    }
    return Buffer.concat(parts);
  }

  it("is detected from the first segment of each side, and unset when the snaplen cut it", () => {
    const whole = readFileSync(ROUTER_ON_A_STICK);
    const run = (bytes: Buffer) => {
      const rec = new Reconstructor({});
      return [...rec.push(bytes), ...rec.finish()];
    };
    expect(run(whole)[0].service).toBe("http");
    // Ethernet 14 + 802.1Q 4 + IPv4 20 + TCP 20 = 58: a 64-byte snaplen keeps 6 payload bytes ("GET / ").
    const [short] = run(cut(whole, 64));
    expect(short).not.toHaveProperty("service");
    expect(short).toMatchObject({ conn_state: "SF", orig_pkts: 5, resp_pkts: 5, orig_bytes: 33, resp_bytes: 40 });
  });
});
