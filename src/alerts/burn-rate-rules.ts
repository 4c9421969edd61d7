/**
 * Multi-window, multi-burn-rate alerts (Google SRE workbook, "Alerting on SLOs", option 6) from
 * the SLO specs: recording rules for each SLI's error ratio over the standard windows, then alerts
 * that fire only when a long window shows the budget burning fast AND a short window shows it is
 * still burning now. The SLI definitions (what is good, what is total) come from src/slo, so these
 * rules and the in-process evaluator count the same events.
 *
 * critical (page):   1h and 5m above 14.4× (2 % of a 30-day budget in an hour),
 *                    or 6h and 30m above 6× (5 % in six hours).
 * warning (ticket):  3d and 6h above 1× (the budget would be gone by the end of the window).
 *
 * Each SLO has its own alert names (`CanaryDeliveryLatencyBudgetFastBurn` for the SLO
 * `delivery-latency`), so two SLOs of one kind — realtime latency and polling latency — never share
 * an alert, a silence or an inhibition; their runbook is the section of their kind.
 */
import { formatPromDuration, parseDurationSeconds } from '../shared/duration.js';
import { errorRatioQuery, sliKind, type Slo, type SliKind } from '../slo/index.js';
import type { AlertingRule, RecordingRule, RuleGroup, Severity } from './rule-model.js';
import { runbookUrl } from './runbook-link.js';

/** Every window the error ratio is recorded over; the alerts below use all but 2h and 1d. */
export const SLI_WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'] as const;
export type SliWindow = (typeof SLI_WINDOWS)[number];

export interface WindowPair {
  readonly long: SliWindow;
  readonly short: SliWindow;
  /** Burn rate both windows must exceed: error ratio divided by the error budget (1 − objective). */
  readonly burnRate: number;
}

export interface BurnRatePolicy {
  readonly speed: 'Fast' | 'Slow';
  readonly severity: Severity;
  readonly pairs: readonly WindowPair[];
}

export const BURN_RATE_POLICIES: readonly BurnRatePolicy[] = [
  {
    speed: 'Fast',
    severity: 'critical',
    pairs: [
      { long: '1h', short: '5m', burnRate: 14.4 },
      { long: '6h', short: '30m', burnRate: 6 },
    ],
  },
  { speed: 'Slow', severity: 'warning', pairs: [{ long: '3d', short: '6h', burnRate: 1 }] },
];

/** SLI kinds whose error ratios are recorded (headroom is a level, not an event ratio). */
export const RECORDED_SLI_KINDS: readonly SliKind[] = ['latency', 'delivery', 'subscription'];
/** SLI kinds that get burn-rate alerts; the others are judged per run by `canary slo`. */
export const ALERTED_SLI_KINDS = ['latency', 'delivery'] as const satisfies readonly SliKind[];
type AlertedKind = (typeof ALERTED_SLI_KINDS)[number];

/** Name of the recording rule holding the error ratio over `window`, e.g. canary_slo:sli_error:ratio_rate5m. */
export function sliErrorRecordName(window: SliWindow): string {
  return `canary_slo:sli_error:ratio_rate${window}`;
}

/** Name of the recording rule holding each SLO's objective, so dashboards can draw budgets. */
export const OBJECTIVE_RECORD_NAME = 'canary_slo:objective:ratio';

/** The error ratio over the SLO's own window (e.g. 28d), recorded so no dashboard evaluates it. */
export const WINDOW_ERROR_RECORD_NAME = 'canary_slo:sli_error:ratio_window';

/** 1 − window error ratio ÷ budget: the share of the error budget left (below 0 = overspent). */
export const ERROR_BUDGET_REMAINING_RECORD_NAME = 'canary_slo:error_budget_remaining:ratio';

const KIND_TITLE: Record<AlertedKind, string> = { latency: 'Latency', delivery: 'Delivery' };

