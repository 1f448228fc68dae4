/**
 * Compare flowrecon's flows with the generator's ground truth (bench/lib/traffic.mjs, `truth`).
 *
 * Contract: `compareTruth(truth, flows)` matches each flow to a truth entry by originator address
 * and port, responder address and port, and VLAN (every generated connection has a unique 5-tuple),
 * and reports, per connection:
 * - accounting: connections with no flow (`missing`), flows matching no connection (`extra`),
 *   connections reported more than once (`duplicates`), flows whose roles are the wrong way round
 *   (`flipped`, matched by the reversed tuple);
 * - conn_state that differs from the truth (Zeek's semantics, zeek-semantics.md §2);
 * - when the flows carry `anomalies`: each expected anomaly type found (`missingAnomalies`), no type
 *   that was neither injected nor allowed by the capture shape (`unexpectedAnomalies`), and for the
 *   per-segment types, which the sender's segments show, the side (`sideMismatches`);
 * - when the flows carry `orig_state`/`resp_state`: the RFC 9293 endpoint states.
 * Checks whose field is absent from every flow are reported as not checked (`anomaliesChecked`,
 * `statesChecked` false), never as passed.
 *
 * @module
 */

/**
 * Anomaly types that the engine notes per segment, on the side that sent the segment: their side
 * is a fact of the wire. The others (syn_unanswered, handshake_incomplete, peer_vanished,
 * stuck_fin_wait_2 ...) are judged at the end of the input; which endpoint they are filed under
 * is a convention, so only their type is compared.
 */
export const PER_SEGMENT_TYPES = new Set([
  "retransmission",
  "zero_window",
  "zero_window_probe",
  "reset",
  "refused",
  "duplicate_ack",
  "out_of_order",
]);

/** Accepts the side spellings a host might use. */
export function normalizeSide(side) {
  if (side === "orig" || side === "originator" || side === "o" || side === 0 || side === true) return "orig";
  if (side === "resp" || side === "responder" || side === "r" || side === 1 || side === false) return "resp";
  return String(side);
}

/** The truth's (and a flow's) connection key. */
export function connKey(origH, origP, respH, respP, vlan) {
  return `${origH}|${origP}|${respH}|${respP}|${vlan ?? 0}`;
}

export function flowKey(f) {
  return connKey(f["id.orig_h"], f["id.orig_p"], f["id.resp_h"], f["id.resp_p"], f.vlan);
}

function reversedFlowKey(f) {
  return connKey(f["id.resp_h"], f["id.resp_p"], f["id.orig_h"], f["id.orig_p"], f.vlan);
}

/**
 * @param {Iterable<object>} truth entries written by the generator
 * @param {Iterable<object>} flows flowrecon Flow objects (or parsed ndjson lines)
 * @param {{keep?: number}} [opts] keep: how many examples of each kind of problem to keep (default 5)
 */
