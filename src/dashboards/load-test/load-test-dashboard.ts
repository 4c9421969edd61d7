/** The Load test run dashboard: load applied, delivery under it, and what limit was hit. */
import { DASHBOARD_TAGS, envVariable, pathVariable } from '../defaults.js';
import type { MetricCatalog } from '../metric-catalog.js';
import type { DashboardSpec } from '../panel-spec.js';
import { latencyUnderLoadRow } from './latency-under-load-row.js';
import { limitsRow } from './limits-row.js';
import { rampRow } from './ramp-row.js';

export function loadTestDashboard(metrics: MetricCatalog): DashboardSpec {
  return {
    uid: 'canary-load-test',
    title: 'Realtime Canary — Load test run',
    description:
      'A `canary load` scenario: the ramp it applied, how delivery held up, and the limit it ran into.',
    tags: [...DASHBOARD_TAGS, 'load'],
    variables: [
      envVariable(metrics),
      {
        name: 'scenario',
        label: 'Scenario',
        source: { metric: metrics.loadTargetSubscribers.name, label: 'scenario' },
        multi: true,
        includeAll: true,
      },
      {
        // Pushed runs (`canary load --out …`) carry run_id; All also shows scraped runs.
        name: 'run_id',
        label: 'Run',
        source: { metric: metrics.loadTargetSubscribers.name, label: 'run_id' },
        multi: true,
        includeAll: true,
      },
      pathVariable(),
    ],
    alertAnnotation: 'ALERTS{alertstate="firing", sli="latency", env="$env"}',
    rows: [rampRow(metrics), latencyUnderLoadRow(metrics), limitsRow(metrics)],
  };
}
