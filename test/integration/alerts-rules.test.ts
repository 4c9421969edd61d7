/**
 * The generated Prometheus rules: promtool accepts them, their promtool unit tests pass and cover
 * every alert both firing and quiet, every alert carries what an on-call person needs, the
 * committed files are what `canary generate` produces, and the generator really reads the catalogue.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  HEALTH_RULES_PATH,
  OBJECTIVE_RECORD_NAME,
  SLI_WINDOWS,
  SLO_RULES_PATH,
  alertRuleFiles,
  isAlertingRule,
  renderAlertRules,
  runbookAnchor,
  sliErrorRecordName,
  type AlertingRule,
} from '../../src/alerts/index.js';
import { defaultRunbookBase } from '../../src/cli/commands/generate.js';
import { allMetrics, catalog } from '../../src/metrics/index.js';
import { loadSloFile } from '../../src/slo/index.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const ruleFiles = [SLO_RULES_PATH, HEALTH_RULES_PATH].map((file) => path.join(root, file));
const promtoolTests = fs
  .readdirSync(path.join(root, 'prometheus/tests'))
  .filter((name) => name.endsWith('.test.yaml'))
  .map((name) => path.join(root, 'prometheus/tests', name));

/** A tool from the Debian packages; missing is a failure under CI and a skip elsewhere. */
function tool(name: string): string | undefined {
  const found = (process.env.PATH ?? '')
    .split(path.delimiter)
    .map((dir) => path.join(dir, name))
    .find((candidate) => fs.existsSync(candidate));
  if (!found && process.env.CI === 'true') {
    throw new Error(`${name} is required under CI=true: apt-get install prometheus (see .ci/run)`);
  }
  return found;
}

const promtool = tool('promtool');
const slos = loadSloFile(path.join(root, 'slos/delivery.yaml')).slos;

const runbookBase = defaultRunbookBase() ?? '';

function generatedAlerts(): AlertingRule[] {
  return alertRuleFiles({ catalog, slos, runbookBase })
    .flatMap((file) => file.groups)
    .flatMap((group) => group.rules)
    .filter(isAlertingRule);
}

