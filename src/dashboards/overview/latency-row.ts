/** Overview row: how fast new assignments reach mechanics, per delivery path. */
import type { MetricCatalog } from '../metric-catalog.js';
import type { RowSpec } from '../panel-spec.js';
import { deliveryLatencyPanel, readinessGapPanel } from '../panels.js';
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
