/**
 * Deterministic synthetic TCP traffic for benchmarks: many concurrent, interleaved connections,
 * written as Ethernet frames to pcap or pcapng, with a configurable share of injected anomalies and
 * the ground truth per connection (what a Zeek-style tracker must report for it).
 *
 * Contract
 * - Same options (seed included) give a byte-identical capture, sidecar and truth on any machine:
 *   one integer PRNG stream (./prng.mjs) drives every choice, and no wall-clock value enters a file.
 * - `segments` is exact: the file holds exactly that many TCP segments (records). The last
 *   connection to start absorbs the remainder of the budget (it is never given an anomaly).
 * - Every connection has a unique 5-tuple (client address and port come from its id), so a flow
 *   table keyed by 5-tuple finds exactly `connections` flows, with or without VLAN in the key.
 * - Up to `concurrent` connections are open at once. The next packet comes from a uniformly chosen
 *   awake connection, so one connection's packets are spread over ~concurrent x its length records
 *   (mean gap concurrent / pps seconds). A connection waiting on the network sleeps in capture time
 *   and sends its next packet when it wakes: half its round-trip time (1-21 ms) before the answer
 *   to a SYN, a SYN-ACK or a FIN, an RTO before a retransmission or a zero-window probe. So the
 *   handshake and the FIN exchanges never straddle Zeek's timers, however slow the interleaving.
 *   A finished connection is replaced by a new one while the segment budget allows; at the end the
 *   pool drains.
 * - A regular connection (RFC 9293 §3.5 figure 6, §3.6 figure 12): SYN (MSS, window scale and
 *   SACK-permitted options), SYN-ACK, ACK; data both ways in bursts (client requests of 1-2
 *   segments, server responses of 1-12 segments, delayed ACKs every second data segment), each
 *   carrying the correct sequence number and acknowledging everything the peer has sent; then
 *   either a FIN handshake (FIN, ACK, FIN, ACK, started by either side) or one RST+ACK from either
 *   side (`rstShare`: a reset mid-stream).
 * - Anomalies (`anomalyShare` of the connections, one kind each, uniform over `anomalies`); the wire
 *   shape of each is in ANOMALY_SHAPES below and in bench/README.md.
 * - `mode: "synflood"`: `segments` bare SYNs, each from its own source (unique address from a
 *   bijective scramble of the SYN's number, random port) to one victim, never answered.
 * - IPv4 header checksums (RFC 791) and TCP checksums (RFC 9293 §3.1, pseudo-header per RFC 791 /
 *   RFC 8200 §8.1) are correct over the whole original segment, also when the snaplen cuts the
 *   record short.
 * - Timestamps are non-decreasing, microsecond resolution, starting at 2023-11-14T22:13:20Z.
 *
 * Ground truth (`truth: FILE` writes NDJSON, `onTruth(entry)` gets objects; one entry per
 * connection, in the order connections end): the 5-tuple and VLAN, the kind, Zeek's conn_state
 * (zeek-semantics.md §2), the RFC 9293 state each endpoint is left in, the anomalies that were
 * injected (type and side) and the ones the capture shape may add (`allowed`: a content gap on a
 * side whose payload the snaplen cut). See bench/README.md, "Ground truth".
 *
 * Speed: connection state lives in one Int32Array, a 128-byte row per pool slot; headers are
 * written with byte stores into the writer's preallocated chunk; checksums are summed from field
 * values (the addresses' contribution is precomputed per connection) and the payload's contribution
 * comes from a prefix-sum table over a fixed random payload pattern, so no packet byte is read back.
 *
 * @module
 */
import { closeSync, openSync, writeFileSync, writeSync } from "node:fs";
import { Xoshiro128 } from "./prng.mjs";
import { CaptureWriter } from "./pcap-writer.mjs";

/** Bumped when the same options would produce a different file; caches compare it. */
export const GENERATOR_VERSION = 3;

/** Anomaly kinds the generator can inject (option `anomalies`), in their internal order. */
export const ANOMALY_KINDS = Object.freeze([
  "syn_unanswered",
  "refused",
  "handshake_incomplete",
  "peer_vanished",
  "fin_wait_2",
  "retransmission",
  "zero_window",
]);

export const DEFAULTS = Object.freeze({
  mode: "mixed",
  seed: 1,
  segments: 5_000_000,
  concurrent: 100_000,
  snaplen: 65535,
  format: "pcap",
  ipv6Share: 0.15,
  vlanShare: 0.1,
  payload: 512,
  connSegments: 20,
  rstShare: 0.1,
  anomalyShare: 0.05,
  anomalies: ANOMALY_KINDS,
  pps: 1_000_000,
});

// Wire constants.
const ETH_HLEN = 14;
const VLAN_HLEN = 4;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const IPV4_HLEN = 20;
const IPV6_HLEN = 40;
const IPPROTO_TCP = 6;
const IPV4_DF = 0x4000;
const TCP_HLEN = 20;
/** SYN/SYN-ACK options: MSS(4) NOP WS(3) NOP NOP SACK_PERM(2) = 12 bytes. */
const TCP_SYN_OPTS_LEN = 12;
const WSCALE_SHIFT = 7;
const TH_FIN = 0x01;
const TH_SYN = 0x02;
const TH_RST = 0x04;
const TH_PSH = 0x08;
const TH_ACK = 0x10;
/** Largest payload per segment: fits a 1500-byte MTU under IPv6 + TCP. */
const MSS = 1440;
/** Checksum-word sum of the fixed option bytes 02 04 .. .. 01 03 03 07 01 01 04 02 (MSS excluded). */
const SYN_OPTS_SUM = 0x0204 + 0x0103 + (0x0300 | WSCALE_SHIFT) + 0x0101 + 0x0402;

// Addressing plan. IPv4: clients 10.0.0.0/8, servers 172.16.0.0/12. IPv6: clients
// 2001:db8:c1::/96 and servers 2001:db8:53::/96, with the IPv4 number as the low 32 bits.
const CLIENT_NET4 = 0x0a000000;
const SERVER_NET4 = 0xac100000;
const SERVERS = 4096;
const V6_CLIENT_PREFIX = [0x2001, 0x0db8, 0x00c1, 0, 0, 0];
const V6_SERVER_PREFIX = [0x2001, 0x0db8, 0x0053, 0, 0, 0];
const V6_PREFIX_SUM = [...V6_CLIENT_PREFIX, ...V6_SERVER_PREFIX].reduce((a, b) => a + b, 0);
/** Connections per client host; each gets its own 8000-port slice, which keeps 5-tuples unique. */
const CONNS_PER_CLIENT = 8;
const PORT_SLICE = 8000;
const MAX_CONNECTIONS = CONNS_PER_CLIENT * 0xfffffe;
/** Server ports and their weights (out of 100). */
const SERVER_PORTS = [443, 80, 8080, 22, 25, 993, 3306, 5432];
const SERVER_PORT_WEIGHTS = [50, 25, 8, 5, 4, 3, 3, 2];
const ROUTER_MAC = [0x02, 0x01, 0x00, 0x00, 0x00, 0x01];
const START_US = 1_700_000_000_000_000;

