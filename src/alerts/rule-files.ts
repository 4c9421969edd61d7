/**
 * The two generated rule files: SLO recording rules and burn-rate alerts, and the canary's health
 * alerts. Pure: the same SLOs and catalogue always give byte-identical files, which is what
 * `canary generate --check` relies on.
 */
import type { Slo } from '../slo/index.js';
import { authRuleGroups } from './auth-rules.js';
import { burnRateRuleGroups } from './burn-rate-rules.js';
import { healthRuleGroups, type HealthThresholds } from './health-rules.js';
import { renderRuleFile } from './rule-file-render.js';
import type { MetricCatalog, RuleFile } from './rule-model.js';

export const SLO_RULES_PATH = 'prometheus/rules/canary-slo.rules.yaml';
export const HEALTH_RULES_PATH = 'prometheus/rules/canary-health.rules.yaml';

export interface GeneratedFile {
  /** Relative to the repository root, with forward slashes. */
  readonly path: string;
  readonly content: string;
}

export interface AlertRuleInput {
  readonly catalog: MetricCatalog;
  readonly slos: readonly Slo[];
  /** Absolute URL of docs/runbooks.md (required: runbook links must work outside a checkout). */
  readonly runbookBase: string;
  readonly thresholds?: Partial<HealthThresholds>;
}

export function alertRuleFiles(input: AlertRuleInput): RuleFile[] {
  const links = { runbookBase: input.runbookBase };
  const thresholds = input.thresholds === undefined ? {} : { thresholds: input.thresholds };
  return [
    { path: SLO_RULES_PATH, groups: burnRateRuleGroups(input.slos, links) },
    {
      path: HEALTH_RULES_PATH,
      groups: [
        ...healthRuleGroups(input.catalog, { ...links, ...thresholds }),
        ...authRuleGroups(input.catalog, links),
      ],
    },
  ];
}

export function renderAlertRules(input: AlertRuleInput): GeneratedFile[] {
  return alertRuleFiles(input).map((file) => ({ path: file.path, content: renderRuleFile(file) }));
}
