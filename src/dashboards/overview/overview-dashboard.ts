/** The Overview dashboard: one environment at a time, every delivery path, every SLO. */
import type { Slo } from '../../slo/index.js';
import { DASHBOARD_TAGS, envVariable, pathVariable } from '../defaults.js';
import type { MetricCatalog } from '../metric-catalog.js';
import type { DashboardSpec } from '../panel-spec.js';
import { errorBudgetRow } from './error-budget-row.js';
import { latencyHeatmapRow, latencyRow } from './latency-row.js';
import { outcomesRow } from './outcomes-row.js';
import { subscriptionsRow } from './subscriptions-row.js';

export function overviewDashboard(metrics: MetricCatalog, slos: readonly Slo[]): DashboardSpec {
  const scope = { env: '$env', path: '$path' };
  return {
    uid: 'canary-overview',
    title: 'Realtime Canary — Overview',
    description: 'Creation-to-delivery of new session assignments per environment and delivery path.',
    tags: [...DASHBOARD_TAGS, 'overview'],
    variables: [envVariable(metrics), pathVariable()],
    alertAnnotation: 'ALERTS{alertstate="firing", sli="latency", env="$env"}',
    rows: [
      latencyRow(metrics, scope),
      latencyHeatmapRow(metrics, scope),
      outcomesRow(metrics, scope),
      errorBudgetRow(slos, { env: '$env' }),
      subscriptionsRow(metrics, scope),
    ],
  };
}
