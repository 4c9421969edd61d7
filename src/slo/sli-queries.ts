/**
 * What each SLI counts, as series selectors over catalogue metrics, and the PromQL they render to.
 * The in-process evaluator and the Prometheus evaluator both start from `sliSelectors`, and the
 * burn-rate rules from `sliQueries` / `errorRatioQuery`, so there is one definition of "good" and
 * "total" per SLI kind.
 */
import { catalog } from '../metrics/index.js';
import { parseDurationSeconds } from '../shared/duration.js';
import { sliKind, type Slo } from './slo-spec.js';

/** Label matchers: a string is an exact match, a list matches any of its values. */
export type Matchers = Record<string, string | readonly string[]>;

export interface SeriesSelector {
  /** Series name as exposed (histograms: `<name>_bucket` / `<name>_count`). */
  readonly metric: string;
  readonly matchers: Matchers;
}

export interface SliScope {
  env?: string;
  path?: string;
}

export interface SliSelectors {
  good: SeriesSelector;
  total: SeriesSelector;
  /** Labels an SLO is judged per: env, and path for the per-path kinds. */
  groupBy: readonly ('env' | 'path')[];
  /** Headroom only: the peak of concurrently SUBSCRIBED subscribers. */
  peak?: SeriesSelector;
  /** Headroom only: the plan's configured connection limit, to compare the peak with. */
  planLimit?: SeriesSelector;
}

/** Placeholder for the rate window in `sliQueries`; `withWindow` fills it. */
export const WINDOW_PLACEHOLDER = '$window';

/** A bucket bound as Prometheus prints it in `le` (1 → "1", 0.25 → "0.25"). */
function leLabel(durationText: string): string {
  return String(parseDurationSeconds(durationText));
}

function scopeMatchers(slo: Slo, scope: SliScope, perPath: boolean): Matchers {
  const matchers: Record<string, string | readonly string[]> = {};
  if (scope.env !== undefined) matchers.env = scope.env;
  else if (slo.envs) matchers.env = slo.envs;
  if (perPath) {
    if (scope.path !== undefined) matchers.path = scope.path;
    else if (slo.paths) matchers.path = slo.paths;
  }
  return matchers;
}

export function sliSelectors(slo: Slo, scope: SliScope = {}): SliSelectors {
  const sli = slo.sli;
  const kind = sliKind(slo);
  const perPath = kind === 'latency' || kind === 'delivery';
  const base = scopeMatchers(slo, scope, perPath);
  const groupBy = perPath ? (['env', 'path'] as const) : (['env'] as const);
  if ('latency' in sli) {
    const name = catalog.deliveryLatency.name;
    return {
      good: { metric: `${name}_bucket`, matchers: { ...base, le: leLabel(sli.latency.threshold) } },
      total: { metric: `${name}_count`, matchers: base },
      groupBy,
    };
  }
  if ('delivery' in sli) {
    const name = catalog.deliveryOutcomes.name;
    return {
      good: { metric: name, matchers: { ...base, outcome: 'delivered' } },
      total: { metric: name, matchers: base },
      groupBy,
    };
  }
  const total = { metric: catalog.joinAttempts.name, matchers: base };
  const subscribed = {
    metric: catalog.subscriptionTransitions.name,
    matchers: { ...base, status: 'SUBSCRIBED' },
  };
  if ('subscription' in sli) {
    const within = sli.subscription.timeToSubscribed;
    const good = within
      ? { metric: `${catalog.timeToSubscribed.name}_bucket`, matchers: { ...base, le: leLabel(within) } }
      : subscribed;
    return { good, total, groupBy };
  }
  const envOnly: Matchers = base.env === undefined ? {} : { env: base.env };
  return {
    good: subscribed,
    total,
    groupBy,
    peak: { metric: catalog.connectionsPeak.name, matchers: envOnly },
    planLimit: { metric: catalog.connectionLimit.name, matchers: envOnly },
  };
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

function escapeRegex(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `metric{a="b",path=~"x|y"}` */
export function renderSelector(selector: SeriesSelector): string {
  const parts = Object.entries(selector.matchers).map(([label, value]) =>
    typeof value === 'string'
      ? `${label}="${escapeLabelValue(value)}"`
      : `${label}=~"${escapeLabelValue(value.map(escapeRegex).join('|'))}"`,
  );
  return parts.length ? `${selector.metric}{${parts.join(',')}}` : selector.metric;
}

function sumBy(by: readonly string[] | undefined, inner: string): string {
  return by && by.length ? `sum by (${by.join(', ')}) (${inner})` : `sum(${inner})`;
}

export interface QueryOptions {
  /** Group the sums by these labels (e.g. ['env', 'path']); default: one total. */
  by?: readonly string[];
}

/** PromQL for the good and total event rates, with a `[$window]` range placeholder. */
export function sliQueries(
  slo: Slo,
  scope: SliScope = {},
  options: QueryOptions = {},
): { good: string; total: string } {
  const selectors = sliSelectors(slo, scope);
  const rate = (selector: SeriesSelector) =>
    sumBy(options.by, `rate(${renderSelector(selector)}[${WINDOW_PLACEHOLDER}])`);
  return { good: rate(selectors.good), total: rate(selectors.total) };
}

/** Replace the `$window` placeholder with a concrete Prometheus duration. */
export function withWindow(query: string, window: string): string {
  return query.split(WINDOW_PLACEHOLDER).join(window);
}

/**
 * Fraction of bad events over `window`: (total − good) / total. Grouped by the SLO's own labels
 * (env, and path for per-path SLIs) unless `by` says otherwise, so one alert fires per env/path.
 */
export function errorRatioQuery(
  slo: Slo,
  window: string,
  scope: SliScope = {},
  options: QueryOptions = {},
): string {
  const by = options.by ?? sliSelectors(slo, scope).groupBy;
  const { good, total } = sliQueries(slo, scope, { by });
  const t = withWindow(total, window);
  const g = withWindow(good, window);
  // `or … * 0` keeps groups with no good series at all (everything failed) instead of dropping them.
  return `(${t} - (${g} or ${t} * 0)) / ${t}`;
}