// SYN flood: sources are 45.0.0.0/8 onwards (one address per SYN), the victim is 172.16.0.80:80.
const FLOOD_NET4 = 0x2d000000;
const FLOOD_VICTIM = 0xac100050;
const FLOOD_PORT = 80;
const FLOOD_WINDOW = 1024;
const MAX_FLOOD_SYNS = 100 * 0x1000000;

// Teardown kinds. Zeek conn_state for each: FIN_* -> SF, RST_ORIG -> RSTO, RST_RESP -> RSTR.
const FIN_ORIG = 0;
const FIN_RESP = 1;
const RST_ORIG = 2;
const RST_RESP = 3;
const TEARDOWN_LEN = [4, 4, 1, 1];
const TEARDOWN_NAMES = ["fin_orig", "fin_resp", "rst_orig", "rst_resp"];
const HANDSHAKE_LEN = 3;
/** Smallest connection: handshake + RST. */
const MIN_CONN = HANDSHAKE_LEN + 1;
/** Smallest FIN-closed connection; a budget remainder below this cannot take another connection. */
const MIN_FIN_CONN = HANDSHAKE_LEN + 4;

// Anomaly kinds (row field F_ANOM): 0 = none, else 1 + index in ANOMALY_KINDS.
const A_NONE = 0;
const A_SYN_UNANSWERED = 1;
const A_REFUSED = 2;
const A_HS_INCOMPLETE = 3;
const A_PEER_VANISHED = 4;
const A_FIN_WAIT_2 = 5;
const A_RETRANSMISSION = 6;
const A_ZERO_WINDOW = 7;
/** Kinds that replace the whole connection (no regular handshake/data/teardown). */
const OPENING_KINDS = new Set([A_SYN_UNANSWERED, A_REFUSED, A_HS_INCOMPLETE]);
/** Kinds inserted after the data phase that end the connection (no teardown follows). */
const TERMINAL_TAIL_KINDS = new Set([A_PEER_VANISHED, A_FIN_WAIT_2]);

// Timers in capture time (ns). SYN and SYN-ACK retransmissions back off from 1 s (RFC 6298 §2.1,
// RFC 9293 §3.8.1): retries at +1 s and +3 s, well inside Zeek's 5 s tcp_attempt_delay. Data
// retransmissions and zero-window probes back off from a 200 ms RTO (Linux's minimum).
const SYN_RTO_NS = 1e9;
const DATA_RTO_NS = 2e8;
const WINDOW_REOPEN_NS = 1e8;
// Round-trip times, uniform in [1 ms, 21 ms). The answer to a SYN, a SYN-ACK or a FIN comes half an
// RTT later in capture time (a tap in the middle of the path); everything else is interleaved.
const RTT_MIN_NS = 1e6;
const RTT_SPAN_NS = 2e7;

/**
 * What each anomaly kind looks like on the wire and what it must produce. `X` is the side named in
 * the truth (the endpoint whose segments show the anomaly), `Y` the other one.
 */
export const ANOMALY_SHAPES = Object.freeze({
  syn_unanswered:
    "SYN, then 1-2 retransmissions of the same SYN (same ISN) after 1 s and 2 s; no reply. S0; SYN_SENT / CLOSED; retransmission (orig)",
  refused: "SYN answered by RST+ACK (seq 0, ack ISN+1, window 0). REJ; CLOSED / CLOSED",
  handshake_incomplete:
    "SYN, SYN-ACK, then 1-2 retransmissions of the same SYN-ACK after 1 s and 2 s; the client never ACKs. S1 (Zeek establishes both sides on the SYN-ACK); ESTABLISHED / SYN_RECEIVED; retransmission (resp)",
  peer_vanished:
    "regular handshake and data, then X sends new data and retransmits it 3-5 times (RTO 200 ms doubling); Y never sends again. S1; ESTABLISHED / ESTABLISHED",
  fin_wait_2:
    "regular handshake and data, then X sends FIN, Y ACKs it and never sends its FIN. S2 (X = originator) or S3; X FIN_WAIT_2, Y CLOSE_WAIT",
  retransmission:
    "regular connection in which X repeats its last data segment (same seq, length and bytes) 200 ms later, then the regular teardown",
  zero_window:
    "regular connection in which Y (the receiver of the last data) ACKs everything with window 0, X sends 1-3 zero-window probes (seq = snd.nxt - 1, no payload, 200 ms RTO doubling), Y reopens the window, then the regular teardown",
});

// Connection row layout (i32 fields): 32 words, two cache lines.
const ROW = 32;
const F_KIND = 0; // bit 0: IPv6; bits 1-2: teardown kind; bits 8-19: VLAN id (0 = untagged)
const F_CIP = 1; // client IPv4 number (IPv6: low 32 bits)
const F_SIP = 2; // server IPv4 number (IPv6: low 32 bits)
const F_PORTS = 3; // client port << 16 | server port
const F_SEQC = 4; // next sequence number the client sends
const F_SEQS = 5; // next sequence number the server sends
const F_IPIDS = 6; // client IPv4 id << 16 | server IPv4 id
const F_WINS = 7; // client window << 16 | server window
const F_FLOWLBL = 8; // IPv6 flow label
const F_STEP = 9; // packets emitted so far
const F_DATAEND = 10; // step at which the tail (anomaly insert, then teardown) starts
const F_TOTAL = 11; // packets in this connection
const F_DIR = 12; // current data sender: 0 client, 1 server
const F_BURST = 13; // data segments left in the current burst
const F_PENDACK = 14; // data segments not yet acknowledged by a pure ACK
const F_ADDRSUM = 15; // checksum words of both addresses (IPv4 header and TCP pseudo-header)
const F_ANOM = 16; // anomaly kind (A_*)
const F_ASIDE = 17; // the anomaly's side X: 0 client, 1 server
const F_ANOMN = 18; // retransmissions / probes of the anomaly
const F_INS = 19; // packets the anomaly inserts after the data phase
const F_LSEQ = 20; // last data segment sent: seq
const F_LLEN = 21; //   payload length
const F_LOFF = 22; //   payload pattern offset (so a retransmission repeats the same bytes)
const F_LSIDE = 23; //   sender (0 client, 1 server)
const F_ID = 24; // connection number
const F_TRUNC = 25; // bit 0: a client data segment was cut by the snaplen; bit 1: a server one
const F_RTT = 26; // round-trip time in ns: the handshake and the FIN exchanges follow at half of it

