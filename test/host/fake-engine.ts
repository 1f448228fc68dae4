// A JS stand-in for the engine's feed/finish ABI (assembly/index.ts), to test the host's chunk
// protocol independently of the real decoders: tail carry, early return on a full output ring,
// memory growth, errors at an offset, and finish() needing several calls.
//
// Fake capture format: records of [u16le length][payload]. Payload byte 0 says what the record does:
//   'F' + u16le id  a flow finishes now (emitted into the ring with orig port = id)
//   'L' + u16le id  a flow starts and stays live until finish()
//   'X'             damaged container: fatal BadBlockLength error at this record
//   'G' + u8 pages  memory grows (detaches every view the host holds)
//   anything else   a record that produces nothing
import { Engine, type EngineExports } from "../../src/wasm/engine.js";
import { layoutEngine, writeRecord } from "./helpers.js";

export interface FakeConfig {
  /** Output ring capacity in records (the real one has 4096). */
  outCap?: number;
  /** feed() returns once the ring holds outCap - margin records. */
  margin?: number;
}

export interface FakeState {
  /** Every len passed to feed(), to check the host's call pattern. */
  feedCalls: { len: number; eof: number }[];
  finishCalls: number;
}

const PAGE = 65536;

export function fakeEngine(config: FakeConfig = {}): { engine: Engine; state: FakeState } {
  const outCap = config.outCap ?? 8;
  const margin = config.margin ?? 1;
  const real = layoutEngine();
  const layout = real.layout;
  const recordSize = layout.constants.FR_SIZE;
  const statCount = Object.keys(layout.stat.values).length;
  const S = layout.stat.values;
  const E = layout.err.values;

  const memory = new WebAssembly.Memory({ initial: 64, maximum: 4096 });
  const statsBase = 1024;
  const inputBase = 4 * PAGE;
  let windowBytes = 0;
  let outBase = 0;
  let outCount = 0;
  let consumedTotal = 0;
  let records = 0;
  let errCode = 0,
    errOffset = 0,
    errRecord = 0;
  const live: number[] = [];
  const state: FakeState = { feedCalls: [], finishCalls: 0 };

  const stat = (name: string, add: number) => {
    const f64 = new Float64Array(memory.buffer, statsBase, statCount);
    f64[S[name]] += add;
  };
  const setError = (code: number, offset: number, record: number) => {
    if (errCode !== 0) return;
    errCode = code;
    errOffset = offset;
    errRecord = record;
  };
  const emit = (id: number) => {
    writeRecord(memory.buffer, outBase + outCount * recordSize, layout, {
      origPort: id,
      tsUs: 1_000_000_000_000_000 + id,
      lastUs: 1_000_000_000_000_000 + id + 1500,
      history: "ShADadFf",
      connState: "SF",
      endReason: "Closed",
    });
    outCount++;
  };
  const nearlyFull = () => outCount >= outCap - margin;

  const exports: EngineExports = {
    memory,
    init(w: number) {
      windowBytes = w;
      const needed = inputBase + w + outCap * recordSize + PAGE;
      const have = memory.buffer.byteLength;
      if (needed > have) memory.grow(Math.ceil((needed - have) / PAGE));
      outBase = (inputBase + w + 15) & ~15;
      outCount = 0;
    },
    inputPtr: () => inputBase,
    inputSize: () => windowBytes,
    heapEnd: () => outBase + outCap * recordSize,
    feed(len: number, eof: number, at = 0): number {
      state.feedCalls.push({ len, eof });
      let u8 = new Uint8Array(memory.buffer);
      let off = 0;
      for (;;) {
        if (nearlyFull()) break;
        if (len - off < 2) break;
        const p = inputBase + at + off;
        const body = u8[p] | (u8[p + 1] << 8);
        if (len - off - 2 < body) break;
        const kind = String.fromCharCode(u8[p + 2]);
        const id = u8[p + 3] | (u8[p + 4] << 8);
        if (kind === "X") {
          setError(E.BadBlockLength, consumedTotal + off, records + 1);
          break;
        }
        records++;
        stat("Records", 1);
        stat("Bytes", 2 + body);
        if (kind === "F") emit(id);
        else if (kind === "L") live.push(id);
        else if (kind === "G") {
          memory.grow(u8[p + 3]);
          u8 = new Uint8Array(memory.buffer);
        }
        off += 2 + body;
      }
      if (eof && errCode === 0 && !nearlyFull() && off < len) {
        setError(E.TruncatedInput, consumedTotal + off, records + 1);
      }
      consumedTotal += off;
      return off;
    },
    // Framing checks (sessions only) are not modelled.
    checkBegin() {},
    checkEnd() {},
    emitLive(): number {
      return 0; // the fake keeps no live flows to list (finish() emits them)
    },
    finish(): number {
      state.finishCalls++;
      while (live.length > 0 && !nearlyFull()) emit(live.shift()!);
      return live.length > 0 ? 1 : 0;
    },
    outPtr: () => outBase,
    clockUs: () => 1_000_000_000_000_000n,
    outLen: () => outCount,
    outClear() {
      outCount = 0;
    },
    statsPtr: () => statsBase,
    errCode: () => errCode,
    errOffset: () => errOffset,
    errRecord: () => errRecord,
    setOption() {},
    setHashKey() {},
  };
  // The real module's globals (layout and enums) plus the fake functions and memory.
  const globals = Object.fromEntries(
    Object.entries(real.exports as unknown as Record<string, unknown>).filter(
      ([, v]) => v instanceof WebAssembly.Global,
    ),
  );
  return { engine: new Engine({ ...globals, ...exports } as EngineExports & WebAssembly.Exports), state };
}

/** Encodes fake records. */
export function fakeCapture(...records: (string | [string, number])[]): Uint8Array {
  return fakeCaptureOf(records);
}

export function fakeCaptureOf(records: readonly (string | [string, number])[]): Uint8Array {
  const parts: number[] = [];
  for (const r of records) {
    const [kind, id] = typeof r === "string" ? [r, 0] : r;
    const body = [kind.charCodeAt(0), id & 0xff, id >> 8, 0x2e, 0x2e]; // some padding bytes
    parts.push(body.length & 0xff, body.length >> 8, ...body);
  }
  return Uint8Array.from(parts);
}
