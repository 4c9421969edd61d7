/** Load-test row: what the scenario asked for (subscribers, arrival rate) against what it got. */
import type { MetricCatalog } from '../metric-catalog.js';
import { UNIT } from '../defaults.js';
import type { PanelSpec, RowSpec } from '../panel-spec.js';
import { gaugeSum, rate, type Scope } from '../promql.js';

const NO_LOAD = 'no load scenario ran in the window (probes alone do not set load gauges)';

/** One load run (`$run_id`, All = every run and every scraped series) in one environment. */
const RUN: Scope = { env: '$env', run: '$run_id' };
const RUN_MATCHERS = 'env="$env", scenario=~"$scenario", run_id=~"$run_id"';

function subscriberRampPanel(metrics: MetricCatalog): PanelSpec {
  return {
    title: 'Subscribers: scenario target vs SUBSCRIBED',
    description:
      'The ramp the scenario wants against the subscribers actually SUBSCRIBED; where they part is the limit.',
    visualisation: 'timeseries',
    unit: 'short',
    min: 0,
    width: 12,
    queries: [
      {
        expr: `sum by (scenario) (${metrics.loadTargetSubscribers.name}{${RUN_MATCHERS}})`,
        legend: 'target {{scenario}}',
        expect: 'maybe-empty',
        emptyWhen: NO_LOAD,
      },
      {
        expr: gaugeSum(metrics.subscribersConnected.name, RUN, []),
        legend: 'SUBSCRIBED',
        expect: 'data',
      },
    ],
  };
}

function arrivalRatePanel(metrics: MetricCatalog): PanelSpec {
  return {
    title: 'Waiver arrivals: scenario rate vs published',
    description: 'Events per second the scenario wants against the events the publisher managed to publish.',
    visualisation: 'timeseries',
    unit: UNIT.eventsPerSecond,
    min: 0,
    width: 12,
    queries: [
      {
        expr: `sum by (scenario) (${metrics.loadArrivalRate.name}{${RUN_MATCHERS}})`,
        legend: 'wanted {{scenario}}',
        expect: 'maybe-empty',
        emptyWhen: NO_LOAD,
      },
      {
        expr: rate(metrics.eventsPublished.name, RUN, ['mode']),
        legend: 'published {{mode}}',
        expect: 'data',
      },
      {
        expr: rate(metrics.publishErrors.name, RUN, ['step']),
        legend: 'publish errors {{step}}',
        expect: 'maybe-empty',
        emptyWhen: 'no publication failed',
      },
    ],
  };
}

export function rampRow(metrics: MetricCatalog): RowSpec {
  return { title: 'Load applied', panels: [subscriberRampPanel(metrics), arrivalRatePanel(metrics)] };
}
