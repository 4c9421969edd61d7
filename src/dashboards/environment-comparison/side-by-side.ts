/**
 * The comparison dashboard's one layout rule: the same panel twice, environment A on the left and
 * B on the right, so "same database, why does prod differ from dev?" is answered by looking across.
 */
import type { MetricCatalog } from '../metric-catalog.js';
import type { PanelSpec } from '../panel-spec.js';
import type { PanelOptions } from '../panels.js';
import type { Scope } from '../promql.js';

export type PanelFactory = (metrics: MetricCatalog, scope: Scope, options: PanelOptions) => PanelSpec;

export const ENV_A = '$env_a';
export const ENV_B = '$env_b';

export function sideBySide(metrics: MetricCatalog, factory: PanelFactory): PanelSpec[] {
  return [ENV_A, ENV_B].map((env) =>
    factory(metrics, { env, path: '$path' }, { titleSuffix: env, width: 12 }),
  );
}
