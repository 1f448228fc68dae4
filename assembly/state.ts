// The engine's whole mutable state, as plain data: one block of static linear memory.
import { EndReason } from "./flow/record";
//
// Every module-level variable of assembly/ is a field of its module's section below, so an engine's
// complete state is its linear memory (the module has no mutable wasm global: test/wasm/state.test.ts
// reads the binary). The host snapshots an engine by copying its memory and restores one by copying
// the bytes into a fresh instance (src/wasm/engine.ts), which is how a session batch rolls back and how
// sessions survive a restart.
//
// Recipe (one section per module, kept in the order below):
// - a module-level `let name: T = value;` of module M becomes the field `name: T;` of M's section
//   class here, and the declaration line in M becomes the top-level statement `M_HANDLE.name = value;`
//   (it runs once, at instantiation, like the initializer did);
// - every use of `name` becomes `M_HANDLE.name` (other modules import the handle instead of the name);
// - allocation goes through assembly/mem.ts (its bump pointer is a field too), never heap.* or `new`.
// Field access compiles to a load or store at a constant address (the handles are constant pointers).
//
// Sections are @unmanaged classes laid over the block: the compiler lays each field out at its
// natural alignment; each section starts on an 8-byte boundary.

// ---- assembly/mem.ts
@unmanaged export class MemState {
  heapTop: usize;
  handedOut: usize;
}

// ---- assembly/index.ts
@unmanaged export class IndexState {
  inputBase: usize;
  inputCap: i32;
}

// ---- assembly/errors.ts
@unmanaged export class ErrorsState {
  errCode: i32;
  errOffset: f64;
  errRecord: f64;
}

// ---- assembly/options.ts
@unmanaged export class OptionsState {
  ignoreChecksums: bool;
  vlanInKey: bool;
  attemptDelayUs: i64;
  closeDelayUs: i64;
  inactivityUs: i64;
  inactivityInteractiveUs: i64;
  handshakeInactivityUs: i64;
  flowCap: i32;
  reportGapsForPartial: bool;
  hashKey0: u64;
  hashKey1: u64;
  maxAboveHoleWithoutAcks: i64;
  excessiveDataWithoutAcks: i64;
  fastPath: bool;
}

// ---- assembly/packet.ts
@unmanaged export class PacketState {
  PKT: usize;
}

// ---- assembly/capture/reader.ts
@unmanaged export class ReaderState {
  format: i32;
  streamPos: f64;
  checkOnly: bool;
}

// ---- assembly/capture/pcap.ts
@unmanaged export class PcapState {
  swap: bool;
  nanos: bool;
  headerDone: bool;
  linktype: i32;
  snaplen: u32;
  // pcapRunEthernet's caplen limit, written once a call (in the padding before `records`).
  runLimit: u32;
  records: f64;
}

// ---- assembly/capture/pcapng.ts
@unmanaged export class PcapngState {
  swap: bool;
  ifaceCount: i32;
  blocks: f64;
  lastTs: i64;
}

// ---- assembly/layers/context.ts
@unmanaged export class ContextState {
  subframeWanted: i32;
  subframeTaken: bool;
  subframeMore: bool;
  subframeNextOffset: i32;
}

// ---- assembly/layers/fragments.ts
@unmanaged export class FragmentsState {
  nextSeq: u32;
}

// ---- assembly/flow/seq.ts
@unmanaged export class SeqState {
  seqUnderflow: bool;
}

// ---- assembly/flow/anomaly.ts
@unmanaged export class AnomalyState {
  curId: u32;
  curNow: i64;
}

// ---- assembly/flow/table.ts
@unmanaged export class TableState {
  // Each block pool's chunk count, high-water mark and free-list head, in this order (table.ts poolTake).
  nExtChunks: u32;
  extHighWater: u32;
  extFreeHead: u32;
  nV6Chunks: u32;
  v6HighWater: u32;
  v6FreeHead: u32;
  nTailChunks: u32;
  tailHighWater: u32;
  tailFreeHead: u32;
  nHoleChunks: u32;
  holeHighWater: u32;
  holeFreeHead: u32;
  nChunks: u32;
  highWater: u32;
  freeHead: u32;
  liveCount: i32;
  indexBase: usize;
  indexMask: u32;
  k0: u64;
  k1: u64;
  // SipHash's state as keyed, v0 and v1 one half-round on (hash/siphash.ts sipKeyState).
  sip0: u64;
  sip1: u64;
  sip2: u64;
  sip3: u64;
  nSpare: i32;
}

// ---- assembly/flow/wire-anomalies.ts
@unmanaged export class WireAnomaliesState {
  senderWasActive: bool;
  peerWasActive: bool;
  origSynSentBefore: bool;
  respInactiveBefore: bool;
  finBefore: bool;
  synBefore: bool;
  finSeqBefore: u64;
  prevWin: u32;
  peerWin: u32;
  peerFin: bool;
  prevSeen: i64;
  lastBefore: u32;
  reasmBefore: u64;
  freshBase: bool;
}

// ---- assembly/flow/tracker.ts
@unmanaged export class TrackerState {
  pk: usize;
  clock: i64;
  sweepCursor: u32;
  flushCursor: u32;
  liveCursor: u32;
  recordClock: i64;
  queued: i32;
  // flushBatch calls so far (capture/pcap.ts pcapRun asks outNearlyFull() again after one).
  flushes: u32;
  sink: u32;
}

