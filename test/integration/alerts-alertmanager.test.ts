/**
 * The example Alertmanager configuration: amtool accepts it, each severity reaches its receiver,
 * and its inhibition rules name alerts and labels the generated rules really carry.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { alertRuleFiles, isAlertingRule } from '../../src/alerts/index.js';
import { catalog } from '../../src/metrics/index.js';
import { loadSloFile } from '../../src/slo/index.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const configFile = path.join(root, 'alertmanager/alertmanager.yml');

function tool(name: string): string | undefined {
  const found = (process.env.PATH ?? '')
    .split(path.delimiter)
    .map((dir) => path.join(dir, name))
    .find((candidate) => fs.existsSync(candidate));
  if (!found && process.env.CI === 'true') {
    throw new Error(
      `${name} is required under CI=true: apt-get install prometheus-alertmanager (see .ci/run)`,
    );
  }
  return found;
}

const amtool = tool('amtool');

describe.skipIf(!amtool)('amtool', () => {
  it('accepts alertmanager/alertmanager.yml', async () => {
    const { stdout } = await run(amtool as string, ['check-config', configFile]);
    expect(stdout).toContain('SUCCESS');
    expect(stdout).toMatch(/2 inhibit rules/);
  });

  it.each([
    ['page', 'canary-pager'],
    ['ticket', 'canary-tickets'],
    ['info', 'canary-info'],
  ])('routes severity=%s alerts to %s', async (severity, receiver) => {
    const { stdout } = await run(amtool as string, [
      'config',
      'routes',
      'test',
      `--config.file=${configFile}`,
      `severity=${severity}`,
      'alertname=CanaryDeliveryBudgetFastBurn',
      'env=prod',
    ]);
    expect(stdout.trim()).toBe(receiver);
  });
});

describe('the inhibition rules', () => {
  const config = parse(fs.readFileSync(configFile, 'utf8')) as {
    route: { group_by: string[] };
    inhibit_rules: { source_matchers: string[]; target_matchers: string[]; equal?: string[] }[];
  };
  const slos = loadSloFile(path.join(root, 'slos/delivery.yaml')).slos;
  const alerts = alertRuleFiles({ catalog, slos })
    .flatMap((file) => file.groups)
    .flatMap((group) => group.rules)
    .filter(isAlertingRule);

  it('group notifications by environment', () => {
    expect(config.route.group_by).toContain('env');
  });

  it('let the harness-overloaded alert mute exactly the symptom alerts', () => {
    const rule = config.inhibit_rules.find((r) =>
      r.source_matchers.includes('alertname="CanaryHarnessOverloaded"'),
    );
    expect(rule?.target_matchers).toEqual(['kind="symptom"']);
    expect(alerts.map((a) => a.alert)).toContain('CanaryHarnessOverloaded');
    const muted = alerts.filter((a) => a.labels.kind === 'symptom').map((a) => a.alert);
    expect(muted).toEqual(
      expect.arrayContaining([
        'CanaryDeliveryBudgetFastBurn',
        'CanaryLatencyBudgetFastBurn',
        'CanarySubscribersNotConnected',
        'CanaryZombieSubscribers',
      ]),
    );
    // The overload alert must never mute itself, nor the alert that says the probe is gone.
    const notMuted = alerts.filter((a) => a.labels.kind !== 'symptom').map((a) => a.alert);
    expect(notMuted.sort()).toEqual(['CanaryHarnessOverloaded', 'CanaryProbeAbsent']);
  });

  it('let a page mute the ticket of the same SLO, environment and path only', () => {
    const rule = config.inhibit_rules.find((r) => r.source_matchers.includes('severity="page"'));
    expect(rule?.equal).toEqual(['slo', 'env', 'path']);
    for (const alert of alerts.filter((a) => a.labels.severity === 'page')) {
      expect(alert.labels.slo, `${alert.alert} carries the slo label`).toBeTruthy();
    }
  });
});
