/**
 * Alerts: Prometheus recording and alerting rules generated from the SLO specs (src/slo) and the
 * metric catalogue (src/metrics) — burn-rate alerts per SLO plus the canary's health alerts, each
 * with a severity and a runbook link into docs/runbooks.md. Imports slo, metrics and shared.
 */
export * from './rule-model.js';
export * from './runbook-link.js';
export * from './health-rules.js';
export * from './auth-rules.js';
export * from './burn-rate-rules.js';
export * from './rule-file-render.js';
export * from './rule-files.js';
