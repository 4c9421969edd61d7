/**
 * Panel factories: one function per kind of panel the canary dashboards show, each taking the
 * catalogue (metric names are never typed here) and a scope of template variables. Rows compose
 * them; the comparison dashboard calls the same factories once per environment.
 */
import { sliErrorRecordName } from '../alerts/index.js';
import { errorRatioQuery, type Slo } from '../slo/index.js';
import type { MetricCatalog } from './metric-catalog.js';
import type { PanelSpec } from './panel-spec.js';
import { gaugeMax, gaugeSum, quantile, rate, ratioOf, type Scope } from './promql.js';

const QUANTILES = [0.5, 0.95, 0.99] as const;

/** " — $env_a" on comparison dashboards, nothing on single-environment ones. */
export interface PanelOptions {
  readonly titleSuffix?: string;
  readonly width?: number;
}

function titled(title: string, options: PanelOptions): string {
  return options.titleSuffix ? `${title} — ${options.titleSuffix}` : title;
}

/** Label matchers for the panel's environment (a template variable or a fixed name), if any. */
function envMatcher(scope: Scope): { env?: string } {
  return scope.env === undefined ? {} : { env: scope.env };
}

function sized(options: PanelOptions): { width?: number } {
  return options.width === undefined ? {} : { width: options.width };
}

export function deliveryLatencyPanel(
  metrics: MetricCatalog,
  scope: Scope,
  options: PanelOptions = {},
): PanelSpec {
  return {
    title: titled('Delivery latency p50 / p95 / p99 by path', options),
    description:
      'Publish-to-receive latency on the harness monotonic clock, per delivery path. Compare postgres_changes ' +
      'with broadcast: a gap between them is the broadcast-vs-postgres_changes race the audit suspected.',
    visualisation: 'timeseries',
    unit: 's',
    ...sized(options),
    queries: QUANTILES.map((q) => ({
      expr: quantile(q, metrics.deliveryLatency.name, scope, ['path']),
      legend: `p${q * 100} {{path}}`,
      expect: 'data' as const,
    })),
  };
}

export function outcomeRatesPanel(
  metrics: MetricCatalog,
  scope: Scope,
  options: PanelOptions = {},
): PanelSpec {
  return {
    title: titled('Delivered / late / dropped per second', options),
    description:
      'Final outcome of every (event, subscriber, path): delivered within the deadline, late, or dropped.',
    visualisation: 'timeseries',
    unit: 'reqps',
    stacked: true,
    ...sized(options),
    queries: [
      {
        expr: rate(metrics.deliveryOutcomes.name, scope, ['path', 'outcome']),
        legend: '{{outcome}} {{path}}',
        expect: 'data',
      },
    ],
  };
}

export function dropRatioPanel(metrics: MetricCatalog, scope: Scope, options: PanelOptions = {}): PanelSpec {
  return {
    title: titled('Dropped share by path', options),
    description:
      'Dropped outcomes as a share of all outcomes: events a mechanic on that path alone would never see.',
    visualisation: 'timeseries',
    unit: 'percentunit',
    min: 0,
    max: 1,
    ...sized(options),
    queries: [
      {
        expr: ratioOf(metrics.deliveryOutcomes.name, scope, ['path'], 'outcome', 'dropped'),
        legend: '{{path}}',
        expect: 'data',
      },
    ],
  };
}

export function duplicatesPanel(metrics: MetricCatalog, scope: Scope, options: PanelOptions = {}): PanelSpec {
  return {
    title: titled('Duplicates and out-of-order deliveries', options),
    description: 'Deliveries of an event already seen, and deliveries overtaken by a later event, per path.',
    visualisation: 'timeseries',
    unit: 'reqps',
    ...sized(options),
    queries: [
      {
        expr: rate(metrics.duplicates.name, scope, ['path']),
        legend: 'duplicate {{path}}',
        expect: 'maybe-empty',
        emptyWhen: 'no path has delivered an event twice yet',
      },
      {
        expr: rate(metrics.outOfOrder.name, scope, ['path']),
        legend: 'out of order {{path}}',
        expect: 'maybe-empty',
        emptyWhen: 'every delivery arrived in publish order',
      },
    ],
  };
}

