/**
 * Alerts on the synthetic mechanics' credentials. An always-on canary whose tokens stop renewing
 * stops measuring: its subscribers are refused and nothing is due to them, so no SLO moves. These
 * two alerts say so first — renewals failing (warning, while tokens are still valid), then a token
 * about to run out with no successful renewal (critical: measurement is about to stop).
 */
import type { AlertingRule, MetricCatalog, RuleGroup } from './rule-model.js';
import { runbookUrl } from './runbook-link.js';

export const AUTH_ALERT_NAMES = ['CanaryAuthRefreshFailing', 'CanaryAuthTokenNearExpiry'] as const;
export type AuthAlertName = (typeof AUTH_ALERT_NAMES)[number];

export interface AuthRuleOptions {
  /** Absolute URL of docs/runbooks.md; each alert links to the section named like it. */
  readonly runbookBase: string;
  /** Share of renewals failing over 10 minutes before it is worth a ticket. */
  readonly refreshFailureRatio?: number;
  /** Page when an overdue token has fewer seconds than this left. */
  readonly expirySeconds?: number;
}

export function authRuleGroups(metrics: MetricCatalog, options: AuthRuleOptions): RuleGroup[] {
  const base = options.runbookBase;
  const ratio = options.refreshFailureRatio ?? 0.5;
  const expiry = options.expirySeconds ?? 60;
  const refreshes = metrics.authRefreshes.name;
  const rules: AlertingRule[] = [
    {
      alert: 'CanaryAuthRefreshFailing',
      expr:
        `sum by (env) (increase(${refreshes}{outcome="failure"}[10m])) ` +
        `/ sum by (env) (increase(${refreshes}[10m])) > ${ratio}`,
      for: '5m',
      labels: { severity: 'warning', kind: 'harness' },
      annotations: {
        summary: 'Mechanic token renewals in {{ $labels.env }} are failing.',
        description:
          "{{ $value | humanizePercentage }} of the synthetic mechanics' token renewals in {{ $labels.env }} " +
          'failed over the last 10 minutes. Tokens still valid keep working; once they expire the ' +
          'subscribers are refused and the canary stops measuring them.',
        runbook_url: runbookUrl('CanaryAuthRefreshFailing', base),
      },
    },
    {
      alert: 'CanaryAuthTokenNearExpiry',
      expr:
        `max by (env) (${metrics.authTokensOverdue.name}) > 0 ` +
        `and min by (env) (${metrics.authTokenExpiry.name}) < ${expiry}`,
      for: '1m',
      labels: { severity: 'critical', kind: 'harness' },
      annotations: {
        summary: 'A mechanic token in {{ $labels.env }} is about to expire without a renewal.',
        description:
          '{{ $value }} synthetic mechanic(s) of {{ $labels.env }} are past their renewal time and a token ' +
          `has under ${expiry}s left (or has expired): its subscribers are refused, and delivery in ` +
          '{{ $labels.env }} is no longer fully measured.',
        runbook_url: runbookUrl('CanaryAuthTokenNearExpiry', base),
      },
    },
  ];
  return [{ name: 'canary-auth', rules }];
}
