import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CanaryReport } from '../../src/report/index.js';
import {
  readJson,
  runCli,
  SHARED_MACHINE_HARNESS,
  tempDir,
  writeLocalConfig,
  writeYaml,
} from './load-support.js';

/** A quick discovery: 100 subscribers, then 20 more per 1.5 s level. No waivers: only connections count here. */
function discoveryScenario(dir: string, harness: Record<string, unknown>): string {
  return writeYaml(dir, 'discovery.yaml', [
    'version: canary.scenario/v1',
    'name: discovery',
    'description: Find the connection limit of the local target.',
    'executor: connection-limit',
    'start: 100',
    'step: 20',
    'hold: 2s',
    'max: 500',
    'rate: 0',
    'spawnRate: 100',
    'paths: [postgres_changes, broadcast]',
    'maxDuration: 2m',
    `harness: ${JSON.stringify({ ...SHARED_MACHINE_HARNESS, ...harness })}`,
  ]);
}

async function discover(options: {
  cap: number;
  harness?: Record<string, unknown>;
}): Promise<{ code: number | null; report: CanaryReport; stdout: string }> {
  const dir = tempDir('connection-limit');
  const config = writeLocalConfig(dir, {
    // Joins are not the limit under test: the plan's join rate is raised out of the way.
    limits: { maxConcurrentConnections: options.cap, maxJoinsPerSecond: 5000 },
    connectionLimit: options.cap,
    lateAfter: '1s',
    deadline: '3s',
  });
  const out = path.join(dir, 'out');
  const result = await runCli([
    'load',
    discoveryScenario(dir, options.harness ?? {}),
    '--env',
    'local',
    '--config',
    config,
    '--report-dir',
    out,
  ]);
  return {
    code: result.code,
    report: readJson<CanaryReport>(path.join(out, 'report.json')),
    stdout: result.stdout + result.stderr,
  };
}

describe('connection-limit discovery', () => {
  it('finds a connection cap of 300 within 5 % and names the plan cap as the cause', async () => {
    const { code, report, stdout } = await discover({ cap: 300 });
    expect(code, stdout).toBe(0);
    const point = report.breakingPoint;
    expect(point?.cause).toBe('plan_cap');
    expect(point?.subscribers).toBeGreaterThanOrEqual(285);
    expect(point?.subscribers).toBeLessThanOrEqual(315);
    expect(point?.detail).toContain('connection_limit');
    expect(point?.planLimit).toBe(300);
    expect(report.run.stopReason).toBe('breaking_point');
    expect(stdout).toMatch(
      /breaking point \.+: \d+ subscribers \(level \d+\), cause plan_cap, plan limit 300/,
    );
  }, 180_000);

  it('names the harness when the cap is lifted and the harness subscriber budget is the limit', async () => {
    const { code, report, stdout } = await discover({
      cap: 5000,
      harness: { maxSubscribers: 150 },
    });
    expect(code, stdout).toBe(2);
    expect(report.breakingPoint).toMatchObject({ cause: 'harness', level: 160 });
    expect(report.breakingPoint?.subscribers).toBeGreaterThanOrEqual(135);
    expect(report.breakingPoint?.subscribers).toBeLessThanOrEqual(150);
    expect(report.breakingPoint?.detail).toContain('subscriber budget');
    expect(report.run).toMatchObject({ status: 'run_failed', failure: { code: 'HARNESS_OVERLOADED' } });
  }, 180_000);

  it('names the harness when it is overloaded, before blaming the target', async () => {
    const { code, report } = await discover({ cap: 5000, harness: { forceOverloaded: true } });
    expect(code).toBe(2);
    expect(report.breakingPoint).toMatchObject({ cause: 'harness', level: 100 });
    expect(report.breakingPoint?.detail).toContain('harness overloaded');
    expect(report.run.failure?.code).toBe('HARNESS_OVERLOADED');
  }, 180_000);
});
