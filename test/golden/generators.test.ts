/**
 * Golden tests for the generators: each `in-*` file here goes through a generator and must give
 * its `out-*` file byte for byte. After an intended change, regenerate with
 * `UPDATE_GOLDEN=1 npx vitest run test/golden` and review the diff.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  HEALTH_RULES_PATH,
  SLO_RULES_PATH,
  renderAlertRules,
  type HealthThresholds,
} from '../../src/alerts/index.js';
import { renderDashboards } from '../../src/dashboards/index.js';
import { catalog } from '../../src/metrics/index.js';
import { loadSloFile } from '../../src/slo/index.js';

const here = import.meta.dirname;
const update = process.env.UPDATE_GOLDEN === '1';

function expectGolden(name: string, actual: string): void {
  const file = path.join(here, name);
  if (update) fs.writeFileSync(file, actual);
  expect(fs.existsSync(file), `${name} is missing: run with UPDATE_GOLDEN=1`).toBe(true);
  expect(actual).toBe(fs.readFileSync(file, 'utf8'));
}

const slos = loadSloFile(path.join(here, 'in-slos.yaml')).slos;
const thresholds = JSON.parse(
  fs.readFileSync(path.join(here, 'in-health-thresholds.json'), 'utf8'),
) as HealthThresholds;

describe('golden files', () => {
  it('in-slos.yaml gives out-canary-slo.rules.yaml', () => {
    const files = renderAlertRules({
      catalog,
      slos,
      runbookBase: 'https://git.example.com/ops/canary/blob/main/docs/runbooks.md',
    });
    expectGolden('out-canary-slo.rules.yaml', files.find((f) => f.path === SLO_RULES_PATH)?.content ?? '');
  });

  it('in-health-thresholds.json gives out-canary-health.rules.yaml', () => {
    const files = renderAlertRules({
      catalog,
      slos,
      thresholds,
      runbookBase: 'https://runbooks.example.com/canary',
    });
    expectGolden(
      'out-canary-health.rules.yaml',
      files.find((f) => f.path === HEALTH_RULES_PATH)?.content ?? '',
    );
  });

  it('in-slos.yaml gives out-canary-overview.json', () => {
    const files = renderDashboards({ catalog, slos });
    expectGolden(
      'out-canary-overview.json',
      files.find((f) => f.path === 'dashboards/canary-overview.json')?.content ?? '',
    );
  });
});
