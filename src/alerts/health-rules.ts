/**
 * Alerts on the canary's own signals that are not SLOs: is the probe running at all, are its
 * subscribers connected, why do subscriptions fail, are there zombie subscribers, how close is the
 * environment to its plan's connection limit, and is the harness itself saturated. Thresholds are
 * options so a team can tune them; the defaults are what docs/runbooks.md explains.
 */
import type { AlertingRule, MetricCatalog, RuleGroup } from './rule-model.js';
import { runbookUrl } from './runbook-link.js';

export interface HealthThresholds {
  /** A probe round must have finished within this many seconds (several probe intervals). */
  readonly probeStaleSeconds: number;
  /** Subscription errors of one reason within 10 minutes before it is worth a ticket. */
  readonly subscriptionErrorsPer10m: number;
  /** Alert when peak connections exceed this fraction of the plan's connection limit. */
  readonly connectionUsageRatio: number;
  /** The peak is taken over this window (a Prometheus duration) of the current connection count. */
  readonly connectionPeakWindow: string;
}

export const DEFAULT_HEALTH_THRESHOLDS: HealthThresholds = {
  probeStaleSeconds: 300,
  subscriptionErrorsPer10m: 3,
  connectionUsageRatio: 0.8,
  connectionPeakWindow: '10m',
};

export interface HealthRuleOptions {
  readonly thresholds?: Partial<HealthThresholds>;
  /** Absolute URL of docs/runbooks.md; each alert links to the section named like it. */
  readonly runbookBase: string;
}

export const HEALTH_ALERT_NAMES = [
  'CanaryProbeAbsent',
  'CanaryProbeStale',
  'CanarySubscribersNotConnected',
  'CanarySubscriptionErrors',
  'CanaryZombieSubscribers',
  'CanaryConnectionHeadroomLow',
  'CanaryHarnessOverloaded',
] as const;
export type HealthAlertName = (typeof HEALTH_ALERT_NAMES)[number];

