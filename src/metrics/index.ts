/**
 * Metrics: the catalogue (every metric's name, help, unit, labels, buckets — the single source
 * the exporter, SLOs, alert rules and dashboards read) and a factory that builds prom-client
 * instruments on a caller-owned Registry, and outputs that push a registry to Prometheus remote
 * write or a Pushgateway (outputs/). Imports shared only.
 */
export * from './catalog.js';
export * from './registry.js';
export * from './harness-health.js';
export * from './metrics-doc.js';
export * from './outputs/index.js';
export * from './outcome-counts.js';
export * from './latency-histogram.js';
