// The minimum-rate rule (src/http/min-rate.ts) that both a request body (body.ts) and an answer
// (response-stream.ts) are judged by: bytes per second of waiting time, one full window at a time.
import { describe, expect, it } from "vitest";
import { MinRateWindow } from "../../src/http/min-rate.js";

describe("MinRateWindow", () => {
  it("judges a window only once it is full, by the bytes over the waiting time", () => {
    const w = new MinRateWindow(1000, 2000);
    expect(w.leftMs()).toBe(2000);
    expect(w.add(500, 1500)).toBeNull(); // 1.5 s of the 2 s window
    expect(w.leftMs()).toBe(500);
    expect(w.add(0, 1000)).toBeCloseTo(200); // full: 500 bytes in 2.5 s
  });

  it("starts a new window after a full one, slow or not", () => {
    const w = new MinRateWindow(1000, 1000);
    expect(w.add(5000, 1000)).toBeNull(); // 5000 B/s
    expect(w.leftMs()).toBe(1000);
    expect(w.add(100, 1000)).toBeCloseTo(100);
    expect(w.leftMs()).toBe(1000);
  });

  it("counts bytes moved while nobody waited, with no waiting time", () => {
    const w = new MinRateWindow(1000, 1000);
    expect(w.add(900, 0)).toBeNull();
    expect(w.add(200, 1000)).toBeNull(); // 1100 bytes in 1 s
  });

  it("is off with a rate or a window of 0", () => {
    for (const w of [new MinRateWindow(0, 1000), new MinRateWindow(1000, 0)]) {
      expect(w.leftMs()).toBe(Infinity);
      expect(w.add(0, 60_000)).toBeNull();
    }
  });
});
