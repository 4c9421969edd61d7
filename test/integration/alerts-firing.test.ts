/**
 * The generated rules fire on real data: the local target drops every broadcast, a probe run
 * measures it, a real Prometheus scrapes the run and evaluates the committed rule files, and the
 * delivery burn-rate page fires for the broadcast path — with the labels Alertmanager routes on.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEALTH_RULES_PATH, SLO_RULES_PATH } from '../../src/alerts/index.js';
import { startRun, type RunHandle } from '../../src/cli/commands/run.js';
import { catalog } from '../../src/metrics/index.js';
import { silentLogger } from '../../src/shared/index.js';
import { skipWithoutPrometheus, startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';

const root = path.resolve(import.meta.dirname, '../..');
const ENV = 'broken-broadcast';

describe.skipIf(skipWithoutPrometheus)('alerts on a probe run whose broadcasts are all dropped', () => {
  let dir: string;
  let runHandle: RunHandle | undefined;
  let prometheus: RunningPrometheus | undefined;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-alerts-'));
    // The shipped probe with rounds every 2 s and a 4 s deadline, so drops are final quickly.
    const probe = fs
      .readFileSync(path.join(root, 'probes/waiver-to-mechanic.yaml'), 'utf8')
      .replace(/^interval: .*$/m, 'interval: 2s')
      .replace(/^jitter: .*$/m, 'jitter: 200ms')
      .replace(/^lateAfter: .*$/m, 'lateAfter: 2s')
      .replace(/^deadline: .*$/m, 'deadline: 4s');
    fs.writeFileSync(path.join(dir, 'probe.yaml'), probe);
    const config = path.join(dir, 'canary.yaml');
    fs.writeFileSync(
      config,
      [
        'version: canary/v1',
        'environments:',
        `  - name: ${ENV}`,
        '    local:',
        '      faults: { broadcast: { dropRate: 1 } }',
        'probes:',
        '  - file: probe.yaml',
        '',
      ].join('\n'),
    );
    runHandle = await startRun(
      {
        config,
        env: [],
        port: '0',
        host: '127.0.0.1',
        summaryEvery: '1h',
        logLevel: 'error',
        duration: '10m',
      },
      { logger: silentLogger },
    );
    prometheus = await startPrometheus({
      scrapeTargets: [{ url: runHandle.exporterUrl, job: 'canary' }],
      ruleFiles: [SLO_RULES_PATH, HEALTH_RULES_PATH].map((file) => path.join(root, file)),
      scrapeIntervalSeconds: 1,
    });
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    await runHandle?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('pages with CanaryDeliverySuccessBudgetFastBurn for the broadcast path', async () => {
    const running = prometheus as RunningPrometheus;
    await running.waitFor(
      `sum(${catalog.deliveryOutcomes.name}{env="${ENV}", path="broadcast", outcome="dropped"}) > 0`,
      { timeoutMs: 90_000 },
    );
    const firing = await running.waitFor(
      `ALERTS{alertname="CanaryDeliverySuccessBudgetFastBurn", alertstate="firing", env="${ENV}", path="broadcast"}`,
      { timeoutMs: 60_000 },
    );
    expect(firing[0]?.metric).toMatchObject({
      severity: 'critical',
      kind: 'symptom',
      slo: 'delivery-success',
      sli: 'delivery',
    });
    // Every broadcast dropped: the burn rate is the whole error ratio over the 0.1 % budget.
    const burn = await running.query(
      `canary_slo:sli_error:ratio_rate5m{slo="delivery-success", env="${ENV}", path="broadcast"} / 0.001`,
    );
    expect(burn[0]?.value).toBeGreaterThan(900);
    // postgres_changes is not affected by a broadcast fault: its error ratio stays far below broadcast's.
    const changes = await running.waitFor(
      `canary_slo:sli_error:ratio_rate5m{slo="delivery-success", env="${ENV}", path="postgres_changes"}`,
      { timeoutMs: 60_000, until: (samples) => samples.some((sample) => Number.isFinite(sample.value)) },
    );
    expect(changes[0]?.value ?? 1).toBeLessThan(0.5);
  }, 180_000);
});
