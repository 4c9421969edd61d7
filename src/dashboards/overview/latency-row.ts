/** Overview rows: how fast new assignments reach mechanics, per delivery path. */
import type { MetricCatalog } from '../metric-catalog.js';
import type { RowSpec } from '../panel-spec.js';
import {
  deliveryLatencyPanel,
  LATENCY_HEATMAP_PATHS,
  latencyHeatmapPanel,
  readinessGapPanel,
} from '../panels.js';
import type { Scope } from '../promql.js';

export function latencyRow(metrics: MetricCatalog, scope: Scope): RowSpec {
  return {
    title: 'Delivery latency',
    panels: [
      deliveryLatencyPanel(metrics, scope, { width: 16 }),
      readinessGapPanel(metrics, scope, { width: 8 }),
    ],
  };
}

/** The latency histogram of each path as a heatmap, one per path. */
export function latencyHeatmapRow(metrics: MetricCatalog, scope: Scope): RowSpec {
  return {
    title: 'Latency distribution',
    panels: LATENCY_HEATMAP_PATHS.map((path) =>
      latencyHeatmapPanel(metrics, { env: scope.env ?? '$env' }, path, { width: 8 }),
    ),
  };
}
