/**
 * @module
 * The anomaly catalogue: one place for every anomaly's stable name, code, one-line meaning and the
 * evidence it rests on. Codes mirror `Anomaly` in assembly/flow/anomaly.ts (a test checks the two
 * agree); names are API and never change.
 *
 * "wire" anomalies are recorded by the engine as segments arrive; "end" anomalies describe how a
 * connection was left and are derived from its endpoint states when the record is reported
 * (src/anomalies/derive.ts), at the end of the input or, in a live session, once a threshold passes.
 */

export type AnomalyName =
  | "syn_unanswered"
  | "handshake_incomplete"
  | "refused"
  | "peer_vanished"
  | "stuck_fin_wait_1"
  | "stuck_fin_wait_2"
  | "stuck_last_ack"
  | "reset"
  | "simultaneous_open"
  | "simultaneous_close"
  | "retransmission"
  | "out_of_order"
  | "duplicate_ack"
  | "zero_window"
  | "zero_window_probe"
  | "keepalive"
  | "ack_of_unseen_data"
  | "content_gap"
  | "data_after_fin"
  | "invalid_flags"
  | "port_reuse"
  | "midstream";

export interface AnomalyInfo {
  readonly code: number;
  readonly name: AnomalyName;
  readonly kind: "wire" | "end";
  readonly meaning: string;
  readonly evidence: string;
}

