/** `canary slo` on a stored run report: verdicts, formats, report files and usage errors. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/index.js';
import { REPORT_SCHEMA, type CanaryReport } from '../../src/report/index.js';
import type { MetricSnapshot } from '../../src/slo/index.js';
import { readJson, runCli, tempDir, writeYaml } from './load-support.js';

async function writeRunReport(dir: string, slowBroadcast: boolean): Promise<string> {
  const { registry, metrics } = createMetrics();
  for (const path of ['postgres_changes', 'broadcast'] as const) {
    const labels = { env: 'staging', probe: 'p', path };
    for (let i = 0; i < 100; i++)
      metrics.deliveryLatency.observe(labels, slowBroadcast && path === 'broadcast' && i < 5 ? 1.7 : 0.08);
    metrics.deliveryOutcomes.inc({ ...labels, outcome: 'delivered' }, 100);
  }
  const report: CanaryReport = {
    schema: REPORT_SCHEMA,
    generator: { name: 'realtime-canary', version: '0.1.0', node: process.version },
    run: {
      kind: 'load',
      scenario: 'stored',
      env: 'staging',
      startedAt: '2026-01-01T00:00:00.000Z',
      endedAt: '2026-01-01T00:01:00.000Z',
      durationSeconds: 60,
      partial: false,
      stopReason: 'completed',
      status: 'passed',
      exitCode: 0,
    },
    totals: { published: 100, publishErrors: 0, peakSubscribers: 1, paths: {} },
    slo: null,
    timeline: [],
    latencySamplesMs: {},
    metrics: (await registry.getMetricsAsJSON()) as unknown as MetricSnapshot[],
  };
  const file = path.join(dir, 'report.json');
  fs.writeFileSync(file, JSON.stringify(report));
  return file;
}

const slos = (dir: string): string =>
  writeYaml(dir, 'slos.yaml', [
    'version: canary.slo/v1',
    'slos:',
    '  - { name: fast, description: within 1 s, objective: 0.99, sli: { latency: { threshold: 1s } } }',
    '  - { name: arrives, description: delivered, objective: 0.999, sli: { delivery: {} } }',
  ]);

describe('canary slo --run', () => {
  it('exits 0 when a stored run met its SLOs and 1 with a JUnit failure when it did not', async () => {
    const dir = tempDir('slo-cli');
    const good = await runCli(['slo', '--run', await writeRunReport(dir, false), '--slos', slos(dir)]);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toContain(
      '✓ fast: 100% of deliveries within 1s (100/100), objective 99% [env=staging path=broadcast]',
    );
    expect(good.stdout).toContain('result: passed (exit 0)');

    const out = path.join(dir, 'out');
    const bad = await runCli([
      'slo',
      '--run',
      await writeRunReport(dir, true),
      '--slos',
      slos(dir),
      '--format',
      'junit',
      '--out',
      out,
    ]);
    expect(bad.code, bad.stderr).toBe(1);
    expect(bad.stdout).toContain(
      '<failure type="SloBreached" message="fast breached: 95% of deliveries within 1s (95/100), objective 99% [env=staging path=broadcast]"',
    );
    const written = readJson<CanaryReport>(path.join(out, 'report.json'));
    expect(written.run).toMatchObject({
      kind: 'slo',
      scenario: 'stored',
      status: 'slo_breached',
      exitCode: 1,
    });
    for (const file of ['junit.xml', 'summary.md', 'report.html'])
      expect(fs.existsSync(path.join(out, file))).toBe(true);
  });

  it('exits 2 with a usage error for missing or conflicting sources and bad ranges', async () => {
    const neither = await runCli(['slo']);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain(
      'CLI_USAGE: give exactly one of --run <report.json> or --prometheus <url>',
    );
    const range = await runCli(['slo', '--prometheus', 'http://127.0.0.1:9', '--range', 'soon']);
    expect(range.code).toBe(2);
    expect(range.stderr).toContain(
      'CLI_USAGE: --range "soon" is not a duration — write it like 250ms, 2s, 1m, 1h30m, 28d or 1w',
    );
    const notAReport = await runCli(['slo', '--run', path.join(tempDir('slo-cli'), 'missing.json')]);
    expect(notAReport.code).toBe(2);
    expect(notAReport.stderr).toContain('CONFIG_NOT_FOUND');
  });
});
