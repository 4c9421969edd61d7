/** Comparison row: subscriber health and fallbacks, A beside B. */
import type { MetricCatalog } from '../metric-catalog.js';
import type { RowSpec } from '../panel-spec.js';
import {
  connectionHeadroomPanel,
  connectionPhasesPanel,
  pollingStalenessPanel,
  subscribersPanel,
  subscriptionErrorsPanel,
  subscriptionStatusPanel,
} from '../panels.js';
import { sideBySide } from './side-by-side.js';

export function comparisonSubscriptionsRow(metrics: MetricCatalog): RowSpec {
  return {
    title: 'Subscriptions and fallbacks: A vs B',
    panels: [
      ...sideBySide(metrics, subscribersPanel),
      ...sideBySide(metrics, subscriptionStatusPanel),
      ...sideBySide(metrics, subscriptionErrorsPanel),
      ...sideBySide(metrics, connectionPhasesPanel),
      ...sideBySide(metrics, connectionHeadroomPanel),
      ...sideBySide(metrics, pollingStalenessPanel),
    ],
  };
}
