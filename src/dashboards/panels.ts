/**
 * Panel factories: one function per kind of panel the canary dashboards show, each taking the
 * catalogue (metric names are never typed here) and a scope of template variables. Rows compose
 * them; the comparison dashboard calls the same factories once per environment.
 */
import { ERROR_BUDGET_REMAINING_RECORD_NAME, sliErrorRecordName } from '../alerts/index.js';
import { DELIVERY_PATHS, type DeliveryPath } from '../metrics/index.js';
import type { Slo } from '../slo/index.js';
import { UNIT } from './defaults.js';
import type { MetricCatalog } from './metric-catalog.js';
import type { PanelSpec } from './panel-spec.js';
import {
  bucketIncrease,
  gaugeMax,
  gaugeSum,
  quantile,
  rate,
  ratioOf,
  selector,
  type Scope,
} from './promql.js';

const QUANTILES = [0.5, 0.95, 0.99] as const;

/** " — $env_a" on comparison dashboards, nothing on single-environment ones. */
export interface PanelOptions {
  readonly titleSuffix?: string;
  readonly width?: number;
}

function titled(title: string, options: PanelOptions): string {
  return options.titleSuffix ? `${title} — ${options.titleSuffix}` : title;
}

/** The panel's environment and run (template variables or fixed values), without the path. */
function envMatcher(scope: Scope): { env?: string; run?: string } {
  return {
    ...(scope.env === undefined ? {} : { env: scope.env }),
    ...(scope.run === undefined ? {} : { run: scope.run }),
  };
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
    unit: UNIT.seconds,
    alertAnnotations: true,
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
    unit: UNIT.eventsPerSecond,
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
    unit: UNIT.ratio,
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
    unit: UNIT.eventsPerSecond,
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
    unit: UNIT.count,
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
    unit: UNIT.eventsPerSecond,
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
    unit: UNIT.eventsPerSecond,
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
    unit: UNIT.seconds,
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
    unit: UNIT.seconds,
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

export function connectionPhasesPanel(
  metrics: MetricCatalog,
  scope: Scope,
  options: PanelOptions = {},
): PanelSpec {
  const env = envMatcher(scope);
  return {
    title: titled('Connection phases p95: tcp, tls, upgrade, join', options),
    description:
      'How long each phase of opening a Realtime connection takes. A slow TLS edge shows in tls, a ' +
      'slow or rate-limited Realtime node in upgrade and join; time to SUBSCRIBED is about their sum.',
    visualisation: 'timeseries',
    unit: UNIT.seconds,
    ...sized(options),
    queries: [
      {
        expr: quantile(0.95, metrics.connectionPhase.name, env, ['phase']),
        legend: '{{phase}}',
        expect: 'maybe-empty',
        emptyWhen: 'no connection opened within the rate window (tls: plain ws:// projects)',
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
    unit: UNIT.seconds,
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
        unit: UNIT.requestsPerSecond,
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
    title: titled('Connection headroom: connected vs plan limit', options),
    description:
      "Concurrent SUBSCRIBED subscribers of all probes of the environment against the plan's Realtime " +
      'connection limit: what CanaryConnectionHeadroomLow watches (its 10-minute peak).',
    visualisation: 'timeseries',
    unit: UNIT.count,
    min: 0,
    ...sized(options),
    queries: [
      {
        expr: gaugeSum(
          metrics.subscribersConnected.name,
          { ...env, ...(scope.run ? { run: scope.run } : {}) },
          ['env'],
        ),
        legend: 'connected',
        expect: 'data',
      },
      {
        // The plan limit belongs to the environment, not to a run.
        expr: gaugeMax(metrics.connectionLimit.name, scope.env === undefined ? {} : { env: scope.env }, [
          'env',
        ]),
        legend: 'limit',
        expect: 'maybe-empty',
        emptyWhen: 'the environment has no connection limit configured',
      },
    ],
  };
}

/** One heatmap of the latency histogram for one delivery path: the whole distribution over time. */
export function latencyHeatmapPanel(
  metrics: MetricCatalog,
  scope: Scope,
  path: DeliveryPath,
  options: PanelOptions = {},
): PanelSpec {
  return {
    title: titled(`Latency heatmap — ${path}`, options),
    description:
      `Deliveries on ${path} per latency bucket over time (the histogram behind the quantiles): a second ` +
      'band or a smear towards the deadline shows what p99 alone hides.',
    visualisation: 'heatmap',
    unit: UNIT.seconds,
    alertAnnotations: true,
    ...sized(options),
    queries: [
      {
        expr: bucketIncrease(metrics.deliveryLatency.name, { ...scope, path }),
        legend: '{{le}}',
        format: 'heatmap',
        // Polling and Broadcast from Database are measured only where a probe selects them.
        expect: path === 'polling' || path === 'db_broadcast' ? 'maybe-empty' : 'data',
        ...(path === 'polling' ? { emptyWhen: 'the probe does not poll' } : {}),
        ...(path === 'db_broadcast'
          ? { emptyWhen: 'no probe measures db_broadcast in this environment (pathsByEnv)' }
          : {}),
      },
    ],
  };
}

/** Per probe and client: are all the subscribers it wants SUBSCRIBED, over time. */
export function subscriptionStatePanel(
  metrics: MetricCatalog,
  scope: Scope,
  options: PanelOptions = {},
): PanelSpec {
  const env = envMatcher(scope);
  const connected = selector(metrics.subscribersConnected.name, env);
  const desired = selector(metrics.subscribersDesired.name, env);
  return {
    title: titled('Subscription state', options),
    description:
      'Per probe and client kind: green while every wanted subscriber is SUBSCRIBED, red while some are ' +
      'not (CHANNEL_ERROR, TIMED_OUT, CLOSED or still joining) — when the gaps began and how long they lasted.',
    visualisation: 'state-timeline',
    unit: UNIT.count,
    states: [
      { value: 1, text: 'all SUBSCRIBED', color: 'green' },
      { value: 0, text: 'subscribers missing', color: 'red' },
    ],
    ...sized(options),
    queries: [
      {
        expr: `min by (probe, client) (${connected} >= bool ${desired})`,
        legend: '{{probe}} {{client}}',
        expect: 'data',
      },
    ],
  };
}

export const LATENCY_HEATMAP_PATHS: readonly DeliveryPath[] = DELIVERY_PATHS;

/**
 * Budget left over the SLO's window, from the recording rule (prometheus/rules/canary-slo.rules.yaml):
 * the dashboard never evaluates a 28-day range itself.
 */
export function errorBudgetPanel(slo: Slo, scope: Scope, options: PanelOptions = {}): PanelSpec {
  const env = scope.env === undefined ? '' : `, env="${scope.env}"`;
  return {
    title: titled(`Error budget remaining — ${slo.name}`, options),
    description: `${slo.description} Objective ${slo.objective} over ${slo.window}; 100% = untouched, below 0 = exhausted.`,
    visualisation: 'stat',
    unit: UNIT.ratio,
    redBelow: 0,
    ...sized(options),
    queries: [
      {
        expr: `${ERROR_BUDGET_REMAINING_RECORD_NAME}{slo="${slo.name}"${env}}`,
        legend: '{{path}}',
        expect: 'data',
      },
    ],
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
    unit: UNIT.count,
    min: 0,
    ...sized(options),
    queries: (['1h', '6h', '3d'] as const).map((window) => ({
      expr: burn(window),
      legend: `${window} {{path}}`,
      expect: 'data' as const,
    })),
  };
}
