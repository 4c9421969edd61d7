/**
 * The example Alertmanager configuration: amtool accepts it, each severity reaches its receiver,
 * and its inhibition rules name alerts and labels the generated rules really carry.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { alertRuleFiles, isAlertingRule } from '../../src/alerts/index.js';
import { defaultRunbookBase } from '../../src/cli/commands/generate.js';
import { catalog } from '../../src/metrics/index.js';
import { loadSloFile } from '../../src/slo/index.js';
import { freeLoopbackPort } from '../helpers/prometheus.js';

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
const alertmanager = tool('prometheus-alertmanager');

describe.skipIf(!amtool)('amtool', () => {
  it('accepts alertmanager/alertmanager.yml', async () => {
    const { stdout } = await run(amtool as string, ['check-config', configFile]);
    expect(stdout).toContain('SUCCESS');
    expect(stdout).toMatch(/2 inhibit rules/);
  });

  it.each([
    ['critical', 'canary-pager'],
    ['warning', 'canary-tickets'],
    ['info', 'canary-info'],
  ])('routes severity=%s alerts to %s', async (severity, receiver) => {
    const { stdout } = await run(amtool as string, [
      'config',
      'routes',
      'test',
      `--config.file=${configFile}`,
      `severity=${severity}`,
      'alertname=CanaryDeliverySuccessBudgetFastBurn',
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
  const alerts = alertRuleFiles({ catalog, slos, runbookBase: defaultRunbookBase() ?? '' })
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
        'CanaryDeliverySuccessBudgetFastBurn',
        'CanaryDeliveryLatencyBudgetFastBurn',
        'CanaryPollingLatencyBudgetFastBurn',
        'CanarySubscribersNotConnected',
        'CanaryZombieSubscribers',
      ]),
    );
    // The overload alert must never mute itself, the alert that says the probe is gone, nor the
    // harness's own auth alerts (a token running out is not a symptom of overload).
    const notMuted = alerts.filter((a) => a.labels.kind !== 'symptom').map((a) => a.alert);
    expect(notMuted.sort()).toEqual([
      'CanaryAuthRefreshFailing',
      'CanaryAuthTokenNearExpiry',
      'CanaryHarnessOverloaded',
      'CanaryProbeAbsent',
    ]);
  });

  it('let a critical alert mute the warning of the same SLO, environment and path only', () => {
    const rule = config.inhibit_rules.find((r) => r.source_matchers.includes('severity="critical"'));
    expect(rule?.target_matchers).toEqual(['severity="warning"']);
    expect(rule?.equal).toEqual(['slo', 'env', 'path']);
    for (const alert of alerts.filter(
      (a) => a.labels.severity === 'critical' && a.labels.kind === 'symptom',
    )) {
      expect(alert.labels.slo, `${alert.alert} carries the slo label`).toBeTruthy();
    }
  });
});

interface AlertStatus {
  labels: Record<string, string>;
  status: { state: string; inhibitedBy: string[] };
}

describe.skipIf(!alertmanager)('a real Alertmanager with this configuration', () => {
  it('mutes symptom alerts while the harness is overloaded, but not the alert that says the probe is gone', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-alertmanager-'));
    const port = await freeLoopbackPort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawn(
      alertmanager as string,
      [
        `--config.file=${configFile}`,
        `--storage.path=${dir}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
    try {
      const deadline = Date.now() + 30_000;
      while (
        !(await fetch(`${url}/-/ready`).then(
          (r) => r.ok,
          () => false,
        ))
      ) {
        if (Date.now() > deadline) throw new Error(`Alertmanager did not start:\n${log}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const alert = (labels: Record<string, string>) => ({
        labels,
        annotations: { summary: labels.alertname },
      });
      const posted = await fetch(`${url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([
          alert({
            alertname: 'CanaryHarnessOverloaded',
            severity: 'info',
            kind: 'harness',
            instance: 'canary:9464',
          }),
          alert({
            alertname: 'CanarySubscribersNotConnected',
            severity: 'warning',
            kind: 'symptom',
            env: 'prod',
          }),
          alert({ alertname: 'CanaryProbeAbsent', severity: 'critical', kind: 'harness' }),
        ]),
      });
      expect(posted.status).toBe(200);

      let alerts: AlertStatus[] = [];
      const until = Date.now() + 30_000;
      while (Date.now() < until) {
        alerts = (await (await fetch(`${url}/api/v2/alerts`)).json()) as AlertStatus[];
        const symptom = alerts.find((a) => a.labels.alertname === 'CanarySubscribersNotConnected');
        if (alerts.length === 3 && symptom?.status.state === 'suppressed') break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const state = Object.fromEntries(alerts.map((a) => [a.labels.alertname, a.status]));
      expect(state.CanarySubscribersNotConnected?.state).toBe('suppressed');
      expect(state.CanarySubscribersNotConnected?.inhibitedBy.length).toBe(1);
      expect(state.CanaryProbeAbsent?.state).toBe('active');
      expect(state.CanaryHarnessOverloaded?.state).toBe('active');
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
