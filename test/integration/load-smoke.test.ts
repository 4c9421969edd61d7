import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CanaryReport } from '../../src/report/index.js';
import { readJson, runCli, smokeScenario, tempDir, writeLocalConfig, writeYaml } from './load-support.js';

describe('canary load smoke', () => {
  it('passes the smoke scenario on the local target and writes JUnit, JSON, Markdown and HTML', async () => {
    const dir = tempDir('smoke');
    const out = path.join(dir, 'out');
    const result = await runCli([
      'load',
      smokeScenario(dir),
      '--env',
      'local',
      '--config',
      writeLocalConfig(dir),
      '--report-dir',
      out,
    ]);
    expect(result.stderr).not.toContain('INTERNAL');
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('result ............: passed (exit 0)');

    const report = readJson<CanaryReport>(path.join(out, 'report.json'));
    expect(report.schema).toBe('canary.report/v1');
    expect(report.run).toMatchObject({ scenario: 'smoke', status: 'passed', exitCode: 0, partial: false });
    expect(report.totals.published).toBeGreaterThanOrEqual(30);
    for (const pathName of ['postgres_changes', 'broadcast', 'polling']) {
      expect(report.totals.paths[pathName]?.delivered).toBeGreaterThan(0);
    }
    expect(report.slo?.results.every((r) => r.status === 'met')).toBe(true);
    expect(report.timeline.length).toBeGreaterThanOrEqual(20);
    expect(report.run.durationSeconds).toBeLessThan(120);

    const junit = fs.readFileSync(path.join(out, 'junit.xml'), 'utf8');
    expect(junit).toContain('<testcase classname="canary.slo" name="delivery-latency"');
    expect(junit).toContain('failures="0" errors="0"');
    expect(fs.readFileSync(path.join(out, 'summary.md'), 'utf8')).toContain('✅ **Passed**');
    expect(fs.readFileSync(path.join(out, 'report.html'), 'utf8')).toContain('<svg');
  }, 180_000);

  it('exits 2 on a bad scenario file, naming the key, and still writes a report that says why', async () => {
    const dir = tempDir('bad-scenario');
    const scenario = writeYaml(dir, 'bad.yaml', [
      'version: canary.scenario/v1',
      'name: bad',
      'description: x',
      'executor: ramping-subscribers',
      'stages: [{ duration: 5s, taget: 3 }]',
    ]);
    const result = await runCli([
      'load',
      scenario,
      '--env',
      'local',
      '--config',
      writeLocalConfig(dir),
      '--report-dir',
      path.join(dir, 'out'),
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('CONFIG_INVALID');
    expect(result.stderr).toContain(
      `${scenario}: stages[0].taget: unknown key "taget" — did you mean "target"?`,
    );
    const report = readJson<CanaryReport>(path.join(dir, 'out', 'report.json'));
    expect(report.run).toMatchObject({
      status: 'run_failed',
      exitCode: 2,
      failure: { code: 'CONFIG_INVALID' },
    });
  });

  it('refuses load on a remote environment without --allow-remote', async () => {
    const dir = tempDir('remote');
    const config = writeYaml(dir, 'canary.yaml', [
      'version: canary/v1',
      'environments:',
      '  - name: prod',
      '    remote: { supabaseUrl: "https://example.invalid", anonKeyEnv: PROD_ANON }',
      '    mechanics: { from: env, tokensEnv: [PROD_MECHANIC] }',
      'probes:',
      '  - { name: p, subscribers: { lean: 1 } }',
    ]);
    const result = await runCli(['load', 'scenarios/smoke.yaml', '--env', 'prod', '--config', config], {
      env: { PROD_ANON: 'x', PROD_MECHANIC: 'y' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('UNSAFE_LOAD');
    expect(result.stderr).toContain('--allow-remote');
  });
});
