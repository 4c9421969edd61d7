import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CanaryReport } from '../../src/report/index.js';
import { readJson, runCli, smokeScenario, tempDir, writeLocalConfig } from './load-support.js';

describe('canary load with an injected fault', () => {
  it('exits 1 when a 1.5 s postgres_changes delay breaks the latency SLO, and JUnit names the measured value', async () => {
    const dir = tempDir('breach');
    const out = path.join(dir, 'out');
    const config = writeLocalConfig(dir, { faults: { postgresChanges: { delayMs: 1500 } } });
    const result = await runCli([
      'load',
      smokeScenario(dir),
      '--env',
      'local',
      '--config',
      config,
      '--report-dir',
      out,
    ]);
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stdout).toMatch(
      /✗ delivery-latency: 0% of deliveries within 1s \(0\/\d+\), objective 99% \[env=local path=postgres_changes\]/,
    );

    const report = readJson<CanaryReport>(path.join(out, 'report.json'));
    expect(report.run).toMatchObject({ status: 'slo_breached', exitCode: 1 });
    const breached = report.slo?.results.filter((r) => r.status === 'breached') ?? [];
    expect(breached.map((r) => `${r.slo}/${r.path}`)).toContain('delivery-latency/postgres_changes');
    // Only the delayed path suffers: broadcast and polling still meet every SLO.
    expect(breached.every((r) => r.path === 'postgres_changes')).toBe(true);
    expect(report.totals.paths.postgres_changes?.latencyMs?.p50).toBeGreaterThan(1400);

    const junit = fs.readFileSync(path.join(out, 'junit.xml'), 'utf8');
    expect(junit).toMatch(
      /<testcase classname="canary\.slo" name="delivery-latency" time="0">\s*<failure type="SloBreached" message="delivery-latency breached: 0% of deliveries within 1s \(0\/\d+\), objective 99% \[env=local path=postgres_changes\]"/,
    );
    expect(junit).toContain('failures="1" errors="0"');
    expect(fs.readFileSync(path.join(out, 'summary.md'), 'utf8')).toContain('❌ **SLO breached** (exit 1)');
  }, 180_000);
});