describe.skipIf(!promtool)('promtool', () => {
  it('accepts the generated rule files', async () => {
    const { stdout } = await run(promtool as string, ['check', 'rules', ...ruleFiles]);
    expect(stdout).toContain('SUCCESS');
    expect(stdout).not.toContain('FAILED');
  });

  it('passes the unit tests in prometheus/tests', async () => {
    const result = await run(promtool as string, ['test', 'rules', ...promtoolTests], { cwd: root }).catch(
      (error: { stdout?: string; stderr?: string }) => {
        throw new Error(`promtool test rules failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
      },
    );
    expect(result.stdout.match(/SUCCESS/g)).toHaveLength(promtoolTests.length);
  }, 240_000);
});

describe('the promtool unit tests', () => {
  interface AlertCase {
    alertname: string;
    exp_alerts?: unknown[];
  }
  const cases: AlertCase[] = promtoolTests.flatMap((file) => {
    const doc = parse(fs.readFileSync(file, 'utf8')) as { tests: { alert_rule_test?: AlertCase[] }[] };
    return doc.tests.flatMap((test) => test.alert_rule_test ?? []);
  });

  it('cover every generated alert both firing and quiet', () => {
    const alerts = generatedAlerts().map((rule) => rule.alert);
    expect(alerts.length).toBeGreaterThanOrEqual(11);
    const uncovered = [...new Set(alerts)].flatMap((alert) => {
      const mine = cases.filter((c) => c.alertname === alert);
      const problems: string[] = [];
      if (!mine.some((c) => (c.exp_alerts ?? []).length > 0)) problems.push(`${alert}: no firing case`);
      if (!mine.some((c) => (c.exp_alerts ?? []).length === 0)) problems.push(`${alert}: no quiet case`);
      return problems;
    });
    expect(uncovered).toEqual([]);
  });
});

describe('every generated alert', () => {
  const runbooks = fs.readFileSync(path.join(root, 'docs/runbooks.md'), 'utf8');
  const anchors = new Set(
    [...runbooks.matchAll(/^##+ (.+)$/gm)].map((match) => runbookAnchor(match[1] as string)),
  );

  it.each(generatedAlerts().map((rule) => [rule.alert, rule] as const))(
    '%s has a summary, a description quoting its value, a severity and an absolute runbook link to a section',
    (name, rule) => {
      expect(rule.annotations.summary.length).toBeGreaterThan(10);
      expect(rule.annotations.description).toContain('{{ $value');
      expect(['critical', 'warning', 'info']).toContain(rule.labels.severity);
      const link = new URL(rule.annotations.runbook_url);
      expect(link.protocol).toBe('https:');
      expect(`${link.origin}${link.pathname}`).toBe(runbookBase);
      expect(anchors, `docs/runbooks.md needs a section for ${name} (${link.hash})`).toContain(
        link.hash.slice(1),
      );
    },
  );

  it('names are unique: no two SLOs share an alert', () => {
    const names = generatedAlerts().map((rule) => rule.alert);
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((name, index) => names.indexOf(name) !== index)).toEqual([]);
  });

  it('is explained in runbooks that name only metrics that exist', () => {
    const known = new Set([
      ...allMetrics.flatMap((metric) =>
        metric.type === 'histogram'
          ? [metric.name, `${metric.name}_bucket`, `${metric.name}_count`]
          : [metric.name],
      ),
      ...SLI_WINDOWS.map(sliErrorRecordName),
      OBJECTIVE_RECORD_NAME,
    ]);
    const named = [...runbooks.matchAll(/\bcanary_[a-z0-9_:]*[a-z0-9]/g)].map((match) => match[0]);
    expect(named.length).toBeGreaterThan(10);
    expect([...new Set(named.filter((name) => !known.has(name)))]).toEqual([]);
  });

  it("pages for fast SLO burns, the dead man's switch and a mechanic token running out unrenewed only", () => {
    const pages = generatedAlerts().filter((rule) => rule.labels.severity === 'critical');
    expect([...new Set(pages.map((rule) => rule.alert))].sort()).toEqual([
      'CanaryAuthTokenNearExpiry',
      'CanaryDeliveryLatencyBudgetFastBurn',
      'CanaryDeliverySuccessBudgetFastBurn',
      'CanaryPollingLatencyBudgetFastBurn',
      'CanaryProbeAbsent',
    ]);
  });
});

describe('canary generate', () => {
  const cli = ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), 'generate'];

  it('--check passes on the committed files', async () => {
    const { stdout } = await run(process.execPath, [...cli, '--check'], { cwd: root });
    expect(stdout).toMatch(/generated files are up to date \(\d+ checked\)/);
  }, 120_000);

  it('--check exits 1 and names every file that differs, is missing or is stale', async () => {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-generate-'));
    try {
      for (const dir of ['slos', 'prometheus', 'dashboards', 'docs']) {
        fs.cpSync(path.join(root, dir), path.join(copy, dir), { recursive: true });
      }
      fs.appendFileSync(path.join(copy, SLO_RULES_PATH), '# a hand edit\n');
      fs.rmSync(path.join(copy, 'dashboards/canary-overview.json'));
      fs.writeFileSync(path.join(copy, 'dashboards/old-dashboard.json'), '{}\n');

      const failure = await run(process.execPath, [...cli, '--check', '--root', copy]).then(
        () => undefined,
        (error: { code?: number; stderr?: string }) => error,
      );
      expect(failure?.code).toBe(1);
      expect(failure?.stderr).toContain(`differs ${SLO_RULES_PATH}`);
      expect(failure?.stderr).toContain('missing dashboards/canary-overview.json');
      expect(failure?.stderr).toContain('stale   dashboards/old-dashboard.json');

      await run(process.execPath, [...cli, '--root', copy]);
      const { stdout } = await run(process.execPath, [...cli, '--check', '--root', copy]);
      expect(stdout).toContain('up to date');
      expect(fs.existsSync(path.join(copy, 'dashboards/old-dashboard.json'))).toBe(false);
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  }, 180_000);

  it('follows a metric renamed in the catalogue', () => {
    const renamed = {
      ...catalog,
      harnessOverloaded: { ...catalog.harnessOverloaded, name: 'canary_harness_saturated' },
      subscribersConnected: { ...catalog.subscribersConnected, name: 'canary_subscribers_joined' },
    };
    const before = renderAlertRules({ catalog, slos, runbookBase });
    const after = renderAlertRules({ catalog: renamed, slos, runbookBase });
    const health = (files: typeof before) =>
      files.find((file) => file.path === HEALTH_RULES_PATH)?.content ?? '';
    expect(health(after)).not.toEqual(health(before));
    expect(health(after)).toContain('max by (job, instance) (canary_harness_saturated) > 0');
    expect(health(after)).toContain('sum by (env, probe, client) (canary_subscribers_joined)');
    expect(health(after)).not.toContain(catalog.harnessOverloaded.name);
  });
});