export function subscribersPanel(
  metrics: MetricCatalog,
  scope: Scope,
  options: PanelOptions = {},
): PanelSpec {
  const env = envMatcher(scope);
  return {
    title: titled('Subscribers connected vs desired', options),
    description:
      'Mechanic subscribers currently SUBSCRIBED against the number the probe wants, per client kind.',
    visualisation: 'timeseries',
    unit: 'short',
    min: 0,
    ...sized(options),
    queries: [
      {
        expr: gaugeSum(metrics.subscribersConnected.name, env, ['client']),
        legend: 'connected {{client}}',
        expect: 'data',
      },
      {
        expr: gaugeSum(metrics.subscribersDesired.name, env, ['client']),
        legend: 'desired {{client}}',
        expect: 'data',
      },
    ],
  };
}

export function subscriptionStatusPanel(
  metrics: MetricCatalog,
  scope: Scope,
  options: PanelOptions = {},
): PanelSpec {
  const env = envMatcher(scope);
  return {
    title: titled('Subscription status transitions', options),
    description:
      'SUBSCRIBED, CHANNEL_ERROR, TIMED_OUT and CLOSED as the client reported them — the statuses the audit asked to ' +
      'look for in the browser console.',
    visualisation: 'timeseries',
    unit: 'reqps',
    ...sized(options),
    queries: [
      {
        expr: rate(metrics.subscriptionTransitions.name, env, ['status', 'client']),
        legend: '{{status}} {{client}}',
        expect: 'data',
      },
    ],
  };
}

export function subscriptionErrorsPanel(
  metrics: MetricCatalog,
  scope: Scope,
  options: PanelOptions = {},
): PanelSpec {
  const env = envMatcher(scope);
  return {
    title: titled('Subscription errors by reason', options),
    description:
      'Supabase error strings mapped to a small fixed set of reasons (auth, rate_limit, connection_limit, …).',
    visualisation: 'timeseries',
    unit: 'reqps',
    ...sized(options),
    queries: [
      {
        expr: rate(metrics.subscriptionErrors.name, env, ['reason']),
        legend: '{{reason}}',
        expect: 'maybe-empty',
        emptyWhen: 'no subscription has failed',
      },
      {
        expr: rate(metrics.reconnects.name, env, []),
        legend: 'reconnects',
        expect: 'maybe-empty',
        emptyWhen: 'no subscriber has lost SUBSCRIBED',
      },
    ],
  };
}

export function readinessGapPanel(
  metrics: MetricCatalog,
  scope: Scope,
  options: PanelOptions = {},
): PanelSpec {
  const env = envMatcher(scope);
  return {
    title: titled('Readiness gap: SUBSCRIBED → first deliverable change', options),
    description:
      'Time between the client saying SUBSCRIBED and the first change it could actually receive; changes written ' +
      'in between are lost to that subscriber.',
    visualisation: 'timeseries',
    unit: 's',
    ...sized(options),
    queries: [0.5, 0.95].map((q) => ({
      expr: quantile(q, metrics.readinessGap.name, env, ['path']),
      legend: `p${q * 100} {{path}}`,
      expect: 'maybe-empty' as const,
      emptyWhen: 'no subscriber (re)joined within the rate window',
    })),
  };
}

export function timeToSubscribedPanel(
  metrics: MetricCatalog,
  scope: Scope,
  options: PanelOptions = {},
): PanelSpec {
  const env = envMatcher(scope);
  return {
    title: titled('Time to SUBSCRIBED p95', options),
    description: 'From subscribe() to SUBSCRIBED, per client kind.',
    visualisation: 'timeseries',
    unit: 's',
    ...sized(options),
    queries: [
      {
        expr: quantile(0.95, metrics.timeToSubscribed.name, env, ['client']),
        legend: '{{client}}',
        expect: 'maybe-empty',
        emptyWhen: 'no subscriber joined within the rate window',
      },
    ],
  };
}

