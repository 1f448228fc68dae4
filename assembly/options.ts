// Engine options, set by the host before input starts (setOption). Times are in microseconds.
// Defaults follow Zeek's init-bare.zeek and the default scripts, so that conn.log rows split
// where Zeek's do.

import { OPTIONS } from "./state";

export enum Option {
  /** 1 = do not validate TCP/IPv4 checksums (Zeek -C). */
  IgnoreChecksums = 0,
  /**
   * 1 = the VLAN ids are part of the flow key (Zeek's policy/frameworks/conn_key/vlan_fivetuple).
   * 0 (the default) = the plain 5-tuple, Zeek's default conn key (IPBasedConnKey, fivetuple).
   */
  VlanInKey,
  /** tcp_attempt_delay: an unanswered SYN is reported after this long. */
  AttemptDelayUs,
  /** tcp_close_delay: a closed or reset connection is removed this long after its last packet. */
  CloseDelayUs,
  /** tcp_inactivity_timeout. */
  InactivityUs,
  /** Inactivity timeout for interactive ports 21, 22, 23, 513 (Zeek conn/inactivity.zeek). */
  InactivityInteractiveUs,
  /** Maximum live flows; past it the least recently active flow is evicted. */
  FlowCap,
  /** 1 = report content gaps on partial connections too (Zeek report_gaps_for_partial). */
  ReportGapsForPartial,
  /** 1 = fill likely_server_ports with Zeek's default-script set; 0 = empty (zeek -b). See serverPortsPtr(). */
  LikelyServerPorts,
  /** udp_inactivity_timeout: Zeek's inactivity timeout while both sides are still in the handshake. */
  HandshakeInactivityUs,
  /** tcp_max_above_hole_without_any_acks (0 = no limit). */
  MaxAboveHoleWithoutAcks,
  /** tcp_excessive_data_without_further_acks (0 = no limit). */
  ExcessiveDataWithoutAcks,
  /** 1 (default) = steady-state segments take the tracker's fast path (flow/steady.ts); 0 = every segment the full path. */
  FastPath,
  Count,
}

OPTIONS.ignoreChecksums = false;
OPTIONS.vlanInKey = false;
OPTIONS.attemptDelayUs = 5_000_000;
OPTIONS.closeDelayUs = 5_000_000;
OPTIONS.inactivityUs = 300_000_000;
OPTIONS.inactivityInteractiveUs = 3_600_000_000;
OPTIONS.handshakeInactivityUs = 60_000_000;
/** 2M live flows is about 1.2 GiB of records; the memory guard in table.ts holds past that too. */
OPTIONS.flowCap = 2_000_000;
OPTIONS.reportGapsForPartial = false;
/**
 * The flow-table hash key (table.ts). The host draws one per process and sets it with setHashKey()
 * before init(); this built-in one only serves hosts that never set one (the decode test harness).
 */
OPTIONS.hashKey0 = 0x0706050403020100;
OPTIONS.hashKey1 = 0x0F0E0D0C0B0A0908;
OPTIONS.maxAboveHoleWithoutAcks = 16384;
OPTIONS.excessiveDataWithoutAcks = 10 * 1024 * 1024;
OPTIONS.fastPath = true;

/** Zeek tcp_SYN_timeout: first run of the expire timer after the connection is created. */
export const SYN_TIMEOUT_US: i64 = 5_000_000;
/** Zeek tcp_session_timer: period of the expire timer. */
export const SESSION_TIMER_US: i64 = 6_000_000;
/** Zeek tcp_connection_linger: idle time after which a half-closed connection may be expired. */
export const CONNECTION_LINGER_US: i64 = 5_000_000;

// likely_server_ports (Zeek IsLikelyServerPort): one bit per TCP port, 8 KiB.
export const SERVER_PORTS: usize = memory.data(8192, 16);

/**
 * The ports Zeek's default scripts register (Analyzer::register_for_ports across the protocol
 * scripts loaded by default, zeek-semantics.md §3.5). `zeek -b` starts from an empty set.
 */
const DEFAULT_SERVER_PORTS: StaticArray<u16> = [
  21, 22, 25, 53, 80, 81, 88, 139, 143, 443, 445, 502, 587, 631, 993, 995, 1080, 3128, 3306,
  5432, 6666, 6667, 6668, 6669, 8000, 8080, 8888,
];

export function setServerPortsDefault(on: bool): void {
  memory.fill(SERVER_PORTS, 0, 8192);
  if (!on) return;
  for (let i = 0; i < DEFAULT_SERVER_PORTS.length; i++) setServerPort(<u32>unchecked(DEFAULT_SERVER_PORTS[i]), true);
}
export function setServerPort(port: u32, on: bool): void {
  const p = SERVER_PORTS + <usize>((port & 0xFFFF) >> 3);
  const bit = <u8>(<u32>1 << (port & 7));
  store<u8>(p, on ? load<u8>(p) | bit : load<u8>(p) & ~bit);
}
@inline export function isLikelyServerPort(port: u32): bool {
  // SAFETY: port <= 0xFFFF, so the byte index is < 8192.
  return (load<u8>(SERVER_PORTS + <usize>(port >> 3)) & <u8>(<u32>1 << (port & 7))) != 0;
}

/** Sets the flow-table hash key (128 bits, two u64 halves); takes effect at the next init(). */
export function setHashKey(key0: u64, key1: u64): void {
  OPTIONS.hashKey0 = key0;
  OPTIONS.hashKey1 = key1;
}

export function setOption(opt: i32, value: f64): void {
  switch (opt) {
    case Option.IgnoreChecksums: OPTIONS.ignoreChecksums = value != 0; break;
    case Option.VlanInKey: OPTIONS.vlanInKey = value != 0; break;
    case Option.AttemptDelayUs: OPTIONS.attemptDelayUs = <i64>value; break;
    case Option.CloseDelayUs: OPTIONS.closeDelayUs = <i64>value; break;
    case Option.InactivityUs: OPTIONS.inactivityUs = <i64>value; break;
    case Option.InactivityInteractiveUs: OPTIONS.inactivityInteractiveUs = <i64>value; break;
    case Option.FlowCap: OPTIONS.flowCap = max(16, <i32>value); break;
    case Option.ReportGapsForPartial: OPTIONS.reportGapsForPartial = value != 0; break;
    case Option.LikelyServerPorts: setServerPortsDefault(value != 0); break;
    case Option.HandshakeInactivityUs: OPTIONS.handshakeInactivityUs = <i64>value; break;
    case Option.MaxAboveHoleWithoutAcks: OPTIONS.maxAboveHoleWithoutAcks = <i64>value; break;
    case Option.ExcessiveDataWithoutAcks: OPTIONS.excessiveDataWithoutAcks = <i64>value; break;
    case Option.FastPath: OPTIONS.fastPath = value != 0; break;
    default: break;
  }
}

// The default set is in force from the start.
setServerPortsDefault(true);
