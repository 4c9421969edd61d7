/**
 * Every generated dashboard, as specs (for tests that execute their queries) and as the JSON files
 * committed under dashboards/ that Grafana provisions.
 */
import type { Slo } from '../slo/index.js';
import { environmentComparisonDashboard } from './environment-comparison/comparison-dashboard.js';
import { buildDashboard } from './grafana-json.js';
import { harnessHealthDashboard } from './harness-health/harness-health-dashboard.js';
import { loadTestDashboard } from './load-test/load-test-dashboard.js';
import type { MetricCatalog } from './metric-catalog.js';
import { overviewDashboard } from './overview/overview-dashboard.js';
import type { DashboardSpec } from './panel-spec.js';

export const DASHBOARDS_DIR = 'dashboards';

export interface DashboardInput {
  readonly catalog: MetricCatalog;
  readonly slos: readonly Slo[];
}

export function dashboardSpecs(input: DashboardInput): DashboardSpec[] {
  return [
    overviewDashboard(input.catalog, input.slos),
    environmentComparisonDashboard(input.catalog),
    loadTestDashboard(input.catalog),
    harnessHealthDashboard(input.catalog),
  ];
}

export interface GeneratedDashboardFile {
  readonly path: string;
  readonly content: string;
}

export function renderDashboards(input: DashboardInput): GeneratedDashboardFile[] {
  return dashboardSpecs(input).map((spec) => ({
    path: `${DASHBOARDS_DIR}/${spec.uid}.json`,
    content: JSON.stringify(buildDashboard(spec), null, 2) + '\n',
  }));
}
