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
    name: "issue-11-defect-5-idle-chunks",
    what: "idle_s of a flow that ends mid-input depends on the chunk boundaries (fix on branch cli)",
    matches: (f) => f.oracle === "chunk-diff" && onlyIdleDiffers(f),
  },
];

/** True when the two outputs named in a chunk-diff finding differ only in idle_s values. */
function onlyIdleDiffers(f) {
  if (f.outputs === undefined) return false;
  const strip = (s) => s.replace(/"idle_s":[0-9.e+-]+/g, '"idle_s":_');
  return strip(f.outputs[0]) === strip(f.outputs[1]);
}

/** The known defect a finding is, or null. */
export function knownAs(f) {
  return KNOWN.find((k) => k.matches(f))?.name ?? null;
}
