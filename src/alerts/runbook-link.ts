/**
 * Where an alert's runbook lives. Anchors are the alert name in lower case, which is the anchor
 * GitHub and most Markdown renderers give a `## AlertName` heading in docs/runbooks.md.
 */
export const DEFAULT_RUNBOOK_BASE = 'docs/runbooks.md';

export function runbookAnchor(alertName: string): string {
  return alertName.toLowerCase();
}

export function runbookUrl(alertName: string, base: string = DEFAULT_RUNBOOK_BASE): string {
  return `${base}#${runbookAnchor(alertName)}`;
}
