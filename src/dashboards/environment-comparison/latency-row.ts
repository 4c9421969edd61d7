/** Comparison row: latency per path and readiness gap, A beside B. */
import type { MetricCatalog } from '../metric-catalog.js';
import type { RowSpec } from '../panel-spec.js';
import { deliveryLatencyPanel, readinessGapPanel } from '../panels.js';
import { sideBySide } from './side-by-side.js';

export function comparisonLatencyRow(metrics: MetricCatalog): RowSpec {
  return {
    title: 'Latency: A vs B',
    panels: [...sideBySide(metrics, deliveryLatencyPanel), ...sideBySide(metrics, readinessGapPanel)],
  };
}
