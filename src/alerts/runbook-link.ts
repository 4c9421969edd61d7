/**
 * Where an alert's runbook lives: an absolute URL, so the link works from Slack, PagerDuty or an
 * e-mail, never a path relative to a checkout. The base is required when rules are generated
 * (`canary generate --runbook-base`, by default the docs/runbooks.md of the repository named in
 * package.json). Anchors are the section heading as GitHub renders it: lower case, spaces to dashes,
 * punctuation dropped — `## CanaryProbeAbsent` → `#canaryprobeabsent`.
 */

/** The GitHub anchor of a Markdown heading. */
export function runbookAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-');
}

/** Throws unless `base` is an absolute http(s) URL without a fragment. */
export function checkRunbookBase(base: string): string {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new Error(
      `runbook base "${base}" is not an absolute URL — give one like https://github.com/acme/realtime-canary/blob/main/docs/runbooks.md`,
    );
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.hash !== '') {
    throw new Error(`runbook base "${base}" must be an http(s) URL without a #fragment`);
  }
  return base;
}

/** The runbook link of a section (by default the section named like the alert). */
export function runbookUrl(heading: string, base: string): string {
  return `${checkRunbookBase(base)}#${runbookAnchor(heading)}`;
}
