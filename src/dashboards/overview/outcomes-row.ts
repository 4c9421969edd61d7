/** Overview row: what became of every event — delivered, late, dropped, duplicated. */
import type { MetricCatalog } from '../metric-catalog.js';
import type { RowSpec } from '../panel-spec.js';
import { dropRatioPanel, duplicatesPanel, outcomeRatesPanel } from '../panels.js';
import type { Scope } from '../promql.js';

export function outcomesRow(metrics: MetricCatalog, scope: Scope): RowSpec {
  return {
    title: 'Delivered, late and dropped',
    panels: [
      outcomeRatesPanel(metrics, scope),
      dropRatioPanel(metrics, scope),
      duplicatesPanel(metrics, scope),
    ],
  };
}