// ---- assembly/flow/output.ts
@unmanaged export class OutputState {
  outBase: usize;
  outCount: i32;
}

// ---- assembly/flow/state.ts
@unmanaged export class FlowStateState {
  curRec: usize;
  curEp: usize;
  curPeer: usize;
  doClose: bool;
  genEvent: bool;
}

// ---- assembly/flow/trace.ts
@unmanaged export class TraceState {
  traceArmed: bool;
  portA: u32;
  portB: u32;
  startUs: i64;
  everyRecord: bool;
  ring: usize;
  count: i32;
  lost: u32;
}

// ---- assembly/flow/timers.ts
@unmanaged export class TimersState {
  removalReason: EndReason;
}

// ---- assembly/shard/route.ts
@unmanaged export class RouteState {
  ownBelow: u64;
  routing: bool;
  shards: u32;
  full: bool;
  sawIp: bool;
}

// ---- assembly/format/state.ts
@unmanaged export class FormatState {
  block: usize;
}

const MEM_AT: usize = 0;
const INDEX_AT: usize = (MEM_AT + offsetof<MemState>() + 7) & ~7;
const ERRORS_AT: usize = (INDEX_AT + offsetof<IndexState>() + 7) & ~7;
const OPTIONS_AT: usize = (ERRORS_AT + offsetof<ErrorsState>() + 7) & ~7;
const PACKET_AT: usize = (OPTIONS_AT + offsetof<OptionsState>() + 7) & ~7;
const READER_AT: usize = (PACKET_AT + offsetof<PacketState>() + 7) & ~7;
const PCAP_AT: usize = (READER_AT + offsetof<ReaderState>() + 7) & ~7;
const PCAPNG_AT: usize = (PCAP_AT + offsetof<PcapState>() + 7) & ~7;
const CONTEXT_AT: usize = (PCAPNG_AT + offsetof<PcapngState>() + 7) & ~7;
const FRAGMENTS_AT: usize = (CONTEXT_AT + offsetof<ContextState>() + 7) & ~7;
const SEQ_AT: usize = (FRAGMENTS_AT + offsetof<FragmentsState>() + 7) & ~7;
const ANOMALY_AT: usize = (SEQ_AT + offsetof<SeqState>() + 7) & ~7;
const TABLE_AT: usize = (ANOMALY_AT + offsetof<AnomalyState>() + 7) & ~7;
const WIRE_ANOMALIES_AT: usize = (TABLE_AT + offsetof<TableState>() + 7) & ~7;
const TRACKER_AT: usize = (WIRE_ANOMALIES_AT + offsetof<WireAnomaliesState>() + 7) & ~7;
const OUTPUT_AT: usize = (TRACKER_AT + offsetof<TrackerState>() + 7) & ~7;
const FLOW_STATE_AT: usize = (OUTPUT_AT + offsetof<OutputState>() + 7) & ~7;
const TRACE_AT: usize = (FLOW_STATE_AT + offsetof<FlowStateState>() + 7) & ~7;
const TIMERS_AT: usize = (TRACE_AT + offsetof<TraceState>() + 7) & ~7;
const FORMAT_AT: usize = (TIMERS_AT + offsetof<TimersState>() + 7) & ~7;
const ROUTE_AT: usize = (FORMAT_AT + offsetof<FormatState>() + 7) & ~7;
/** Bytes of the state block. */
export const STATE_SIZE: usize = (ROUTE_AT + offsetof<RouteState>() + 7) & ~7;
/** The state block: static memory, at an address fixed when the module is compiled. */
export const STATE: usize = memory.data(<i32>STATE_SIZE, 16);

export const MEM = changetype<MemState>(STATE + MEM_AT);
export const INDEX = changetype<IndexState>(STATE + INDEX_AT);
export const ERRORS = changetype<ErrorsState>(STATE + ERRORS_AT);
export const OPTIONS = changetype<OptionsState>(STATE + OPTIONS_AT);
export const PACKET = changetype<PacketState>(STATE + PACKET_AT);
export const READER = changetype<ReaderState>(STATE + READER_AT);
export const PCAP = changetype<PcapState>(STATE + PCAP_AT);
export const PCAPNG = changetype<PcapngState>(STATE + PCAPNG_AT);
export const CONTEXT = changetype<ContextState>(STATE + CONTEXT_AT);
export const FRAGMENTS = changetype<FragmentsState>(STATE + FRAGMENTS_AT);
export const SEQ = changetype<SeqState>(STATE + SEQ_AT);
export const ANOMALY = changetype<AnomalyState>(STATE + ANOMALY_AT);
export const TABLE = changetype<TableState>(STATE + TABLE_AT);
export const WIRE_ANOMALIES = changetype<WireAnomaliesState>(STATE + WIRE_ANOMALIES_AT);
export const TRACKER = changetype<TrackerState>(STATE + TRACKER_AT);
export const OUTPUT = changetype<OutputState>(STATE + OUTPUT_AT);
export const FLOW_STATE = changetype<FlowStateState>(STATE + FLOW_STATE_AT);
export const TRACE = changetype<TraceState>(STATE + TRACE_AT);
export const TIMERS = changetype<TimersState>(STATE + TIMERS_AT);
export const FORMAT = changetype<FormatState>(STATE + FORMAT_AT);
export const ROUTE = changetype<RouteState>(STATE + ROUTE_AT);
