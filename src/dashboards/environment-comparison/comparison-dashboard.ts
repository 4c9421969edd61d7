/** The Environment comparison dashboard: two environments on the same panels, side by side. */
import { DASHBOARD_TAGS, envVariable, pathVariable } from '../defaults.js';
import type { MetricCatalog } from '../metric-catalog.js';
import type { DashboardSpec } from '../panel-spec.js';
import { comparisonDeliveryRow } from './delivery-row.js';
import { comparisonLatencyRow } from './latency-row.js';
import { comparisonSubscriptionsRow } from './subscriptions-row.js';

export function environmentComparisonDashboard(metrics: MetricCatalog): DashboardSpec {
  return {
    uid: 'canary-env-comparison',
    title: 'Realtime Canary — Environment comparison',
    description:
      'Same database, different behaviour? Two environments on the same panels, A on the left, B on the right.',
    tags: [...DASHBOARD_TAGS, 'comparison'],
    variables: [
      envVariable(metrics, 'env_a', 'Environment A'),
      envVariable(metrics, 'env_b', 'Environment B'),
      pathVariable(),
    ],
    alertAnnotation: 'ALERTS{alertstate="firing", sli="latency", env=~"$env_a|$env_b"}',
    rows: [
      comparisonLatencyRow(metrics),
      comparisonDeliveryRow(metrics),
      comparisonSubscriptionsRow(metrics),
    ],
  };
}