const PATTERN_SPAN = 65536;
const PATTERN_BYTES = PATTERN_SPAN + 2048;

/**
 * Fixed pseudo-random payload bytes, and W[k] = sum of the big-endian 16-bit words in bytes [0, 2k),
 * so the checksum contribution of any even-aligned slice is two lookups.
 */
function makePattern(seed) {
  const rng = new Xoshiro128(seed ^ 0x5eed9a7);
  const bytes = Buffer.allocUnsafe(PATTERN_BYTES);
  for (let i = 0; i < PATTERN_BYTES; i += 4) bytes.writeUInt32LE(rng.next(), i);
  const words = new Float64Array(PATTERN_BYTES / 2 + 1);
  for (let k = 0; k < PATTERN_BYTES / 2; k++) words[k + 1] = words[k] + ((bytes[2 * k] << 8) | bytes[2 * k + 1]);
  return { bytes, words };
}

/** Fold a (< 2^32) one's-complement sum to 16 bits and complement it. */
function csumFinish(sum) {
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** A bijection on 24-bit integers (odd multiply and xorshift, both invertible mod 2^24). */
function scramble24(x) {
  x = Math.imul(x, 0x9e3779) & 0xffffff;
  x ^= x >>> 12;
  x = Math.imul(x, 0x5bd1e9) & 0xffffff;
  x ^= x >>> 11;
  return x;
}

/** IPv4 number -> dotted quad. */
export function formatIPv4(n) {
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

/** Eight 16-bit groups -> RFC 5952 text (lower-case hex, longest run of >= 2 zero groups as "::"). */
export function formatIPv6(groups) {
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestAt < 0) return hex.join(":");
  return `${hex.slice(0, bestAt).join(":")}::${hex.slice(bestAt + bestLen).join(":")}`;
}

function validate(o) {
  const intIn = (name, lo, hi) => {
    const v = o[name];
    if (!Number.isInteger(v) || v < lo || v > hi)
      throw new RangeError(`${name} must be an integer in [${lo}, ${hi}], got ${v}`);
  };
  const shareIn = (name) => {
    const v = o[name];
    if (!(typeof v === "number" && v >= 0 && v <= 1)) throw new RangeError(`${name} must be in [0, 1], got ${v}`);
  };
  if (o.mode !== "mixed" && o.mode !== "synflood")
    throw new RangeError(`mode must be mixed or synflood, got ${o.mode}`);
  intIn("seed", -0x80000000, 0xffffffff);
  intIn("segments", o.mode === "synflood" ? 1 : MIN_CONN, o.mode === "synflood" ? MAX_FLOOD_SYNS : 2 ** 40);
  intIn("concurrent", 1, 50_000_000);
  intIn("snaplen", 1, 262144);
  intIn("payload", 1, MSS);
  intIn("connSegments", MIN_CONN, 1_000_000);
  shareIn("ipv6Share");
  shareIn("vlanShare");
  shareIn("rstShare");
  shareIn("anomalyShare");
  if (!Array.isArray(o.anomalies) || o.anomalies.some((k) => !ANOMALY_KINDS.includes(k))) {
    throw new RangeError(`anomalies must be a list of ${ANOMALY_KINDS.join(", ")}, got ${o.anomalies}`);
  }
  if (o.anomalyShare > 0 && o.anomalies.length === 0)
    throw new RangeError("anomalyShare > 0 needs at least one kind in anomalies");
  if (!(o.pps > 0)) throw new RangeError(`pps must be > 0, got ${o.pps}`);
  if (o.format !== "pcap" && o.format !== "pcapng")
    throw new RangeError(`format must be pcap or pcapng, got ${o.format}`);
}

/**
 * Write a synthetic capture.
 *
 * @param {object} options see DEFAULTS; `out` (path) is required.
 * @param {string} options.out capture path; the sidecar goes to `${out}.json` unless `sidecar: false`
 * @param {string} [options.truth] write the ground truth as NDJSON to this path
 * @param {(entry: object) => void} [options.onTruth] receive each ground-truth entry
 * @returns {object} the sidecar object: parameters and totals (connections, segments, bytes, ...)
 * @example
 *   const s = generateCapture({ out: "/tmp/x.pcap", segments: 50_000, concurrent: 2000, snaplen: 96 });
 *   s.totals.connections; // flows a 5-tuple table must find
 */
export function generateCapture(options) {
  const o = { ...DEFAULTS, ...options };
  for (const k of Object.keys(DEFAULTS)) if (o[k] === undefined) o[k] = DEFAULTS[k];
  if (!o.out) throw new Error("generateCapture: options.out is required");
  validate(o);
  const anomalyKinds = ANOMALY_KINDS.filter((k) => o.anomalies.includes(k)).map((k) => 1 + ANOMALY_KINDS.indexOf(k));

  const rng = new Xoshiro128(o.seed);
  const { bytes: pattern, words: patternWords } = makePattern(o.seed);
  const fd = openSync(o.out, "w");
  const w = new CaptureWriter(fd, { format: o.format, snaplen: o.snaplen });
  const snaplen = o.snaplen;

  // Ground truth output: NDJSON text batched into large writes, and/or a callback.
  const wantTruth = Boolean(o.truth || o.onTruth);
  const truthFd = o.truth ? openSync(o.truth, "w") : -1;
  let truthBuf = [];
  let truthLen = 0;
  const flushTruth = () => {
    if (truthFd < 0 || truthBuf.length === 0) return;
    writeSync(truthFd, truthBuf.join(""));
    truthBuf = [];
    truthLen = 0;
  };
  const putTruth = (entry) => {
    if (o.onTruth) o.onTruth(entry);
    if (truthFd >= 0) {
      const line = JSON.stringify(entry) + "\n";
      truthBuf.push(line);
      truthLen += line.length;
      if (truthLen > 1 << 22) flushTruth();
    }
  };

  // Shapes. A connection's data phase has D packets, D = floor(4 * meanData * u1 * u2): mean
  // meanData, mostly short with a tail to 4x. Payload sizes are uniform in [1, 2 * payload - 1],
  // capped at the MSS.
  const meanTeardown = (1 - o.rstShare) * 4 + o.rstShare * 1;
  const meanData = Math.max(0, o.connSegments - HANDSHAKE_LEN - meanTeardown);
  const payloadSpan = Math.min(2 * o.payload - 1, MSS);
  const meanGapNs = 1e9 / o.pps;
  const ipv6Thresh = Math.floor(o.ipv6Share * 4294967296);
  const vlanThresh = Math.floor(o.vlanShare * 4294967296);
  const rstThresh = Math.floor(o.rstShare * 4294967296);
  const anomalyThresh = Math.floor(o.anomalyShare * 4294967296);

  // Connection state: one 128-byte row (32 x i32) per pool slot. u32 quantities are stored as i32
  // and read back with >>> 0.
  const N = o.mode === "synflood" ? 1 : o.concurrent;
  const st = new Int32Array(N * ROW);
  const live = new Int32Array(N); // row offsets of the awake connections
  let nLive = 0;
  // Sleeping connections: a binary min-heap of (wake time, row offset).
  const heapT = new Float64Array(N);
  const heapR = new Int32Array(N);
  let heapN = 0;
  let sleepNs = 0; // set by advance(): how long the connection waits before its next packet

  // Totals (the sidecar).
  let connections = 0;
  let budget = o.segments; // segments not yet assigned to a connection
  const t = {
    ipv4Connections: 0,
    ipv6Connections: 0,
    vlanConnections: 0,
    teardown: { finOrig: 0, finResp: 0, rstOrig: 0, rstResp: 0 },
    anomalies: Object.fromEntries(ANOMALY_KINDS.map((k) => [k, 0])),
    segments: 0,
    dataSegments: 0,
    pureAcks: 0,
    synSegments: 0,
    finSegments: 0,
    rstSegments: 0,
    origPayloadBytes: 0,
    respPayloadBytes: 0,
    ipv4Segments: 0,
    ipv6Segments: 0,
    vlanSegments: 0,
    truncatedRecords: 0,
    maxConcurrent: 0,
  };
  const expectedConnState = {};
  const expectedAnomalies = {};
  const countState = (s) => (expectedConnState[s] = (expectedConnState[s] ?? 0) + 1);
  const countAnomaly = (a) => (expectedAnomalies[a] = (expectedAnomalies[a] ?? 0) + 1);

  function heapPush(time, r) {
    let i = heapN++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (heapT[p] <= time) break;
      heapT[i] = heapT[p];
      heapR[i] = heapR[p];
      i = p;
    }
    heapT[i] = time;
    heapR[i] = r;
  }

  function heapPop() {
    const top = heapR[0];
    const time = heapT[--heapN];
    const r = heapR[heapN];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= heapN) break;
      if (c + 1 < heapN && heapT[c + 1] < heapT[c]) c++;
      if (heapT[c] >= time) break;
      heapT[i] = heapT[c];
      heapR[i] = heapR[c];
      i = c;
    }
    heapT[i] = time;
    heapR[i] = r;
    return top;
  }

  function newBurst(d) {
    return d === 0 ? 1 + rng.below(2) : 1 + rng.below(12);
  }

  /** Start connection number `connections` in the row at r, taking its segments from the budget. */
  function spawn(r) {
    const id = connections++;
    if (id >= MAX_CONNECTIONS)
      throw new RangeError(`more than ${MAX_CONNECTIONS} connections: the addressing plan would repeat 5-tuples`);
    let kind =
      rng.next() < rstThresh ? (rng.next() & 1 ? RST_RESP : RST_ORIG) : rng.next() % 10 < 7 ? FIN_ORIG : FIN_RESP;
    let anom = anomalyThresh > 0 && rng.next() < anomalyThresh ? anomalyKinds[rng.below(anomalyKinds.length)] : A_NONE;
    const aside = rng.next() & 1;
    let d = Math.floor(4 * meanData * rng.float() * rng.float());
    let anomN = 0;
    let ins = 0;
    let n;
    if (anom === A_SYN_UNANSWERED || anom === A_HS_INCOMPLETE) {
      anomN = 1 + rng.below(2);
      n = (anom === A_SYN_UNANSWERED ? 1 : 2) + anomN;
    } else if (anom === A_REFUSED) {
      n = 2;
    } else {
      if (anom !== A_NONE && d < 1) d = 1; // the tail kinds need a data segment before them
      if (anom === A_PEER_VANISHED) {
        anomN = 3 + rng.below(3);
        ins = 1 + anomN;
      } else if (anom === A_FIN_WAIT_2) {
        ins = 2;
      } else if (anom === A_RETRANSMISSION) {
        ins = 1;
      } else if (anom === A_ZERO_WINDOW) {
        anomN = 1 + rng.below(3);
        ins = anomN + 2;
      }
      n = HANDSHAKE_LEN + d + ins + (TERMINAL_TAIL_KINDS.has(anom) ? 0 : TEARDOWN_LEN[kind]);
    }
    if (budget - n < MIN_FIN_CONN) {
      // Last connection: a regular one that takes the whole remainder (>= MIN_CONN by construction).
      anom = A_NONE;
      ins = 0;
      n = budget;
      if (n < HANDSHAKE_LEN + TEARDOWN_LEN[kind]) kind = RST_ORIG;
      d = n - HANDSHAKE_LEN - TEARDOWN_LEN[kind];
    }
    budget -= n;
    const v6 = rng.next() < ipv6Thresh ? 1 : 0;
    const vid = rng.next() < vlanThresh ? 100 + rng.below(64) : 0;
    const host = (id / CONNS_PER_CLIENT) >>> 0;
    const cip = (CLIENT_NET4 + 1 + host) >>> 0;
    const x = rng.below(100);
    let pi = 0;
    for (let acc = SERVER_PORT_WEIGHTS[0]; x >= acc; acc += SERVER_PORT_WEIGHTS[++pi]);
    const sip = (SERVER_NET4 + 1 + rng.below(SERVERS)) >>> 0;
    const cport = 1024 + (id % CONNS_PER_CLIENT) * PORT_SLICE + rng.below(PORT_SLICE);
    st[r + F_KIND] = v6 | (kind << 1) | (vid << 8);
    st[r + F_CIP] = cip;
    st[r + F_SIP] = sip;
    st[r + F_PORTS] = (cport << 16) | SERVER_PORTS[pi];
    st[r + F_SEQC] = rng.next();
    st[r + F_SEQS] = rng.next();
    st[r + F_IPIDS] = rng.next(); // client id << 16 | server id
    st[r + F_WINS] = ((16384 + rng.below(49152)) << 16) | (16384 + rng.below(49152));
    st[r + F_FLOWLBL] = rng.next() & 0xfffff;
    st[r + F_STEP] = 0;
    st[r + F_DATAEND] = HANDSHAKE_LEN + d;
    st[r + F_TOTAL] = n;
    st[r + F_DIR] = 0;
    st[r + F_BURST] = newBurst(0);
    st[r + F_PENDACK] = 0;
    st[r + F_ADDRSUM] = (cip >>> 16) + (cip & 0xffff) + (sip >>> 16) + (sip & 0xffff) + (v6 ? V6_PREFIX_SUM : 0);
    st[r + F_ANOM] = anom;
    st[r + F_ASIDE] = aside;
    st[r + F_ANOMN] = anomN;
    st[r + F_INS] = ins;
    st[r + F_LSEQ] = 0;
    st[r + F_LLEN] = 0;
    st[r + F_LOFF] = 0;
    st[r + F_LSIDE] = 0;
    st[r + F_ID] = id;
    st[r + F_TRUNC] = 0;
    st[r + F_RTT] = RTT_MIN_NS + rng.below(RTT_SPAN_NS);
    if (v6) t.ipv6Connections++;
    else t.ipv4Connections++;
    if (vid) t.vlanConnections++;
    if (anom !== A_NONE) t.anomalies[ANOMALY_KINDS[anom - 1]]++;
    if (!OPENING_KINDS.has(anom) && !TERMINAL_TAIL_KINDS.has(anom)) {
      if (kind === FIN_ORIG) t.teardown.finOrig++;
      else if (kind === FIN_RESP) t.teardown.finResp++;
      else if (kind === RST_ORIG) t.teardown.rstOrig++;
      else t.teardown.rstResp++;
    }
  }

  let relNs = 0;
  let firstUs = -1;
  let lastUs = 0;

  /**
   * Write one segment of the connection in row r at the current time. fromServer: 0 client->server,
   * 1 server->client. hasOpts: the SYN option block. payLen: payload bytes on the wire. payOff:
   * where the payload starts in the pattern (-1: a random place). win: the window (-1: the side's).
   */
  function emit(r, fromServer, flags, seq, ack, payLen, hasOpts, payOff = -1, win = -1) {
    const tsUs = START_US + Math.floor(relNs / 1000);
    if (firstUs < 0) firstUs = tsUs;
    lastUs = tsUs;

    const kindBits = st[r + F_KIND];
    const v6 = kindBits & 1;
    const vid = kindBits >>> 8;
    const addrSum = st[r + F_ADDRSUM];
    const tcpHlen = hasOpts ? TCP_HLEN + TCP_SYN_OPTS_LEN : TCP_HLEN;
    const tcpLen = tcpHlen + payLen;
    const l2 = vid ? ETH_HLEN + VLAN_HLEN : ETH_HLEN;
    const ipHlen = v6 ? IPV6_HLEN : IPV4_HLEN;
    const frameLen = l2 + ipHlen + tcpLen;
    const b = w.buf;
    let o = w.begin(tsUs, frameLen);
    const frame = o;

    // Ethernet II (+ 802.1Q tag). The router's MAC faces every client.
    const c = st[r + F_CIP];
    const cm = fromServer ? 0 : 6; // where the client's MAC goes
    const rm = 6 - cm;
    b[o + cm] = 0x02;
    b[o + cm + 1] = 0x00;
    b[o + cm + 2] = c >>> 24;
    b[o + cm + 3] = c >>> 16;
    b[o + cm + 4] = c >>> 8;
    b[o + cm + 5] = c;
    b[o + rm] = ROUTER_MAC[0];
    b[o + rm + 1] = ROUTER_MAC[1];
    b[o + rm + 2] = ROUTER_MAC[2];
    b[o + rm + 3] = ROUTER_MAC[3];
    b[o + rm + 4] = ROUTER_MAC[4];
    b[o + rm + 5] = ROUTER_MAC[5];
    o += 12;
    if (vid) {
      b[o] = ETHERTYPE_VLAN >>> 8;
      b[o + 1] = ETHERTYPE_VLAN & 0xff;
      b[o + 2] = vid >>> 8;
      b[o + 3] = vid; // PCP 0, DEI 0
      o += 4;
    }
    const ethertype = v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
    b[o] = ethertype >>> 8;
    b[o + 1] = ethertype & 0xff;
    o += 2;

    const src = fromServer ? st[r + F_SIP] : c;
    const dst = fromServer ? c : st[r + F_SIP];
    if (!v6) {
      const ids = st[r + F_IPIDS];
      let ipId;
      if (fromServer) {
        ipId = ids & 0xffff;
        st[r + F_IPIDS] = (ids & 0xffff0000) | ((ipId + 1) & 0xffff);
      } else {
        ipId = ids >>> 16;
        st[r + F_IPIDS] = (ids + 0x10000) | 0;
      }
      const ttl = fromServer ? 57 : 64;
      const totalLen = IPV4_HLEN + tcpLen;
      const ipCsum = csumFinish(0x4500 + totalLen + ipId + IPV4_DF + ((ttl << 8) | IPPROTO_TCP) + addrSum);
      b[o] = 0x45;
      b[o + 1] = 0;
      b[o + 2] = totalLen >>> 8;
      b[o + 3] = totalLen;
      b[o + 4] = ipId >>> 8;
      b[o + 5] = ipId;
      b[o + 6] = IPV4_DF >>> 8;
      b[o + 7] = 0;
      b[o + 8] = ttl;
      b[o + 9] = IPPROTO_TCP;
      b[o + 10] = ipCsum >>> 8;
      b[o + 11] = ipCsum;
      b[o + 12] = src >>> 24;
      b[o + 13] = src >>> 16;
      b[o + 14] = src >>> 8;
      b[o + 15] = src;
      b[o + 16] = dst >>> 24;
      b[o + 17] = dst >>> 16;
      b[o + 18] = dst >>> 8;
      b[o + 19] = dst;
      o += IPV4_HLEN;
      t.ipv4Segments++;
    } else {
      const fl = st[r + F_FLOWLBL];
      b[o] = 0x60;
      b[o + 1] = fl >>> 16;
      b[o + 2] = fl >>> 8;
      b[o + 3] = fl;
      b[o + 4] = tcpLen >>> 8;
      b[o + 5] = tcpLen;
      b[o + 6] = IPPROTO_TCP;
      b[o + 7] = 64;
      const sp = fromServer ? V6_SERVER_PREFIX : V6_CLIENT_PREFIX;
      const dp = fromServer ? V6_CLIENT_PREFIX : V6_SERVER_PREFIX;
      for (let i = 0; i < 6; i++) {
        b[o + 8 + 2 * i] = sp[i] >>> 8;
        b[o + 9 + 2 * i] = sp[i];
        b[o + 24 + 2 * i] = dp[i] >>> 8;
        b[o + 25 + 2 * i] = dp[i];
      }
      b[o + 20] = src >>> 24;
      b[o + 21] = src >>> 16;
      b[o + 22] = src >>> 8;
      b[o + 23] = src;
      b[o + 36] = dst >>> 24;
      b[o + 37] = dst >>> 16;
      b[o + 38] = dst >>> 8;
      b[o + 39] = dst;
      o += IPV6_HLEN;
      t.ipv6Segments++;
    }
    if (vid) t.vlanSegments++;

    // TCP header.
    const ports = st[r + F_PORTS];
    const sport = fromServer ? ports & 0xffff : ports >>> 16;
    const dport = fromServer ? ports >>> 16 : ports & 0xffff;
    if (win < 0) {
      const wins = st[r + F_WINS];
      win = fromServer ? wins & 0xffff : wins >>> 16;
    }
    const offFlags = ((tcpHlen >>> 2) << 12) | flags;
    let paySum = 0;
    if (payLen > 0) {
      if (payOff < 0) payOff = rng.next() & (PATTERN_SPAN - 2); // even, so the slice starts on a word boundary
      const whole = payLen & ~1;
      paySum = patternWords[(payOff + whole) >>> 1] - patternWords[payOff >>> 1];
      if (payLen & 1) paySum += pattern[payOff + whole] << 8;
      // Reduce mod 0xffff (same one's-complement value) so the total below stays under 2^32.
      paySum %= 0xffff;
    }
    let sum =
      addrSum +
      IPPROTO_TCP +
      tcpLen +
      sport +
      dport +
      (seq >>> 16) +
      (seq & 0xffff) +
      (ack >>> 16) +
      (ack & 0xffff) +
      offFlags +
      win +
      paySum;
    if (hasOpts) sum += SYN_OPTS_SUM + MSS;
    const tcpCsum = csumFinish(sum);
    b[o] = sport >>> 8;
    b[o + 1] = sport;
    b[o + 2] = dport >>> 8;
    b[o + 3] = dport;
    b[o + 4] = seq >>> 24;
    b[o + 5] = seq >>> 16;
    b[o + 6] = seq >>> 8;
    b[o + 7] = seq;
    b[o + 8] = ack >>> 24;
    b[o + 9] = ack >>> 16;
    b[o + 10] = ack >>> 8;
    b[o + 11] = ack;
    b[o + 12] = offFlags >>> 8;
    b[o + 13] = offFlags;
    b[o + 14] = win >>> 8;
    b[o + 15] = win;
    b[o + 16] = tcpCsum >>> 8;
    b[o + 17] = tcpCsum;
    b[o + 18] = 0;
    b[o + 19] = 0;
    o += TCP_HLEN;
    if (hasOpts) {
      b[o] = 2;
      b[o + 1] = 4;
      b[o + 2] = MSS >>> 8;
      b[o + 3] = MSS & 0xff;
      b[o + 4] = 1;
      b[o + 5] = 3;
      b[o + 6] = 3;
      b[o + 7] = WSCALE_SHIFT;
      b[o + 8] = 1;
      b[o + 9] = 1;
      b[o + 10] = 4;
      b[o + 11] = 2;
      o += TCP_SYN_OPTS_LEN;
    }
    if (payLen > 0) {
      const room = frame + snaplen - o;
      const n = Math.min(payLen, room);
      if (n > 64) pattern.copy(b, o, payOff, payOff + n);
      else for (let i = 0; i < n; i++) b[o + i] = pattern[payOff + i]; // cheaper than a copy() call
      st[r + F_LSEQ] = seq;
      st[r + F_LLEN] = payLen;
      st[r + F_LOFF] = payOff;
      st[r + F_LSIDE] = fromServer;
    }
    if (w.end(frameLen) < frameLen) {
      t.truncatedRecords++;
      if (payLen > 0) st[r + F_TRUNC] |= 1 << fromServer;
    }
    t.segments++;
    if (flags & TH_SYN) t.synSegments++;
    if (flags & TH_FIN) t.finSegments++;
    if (flags & TH_RST) t.rstSegments++;
    if (payLen > 0) {
      t.dataSegments++;
      if (fromServer) t.respPayloadBytes += payLen;
      else t.origPayloadBytes += payLen;
    } else if (flags === TH_ACK) t.pureAcks++;
  }

  /** The regular data phase: one segment of a burst, or a delayed ACK. */
  function dataStep(r) {
    const sc = st[r + F_SEQC] >>> 0;
    const ss = st[r + F_SEQS] >>> 0;
    const d = st[r + F_DIR];
    if (st[r + F_PENDACK] >= 2) {
      // Delayed ACK from the receiver of the current burst (RFC 9293 §3.8.6.3: at least every
      // second full-sized segment).
      if (d === 0) emit(r, 1, TH_ACK, ss, sc, 0, false);
      else emit(r, 0, TH_ACK, sc, ss, 0, false);
      st[r + F_PENDACK] = 0;
      return;
    }
    // A connection that will repeat its last data segment sends at least 2 bytes per segment: one
    // byte at snd.nxt - 1 is a keep-alive's shape (RFC 9293 §3.8.4), not a retransmission.
    const len = st[r + F_ANOM] === A_RETRANSMISSION ? 2 + rng.below(payloadSpan) : 1 + rng.below(payloadSpan);
    const flags = st[r + F_BURST] === 1 ? TH_ACK | TH_PSH : TH_ACK;
    if (d === 0) {
      emit(r, 0, flags, sc, ss, len, false);
      st[r + F_SEQC] = sc + len;
    } else {
      emit(r, 1, flags, ss, sc, len, false);
      st[r + F_SEQS] = ss + len;
    }
    st[r + F_PENDACK]++;
    if (--st[r + F_BURST] === 0) {
      // The peer answers; its data segments acknowledge everything, so nothing is pending.
      st[r + F_DIR] = d ^ 1;
      st[r + F_BURST] = newBurst(d ^ 1);
      st[r + F_PENDACK] = 0;
    }
  }

  /** The regular teardown, packet `phase` of it. */
  function teardownStep(r, phase) {
    const kind = (st[r + F_KIND] >>> 1) & 3;
    const x = kind === FIN_ORIG || kind === RST_ORIG ? 0 : 1; // the closing side
    const fX = x ? F_SEQS : F_SEQC;
    const fY = x ? F_SEQC : F_SEQS;
    const seqX = st[r + fX] >>> 0;
    const seqY = st[r + fY] >>> 0;
    if (kind === RST_ORIG || kind === RST_RESP) {
      emit(r, x, TH_RST | TH_ACK, seqX, seqY, 0, false);
    } else if (phase === 0) {
      emit(r, x, TH_FIN | TH_ACK, seqX, seqY, 0, false);
      st[r + fX] = seqX + 1;
      sleepNs = st[r + F_RTT] / 2;
    } else if (phase === 1) {
      emit(r, x ^ 1, TH_ACK, seqY, seqX, 0, false);
    } else if (phase === 2) {
      emit(r, x ^ 1, TH_FIN | TH_ACK, seqY, seqX, 0, false);
      st[r + fY] = seqY + 1;
      sleepNs = st[r + F_RTT] / 2;
    } else {
      emit(r, x, TH_ACK, seqX, seqY, 0, false);
    }
  }

  /** Packet `i` of the anomaly inserted after the data phase. */
  function insertStep(r, anom, i) {
    const n = st[r + F_ANOMN];
    if (anom === A_RETRANSMISSION) {
      // The last data segment again: same seq, length and bytes; the ack is the current one.
      const x = st[r + F_LSIDE];
      const ack = st[r + (x ? F_SEQC : F_SEQS)] >>> 0;
      emit(r, x, TH_ACK | TH_PSH, st[r + F_LSEQ] >>> 0, ack, st[r + F_LLEN], false, st[r + F_LOFF]);
      return;
    }
    if (anom === A_ZERO_WINDOW) {
      // X sent the last data; Y closes its window, X probes, Y reopens.
      const x = st[r + F_LSIDE];
      const seqX = st[r + (x ? F_SEQS : F_SEQC)] >>> 0;
      const seqY = st[r + (x ? F_SEQC : F_SEQS)] >>> 0;
      if (i === 0) {
        emit(r, x ^ 1, TH_ACK, seqY, seqX, 0, false, -1, 0);
        sleepNs = DATA_RTO_NS;
      } else if (i <= n) {
        emit(r, x, TH_ACK, (seqX - 1) >>> 0, seqY, 0, false);
        sleepNs = i < n ? DATA_RTO_NS * 2 ** i : WINDOW_REOPEN_NS;
      } else {
        emit(r, x ^ 1, TH_ACK, seqY, seqX, 0, false);
      }
      return;
    }
    const x = st[r + F_ASIDE];
    const fX = x ? F_SEQS : F_SEQC;
    const fY = x ? F_SEQC : F_SEQS;
    const seqX = st[r + fX] >>> 0;
    const seqY = st[r + fY] >>> 0;
    if (anom === A_PEER_VANISHED) {
      if (i === 0) {
        const len = 2 + rng.below(payloadSpan); // >= 2 bytes: see dataStep()
        emit(r, x, TH_ACK | TH_PSH, seqX, seqY, len, false);
        st[r + fX] = seqX + len;
      } else {
        emit(r, x, TH_ACK | TH_PSH, st[r + F_LSEQ] >>> 0, seqY, st[r + F_LLEN], false, st[r + F_LOFF]);
      }
      sleepNs = DATA_RTO_NS * 2 ** i;
    } else if (anom === A_FIN_WAIT_2) {
      if (i === 0) {
        emit(r, x, TH_FIN | TH_ACK, seqX, seqY, 0, false);
        st[r + fX] = seqX + 1;
        sleepNs = st[r + F_RTT] / 2;
      } else {
        emit(r, x ^ 1, TH_ACK, seqY, seqX, 0, false);
      }
    }
  }

  /** Emit the next packet of the connection in row r; returns true when that was its last. */
  function advance(r) {
    const k = st[r + F_STEP]++;
    const anom = st[r + F_ANOM];
    sleepNs = 0;
    const sc = st[r + F_SEQC] >>> 0;
    const ss = st[r + F_SEQS] >>> 0;
    if (k === 0) {
      emit(r, 0, TH_SYN, sc, 0, 0, true);
      st[r + F_SEQC] = sc + 1;
      sleepNs = anom === A_SYN_UNANSWERED ? SYN_RTO_NS : st[r + F_RTT] / 2;
    } else if (anom === A_SYN_UNANSWERED) {
      emit(r, 0, TH_SYN, (sc - 1) >>> 0, 0, 0, true);
      sleepNs = SYN_RTO_NS * 2 ** k;
    } else if (anom === A_REFUSED) {
      emit(r, 1, TH_RST | TH_ACK, 0, sc, 0, false, -1, 0);
    } else if (k === 1) {
      emit(r, 1, TH_SYN | TH_ACK, ss, sc, 0, true);
      st[r + F_SEQS] = ss + 1;
      sleepNs = anom === A_HS_INCOMPLETE ? SYN_RTO_NS : st[r + F_RTT] / 2;
    } else if (anom === A_HS_INCOMPLETE) {
      emit(r, 1, TH_SYN | TH_ACK, (ss - 1) >>> 0, sc, 0, true);
      sleepNs = SYN_RTO_NS * 2 ** (k - 1);
    } else if (k === 2) {
      emit(r, 0, TH_ACK, sc, ss, 0, false);
    } else if (k < st[r + F_DATAEND]) {
      dataStep(r);
      // A retransmission goes out one RTO after the segment it repeats.
      if (anom === A_RETRANSMISSION && k + 1 === st[r + F_DATAEND]) sleepNs = DATA_RTO_NS;
    } else {
      const tail = k - st[r + F_DATAEND];
      const ins = st[r + F_INS];
      if (tail < ins) insertStep(r, anom, tail);
      else teardownStep(r, tail - ins);
    }
    return st[r + F_STEP] === st[r + F_TOTAL];
  }

  const SIDE = ["orig", "resp"];

  /**
   * The ground truth of the connection in row r, which has just sent its last packet. Without
   * `full`, only what the sidecar counts (conn_state and anomalies).
   */
  function truthOf(r, full) {
    const kindBits = st[r + F_KIND];
    const v6 = kindBits & 1;
    const vid = kindBits >>> 8;
    const teardown = (kindBits >>> 1) & 3;
    const anom = st[r + F_ANOM];
    let connState;
    let origState;
    let respState;
    const anomalies = [];
    const regular = !OPENING_KINDS.has(anom) && !TERMINAL_TAIL_KINDS.has(anom);
    if (regular) {
      if (teardown === FIN_ORIG || teardown === FIN_RESP) {
        // The side that closed first ends in TIME_WAIT, the other in CLOSED (RFC 9293 figure 5).
        connState = "SF";
        origState = teardown === FIN_ORIG ? "TIME_WAIT" : "CLOSED";
        respState = teardown === FIN_ORIG ? "CLOSED" : "TIME_WAIT";
      } else {
        connState = teardown === RST_ORIG ? "RSTO" : "RSTR";
        origState = "CLOSED";
        respState = "CLOSED";
        anomalies.push({ type: "reset", side: teardown === RST_ORIG ? "orig" : "resp" });
      }
      if (anom === A_RETRANSMISSION) {
        anomalies.push({ type: "retransmission", side: SIDE[st[r + F_LSIDE]] });
      } else if (anom === A_ZERO_WINDOW) {
        const x = st[r + F_LSIDE];
        anomalies.push({ type: "zero_window", side: SIDE[x ^ 1] }, { type: "zero_window_probe", side: SIDE[x] });
      }
    } else if (anom === A_SYN_UNANSWERED) {
      connState = "S0";
      origState = "SYN_SENT";
      // No TCB exists on the silent side (the kernel fixtures' listener shows none).
      respState = "CLOSED";
      anomalies.push({ type: "syn_unanswered", side: "orig" });
      // Retransmitted SYNs (same ISN) are retransmissions; a SYN-flood SYN is sent once.
      if (st[r + F_TOTAL] > 1) anomalies.push({ type: "retransmission", side: "orig" });
    } else if (anom === A_REFUSED) {
      connState = "REJ";
      origState = "CLOSED";
      respState = "CLOSED";
      anomalies.push({ type: "refused", side: "resp" });
    } else if (anom === A_HS_INCOMPLETE) {
      connState = "S1";
      // The client got the SYN-ACK (it is on the wire): ESTABLISHED, as Linux shows in the kernel fixtures.
      origState = "ESTABLISHED";
      respState = "SYN_RECEIVED";
      anomalies.push({ type: "handshake_incomplete", side: "resp" }, { type: "retransmission", side: "resp" });
    } else if (anom === A_PEER_VANISHED) {
      const x = SIDE[st[r + F_ASIDE]];
      connState = "S1";
      origState = "ESTABLISHED";
      respState = "ESTABLISHED";
      anomalies.push({ type: "retransmission", side: x }, { type: "peer_vanished", side: x });
    } else {
      const x = st[r + F_ASIDE];
      connState = x === 0 ? "S2" : "S3";
      origState = x === 0 ? "FIN_WAIT_2" : "CLOSE_WAIT";
      respState = x === 0 ? "CLOSE_WAIT" : "FIN_WAIT_2";
      anomalies.push({ type: "stuck_fin_wait_2", side: SIDE[x] });
    }
    if (!full) return { conn_state: connState, anomalies };
    const cip = st[r + F_CIP] >>> 0;
    const sip = st[r + F_SIP] >>> 0;
    const ports = st[r + F_PORTS];
    const origH = v6 ? formatIPv6([...V6_CLIENT_PREFIX, cip >>> 16, cip & 0xffff]) : formatIPv4(cip);
    const respH = v6 ? formatIPv6([...V6_SERVER_PREFIX, sip >>> 16, sip & 0xffff]) : formatIPv4(sip);
    const allowed = [];
    const trunc = st[r + F_TRUNC];
    if (trunc & 1) allowed.push({ type: "content_gap", side: "orig" });
    if (trunc & 2) allowed.push({ type: "content_gap", side: "resp" });
    return {
      id: st[r + F_ID],
      "id.orig_h": origH,
      "id.orig_p": ports >>> 16,
      "id.resp_h": respH,
      "id.resp_p": ports & 0xffff,
      vlan: vid,
      ip: v6 ? 6 : 4,
      kind: anom === A_NONE ? "regular" : ANOMALY_KINDS[anom - 1],
      teardown: regular ? TEARDOWN_NAMES[teardown] : null,
      conn_state: connState,
      orig_state: origState,
      resp_state: respState,
      anomalies,
      allowed,
      pkts: st[r + F_TOTAL],
    };
  }

  /** Count the connection's expected outcome for the sidecar, and hand its truth out if asked. */
  function finished(r) {
    const e = truthOf(r, wantTruth);
    countState(e.conn_state);
    for (const a of e.anomalies) countAnomaly(a.type);
    if (wantTruth) putTruth(e);
  }

  /** SYN flood: `segments` bare SYNs from distinct sources to one victim, never answered. */
  function synFlood() {
    const r = 0;
    for (let i = 0; i < o.segments; i++) {
      relNs += rng.below(2 * meanGapNs + 1);
      const src = (FLOOD_NET4 + ((i >>> 24) << 24) + scramble24(i & 0xffffff)) >>> 0;
      const sport = 1024 + rng.below(64512);
      st[r + F_KIND] = 0;
      st[r + F_CIP] = src;
      st[r + F_SIP] = FLOOD_VICTIM;
      st[r + F_PORTS] = (sport << 16) | FLOOD_PORT;
      st[r + F_IPIDS] = rng.next();
      st[r + F_ADDRSUM] = (src >>> 16) + (src & 0xffff) + (FLOOD_VICTIM >>> 16) + (FLOOD_VICTIM & 0xffff);
      st[r + F_ANOM] = A_SYN_UNANSWERED;
      st[r + F_ASIDE] = 0;
      st[r + F_ID] = connections++;
      st[r + F_TOTAL] = 1;
      st[r + F_TRUNC] = 0;
      emit(r, 0, TH_SYN, rng.next(), 0, 0, false, -1, FLOOD_WINDOW);
      t.ipv4Connections++;
      t.anomalies.syn_unanswered++;
      finished(r);
    }
    t.maxConcurrent = o.segments;
  }

  try {
    if (o.mode === "synflood") {
      synFlood();
    } else {
      while (nLive < N && budget > 0) {
        spawn(nLive * ROW);
        live[nLive] = nLive * ROW;
        nLive++;
      }
      t.maxConcurrent = nLive;
      while (nLive > 0 || heapN > 0) {
        relNs += rng.below(2 * meanGapNs + 1);
        let r;
        let i = -1;
        if (heapN > 0 && heapT[0] <= relNs) {
          r = heapPop();
        } else if (nLive > 0) {
          i = rng.below(nLive);
          r = live[i];
        } else {
          relNs = heapT[0];
          r = heapPop();
        }
        const done = advance(r);
        if (done) finished(r);
        if (done && budget > 0) {
          spawn(r);
          if (i < 0) live[nLive++] = r;
        } else if (done || sleepNs > 0) {
          if (i >= 0) live[i] = live[--nLive];
          if (!done) heapPush(relNs + sleepNs, r);
        } else if (i < 0) {
          live[nLive++] = r;
        }
      }
    }
    w.flush();
    flushTruth();
  } finally {
    closeSync(fd);
    if (truthFd >= 0) closeSync(truthFd);
  }
  if (t.segments !== o.segments) throw new Error(`internal: wrote ${t.segments} segments, asked for ${o.segments}`);

  const sidecar = {
    generator: "flowrecon-bench-gen",
    version: GENERATOR_VERSION,
    params: {
      mode: o.mode,
      seed: o.seed,
      segments: o.segments,
      concurrent: o.concurrent,
      snaplen: o.snaplen,
      format: o.format,
      ipv6Share: o.ipv6Share,
      vlanShare: o.vlanShare,
      payload: o.payload,
      connSegments: o.connSegments,
      rstShare: o.rstShare,
      anomalyShare: o.anomalyShare,
      anomalies: ANOMALY_KINDS.filter((k) => o.anomalies.includes(k)),
      pps: o.pps,
    },
    totals: {
      connections,
      segments: t.segments,
      bytes: w.bytesWritten,
      ...t,
      firstTs: firstUs / 1e6,
      lastTs: lastUs / 1e6,
      durationS: (lastUs - firstUs) / 1e6,
    },
    // What a Zeek-style tracker should report: connections per conn_state, and connections per
    // anomaly type (bench/README.md, "Ground truth"). The per-connection truth is in `truth`.
    expectedConnState: Object.fromEntries(Object.entries(expectedConnState).sort()),
    expectedAnomalies: Object.fromEntries(Object.entries(expectedAnomalies).sort()),
  };
  if (options.sidecar !== false) writeFileSync(`${o.out}.json`, JSON.stringify(sidecar, null, 2) + "\n");
  return sidecar;
}
