/** The Harness health dashboard: whether the canary's own numbers can be trusted. */
import { DASHBOARD_TAGS, envVariable } from '../defaults.js';
import type { MetricCatalog } from '../metric-catalog.js';
import type { DashboardSpec } from '../panel-spec.js';
import { buildRow } from './build-row.js';
import { probeRow } from './probe-row.js';
import { saturationRow } from './saturation-row.js';

export function harnessHealthDashboard(metrics: MetricCatalog): DashboardSpec {
  return {
    uid: 'canary-harness-health',
    title: 'Realtime Canary — Harness health',
    description: 'The canary process itself: saturation, probe rounds, build.',
    tags: [...DASHBOARD_TAGS, 'harness'],
    variables: [envVariable(metrics)],
    rows: [saturationRow(metrics), probeRow(metrics), buildRow(metrics)],
  };
}
