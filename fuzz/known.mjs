/**
 * Findings that are known defects fixed elsewhere: the campaign still reports them (under their
 * known name), but they do not fail the CI round. Remove an entry once its fix is merged; the
 * round then fails if the defect comes back.
 *
 * @module
 */

export const KNOWN = [
  {
    name: "issue-11-defect-4-table-time",
    what: "--format table throws 'Invalid time value' on timestamps a Date cannot hold (fix on branch cli)",
    matches: (f) => /^(format-throw:table|cli-exit-3:table):.*Invalid time value/.test(f.signature),
  },
  {
    // The insight of a record that ends mid-input is judged against the capture clock at the
    // moment the host drains it (Reconstructor.insight.endUs), which depends on how far the input
    // was read, not on when the record ended. Issue 11 names idle_s; the campaign found the same
    // cause in the endpoint states and the end anomalies derived from them (a port-reuse record:
    // resp_state SYN_RECEIVED + handshake_incomplete in 1-byte chunks, CLOSED in 64 KiB chunks;
    // fuzz/findings/chunk-diff-states-port-reuse.pcap).
    name: "issue-11-defect-5-insight-clock",
    what: "idle_s, endpoint states and end anomalies of a record that ends mid-input depend on the chunk boundaries (fix on branch cli)",
    matches: (f) => f.oracle === "chunk-diff" && onlyInsightDiffers(f),
  },
];

/** The end anomalies (src/anomalies/catalogue.ts kind "end"): derived from the endpoint states. */
const END_ANOMALIES = "syn_unanswered|handshake_incomplete|peer_vanished|stuck_fin_wait_1|stuck_fin_wait_2|stuck_last_ack";

/**
 * True when the ndjson outputs of the two runs of a chunk-diff finding are equal once idle_s, the
 * endpoint states and the end anomalies are masked (every format prints from the same records).
 */
function onlyInsightDiffers(f) {
  if (f.ndjson === undefined) return false;
  const strip = (s) =>
    s
      .replace(/"idle_s":[0-9.e+-]+/g, '"idle_s":_')
      .replace(/"(orig|resp)_state":"[A-Z_0-9]*"/g, '"$1_state":_')
      .replace(new RegExp(`\\{"type":"(${END_ANOMALIES})"[^}]*\\},?`, "g"), "")
      .replace(/,\]/g, "]");
  return strip(f.ndjson[0]) === strip(f.ndjson[1]);
}

/** The known defect a finding is, or null. */
export function knownAs(f) {
  return KNOWN.find((k) => k.matches(f))?.name ?? null;
}
