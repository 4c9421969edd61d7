/** Load-test row: how delivery holds up as the load rises. */
import type { MetricCatalog } from '../metric-catalog.js';
import type { RowSpec } from '../panel-spec.js';
import { deliveryLatencyPanel, dropRatioPanel, timeToSubscribedPanel } from '../panels.js';

export function latencyUnderLoadRow(metrics: MetricCatalog): RowSpec {
  const scope = { env: '$env', path: '$path', run: '$run_id' };
  return {
    title: 'Delivery under load',
    panels: [
      deliveryLatencyPanel(metrics, scope),
      dropRatioPanel(metrics, scope),
      timeToSubscribedPanel(metrics, scope),
    ],
  };
}
