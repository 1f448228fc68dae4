// The host's view of the engine ABI: every constant and enum the host reads exists, every error
// code has a message and vice versa, and every Reconstructor option maps to an engine option.
import { describe, expect, it } from "vitest";
import { captureError, ERROR_MESSAGES, errorCode, errorMessage, magicHint } from "../../src/wasm/errors.js";
import { readLayout, snakeCase, AbiMismatchError } from "../../src/wasm/layout.js";
import { Reconstructor } from "../../src/reconstructor.js";
import { readAsString } from "../../src/wasm/engine.js";
import { layoutEngine, realLayout } from "./helpers.js";

describe("layout", () => {
  const layout = realLayout();

  it("reads record offsets that fit in a record", () => {
    const c = layout.constants;
    expect(c.FR_SIZE % 8).toBe(0);
    for (const [name, value] of Object.entries(c)) {
      if (name.startsWith("FR_") && name !== "FR_SIZE") expect(value, name).toBeLessThan(c.FR_SIZE);
    }
    expect(c.FR_HISTORY + c.HIST_CAP).toBeLessThanOrEqual(c.FR_ORIG);
    // Aligned multi-byte fields: the decoder reads them through typed arrays.
    for (const name of ["FR_TS_START", "FR_TS_LAST", "FR_HS_RTT"] as const) expect(c[name] % 8, name).toBe(0);
    for (const name of ["EP_IP_BYTES", "EP_MISSED", "EP_BYTES", "FR_ORIG", "FR_RESP"] as const)
      expect(c[name] % 8, name).toBe(0);
    expect(c.EP_PKTS % 4).toBe(0);
    expect(c.FR_VLAN % 4).toBe(0);
  });

  it("reads the enums by name", () => {
    expect(layout.connState.names.slice(0, 3)).toEqual(["S0", "S1", "SF"]);
    expect(layout.err.values.None).toBe(0);
    expect(layout.stat.values).not.toHaveProperty("Count");
    expect(layout.tunnel.values.None).toBe(0);
  });

  it("fails loudly when an export is missing", () => {
    const exports = { ...layoutEngine().exports } as unknown as WebAssembly.Exports;
    const partial = Object.fromEntries(Object.entries(exports).filter(([k]) => k !== "FR_HS_RTT"));
    expect(() => readLayout(partial)).toThrow(AbiMismatchError);
  });

  it("converts enum names to snake_case", () => {
    expect(snakeCase("UnsupportedLink")).toBe("unsupported_link");
    expect(snakeCase("NonIp")).toBe("non_ip");
    expect(snakeCase("IpInIp")).toBe("ip_in_ip");
    expect(snakeCase("Records")).toBe("records");
  });
});

describe("error messages", () => {
  const errNames = Object.keys(realLayout().err.values).filter((n) => n !== "None");

  it("has a message for every Err code and no message for a code that does not exist", () => {
    expect(Object.keys(ERROR_MESSAGES).sort()).toEqual([...errNames].sort());
  });

  it("issue-11: every code users see is snake_case, like the API's own codes", () => {
    for (const name of errNames) expect(errorCode(name), name).toMatch(/^[a-z]+(_[a-z0-9]+)*$/);
    expect(errorCode("TruncatedInput")).toBe("truncated_input");
    expect(captureError("BadMagic", 0, 0)).toMatchObject({ code: "bad_magic", offset: 0 });
    const rec = new Reconstructor();
    rec.push(new Uint8Array([0x1f, 0x8b, 0, 0]));
    rec.finish();
    expect(rec.error?.code).toBe("bad_magic");
  });

  it("names the byte offset in every message", () => {
    for (const name of errNames) expect(errorMessage(name, 1234, 17), name).toContain("at byte 1234");
    expect(errorMessage("TruncatedInput", 1234, 17)).toMatch(/^capture is truncated at byte 1234 \(record 17\): /);
    expect(errorMessage("SomethingNew", 5, 1)).toContain("at byte 5");
  });

  it("recognises compressed files handed over as captures", () => {
    expect(magicHint(Uint8Array.from([0x1f, 0x8b, 8, 0]))).toContain("gzip");
    expect(magicHint(Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd]))).toContain("zstd");
    expect(magicHint(Uint8Array.from([0x3c, 0x68, 0x74, 0x6d]))).toBe(" (found 3c 68 74 6d)");
  });
});

describe("options", () => {
  it("maps every Reconstructor option to an engine option", () => {
    const rec = new Reconstructor({
      ignoreChecksums: true,
      vlanInKey: false,
      flowCap: 100,
      attemptTimeout: 1,
      closeTimeout: 1,
      inactivityTimeout: 1,
      interactiveInactivityTimeout: 1,
      likelyServerPorts: [80, 8080],
      reportGapsForPartial: true,
      handshakeInactivityTimeout: 30,
      maxAboveHoleWithoutAcks: 0,
      excessiveDataWithoutAcks: 0,
      hashKey: "000102030405060708090a0b0c0d0e0f",
      windowBytes: 1 << 20,
      communityIdSeed: 1,
    });
    expect(rec.windowBytes).toBe(1 << 20);
  });
});

describe("abort handler", () => {
  it("decodes AssemblyScript strings (UTF-16LE, byte length at ptr - 4)", () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const text = "assertion failed: ü";
    const dv = new DataView(memory.buffer);
    dv.setUint32(60, text.length * 2, true);
    for (let i = 0; i < text.length; i++) dv.setUint16(64 + 2 * i, text.charCodeAt(i), true);
    expect(readAsString(memory, 64)).toBe(text);
  });
});
