/** Overview row: are the subscribers connected, what statuses and errors they report, headroom. */
import type { MetricCatalog } from '../metric-catalog.js';
import type { RowSpec } from '../panel-spec.js';
import {
  connectionHeadroomPanel,
  connectionPhasesPanel,
  pollingStalenessPanel,
  subscribersPanel,
  subscriptionErrorsPanel,
  subscriptionStatePanel,
  subscriptionStatusPanel,
  timeToSubscribedPanel,
} from '../panels.js';
import type { Scope } from '../promql.js';

export function subscriptionsRow(metrics: MetricCatalog, scope: Scope): RowSpec {
  return {
    title: 'Subscriptions and fallbacks',
    panels: [
      subscriptionStatePanel(metrics, scope, { width: 24 }),
      subscribersPanel(metrics, scope),
      subscriptionStatusPanel(metrics, scope),
      subscriptionErrorsPanel(metrics, scope),
      timeToSubscribedPanel(metrics, scope),
      connectionPhasesPanel(metrics, scope),
      connectionHeadroomPanel(metrics, scope),
      pollingStalenessPanel(metrics, scope),
    ],
  };
}