/** 'delivery-latency' → 'DeliveryLatency'. */
function pascalCase(name: string): string {
  return name
    .split(/[^a-zA-Z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}

/** The alert of one SLO and speed, e.g. CanaryPollingLatencyBudgetFastBurn for `polling-latency`. */
export function burnRateAlertName(slo: Pick<Slo, 'name'>, speed: BurnRatePolicy['speed']): string {
  return `Canary${pascalCase(slo.name)}Budget${speed}Burn`;
}

/** The runbook section shared by every SLO of a kind, e.g. "Latency budget fast burn". */
export function burnRateRunbookSection(kind: AlertedKind, speed: BurnRatePolicy['speed']): string {
  return `${KIND_TITLE[kind]} budget ${speed.toLowerCase()} burn`;
}

export const BURN_RATE_RUNBOOK_SECTIONS: readonly string[] = ALERTED_SLI_KINDS.flatMap((kind) =>
  BURN_RATE_POLICIES.map((policy) => burnRateRunbookSection(kind, policy.speed)),
);

/** 1 − objective without float noise (1 − 0.999 is 0.0010000000000000009). */
function errorBudget(slo: Slo): number {
  return Number((1 - slo.objective).toFixed(10));
}

function recordingGroup(slo: Slo): RuleGroup {
  const labels = { slo: slo.name, sli: sliKind(slo) };
  const ratios: RecordingRule[] = SLI_WINDOWS.map((window) => ({
    record: sliErrorRecordName(window),
    expr: errorRatioQuery(slo, window),
    labels,
  }));
  const objective: RecordingRule = {
    record: OBJECTIVE_RECORD_NAME,
    expr: `vector(${slo.objective})`,
    labels,
  };
  // The SLO window as Prometheus writes it ('1.5d' is valid in a spec, not in PromQL).
  const window = formatPromDuration(parseDurationSeconds(slo.window) ?? 0);
  const windowRatio: RecordingRule = {
    record: WINDOW_ERROR_RECORD_NAME,
    expr: errorRatioQuery(slo, window),
    labels: { ...labels, window },
  };
  const budgetRemaining: RecordingRule = {
    record: ERROR_BUDGET_REMAINING_RECORD_NAME,
    expr: `1 - ${WINDOW_ERROR_RECORD_NAME}{slo="${slo.name}"} / ${errorBudget(slo)}`,
    labels,
  };
  return { name: `canary-slo-${slo.name}`, rules: [...ratios, objective, windowRatio, budgetRemaining] };
}

function describeWindows(pairs: readonly WindowPair[]): string {
  return pairs.map((p) => `${p.long} and ${p.short} above ${p.burnRate}×`).join(', or ');
}

function burnAlert(slo: Slo, kind: AlertedKind, policy: BurnRatePolicy, runbookBase: string): AlertingRule {
  const budget = errorBudget(slo);
  const selector = `{slo="${slo.name}"}`;
  const burning = (window: SliWindow, rate: number): string =>
    `${sliErrorRecordName(window)}${selector} / ${budget} > ${rate}`;
  const expr = policy.pairs
    .map((pair) => `(${burning(pair.long, pair.burnRate)} and ${burning(pair.short, pair.burnRate)})`)
    .join(' or ');
  const name = burnRateAlertName(slo, policy.speed);
  // Both alerted kinds are judged per environment and delivery path (see sliSelectors' groupBy).
  const where = '{{ $labels.env }} / {{ $labels.path }}';
  return {
    alert: name,
    expr,
    labels: { severity: policy.severity, kind: 'symptom', slo: slo.name },
    annotations: {
      summary: `SLO ${slo.name} is burning its error budget ${policy.speed === 'Fast' ? 'fast' : 'steadily'} in ${where}.`,
      // The objective, not the SLO's free-text description, so rewording a spec leaves alerts alone.
      description:
        `SLO ${slo.name} (${kind}, objective ${(slo.objective * 100).toFixed(3).replace(/\.?0+$/, '')}% over ${slo.window}): ` +
        `the error budget is burning {{ $value | printf "%.1f" }}× faster than sustainable in ${where} ` +
        `(${describeWindows(policy.pairs)}).`,
      runbook_url: runbookUrl(burnRateRunbookSection(kind, policy.speed), runbookBase),
    },
  };
}

export interface BurnRateRuleOptions {
  /** Absolute URL of docs/runbooks.md; alerts link to its sections. */
  readonly runbookBase: string;
}

export function burnRateRuleGroups(slos: readonly Slo[], options: BurnRateRuleOptions): RuleGroup[] {
  const { runbookBase } = options;
  const recorded = slos.filter((slo) => RECORDED_SLI_KINDS.includes(sliKind(slo)));
  const alerts: AlertingRule[] = [];
  for (const slo of recorded) {
    const kind = sliKind(slo);
    if (!(ALERTED_SLI_KINDS as readonly SliKind[]).includes(kind)) continue;
    for (const policy of BURN_RATE_POLICIES)
      alerts.push(burnAlert(slo, kind as AlertedKind, policy, runbookBase));
  }
  const groups = recorded.map(recordingGroup);
  if (alerts.length > 0) groups.push({ name: 'canary-slo-burn-rate', rules: alerts });
  return groups;
}