export const ANOMALIES: readonly AnomalyInfo[] = [
  {
    code: 1,
    name: "syn_unanswered",
    kind: "end",
    meaning: "SYN(s) with no reply: an embryonic half-open attempt",
    evidence:
      "originator SYNs and nothing after them but a RST (retransmissions share the ISN; count = SYN segments sent), no SYN-ACK or RST from the responder",
  },
  {
    code: 2,
    name: "handshake_incomplete",
    kind: "end",
    meaning: "SYN-ACK sent, the final ACK never reached the responder (it sits in SYN_RECEIVED)",
    evidence:
      "responder SYN-ACK(s) with no originator ACK, or SYN-ACK repeated after the ACK, and no later non-SYN segment from the responder",
  },
  {
    code: 3,
    name: "refused",
    kind: "wire",
    meaning: "SYN answered by RST (nothing listens on the port)",
    evidence: "responder RST while the originator is in SYN_SENT and the responder sent nothing before",
  },
  {
    code: 4,
    name: "peer_vanished",
    kind: "end",
    meaning: "one side keeps (re)transmitting while the other has gone silent: a true half-open connection",
    evidence: "at least 2 retransmissions since the silent side's last segment, no RST from it; side = the silent side",
  },
  {
    code: 5,
    name: "stuck_fin_wait_1",
    kind: "end",
    meaning: "FIN sent and never acknowledged",
    evidence: "this side's FIN is beyond every ack the peer sent, at the end of the input",
  },
  {
    code: 6,
    name: "stuck_fin_wait_2",
    kind: "end",
    meaning: "FIN acknowledged but the peer never sent its own FIN: the peer sits in CLOSE_WAIT",
    evidence: "this side's FIN acknowledged, no FIN or RST from the peer, at the end of the input",
  },
  {
    code: 7,
    name: "stuck_last_ack",
    kind: "end",
    meaning: "closed after the peer but its FIN was never acknowledged",
    evidence: "this side's FIN came after the peer's and no ack covers it, at the end of the input",
  },
  {
    code: 8,
    name: "reset",
    kind: "wire",
    meaning: "connection aborted by RST (detail says whether data had flowed)",
    evidence: "RST segment from this side (a RST answering a SYN is `refused` instead)",
  },
  {
    code: 9,
    name: "simultaneous_open",
    kind: "wire",
    meaning: "both sides sent a SYN (RFC 9293 §3.5 figure 7)",
    evidence: "a SYN without ACK from the responder while the originator is in SYN_SENT",
  },
  {
    code: 10,
    name: "simultaneous_close",
    kind: "wire",
    meaning: "both sides sent FIN before either FIN was acknowledged (RFC 9293 figure 13)",
    evidence: "a FIN whose ack does not cover the FIN the peer already sent",
  },
  {
    code: 11,
    name: "retransmission",
    kind: "wire",
    meaning: "data segment that brings nothing new",
    evidence:
      "payload whose sequence range ends at or below the highest sequence already seen from that side (Zeek's T/t rule) that is not `out_of_order`, keep-alives and probes excepted; the same SYN or FIN again",
  },
  {
    code: 12,
    name: "out_of_order",
    kind: "wire",
    meaning: "data that fills a hole later data had already skipped, arriving right after it",
    evidence:
      "payload seen whole that fills a hole, within 3 ms of the sender's latest segment, unless it has a retransmission's shape: the peer's duplicate ACKs ask for it, or its TSval (else IPv4 ID) is newer than every segment since the hole opened",
  },
  {
    code: 13,
    name: "duplicate_ack",
    kind: "wire",
    meaning: "the same ACK again while the peer has unacknowledged data (a loss signal)",
    evidence:
      "ACK without data, SYN or FIN carrying the greatest ack this side sent and the window of its previous segment, while the peer has data outstanding (RFC 5681 §2)",
  },
  {
    code: 14,
    name: "zero_window",
    kind: "wire",
    meaning: "this side advertised a zero receive window: its application stopped reading",
    evidence: "window field 0 on a segment without SYN, FIN or RST",
  },
  {
    code: 15,
    name: "zero_window_probe",
    kind: "wire",
    meaning: "probe sent into the peer's zero window (RFC 9293 §3.8.6.1)",
    evidence: "0/1-byte segment at snd.nxt-1 or 1 byte at snd.nxt while the peer's last window was 0",
  },
  {
    code: 16,
    name: "keepalive",
    kind: "wire",
    meaning: "TCP keep-alive probe (RFC 9293 §3.8.4)",
    evidence: "0/1-byte segment at snd.nxt-1 without SYN, FIN or RST while the peer's window is open",
  },
  {
    code: 17,
    name: "ack_of_unseen_data",
    kind: "wire",
    meaning: "acknowledges data the capture never saw the peer send (capture loss upstream)",
    evidence: "ack beyond the peer's highest sequence seen",
  },
  {
    code: 18,
    name: "content_gap",
    kind: "wire",
    meaning: "stream bytes acknowledged but never captured (Zeek's content_gap; missed_bytes says how many)",
    evidence:
      "an ack beyond the in-order point of this side's stream, for bytes that `missed_bytes` counts (not on a partial connection unless gaps for partial ones are reported, not for payload a snaplen cut); side = whose stream has the hole",
  },
  {
    code: 19,
    name: "data_after_fin",
    kind: "wire",
    meaning: "payload beyond this side's own FIN",
    evidence: "data whose sequence range extends past the FIN octet",
  },
  {
    code: 20,
    name: "invalid_flags",
    kind: "wire",
    meaning: "flag combination no conforming stack sends",
    evidence: "SYN+FIN, SYN+RST, no flags at all, or FIN+PSH+URG",
  },
  {
    code: 21,
    name: "port_reuse",
    kind: "wire",
    meaning: "a new connection reused the 5-tuple of a closed one (or a different ISN on a live one)",
    evidence: "a SYN that Zeek's reuse rule turns into a new record; reported on the new record",
  },
  {
    code: 22,
    name: "midstream",
    kind: "wire",
    meaning: "no handshake seen: the capture starts inside the connection",
    evidence: "the record was created by a segment without SYN",
  },
];

export const ANOMALY_BY_CODE: readonly (AnomalyInfo | undefined)[] = (() => {
  const out: (AnomalyInfo | undefined)[] = [];
  for (const a of ANOMALIES) out[a.code] = a;
  return out;
})();

export const ANOMALY_NAMES: ReadonlySet<string> = new Set(ANOMALIES.map((a) => a.name));
