/**
 * @module
 * A flow's `orig_state`/`resp_state`, `anomalies` and `http` fields, from its record.
 *
 * Wire anomalies come from the engine's per-record slots (type, side, count, first time). End
 * anomalies (unanswered SYN, incomplete handshake, vanished peer, stuck FIN_WAIT_1/FIN_WAIT_2/
 * LAST_ACK) come from the endpoint states at the record's end: at the end of a finite input every
 * unfinished flow is reported, with `idle_s` from its last segment to the end of the input; in a
 * live session (`final: false`) only once the Linux-derived thresholds have passed.
 * Time is always the capture's clock, never the wall clock.
 */

import type { MemoryViews } from "../wasm/engine.js";
import type { Layout } from "../wasm/layout.js";
import { ANOMALY_BY_CODE, type AnomalyName } from "./catalogue.js";
import { FactsReader, type FlowFacts, type SideFacts } from "./facts.js";
import { endpointState, LINUX_THRESHOLDS, type StateThresholds, type TcpStateName } from "./endpoint-state.js";

export interface AnomalyEntry {
  type: AnomalyName;
  side: "orig" | "resp";
  /** Time of the first occurrence (capture clock, seconds). */
  ts: number;
  count: number;
  /** Seconds from the flow's (or the silent side's) last segment to the end of the input or session. */
  idle_s?: number;
  detail?: string;
}

export interface HttpInsight {
  requests: number;
  responses: number;
  methods: Record<string, number>;
  versions: string[];
  status_codes: Record<string, number>;
  status_classes: Record<string, number>;
  /** Several requests on one connection (persistent connection), as opposed to HTTP/1.0-style one per connection. */
  keep_alive: boolean;
}

export interface FlowInsight {
  orig_state: TcpStateName;
  resp_state: TcpStateName;
  anomalies: AnomalyEntry[];
  http?: HttpInsight;
}

export interface InsightContext {
  /** The end of the input, or the session's latest segment (µs, capture clock). */
  endUs: number;
  /** true at the end of a finite input: every unfinished flow is reported. */
  final: boolean;
  thresholds?: StateThresholds;
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

/** Derives the insight fields of flow records (one instance per engine layout). */
export class InsightReader {
  readonly #facts: FactsReader;
  readonly #c: Layout["constants"];
  readonly #methods: readonly (string | undefined)[];

  constructor(layout: Layout) {
    this.#facts = new FactsReader(layout);
    this.#c = layout.constants;
    this.#methods = layout.httpMethod.names;
  }

  /**
   * Without a context the record stands alone: it is finished, and its input ended with its own
   * last packet.
   */
  read(v: MemoryViews, p: number, ctx?: InsightContext): FlowInsight {
    const f = this.#facts.read(v, p);
    const t = ctx?.thresholds ?? LINUX_THRESHOLDS;
    const inputEndUs = ctx?.endUs ?? f.lastUs;
    const final = ctx?.final ?? true;
    // A record the engine's timers removed ended then; otherwise at the end of the input/session.
    const endUs = f.removedUs !== undefined && f.removedUs < inputEndUs ? f.removedUs : inputEndUs;
    const orig_state = endpointState(f, f.orig, f.resp, true, endUs, t);
    const resp_state = endpointState(f, f.resp, f.orig, false, endUs, t);
    const anomalies = this.#wire(v, p, f);
    this.#end(f, orig_state, resp_state, endUs, final, t, anomalies);
    anomalies.sort((a, b) => a.ts - b.ts || (a.type < b.type ? -1 : 1));
    const out: FlowInsight = { orig_state, resp_state, anomalies };
    const http = this.#http(v, p);
    if (http !== undefined) out.http = http;
    return out;
  }

  #wire(v: MemoryViews, p: number, f: FlowFacts): AnomalyEntry[] {
    const c = this.#c;
    const ext = p + c.FR_EXT;
    const out: AnomalyEntry[] = [];
    for (let i = 0; i < c.ANOM_SLOTS; i++) {
      const s = ext + c.X_ANOM + i * 8;
      const code = v.u8[s];
      if (code === 0) continue;
      const info = ANOMALY_BY_CODE[code];
      if (info === undefined) continue;
      const side = v.u8[s + 1] === 0 ? "orig" : "resp";
      const e: AnomalyEntry = {
        type: info.name,
        side,
        ts: round6((f.startUs + v.u32[(s + 4) >>> 2]) / 1e6),
        count: v.u16[(s + 2) >>> 1],
      };
      if (info.name === "reset") {
        const data = f.orig.ackedRel > 1 || f.resp.ackedRel > 1;
        e.detail = data ? "after data had flowed" : "before any data";
      }
      out.push(e);
    }
    const lost = v.u32[(ext + c.X_ANOM_LOST) >>> 2];
    if (lost !== 0) {
      // More distinct anomaly kinds than the record has slots: name the ones that were not counted.
      for (let code = 1; code < 32; code++) {
        const info = ANOMALY_BY_CODE[code];
        if ((lost & (1 << code)) !== 0 && info !== undefined && !out.some((e) => e.type === info.name)) {
          out.push({
            type: info.name,
            side: "orig",
            ts: round6(f.lastUs / 1e6),
            count: 1,
            detail: "slot table full: side, count and time not recorded",
          });
        }
      }
    }
    return out;
  }

