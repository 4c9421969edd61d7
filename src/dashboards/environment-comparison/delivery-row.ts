/** Comparison row: outcomes and drops, A beside B. */
import type { MetricCatalog } from '../metric-catalog.js';
import type { RowSpec } from '../panel-spec.js';
import { dropRatioPanel, outcomeRatesPanel } from '../panels.js';
import { sideBySide } from './side-by-side.js';

export function comparisonDeliveryRow(metrics: MetricCatalog): RowSpec {
  return {
    title: 'Delivered, late and dropped: A vs B',
    panels: [...sideBySide(metrics, outcomeRatesPanel), ...sideBySide(metrics, dropRatioPanel)],
  };
}
