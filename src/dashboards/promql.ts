/**
 * PromQL shapes the panels repeat — rates, quantiles, gauge sums — over metric names handed in
 * from the catalogue. Scopes hold template-variable references (`$env`, `$path`), so the same
 * factory serves the overview (`$env`) and the comparison dashboard (`$env_a`, `$env_b`).
 */
import { RATE_WINDOW } from './defaults.js';

export interface Scope {
  /** Exact-match value for the `env` label, usually a variable reference such as `$env`. */
  readonly env?: string;
  /** Regex value for the `path` label (multi-value variables expand to `(a|b)`). */
  readonly path?: string;
  /**
   * Regex value for the `run_id` label of pushed runs (`$run_id`; All = `.*`, which also matches
   * scraped series, which have no run_id).
   */
  readonly run?: string;
}

/** Extra exact-match label filters, e.g. `{ outcome: 'dropped' }`. */
export type Equals = Readonly<Record<string, string>>;

export function selector(metric: string, scope: Scope = {}, equals: Equals = {}): string {
  const parts: string[] = [];
  if (scope.env !== undefined) parts.push(`env="${scope.env}"`);
  if (scope.path !== undefined) parts.push(`path=~"${scope.path}"`);
  if (scope.run !== undefined) parts.push(`run_id=~"${scope.run}"`);
  for (const [label, value] of Object.entries(equals)) parts.push(`${label}="${value}"`);
  return parts.length ? `${metric}{${parts.join(', ')}}` : metric;
}

function sumBy(by: readonly string[], inner: string): string {
  return by.length ? `sum by (${by.join(', ')}) (${inner})` : `sum(${inner})`;
}

/** Per-second rate of a counter, summed by `by`. */
export function rate(metric: string, scope: Scope, by: readonly string[], equals: Equals = {}): string {
  return sumBy(by, `rate(${selector(metric, scope, equals)}[${RATE_WINDOW}])`);
}

/** A quantile of a histogram (the `_bucket` series of `histogram`), per `by`. */
export function quantile(q: number, histogram: string, scope: Scope, by: readonly string[]): string {
  return `histogram_quantile(${q}, ${sumBy(['le', ...by], `rate(${selector(`${histogram}_bucket`, scope)}[${RATE_WINDOW}])`)})`;
}

export function gaugeSum(metric: string, scope: Scope, by: readonly string[], equals: Equals = {}): string {
  return sumBy(by, selector(metric, scope, equals));
}

export function gaugeMax(metric: string, scope: Scope, by: readonly string[]): string {
  return by.length
    ? `max by (${by.join(', ')}) (${selector(metric, scope)})`
    : `max(${selector(metric, scope)})`;
}

/** Histogram buckets per `le` for a heatmap: the count that landed in each bucket per interval. */
export function bucketIncrease(histogram: string, scope: Scope, equals: Equals = {}): string {
  return `sum by (le) (increase(${selector(`${histogram}_bucket`, scope, equals)}[${RATE_WINDOW}]))`;
}

/** Share of events with the given label value among all, per `by` (0 when none matched yet). */
export function ratioOf(
  metric: string,
  scope: Scope,
  by: readonly string[],
  label: string,
  value: string,
): string {
  const part = rate(metric, scope, by, { [label]: value });
  const all = rate(metric, scope, by);
  return `(${part} or ${all} * 0) / ${all}`;
}
