/** Harness row: are the probes running, and how long do their rounds take? */
import type { MetricCatalog } from '../metric-catalog.js';
import { UNIT } from '../defaults.js';
import type { RowSpec } from '../panel-spec.js';
import { quantile, rate, selector } from '../promql.js';

export function probeRow(metrics: MetricCatalog): RowSpec {
  const env = { env: '$env' };
  return {
    title: 'Probe rounds',
    panels: [
      {
        title: 'Seconds since the last finished round',
        description: 'What the CanaryProbeStale alert watches: it grows when rounds stop finishing.',
        visualisation: 'stat',
        unit: 's',
        redAbove: 300,
        queries: [
          {
            expr: `time() - max by (probe) (${selector(metrics.probeLastRun.name, env)})`,
            legend: '{{probe}}',
            expect: 'data',
          },
        ],
      },
      {
        title: 'Rounds by result',
        description:
          'Completed probe rounds per second, success or failure, and the last round\u2019s verdict.',
        visualisation: 'timeseries',
        unit: UNIT.eventsPerSecond,
        queries: [
          {
            expr: rate(metrics.probeRuns.name, env, ['probe', 'result']),
            legend: '{{result}} {{probe}}',
            expect: 'data',
          },
          {
            expr: `max by (probe) (${selector(metrics.probeSuccess.name, env)})`,
            legend: 'last round succeeded {{probe}}',
            expect: 'data',
            unit: UNIT.boolean,
          },
        ],
      },
      {
        title: 'Round and publish duration p95',
        description: 'Wall time of a round (publish to last outcome) and of submitting one waiver.',
        visualisation: 'timeseries',
        unit: 's',
        queries: [
          {
            expr: quantile(0.95, metrics.probeDuration.name, env, ['probe']),
            legend: 'round {{probe}}',
            expect: 'data',
          },
          {
            expr: quantile(0.95, metrics.publishDuration.name, env, ['mode']),
            legend: 'publish {{mode}}',
            expect: 'data',
          },
        ],
      },
    ],
  };
}
