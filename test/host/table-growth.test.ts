// The flow table at a size where its index has doubled past 2^20 entries: the index arrays a
// doubling leaves behind are carved into record and extension chunks (assembly/flow/table.ts), so
// a chunk that overlapped the live index, or an index that overlapped live records, would lose or
// corrupt connections here. 1.2M SYNs from distinct sources, then every one of them again: each
// repeat must find its record (a lost index entry makes a second flow, a lost record a wrong one).

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateCapture } from "../../bench/lib/traffic.mjs";
import { Reconstructor } from "../../src/index.js";
import type { MemoryViews } from "../../src/wasm/engine.js";

const SYNS = 1_200_000;
/** Generating and tracking 2.4M segments takes tens of seconds on a loaded 2-vCPU machine. */
const SLOW = 300_000;

describe("a flow table grown past 2^20 index entries", () => {
  it(
    "finds every connection again and loses none",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "flowrecon-growth-"));
      let pcap: Uint8Array;
      try {
        const out = join(dir, "flood.pcap");
        // Ten million SYNs a second: all 1.2M are open at once (no timer fires before the repeats).
        generateCapture({ out, sidecar: false, mode: "synflood", segments: SYNS, pps: 10_000_000, seed: 7 });
        const once = readFileSync(out);
        // The same SYNs again (a retransmission of each, same ISN), after the file header.
        pcap = Buffer.concat([once, once.subarray(24)]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const rec = new Reconstructor({ flowCap: SYNS });
      const c = rec.layout.constants;
      const S0 = rec.layout.connState.values.S0;
      let flows = 0,
        notS0 = 0,
        notTwoPackets = 0,
        badHistory = 0;
      // Output records are 8-byte aligned (src/wasm/record.ts), so the u32 counters are u32 elements.
      const sink = (v: MemoryViews, p: number) => {
        flows++;
        if (v.u8[p + c.FR_CONN_STATE] !== S0) notS0++;
        if (v.u32[(p + c.FR_ORIG + c.EP_PKTS) >> 2] !== 2 || v.u32[(p + c.FR_RESP + c.EP_PKTS) >> 2] !== 0)
          notTwoPackets++;
        if (v.u8[p + c.FR_HIST_LEN] !== 1 || v.u8[p + c.FR_HISTORY] !== 0x53) badHistory++; // "S"
      };
      for (let off = 0; off < pcap.length; off += 1 << 22) rec.pushRecords(pcap.subarray(off, off + (1 << 22)), sink);
      rec.finishRecords(sink);
      expect(rec.error).toBeNull();
      expect({ flows, notS0, notTwoPackets, badHistory }).toEqual({
        flows: SYNS,
        notS0: 0,
        notTwoPackets: 0,
        badHistory: 0,
      });
    },
    SLOW,
  );
});