export function healthRuleGroups(metrics: MetricCatalog, options: HealthRuleOptions): RuleGroup[] {
  const t = { ...DEFAULT_HEALTH_THRESHOLDS, ...options.thresholds };
  const base = options.runbookBase;
  const link = (name: HealthAlertName): string => runbookUrl(name, base);
  const m = {
    lastRun: metrics.probeLastRun.name,
    desired: metrics.subscribersDesired.name,
    connected: metrics.subscribersConnected.name,
    errors: metrics.subscriptionErrors.name,
    zombies: metrics.zombieSubscribers.name,
    limit: metrics.connectionLimit.name,
    overloaded: metrics.harnessOverloaded.name,
  };

  const probe: AlertingRule[] = [
    {
      // The dead man's switch: while the canary is down every SLO alert is silent, so this pages.
      alert: 'CanaryProbeAbsent',
      expr: `absent(${m.lastRun})`,
      for: '10m',
      labels: { severity: 'critical', kind: 'harness' },
      annotations: {
        summary: 'No canary probe has reported for 10 minutes: delivery is not being measured.',
        description:
          `Prometheus has no ${m.lastRun} series at all (absent() = {{ $value }}). ` +
          'The canary is down, not scraped, or has never finished a probe round; until it is back, ' +
          'no SLO alert can fire.',
        runbook_url: link('CanaryProbeAbsent'),
      },
    },
    {
      alert: 'CanaryProbeStale',
      expr: `time() - max by (env, probe) (${m.lastRun}) > ${t.probeStaleSeconds}`,
      for: '5m',
      labels: { severity: 'warning', kind: 'symptom' },
      annotations: {
        summary: 'Probe {{ $labels.probe }} in {{ $labels.env }} has stopped finishing rounds.',
        description:
          'The last round of probe {{ $labels.probe }} in {{ $labels.env }} finished ' +
          '{{ $value | humanizeDuration }} ago (threshold ' +
          `${t.probeStaleSeconds}s): the publisher or the environment is stuck.`,
        runbook_url: link('CanaryProbeStale'),
      },
    },
  ];

  const subscriptions: AlertingRule[] = [
    {
      alert: 'CanarySubscribersNotConnected',
      expr:
        `sum by (env, probe, client) (${m.desired}) ` + `- sum by (env, probe, client) (${m.connected}) > 0`,
      for: '5m',
      labels: { severity: 'warning', kind: 'symptom' },
      annotations: {
        summary: '{{ $labels.client }} subscribers of {{ $labels.env }} are not SUBSCRIBED.',
        description:
          '{{ $value }} {{ $labels.client }} subscribers of probe {{ $labels.probe }} in {{ $labels.env }} ' +
          'have not been SUBSCRIBED for 5 minutes; mechanics in the same situation see no new assignments ' +
          'except through polling.',
        runbook_url: link('CanarySubscribersNotConnected'),
      },
    },
    {
      alert: 'CanarySubscriptionErrors',
      expr:
        `sum by (env, probe, client, reason) (increase(${m.errors}[10m])) ` +
        `>= ${t.subscriptionErrorsPer10m}`,
      for: '5m',
      labels: { severity: 'warning', kind: 'symptom' },
      annotations: {
        summary: 'Subscriptions in {{ $labels.env }} keep failing with reason {{ $labels.reason }}.',
        description:
          '{{ $value | printf "%.0f" }} {{ $labels.client }} subscription errors with reason ' +
          '{{ $labels.reason }} in {{ $labels.env }} over the last 10 minutes.',
        runbook_url: link('CanarySubscriptionErrors'),
      },
    },
    {
      alert: 'CanaryZombieSubscribers',
      expr: `max by (env, probe, path) (${m.zombies}) > 0`,
      for: '10m',
      labels: { severity: 'warning', kind: 'symptom' },
      annotations: {
        summary: 'Subscribers in {{ $labels.env }} say SUBSCRIBED but receive nothing on {{ $labels.path }}.',
        description:
          '{{ $value }} subscribers of probe {{ $labels.probe }} in {{ $labels.env }} are SUBSCRIBED yet ' +
          'missed the last events on {{ $labels.path }} that other subscribers received.',
        runbook_url: link('CanaryZombieSubscribers'),
      },
    },
    {
      alert: 'CanaryConnectionHeadroomLow',
      // The peak over a window of the current count, not a process-lifetime high-water mark: the
      // alert resolves once connections have stayed lower for the window, and the probes of one
      // environment add up instead of overwriting each other.
      expr:
        `sum by (env) (max_over_time(${m.connected}[${t.connectionPeakWindow}])) ` +
        `/ max by (env) (${m.limit} > 0) > ${t.connectionUsageRatio}`,
      for: '5m',
      labels: { severity: 'warning', kind: 'symptom' },
      annotations: {
        summary: '{{ $labels.env }} is close to its Realtime connection limit.',
        description:
          `Peak concurrent subscribers in {{ $labels.env }} over the last ${t.connectionPeakWindow} reached ` +
          '{{ $value | humanizePercentage }} of the ' +
          `plan's connection limit (threshold ${t.connectionUsageRatio * 100}%); new mechanics will soon be refused.`,
        runbook_url: link('CanaryConnectionHeadroomLow'),
      },
    },
  ];

  const harness: AlertingRule[] = [
    {
      alert: 'CanaryHarnessOverloaded',
      expr: `max by (job, instance) (${m.overloaded}) > 0`,
      for: '1m',
      labels: { severity: 'info', kind: 'harness' },
      annotations: {
        summary: 'The canary harness {{ $labels.instance }} is saturated; its measurements are untrusted.',
        description:
          `${m.overloaded} = {{ $value }} on` +
          ' {{ $labels.instance }}: event-loop lag or CPU is over its ' +
          'threshold, so latency and drop measurements are flagged and symptom alerts are inhibited.',
        runbook_url: link('CanaryHarnessOverloaded'),
      },
    },
  ];

  return [
    { name: 'canary-probe', rules: probe },
    { name: 'canary-subscriptions', rules: subscriptions },
    { name: 'canary-harness', rules: harness },
  ];
}
