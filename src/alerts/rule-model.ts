/**
 * The shape of a Prometheus rule file, typed, so generators build data and one renderer turns it
 * into YAML. Severity and kind are labels Alertmanager routes and inhibits on
 * (alertmanager/alertmanager.yml): `severity` picks the receiver, `kind` marks the alerts a
 * saturated harness can cause by itself.
 */
import type { MetricKey, MetricSpec } from '../metrics/index.js';

/**
 * The common convention: `critical` pages someone now, `warning` is a ticket for working hours,
 * `info` is context for the other alerts and notifies nobody by itself.
 */
export const SEVERITIES = ['critical', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

/**
 * `symptom`: what mechanics would feel (late, dropped, disconnected); inhibited while the harness
 * is overloaded, because its own measurements are then suspect. `harness`: the canary itself.
 */
export type AlertKind = 'symptom' | 'harness';

export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: Readonly<Record<string, string>> & {
    readonly severity: Severity;
    readonly kind: AlertKind;
  };
  readonly annotations: {
    readonly summary: string;
    readonly description: string;
    readonly runbook_url: string;
  };
}

export type Rule = RecordingRule | AlertingRule;

export interface RuleGroup {
  readonly name: string;
  readonly interval?: string;
  readonly rules: readonly Rule[];
}

export interface RuleFile {
  /** Path relative to the repository root, e.g. prometheus/rules/canary-slo.rules.yaml. */
  readonly path: string;
  readonly groups: readonly RuleGroup[];
}

/**
 * The catalogue as generators see it: every key of the real catalogue, but names typed as plain
 * strings, so a test can hand in a copy with a metric renamed and watch the output change.
 */
export type MetricCatalog = Readonly<Record<MetricKey, MetricSpec>>;

export function isAlertingRule(rule: Rule): rule is AlertingRule {
  return 'alert' in rule;
}