export function compareTruth(truth, flows, opts = {}) {
  const keep = opts.keep ?? 5;
  const byKey = new Map();
  for (const e of truth) byKey.set(connKey(e["id.orig_h"], e["id.orig_p"], e["id.resp_h"], e["id.resp_p"], e.vlan), e);
  const seen = new Map(); // key -> flows reported for it
  const r = {
    connections: byKey.size,
    flows: 0,
    matched: 0,
    missing: 0,
    extra: 0,
    duplicates: 0,
    flipped: 0,
    connStateMismatches: 0,
    anomaliesChecked: false,
    statesChecked: false,
    missingAnomalies: 0,
    unexpectedAnomalies: 0,
    sideMismatches: 0,
    stateMismatches: 0,
    /** Per kind of connection: connections, and problems of each sort. */
    byKind: {},
    examples: {
      missing: [],
      extra: [],
      duplicates: [],
      flipped: [],
      connState: [],
      missingAnomalies: [],
      unexpectedAnomalies: [],
      sides: [],
      states: [],
    },
    /** Anomaly types found over all flows (type -> flows with it). */
    foundAnomalyTypes: {},
  };
  const kindStats = (kind) =>
    (r.byKind[kind] ??= {
      connections: 0,
      missing: 0,
      connState: 0,
      missingAnomalies: 0,
      unexpectedAnomalies: 0,
      sides: 0,
      states: 0,
    });
  const example = (list, x) => {
    if (r.examples[list].length < keep) r.examples[list].push(x);
  };
  for (const e of byKey.values()) kindStats(e.kind).connections++;

  for (const f of flows) {
    r.flows++;
    if (Array.isArray(f.anomalies)) {
      r.anomaliesChecked = true;
      for (const a of new Set(f.anomalies.map((x) => x.type)))
        r.foundAnomalyTypes[a] = (r.foundAnomalyTypes[a] ?? 0) + 1;
    }
    if (f.orig_state !== undefined || f.resp_state !== undefined) r.statesChecked = true;
    const key = flowKey(f);
    const e = byKey.get(key);
    if (e === undefined) {
      const rev = byKey.get(reversedFlowKey(f));
      if (rev !== undefined) {
        r.flipped++;
        example("flipped", { truth: rev, flow: summary(f) });
      } else {
        r.extra++;
        example("extra", summary(f));
      }
      continue;
    }
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    if (n > 1) {
      r.duplicates++;
      example("duplicates", { truth: e, flow: summary(f) });
      continue;
    }
    r.matched++;
    const ks = kindStats(e.kind);
    if (f.conn_state !== e.conn_state) {
      r.connStateMismatches++;
      ks.connState++;
      example("connState", { truth: e, flow: summary(f) });
    }
    if (Array.isArray(f.anomalies)) {
      const found = new Map(); // type -> set of sides
      for (const a of f.anomalies) {
        if (!found.has(a.type)) found.set(a.type, new Set());
        found.get(a.type).add(normalizeSide(a.side));
      }
      const expected = new Set(e.anomalies.map((a) => a.type));
      const allowed = new Set(e.allowed.map((a) => `${a.type}:${a.side}`));
      for (const a of e.anomalies) {
        const sides = found.get(a.type);
        if (sides === undefined) {
          r.missingAnomalies++;
          ks.missingAnomalies++;
          example("missingAnomalies", { truth: e, missing: a, flow: summary(f) });
        } else if (PER_SEGMENT_TYPES.has(a.type) && !sides.has(a.side)) {
          r.sideMismatches++;
          ks.sides++;
          example("sides", { truth: e, expected: a, found: [...sides], flow: summary(f) });
        }
      }
      for (const [type, sides] of found) {
        if (expected.has(type)) continue;
        const ok = [...sides].every((s) => allowed.has(`${type}:${s}`));
        if (!ok) {
          r.unexpectedAnomalies++;
          ks.unexpectedAnomalies++;
          example("unexpectedAnomalies", { truth: e, unexpected: { type, sides: [...sides] }, flow: summary(f) });
        }
      }
    }
    if (f.orig_state !== undefined || f.resp_state !== undefined) {
      if (f.orig_state !== e.orig_state || f.resp_state !== e.resp_state) {
        r.stateMismatches++;
        ks.states++;
        example("states", { truth: e, flow: summary(f) });
      }
    }
  }
  for (const [key, e] of byKey) {
    if (!seen.has(key)) {
      r.missing++;
      kindStats(e.kind).missing++;
      example("missing", e);
    }
  }
  r.accountingOk =
    r.missing === 0 && r.extra === 0 && r.duplicates === 0 && r.flipped === 0 && r.matched === r.connections;
  r.connStateOk = r.connStateMismatches === 0;
  r.anomaliesOk = r.anomaliesChecked
    ? r.missingAnomalies === 0 && r.unexpectedAnomalies === 0 && r.sideMismatches === 0
    : null;
  r.statesOk = r.statesChecked ? r.stateMismatches === 0 : null;
  return r;
}

/** The fields of a flow worth showing next to a truth entry. */
function summary(f) {
  const out = {
    "id.orig_h": f["id.orig_h"],
    "id.orig_p": f["id.orig_p"],
    "id.resp_h": f["id.resp_h"],
    "id.resp_p": f["id.resp_p"],
    vlan: f.vlan,
    conn_state: f.conn_state,
    history: f.history,
    end_reason: f.end_reason,
  };
  if (f.orig_state !== undefined) out.orig_state = f.orig_state;
  if (f.resp_state !== undefined) out.resp_state = f.resp_state;
  if (f.anomalies !== undefined) out.anomalies = f.anomalies.map((a) => `${a.type}:${normalizeSide(a.side)}`);
  return out;
}

/** One line per problem sort, for logs and test failure messages. */
export function formatTruthReport(r) {
  const lines = [
    `connections ${r.connections}, flows ${r.flows}, matched ${r.matched}, missing ${r.missing}, extra ${r.extra}, duplicates ${r.duplicates}, flipped ${r.flipped}`,
    `conn_state mismatches ${r.connStateMismatches}`,
    r.anomaliesChecked
      ? `anomalies: missing ${r.missingAnomalies}, unexpected ${r.unexpectedAnomalies}, wrong side ${r.sideMismatches}`
      : "anomalies: not checked (the flows carry no `anomalies` field)",
    r.statesChecked
      ? `endpoint states: mismatches ${r.stateMismatches}`
      : "endpoint states: not checked (the flows carry no orig_state/resp_state)",
  ];
  const bad = Object.entries(r.byKind).filter(
    ([, s]) => s.missing + s.connState + s.missingAnomalies + s.unexpectedAnomalies + s.sides + s.states > 0,
  );
  for (const [kind, s] of bad) lines.push(`  ${kind}: ${JSON.stringify(s)}`);
  for (const [sort, xs] of Object.entries(r.examples)) {
    for (const x of xs) lines.push(`  e.g. ${sort}: ${JSON.stringify(x)}`);
  }
  return lines.join("\n");
}
