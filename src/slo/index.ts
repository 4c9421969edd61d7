/**
 * SLOs: the versioned spec (`canary.slo/v1`, loaded from slos/*.yaml), what each SLI counts over
 * catalogue metrics (PromQL for rules and dashboards), and the one evaluator with its two sources —
 * a run's in-process registry and a Prometheus server — which give the same verdict on the same data.
 * Imports metrics, config and shared.
 */
export * from './slo-spec.js';
export * from './sli-queries.js';
export * from './sli-source.js';
export * from './registry-source.js';
export * from './prometheus-source.js';
export * from './evaluate.js';
