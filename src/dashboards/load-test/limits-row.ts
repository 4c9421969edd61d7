/** Load-test row: what breaks first — the plan's connection cap, join rate limits, or the harness. */
import type { MetricCatalog } from '../metric-catalog.js';
import type { PanelSpec, RowSpec } from '../panel-spec.js';
import { connectionHeadroomPanel, subscriptionErrorsPanel } from '../panels.js';

function harnessSaturationPanel(metrics: MetricCatalog): PanelSpec {
  return {
    title: 'Harness saturation during the run',
    description:
      'If the harness is overloaded, the breaking point it found is its own, not the environment\u2019s.',
    visualisation: 'timeseries',
    unit: 'short',
    min: 0,
    queries: [
      { expr: `max(${metrics.harnessOverloaded.name})`, legend: 'overloaded (0/1)', expect: 'data' },
      { expr: `max(${metrics.harnessCpu.name})`, legend: 'CPU (cores)', expect: 'data' },
    ],
  };
}

export function limitsRow(metrics: MetricCatalog): RowSpec {
  const scope = { env: '$env' };
  return {
    title: 'Limits and breaking point',
    panels: [
      subscriptionErrorsPanel(metrics, scope),
      connectionHeadroomPanel(metrics, scope),
      harnessSaturationPanel(metrics),
    ],
  };
}
