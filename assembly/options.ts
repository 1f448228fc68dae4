// Engine options, set by the host before input starts (setOption). Times are in microseconds.
// Defaults follow Zeek's init-bare.zeek, so that conn.log rows split where Zeek's do.

export enum Option {
  /** 1 = do not validate TCP/IPv4 checksums (Zeek -C). */
  IgnoreChecksums = 0,
  /** 1 = the VLAN id is part of the flow key (Zeek's vlan_fivetuple conn key). */
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
  /** 1 = use Zeek's default-script likely_server_ports for flips; 0 = bare mode (empty set). */
  LikelyServerPorts,
  Count,
}

export let ignoreChecksums: bool = false;
export let vlanInKey: bool = true;
export let attemptDelayUs: i64 = 5_000_000;
export let closeDelayUs: i64 = 5_000_000;
export let inactivityUs: i64 = 300_000_000;
export let inactivityInteractiveUs: i64 = 3_600_000_000;
export let flowCap: i32 = 4_000_000;
export let reportGapsForPartial: bool = false;
export let likelyServerPortsOn: bool = true;

export function setOption(opt: i32, value: f64): void {
  switch (opt) {
    case Option.IgnoreChecksums: ignoreChecksums = value != 0; break;
    case Option.VlanInKey: vlanInKey = value != 0; break;
    case Option.AttemptDelayUs: attemptDelayUs = <i64>value; break;
    case Option.CloseDelayUs: closeDelayUs = <i64>value; break;
    case Option.InactivityUs: inactivityUs = <i64>value; break;
    case Option.InactivityInteractiveUs: inactivityInteractiveUs = <i64>value; break;
    case Option.FlowCap: flowCap = max(16, <i32>value); break;
    case Option.ReportGapsForPartial: reportGapsForPartial = value != 0; break;
    case Option.LikelyServerPorts: likelyServerPortsOn = value != 0; break;
    default: break;
  }
}
