/**
 * House defaults every canary dashboard shares: the Prometheus datasource variable, refresh and
 * time range, panel sizes, and the standard `env` and `path` template variables.
 */
import { DELIVERY_PATHS } from '../metrics/index.js';
import type { MetricCatalog } from './metric-catalog.js';
import type { VariableSpec } from './panel-spec.js';

/** Panels query whichever Prometheus the `datasource` variable picks (provisioned default). */
export const DATASOURCE_VARIABLE = 'datasource';
export const DATASOURCE_REF = { type: 'prometheus', uid: `\${${DATASOURCE_VARIABLE}}` } as const;

export const DASHBOARD_TAGS = ['realtime-canary'] as const;
export const REFRESH = '30s';
export const TIME_FROM = 'now-6h';
export const PANEL_HEIGHT = 8;
export const DEFAULT_PANEL_WIDTH = 8;
/**
 * Grafana units. Event rates are events per second (`eps`), HTTP request rates requests per second;
 * `reqps` is kept for real requests (the polling API) only.
 */
export const UNIT = {
  seconds: 's',
  eventsPerSecond: 'eps',
  requestsPerSecond: 'reqps',
  ratio: 'percentunit',
  count: 'short',
  boolean: 'bool',
} as const;

/** The dashboards link to one another through their shared tag. */
export const DASHBOARD_LINK_TITLE = 'Realtime Canary dashboards';

/** Rate windows follow Grafana's scrape-aware interval, so panels work at any scrape interval. */
export const RATE_WINDOW = '$__rate_interval';

/**
 * Environments that have reported an outcome — from a monitor's probe rounds or a pushed load run —
 * so a new env appears without editing dashboards.
 */
export function envVariable(metrics: MetricCatalog, name = 'env', label = 'Environment'): VariableSpec {
  return {
    name,
    label,
    source: { metric: metrics.deliveryOutcomes.name, label: 'env' },
    multi: false,
    includeAll: false,
  };
}

export function pathVariable(): VariableSpec {
  return {
    name: 'path',
    label: 'Delivery path',
    source: { values: DELIVERY_PATHS },
    multi: true,
    includeAll: true,
  };
}
