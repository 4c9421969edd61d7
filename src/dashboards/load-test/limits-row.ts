/** Load-test row: what breaks first — the plan's connection cap, join rate limits, or the harness. */
import type { MetricCatalog } from '../metric-catalog.js';
import { UNIT } from '../defaults.js';
import type { PanelSpec, RowSpec } from '../panel-spec.js';
import { connectionHeadroomPanel, subscriptionErrorsPanel } from '../panels.js';

function harnessSaturationPanel(metrics: MetricCatalog): PanelSpec {
  return {
    title: 'Harness saturation during the run',
    description:
      'If the harness is overloaded, the breaking point it found is its own, not the environment\u2019s.',
    visualisation: 'timeseries',
    unit: UNIT.ratio,
    min: 0,
    queries: [
      {
        expr: `max(${metrics.harnessCpu.name}{run_id=~"$run_id"})`,
        legend: 'CPU (share of one core)',
        expect: 'data',
      },
      {
        expr: `max(${metrics.harnessOverloaded.name}{run_id=~"$run_id"})`,
        legend: 'overloaded',
        expect: 'data',
        unit: UNIT.boolean,
      },
    ],
  };
}

export function limitsRow(metrics: MetricCatalog): RowSpec {
  const scope = { env: '$env', run: '$run_id' };
  return {
    title: 'Limits and breaking point',
    panels: [
      subscriptionErrorsPanel(metrics, scope),
      connectionHeadroomPanel(metrics, scope),
      harnessSaturationPanel(metrics),
    ],
  };
}
