import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CanaryReport } from '../../src/report/index.js';
import { readJson, repoRoot, smokeScenario, tempDir, writeLocalConfig } from './load-support.js';

describe('canary load interrupted', () => {
  it('ends on Ctrl-C with a partial report and exit 2', async () => {
    const dir = tempDir('interrupt');
    const out = path.join(dir, 'out');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'load',
        smokeScenario(dir),
        '--env',
        'local',
        '--config',
        writeLocalConfig(dir),
        '--report-dir',
        out,
      ],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const killer = setTimeout(() => child.kill('SIGKILL'), 170_000);
    // Interrupt once the run has started and published for a while: a partial run, not a failed start.
    const bounded = Date.now() + 120_000;
    while (!stderr.includes('stops by itself within') && Date.now() < bounded)
      await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 8_000));
    child.kill('SIGINT');
    const code = await exited;
    clearTimeout(killer);

    expect(code, stdout + stderr).toBe(2);
    expect(stderr).toContain('SIGINT: interrupted — draining');
    const report = readJson<CanaryReport>(path.join(out, 'report.json'));
    expect(report.run).toMatchObject({
      partial: true,
      stopReason: 'interrupted',
      status: 'run_failed',
      exitCode: 2,
      failure: { code: 'RUN_INTERRUPTED' },
    });
    expect(report.run.durationSeconds).toBeLessThan(25);
    expect(stdout).toContain('PARTIAL');
  }, 180_000);
});
