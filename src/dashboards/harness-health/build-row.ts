/** Harness row: which harness build is running where. */
import type { MetricCatalog } from '../metric-catalog.js';
import type { RowSpec } from '../panel-spec.js';

export function buildRow(metrics: MetricCatalog): RowSpec {
  return {
    title: 'Build',
    panels: [
      {
        title: 'Harness version',
        description: 'Harness and Node.js versions of every scraped canary process.',
        visualisation: 'stat',
        unit: 'short',
        width: 24,
        queries: [
          {
            expr: `max by (instance, version, node_version) (${metrics.buildInfo.name})`,
            legend: '{{instance}} {{version}} (node {{node_version}})',
            expect: 'data',
          },
        ],
      },
    ],
  };
}