  #end(
    f: FlowFacts,
    os: TcpStateName,
    rs: TcpStateName,
    endUs: number,
    final: boolean,
    t: StateThresholds,
    out: AnomalyEntry[],
  ): void {
    const idleOf = (s: SideFacts | undefined) => round6((endUs - (s?.lastUs ?? f.lastUs)) / 1e6);
    const flowIdle = round6((endUs - f.lastUs) / 1e6);
    const add = (
      type: AnomalyName,
      side: "orig" | "resp",
      tsUs: number,
      count: number,
      idle: number,
      detail?: string,
    ) => {
      const e: AnomalyEntry = { type, side, ts: round6(tsUs / 1e6), count, idle_s: idle };
      if (detail !== undefined) e.detail = detail;
      out.push(e);
    };
    const refused = out.some((e) => e.type === "refused");

    // syn_unanswered: SYNs and nothing after them but a RST (an originator that sent ACKs or data
    // had its SYN answered, even if the capture missed the SYN-ACK); no SYN-ACK or RST from the responder.
    if (
      f.orig.syn &&
      !f.orig.beyondSyn &&
      !f.resp.syn &&
      !f.resp.rst &&
      !refused &&
      f.resp.pkts === 0 &&
      (final || flowIdle >= t.synTimeout)
    ) {
      const n = f.orig.syns;
      add("syn_unanswered", "orig", f.startUs, n, flowIdle, n > 1 ? `${n} SYNs, ${n - 1} retransmitted` : "1 SYN");
    }
    // handshake_incomplete: the responder is left in SYN_RECEIVED.
    if (rs === "SYN_RECEIVED" && (final || flowIdle >= t.synAckTimeout)) {
      add(
        "handshake_incomplete",
        "resp",
        f.resp.lastUs ?? f.lastUs,
        f.resp.pkts,
        flowIdle,
        f.orig.ackedRel >= 1 || f.resp.ackedRel >= 1
          ? "SYN-ACK repeated after the originator's ACK: the ACK was lost"
          : "no ACK of the SYN-ACK",
      );
    }
    // peer_vanished: one side retransmits into silence.
    for (const [talker, silent, silentSide] of [
      [f.orig, f.resp, "resp"],
      [f.resp, f.orig, "orig"],
    ] as const) {
      if (
        talker.rtxQuiet < 2 ||
        silent.rst ||
        silent.pkts === 0 ||
        silent.lastUs === undefined ||
        talker.lastUs === undefined
      )
        continue;
      if (talker.lastUs <= silent.lastUs) continue;
      const quiet = idleOf(silent);
      // Three retransmissions into silence are exponential backoff at work (RFC 6298 §5.5); with
      // two, the silence itself must have lasted.
      if (talker.rtxQuiet < 3 && quiet < t.vanishedAfter) continue;
      add(
        "peer_vanished",
        silentSide,
        silent.lastUs,
        talker.rtxQuiet,
        quiet,
        `${silentSide === "resp" ? "responder" : "originator"} silent for ${quiet} s while the ${silentSide === "resp" ? "originator" : "responder"} retransmitted ${talker.rtxQuiet} times`,
      );
    }
    // Stuck teardown states.
    if (final || flowIdle >= t.finWait2Timeout) {
      for (const [state, side, me] of [
        [os, "orig", f.orig],
        [rs, "resp", f.resp],
      ] as const) {
        const at = me.lastUs ?? f.lastUs;
        if (state === "FIN_WAIT_1") add("stuck_fin_wait_1", side, at, 1, flowIdle, "FIN never acknowledged");
        else if (state === "FIN_WAIT_2")
          add(
            "stuck_fin_wait_2",
            side,
            at,
            1,
            flowIdle,
            `FIN acknowledged; the ${side === "orig" ? "responder" : "originator"} never closed (CLOSE_WAIT)`,
          );
        else if (state === "LAST_ACK") add("stuck_last_ack", side, at, 1, flowIdle, "final FIN never acknowledged");
      }
    }
  }

  #http(v: MemoryViews, p: number): HttpInsight | undefined {
    const c = this.#c;
    const ext = p + c.FR_EXT;
    const requests = v.u16[(ext + c.X_HTTP_REQ) >>> 1];
    const responses = v.u16[(ext + c.X_HTTP_RESP) >>> 1];
    if (requests === 0 && responses === 0) return undefined;
    const methods: Record<string, number> = {};
    for (let m = 0; m < this.#methods.length; m++) {
      const n = v.u16[(ext + c.X_HTTP_METHODS + 2 * m) >>> 1];
      const name = this.#methods[m];
      if (n > 0 && name !== undefined) methods[name] = n;
    }
    const vb = v.u8[ext + c.X_HTTP_VERSIONS];
    const versions: string[] = [];
    if (vb & 1) versions.push("HTTP/1.0");
    if (vb & 2) versions.push("HTTP/1.1");
    const status_classes: Record<string, number> = {};
    for (let k = 0; k < 5; k++) {
      const n = v.u16[(ext + c.X_HTTP_CLASSES + 2 * k) >>> 1];
      if (n > 0) status_classes[`${k + 1}xx`] = n;
    }
    const status_codes: Record<string, number> = {};
    for (let i = 0; i < c.HTTP_CODE_SLOTS; i++) {
      const s = ext + c.X_HTTP_CODES + 4 * i;
      const code = v.u16[s >>> 1];
      if (code !== 0) status_codes[String(code)] = v.u16[(s + 2) >>> 1];
    }
    return { requests, responses, methods, versions, status_codes, status_classes, keep_alive: requests > 1 };
  }
}
