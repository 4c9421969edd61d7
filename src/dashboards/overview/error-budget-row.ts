/** Overview row: each burn-rate-alerted SLO's error budget remaining and its burn rate. */
import { ALERTED_SLI_KINDS } from '../../alerts/index.js';
import { sliKind, type Slo, type SliKind } from '../../slo/index.js';
import type { RowSpec } from '../panel-spec.js';
import { burnRatePanel, errorBudgetPanel } from '../panels.js';
import type { Scope } from '../promql.js';

export function errorBudgetRow(slos: readonly Slo[], scope: Scope): RowSpec {
  const alerted = slos.filter((slo) => (ALERTED_SLI_KINDS as readonly SliKind[]).includes(sliKind(slo)));
  return {
    title: 'Error budgets',
    panels: alerted.flatMap((slo) => [
      errorBudgetPanel(slo, scope, { width: 8 }),
      burnRatePanel(slo, scope, { width: 16 }),
    ]),
  };
}
