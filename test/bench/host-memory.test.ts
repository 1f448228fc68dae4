// bench/lib/host-memory.mjs: the facts about the host's memory each results table records. The
// huge page mode is read in the kernel's own form, and the per-vCPU probe gives one positive
// latency per vCPU it pinned (where taskset is installed; CI's Debian has util-linux).
import { describe, expect, it } from "vitest";
import {
  MAX_PROBED_VCPUS,
  allowedVcpus,
  cpuList,
  hostMemoryLine,
  latencyLine,
  thpMode,
  vcpuLatency,
} from "../../bench/lib/host-memory.mjs";
import { which } from "../../bench/lib/harness.mjs";

describe("transparent huge page mode", () => {
  it("is the bracketed choice of the kernel's line", () => {
    expect(thpMode("always [madvise] never\n")).toBe("madvise");
    expect(thpMode("[always] madvise never\n")).toBe("always");
    expect(thpMode("always madvise [never]\n")).toBe("never");
  });

  it("is null where the line names none", () => {
    expect(thpMode("")).toBeNull();
    expect(thpMode("always madvise never")).toBeNull();
  });
});

describe("memory latency per vCPU", () => {
  it.skipIf(which("taskset") === null)("pins a chase to each vCPU and reports each", () => {
    // A small chase (64 KiB): what is checked is the pinning and the report, not the figure.
    const probe = vcpuLatency({ slots: 1 << 14, steps: 20_000 });
    expect(probe).not.toBeNull();
    expect(probe?.map((p) => p.cpu)).toEqual(allowedVcpus().slice(0, MAX_PROBED_VCPUS));
    for (const p of probe ?? []) expect(p.nsPerLoad).toBeGreaterThan(0);
  });

  it("takes the vCPUs of the process's affinity list", () => {
    expect(cpuList("0-1\n")).toEqual([0, 1]);
    expect(cpuList("0-3,8,10-11")).toEqual([0, 1, 2, 3, 8, 10, 11]);
    expect(cpuList("0-1,x")).toBeNull();
    expect(allowedVcpus().length).toBeGreaterThan(0);
  });

  it("says how far apart the vCPUs are", () => {
    expect(
      latencyLine([
        { cpu: 0, nsPerLoad: 200 },
        { cpu: 1, nsPerLoad: 260 },
      ]),
    ).toBe("vCPU 0 200 ns, vCPU 1 260 ns (1.30× apart)");
    expect(latencyLine(null)).toBe("not measured");
  });

  it("goes into the results line with the huge page mode", () => {
    const line = hostMemoryLine("madvise", [{ cpu: 0, nsPerLoad: 201.5 }], [{ cpu: 0, nsPerLoad: 179.2 }]);
    expect(line).toContain("transparent huge pages `madvise`");
    expect(line).toContain("before the rounds vCPU 0 202 ns (1.00× apart); after vCPU 0 179 ns (1.00× apart)");
    expect(hostMemoryLine(null, null, null)).toContain("huge pages `unknown`");
    expect(hostMemoryLine(null, null, null)).toContain("not measured");
  });
});
