/**
 * Dashboards: Grafana dashboards as code — panel factories over the metric catalogue and the SLO
 * specs, one file per row, built into classic Grafana JSON with the foundation SDK and committed
 * under dashboards/. Imports alerts (recording-rule names), slo, metrics and shared.
 */
export * from './panel-spec.js';
export * from './metric-catalog.js';
export * from './defaults.js';
export * from './promql.js';
export * from './panels.js';
export * from './grafana-json.js';
export * from './dashboard-files.js';
