/**
 * The one SLO evaluator: for each SLO, per environment (and delivery path for per-path SLIs),
 * good / total from an SliSource, compared with the objective. Used by `canary load` at the end of a
 * run, by `canary slo` on a stored report or on Prometheus, and by the reports.
 */
import { parseDurationSeconds } from '../shared/duration.js';
import { sliSelectors, type SliScope } from './sli-queries.js';
import { sliKind, type SliKind, type Slo } from './slo-spec.js';
import type { SeriesValue, SliSource } from './sli-source.js';

export type SloStatus = 'met' | 'breached' | 'no_data';

export interface SloResult {
  slo: string;
  description: string;
  kind: SliKind;
  objective: number;
  window: string;
  env?: string;
  path?: string;
  good: number;
  total: number;
  /** good / total, or null without data. */
  ratio: number | null;
  status: SloStatus;
  /** Share of the error budget left: 1 − (1 − ratio) / (1 − objective); negative when overspent. */
  budgetRemaining: number | null;
  /** One line with the measured value against the objective, for people and JUnit failures. */
  summary: string;
  /** Latency only: the bound a delivery must meet, in seconds. */
  thresholdSeconds?: number;
  /** Headroom only. */
  peakSubscribers?: number;
  minSubscribers?: number;
  /** The environment's plan connection limit, when the run exported it. */
  planLimit?: number;
  joinSuccessRequired?: number;
}

export interface SloVerdict {
  status: 'met' | 'breached';
  source: string;
  results: SloResult[];
}

const RATIO_EPSILON = 1e-9;

function key(labels: Record<string, string>, by: readonly string[]): string {
  return by.map((label) => labels[label] ?? '').join('\u0000');
}

function percent(ratio: number): string {
  const value = ratio * 100;
  return `${Number.isInteger(value) ? value : value.toFixed(value > 99 ? 3 : 2)}%`;
}

function describeGood(slo: Slo): string {
  const sli = slo.sli;
  if ('latency' in sli) return `of deliveries within ${sli.latency.threshold}`;
  if ('delivery' in sli) return 'of events delivered within the deadline';
  if ('subscription' in sli) {
    return sli.subscription.timeToSubscribed
      ? `of joins SUBSCRIBED within ${sli.subscription.timeToSubscribed}`
      : 'of joins SUBSCRIBED';
  }
  return 'join success';
}

function scopeText(env: string | undefined, path: string | undefined): string {
  const parts = [env && `env=${env}`, path && `path=${path}`].filter(Boolean);
  return parts.length ? ` [${parts.join(' ')}]` : '';
}

async function evaluateOne(slo: Slo, source: SliSource, scope: SliScope): Promise<SloResult[]> {
  const selectors = sliSelectors(slo, scope);
  const by = selectors.groupBy;
  const [totals, goods, peaks, limits] = await Promise.all([
    source.sum(selectors.total, by),
    source.sum(selectors.good, by),
    selectors.peak ? source.max(selectors.peak, ['env']) : Promise.resolve<SeriesValue[]>([]),
    selectors.planLimit ? source.max(selectors.planLimit, ['env']) : Promise.resolve<SeriesValue[]>([]),
  ]);
  const goodByKey = new Map(goods.map((sample) => [key(sample.labels, by), sample.value]));
  const peakByEnv = new Map(peaks.map((sample) => [sample.labels.env ?? '', sample.value]));
  const limitByEnv = new Map(limits.map((sample) => [sample.labels.env ?? '', sample.value]));
  const kind = sliKind(slo);
  const common = {
    slo: slo.name,
    description: slo.description,
    kind,
    objective: slo.objective,
    window: slo.window,
  };

  const groups = totals.filter((sample) => sample.value > 0);
  if (groups.length === 0) {
    return [
      {
        ...common,
        ...(scope.env !== undefined ? { env: scope.env } : {}),
        ...(scope.path !== undefined ? { path: scope.path } : {}),
        good: 0,
        total: 0,
        ratio: null,
        status: 'no_data',
        budgetRemaining: null,
        summary: `no data${scopeText(scope.env, scope.path)}: nothing was measured for this SLI`,
      },
    ];
  }
  return groups
    .map((sample): SloResult => {
      const env = sample.labels.env;
      const path = by.includes('path') ? sample.labels.path : undefined;
      const total = sample.value;
      // A histogram bucket can read a hair above its _count when Prometheus extrapolates; clamp.
      const good = Math.min(goodByKey.get(key(sample.labels, by)) ?? 0, total);
      const ratio = good / total;
      const budgetRemaining = 1 - (1 - ratio) / (1 - slo.objective);
      const where = scopeText(env, path);
      const result: SloResult = {
        ...common,
        ...(env !== undefined ? { env } : {}),
        ...(path !== undefined ? { path } : {}),
        good,
        total,
        ratio,
        status: ratio + RATIO_EPSILON >= slo.objective ? 'met' : 'breached',
        budgetRemaining,
        summary: `${percent(ratio)} ${describeGood(slo)} (${fmt(good)}/${fmt(total)}), objective ${percent(slo.objective)}${where}`,
      };
      if ('latency' in slo.sli) result.thresholdSeconds = parseDurationSeconds(slo.sli.latency.threshold);
      if ('headroom' in slo.sli) {
        const required = slo.sli.headroom.joinSuccess ?? slo.objective;
        const peak = peakByEnv.get(env ?? '') ?? 0;
        const enough = peak >= slo.sli.headroom.minSubscribers;
        const joinsOk = ratio + RATIO_EPSILON >= required;
        result.peakSubscribers = peak;
        result.minSubscribers = slo.sli.headroom.minSubscribers;
        result.joinSuccessRequired = required;
        const planLimit = limitByEnv.get(env ?? '');
        if (planLimit !== undefined) result.planLimit = planLimit;
        result.status = enough && joinsOk ? 'met' : 'breached';
        result.budgetRemaining = 1 - (1 - ratio) / (1 - required);
        result.summary =
          `peak ${fmt(peak)} concurrent subscribers (need ≥ ${slo.sli.headroom.minSubscribers}` +
          `${planLimit !== undefined ? `, plan limit ${fmt(planLimit)}` : ''}), ` +
          `join success ${percent(ratio)} (${fmt(good)}/${fmt(total)}, need ≥ ${percent(required)})${where}`;
      }
      return result;
    })
    .sort((a, b) => `${a.env ?? ''}/${a.path ?? ''}`.localeCompare(`${b.env ?? ''}/${b.path ?? ''}`));
}

function fmt(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

export interface EvaluateOptions {
  /** Only judge this environment (the run's env). */
  env?: string;
}

export async function evaluateSlos(
  slos: readonly Slo[],
  source: SliSource,
  options: EvaluateOptions = {},
): Promise<SloVerdict> {
  const results: SloResult[] = [];
  for (const slo of slos) {
    if (options.env !== undefined && slo.envs && !slo.envs.includes(options.env)) continue;
    const scope: SliScope = options.env === undefined ? {} : { env: options.env };
    results.push(...(await evaluateOne(slo, source, scope)));
  }
  return {
    status: results.some((result) => result.status === 'breached') ? 'breached' : 'met',
    source: source.description,
    results,
  };
}

/** Window of an SLO in seconds (for budget arithmetic and rules). */
export function sloWindowSeconds(slo: Slo): number {
  return parseDurationSeconds(slo.window) ?? 0;
}
