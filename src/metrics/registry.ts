/**
 * Builds prom-client instruments for every catalogue entry on a registry the caller owns
 * (no global registry: tests and shards each get their own).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CANARY_VERSION } from '../shared/index.js';
import { catalog, type Catalog, type MetricSpec } from './catalog.js';

type Instrument<S> = S extends { type: 'counter'; labels: readonly (infer L extends string)[] }
  ? Counter<L>
  : S extends { type: 'gauge'; labels: readonly (infer L extends string)[] }
    ? Gauge<L>
    : S extends { type: 'histogram'; labels: readonly (infer L extends string)[] }
      ? Histogram<L>
      : never;

export type CanaryMetrics = { [K in keyof Catalog]: Instrument<Catalog[K]> };

export interface MetricsOptions {
  registry?: Registry;
  /** Also collect prom-client's process and Node.js default metrics (CPU, RSS, event loop). */
  defaultMetrics?: boolean;
  /** Constant labels added to every series (e.g. shard index). */
  defaultLabels?: Record<string, string>;
}

function instrument(spec: MetricSpec, registry: Registry): Counter | Gauge | Histogram {
  const common = { name: spec.name, help: spec.help, labelNames: [...spec.labels], registers: [registry] };
  switch (spec.type) {
    case 'counter':
      return new Counter(common);
    case 'gauge':
      return new Gauge(common);
    case 'histogram':
      return new Histogram({ ...common, buckets: [...(spec.buckets ?? [])] });
  }
}

export function createMetrics(options: MetricsOptions = {}): { registry: Registry; metrics: CanaryMetrics } {
  const registry = options.registry ?? new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  const entries = Object.entries(catalog).map(([key, spec]) => [key, instrument(spec, registry)]);
  // The mapped type is checked per key above; Object.fromEntries loses it.
  const metrics = Object.fromEntries(entries) as CanaryMetrics;
  metrics.buildInfo.set({ version: CANARY_VERSION, node_version: process.version }, 1);
  return { registry, metrics };
}
