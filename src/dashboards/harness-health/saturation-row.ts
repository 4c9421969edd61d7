/** Harness row: is the canary itself healthy enough for its numbers to be trusted? */
import type { MetricCatalog } from '../metric-catalog.js';
import { UNIT } from '../defaults.js';
import type { RowSpec } from '../panel-spec.js';
import { rate } from '../promql.js';

export function saturationRow(metrics: MetricCatalog): RowSpec {
  return {
    title: 'Saturation',
    panels: [
      {
        title: 'Event-loop lag p99',
        description:
          'p99 event-loop delay over the last sampling window; above the threshold the harness flags itself.',
        visualisation: 'timeseries',
        unit: 's',
        min: 0,
        width: 6,
        queries: [
          {
            expr: `max by (instance) (${metrics.harnessEventLoopLag.name})`,
            legend: '{{instance}}',
            expect: 'data',
          },
        ],
      },
      {
        title: 'CPU (fraction of one core)',
        description: 'Harness process CPU over the last sampling window.',
        visualisation: 'timeseries',
        unit: 'percentunit',
        min: 0,
        width: 6,
        queries: [
          { expr: `max by (instance) (${metrics.harnessCpu.name})`, legend: '{{instance}}', expect: 'data' },
        ],
      },
      {
        title: 'Overloaded',
        description:
          '1 while saturated: measurements are flagged untrusted and symptom alerts are inhibited.',
        visualisation: 'stat',
        unit: UNIT.boolean,
        redAbove: 1,
        width: 6,
        queries: [
          {
            expr: `max by (instance) (${metrics.harnessOverloaded.name})`,
            legend: '{{instance}}',
            expect: 'data',
          },
        ],
      },
      {
        title: 'Untrusted measurements',
        description:
          'Deliveries measured while the harness was overloaded, per path; excluded from latency SLIs.',
        visualisation: 'timeseries',
        unit: UNIT.eventsPerSecond,
        width: 6,
        queries: [
          {
            expr: rate(metrics.untrustedMeasurements.name, { env: '$env' }, ['path']),
            legend: '{{path}}',
            expect: 'maybe-empty',
            emptyWhen: 'the harness was never overloaded',
          },
        ],
      },
    ],
  };
}
