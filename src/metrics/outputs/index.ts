/**
 * Metric outputs: push a run's registry to Prometheus remote write or a Pushgateway (`--out`).
 */
export * from './remote-write-encoding.js';
export * from './metrics-outputs.js';
