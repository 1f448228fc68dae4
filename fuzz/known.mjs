/**
 * Findings that are known defects fixed elsewhere: the campaign still reports them (under their
 * known name), but they do not fail the CI round. Remove an entry once its fix is merged; the
 * round then fails if the defect comes back.
 *
 * @module
 */

/** @type {{ name: string, what: string, matches: (f: { oracle: string, signature: string }) => boolean }[]} */
export const KNOWN = [
  // Issue 11 defects 4 (table time) and 5 (the insight clock at drain time) were fixed on branch
  // cli; their minimised inputs now live in test/fixtures/fuzz/ and the replay test holds them.
];

/** The known defect a finding is, or null. */
export function knownAs(f) {
  return KNOWN.find((k) => k.matches(f))?.name ?? null;
}