export function pollingStalenessPanel(
  metrics: MetricCatalog,
  scope: Scope,
  options: PanelOptions = {},
): PanelSpec {
  const env = envMatcher(scope);
  return {
    title: titled('Polling fallback: snapshot staleness and cacheable responses', options),
    description:
      'Age of the queue snapshot /api/mechanic/queue returned, and responses whose headers allow caching ' +
      '(a CDN or browser could serve a stale queue).',
    visualisation: 'timeseries',
    unit: 's',
    ...sized(options),
    queries: [
      {
        expr: quantile(0.95, metrics.pollStaleness.name, env, []),
        legend: 'p95 staleness',
        expect: 'maybe-empty',
        emptyWhen: 'the probe does not poll, or no poll found a newer assignment in the window',
      },
      {
        expr: rate(metrics.pollCacheable.name, env, []),
        legend: 'cacheable responses/s',
        expect: 'maybe-empty',
        emptyWhen: 'every queue response said no-store',
      },
    ],
  };
}

export function connectionHeadroomPanel(
  metrics: MetricCatalog,
  scope: Scope,
  options: PanelOptions = {},
): PanelSpec {
  const env = envMatcher(scope);
  return {
    title: titled('Connection headroom: peak vs plan limit', options),
    description: "Highest concurrent SUBSCRIBED subscribers against the plan's Realtime connection limit.",
    visualisation: 'timeseries',
    unit: 'short',
    min: 0,
    ...sized(options),
    queries: [
      { expr: gaugeMax(metrics.connectionsPeak.name, env, ['env']), legend: 'peak', expect: 'data' },
      {
        expr: gaugeMax(metrics.connectionLimit.name, env, ['env']),
        legend: 'limit',
        expect: 'maybe-empty',
        emptyWhen: 'the environment has no connection limit configured',
      },
    ],
  };
}

/** 1 − the SLO error ratio over its window divided by the budget, per path (or env). */
export function errorBudgetPanel(slo: Slo, scope: Scope, options: PanelOptions = {}): PanelSpec {
  const budget = Number((1 - slo.objective).toFixed(10));
  const ratio = errorRatioQuery(slo, slo.window, scope.env === undefined ? {} : { env: scope.env });
  return {
    title: titled(`Error budget remaining — ${slo.name}`, options),
    description: `${slo.description} Objective ${slo.objective} over ${slo.window}; 100% = untouched, below 0 = exhausted.`,
    visualisation: 'stat',
    unit: 'percentunit',
    redBelow: 0,
    ...sized(options),
    queries: [{ expr: `1 - (${ratio}) / ${budget}`, legend: '{{path}}', expect: 'data' }],
  };
}

/** Burn rate from the recording rules (prometheus/rules/canary-slo.rules.yaml). */
export function burnRatePanel(slo: Slo, scope: Scope, options: PanelOptions = {}): PanelSpec {
  const budget = Number((1 - slo.objective).toFixed(10));
  const env = scope.env === undefined ? '' : `, env="${scope.env}"`;
  const burn = (window: '1h' | '6h' | '3d'): string =>
    `${sliErrorRecordName(window)}{slo="${slo.name}"${env}} / ${budget}`;
  return {
    title: titled(`Burn rate — ${slo.name}`, options),
    description:
      'Error ratio divided by the error budget (1 = spending exactly the budget). Pages above 14.4 (1h) or 6 (6h), ' +
      'tickets above 1 (3d).',
    visualisation: 'timeseries',
    unit: 'short',
    min: 0,
    ...sized(options),
    queries: (['1h', '6h', '3d'] as const).map((window) => ({
      expr: burn(window),
      legend: `${window} {{path}}`,
      expect: 'data' as const,
    })),
  };
}
