// The fuzzer's layer mutators (fuzz/layer-mutators.mjs) for the layers of issue 12. Two things
// must hold for the campaign to exercise those layers at all:
// - the fuzzer's frame walker (fuzz/frames.mjs) enters each layer in its fixture, since the
//   mutators aim at the fields it lists and the campaign's per-layer reach count comes from it;
// - a mutator's consistent change (a field added with the flag that announces it, the enclosing
//   lengths and checksums following) leaves a frame the engine still decodes whole, so mutants get
//   past the outer checks to the mutated layer: the fixture's connection comes out unchanged
//   (7 + 4 packets, history ShADadFf) when every packet carries the change.

import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../host/helpers.js";
import { packets, parse, serialise } from "../../fuzz/capture-model.mjs";
import { walk } from "../../fuzz/frames.mjs";
import { CONSISTENT, layersReached, mutateLayer } from "../../fuzz/layer-mutators.mjs";
import { Rng } from "../../fuzz/mutate.mjs";
import { runInProcess } from "../../fuzz/oracles.mjs";
import { synthesisedSeeds } from "../../fuzz/seeds.mjs";

const fixture = (name: string) =>
  new Uint8Array(readFileSync(join(repoRoot, "test", "fixtures", "layers", `${name}.pcap`)));

/** Each layer fixture and the layers of issue 12 its packets carry. */
const FIXTURE_LAYERS: Record<string, string[]> = {
  geneve: ["geneve"],
  "geneve-ip": ["geneve"],
  "gre-in-udp": ["gre", "gre-udp"],
  "gre-teb": ["gre", "gre-teb"],
  "erspan-i": ["erspan-i", "gre"],
  "erspan-ii": ["erspan-ii", "gre"],
  "erspan-iii": ["erspan-iii", "gre"],
  "gre-aruba": ["gre", "gre-aruba", "ieee802_11"],
  ipip: ["ipip"],
  "6in4": ["6in4"],
  pbb: ["pbb"],
  vntag: ["vntag"],
  "llc-snap": ["llc", "snap"],
  "vlan-llc-snap": ["llc", "snap"],
  wlan: ["ieee802_11"],
  "wlan-qos-4addr": ["ieee802_11", "qos"],
  "wlan-amsdu": ["amsdu", "ieee802_11", "qos"],
  radiotap: ["ieee802_11", "radiotap"],
  nflog: ["nflog"],
  "ppp-serial": ["ppp-hdlc"],
  ppp: ["ppp"],
  fddi: ["fddi"],
};

describe("the fuzzer's walker enters every layer of issue 12", () => {
  for (const [name, layers] of Object.entries(FIXTURE_LAYERS)) {
    it(`${name}.pcap: ${layers.join(", ")}, down to TCP in every packet`, () => {
      const bytes = fixture(name);
      expect(layersReached(bytes)).toEqual(layers);
      const m = parse(bytes);
      expect(m).not.toBeNull();
      for (const p of packets(m!)) expect(walk(p.linktype, p.rec.data).tcp).toBeGreaterThan(0);
    });
  }
  it("the synthesised PPTP seed: GRE version 1 with PPP", () => {
    expect(layersReached(synthesisedSeeds()[0].bytes)).toEqual(["gre", "gre-ppp"]);
  });
});

/** An Rng that takes every consistency branch (chance(CONSISTENT) or likelier), the rest at random. */
function consistentRng(seed: number): Rng {
  const r = new Rng(seed);
  const chance = r.chance.bind(r);
  r.chance = (p: number) => (p >= CONSISTENT ? true : chance(p));
  return r;
}

/** [fixture, operator] pairs whose consistent form must keep the connection whole. */
const KEEPS_CONNECTION: [string, string][] = [
  ["geneve", "geneve-options"],
  ["geneve-ip", "geneve-options"],
  ["gre-in-udp", "gre-field-add"],
  ["gre-teb", "gre-field-add"],
  ["gre-in-udp", "gre-to-pptp:21"],
  ["erspan-i", "erspan-i-to-ii"],
  ["erspan-ii", "erspan-ii-to-i"],
  ["erspan-iii", "erspan-iii-subheader-drop"],
  ["wlan", "wlan-ds=3+addr4"],
  ["wlan", "wlan-qos-on"],
  ["wlan-qos-4addr", "wlan-qos-off"],
  ["gre-aruba", "wlan-qos-on"],
  ["radiotap", "radiotap-present"],
  ["radiotap", "radiotap-pad"],
  ["nflog", "nflog-tlvs"],
  ["ppp", "ppp-framed"],
  ["ppp-serial", "ppp-mpls"],
  ["llc-snap", "llc-control=I"],
  ["vlan-llc-snap", "llc-control=I"],
  ["pbb", "pbb-nested:1"],
  ["ipip", "ipip-inner-ihl=7+options"],
  ["6in4", "ipip-nest:1"],
];

describe("a consistent layer mutation keeps the fixture's connection whole", () => {
  for (const [name, op] of KEEPS_CONNECTION) {
    it(`${name}.pcap, ${op} on every packet`, () => {
      const m = parse(fixture(name))!;
      const r = consistentRng(7);
      for (const p of packets(m)) {
        let done = false;
        for (let tries = 0; tries < 20_000 && !done; tries++) {
          const res = mutateLayer(p.rec.data, p.linktype, r);
          if (res?.op.startsWith(`layer:${op}`) && !res.op.includes("lie")) {
            p.rec.data = res.data;
            p.rec.origlen = res.data.length;
            done = true;
          }
        }
        expect(done, `no ${op} on a packet of ${name}`).toBe(true);
      }
      const run = runInProcess(serialise(m), 65536, {});
      expect(run.fault).toBeNull();
      const flows = run.outputs.ndjson
        .trim()
        .split("\n")
        .map((l: string) => JSON.parse(l))
        .map((f: Record<string, unknown>) => `${f.orig_pkts}+${f.resp_pkts} ${f.history}`);
      expect(flows).toEqual(["7+4 ShADadFf"]);
    });
  }
});
