/**
 * `canary audit` and `canary diff` as users run them: exit codes (0 healthy / matching, 1 a failed
 * check / a difference, 2 the command could not run), formats, and errors that say what to do.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from './load-support.js';

function twoLocalEnvironments(dir: string, prodFaults: Record<string, unknown>): string {
  const file = path.join(dir, 'canary.yaml');
  const config = {
    version: 'canary/v1',
    environments: [
      { name: 'dev', local: { seed: 3 }, mechanics: { from: 'local', count: 2 } },
      { name: 'prod', local: { seed: 3, faults: prodFaults }, mechanics: { from: 'local', count: 2 } },
    ],
    probes: [
      {
        name: 'waiver-to-mechanic',
        interval: '300ms',
        subscribers: { lean: 2, 'supabase-js': 0 },
        paths: ['postgres_changes', 'broadcast'],
        lateAfter: '1500ms',
        deadline: '4s',
      },
    ],
  };
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

describe('canary audit on the command line', () => {
  it('exits 1 with the failed check and its fix in Markdown when the publication fault is on', async () => {
    const dir = tempDir('audit-cli');
    const config = twoLocalEnvironments(dir, { publicationMissing: true });
    const out = path.join(dir, 'audit.md');
    const result = await runCli([
      'audit',
      '--env',
      'prod',
      '--config',
      config,
      '--format',
      'markdown',
      '--out',
      out,
    ]);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toContain('| FAIL | session_assignments is in the supabase_realtime publication');
    expect(fs.readFileSync(out, 'utf8')).toBe(result.stdout);
  }, 120_000);

  it('exits 0 with JSON for a healthy environment', async () => {
    const dir = tempDir('audit-cli');
    const config = twoLocalEnvironments(dir, {});
    const result = await runCli(['audit', '--env', 'dev', '--config', config, '--format', 'json']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      version: 'canary.audit/v1',
      env: 'dev',
      summary: { fail: 0 },
    });
  }, 120_000);

  it('exits 2 and names the variable when a remote environment has no database URL', async () => {
    const dir = tempDir('audit-cli');
    const file = path.join(dir, 'canary.yaml');
    fs.writeFileSync(
      file,
      JSON.stringify({
        version: 'canary/v1',
        environments: [
          {
            name: 'prod',
            remote: { supabaseUrl: 'https://example.invalid', anonKeyEnv: 'PROD_ANON_KEY' },
            mechanics: { from: 'env', tokensEnv: ['PROD_MECHANIC_TOKEN'] },
          },
        ],
        probes: [{ name: 'p' }],
      }),
    );
    const result = await runCli(
      ['audit', '--env', 'prod', '--config', file, '--database-url-env', 'PROD_DB_URL_UNSET'],
      {
        env: { PROD_DB_URL_UNSET: '' },
      },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('ENV_VAR_MISSING: --database-url-env PROD_DB_URL_UNSET');
    expect(result.stderr).toContain('fix: export PROD_DB_URL_UNSET=');
  }, 60_000);
});

describe('canary diff on the command line', () => {
  it('exits 1 and writes all four formats when prod has a slow broadcast', async () => {
    const dir = tempDir('diff-cli');
    const config = twoLocalEnvironments(dir, { restBroadcast: { delayMs: 600 } });
    const out = path.join(dir, 'diff');
    const result = await runCli([
      'diff',
      'dev',
      'prod',
      '--config',
      config,
      '--duration',
      '6s',
      '--out',
      out,
    ]);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toMatch(/1\. Broadcast path/);
    expect(fs.readdirSync(out).sort()).toEqual(['diff.html', 'diff.json', 'diff.md', 'diff.txt']);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'diff.json'), 'utf8')).ranking.causes[0].id).toBe(
      'broadcast_path',
    );
    expect(fs.readFileSync(path.join(out, 'diff.html'), 'utf8')).toContain('<svg');
  }, 120_000);

  it('exits 2 with a usage error for the same environment twice or an unknown format', async () => {
    const same = await runCli(['diff', 'dev', 'dev']);
    expect(same.code).toBe(2);
    expect(same.stderr).toContain('diff needs two different environments');
    const format = await runCli(['diff', 'dev', 'prod', '--format', 'pdf']);
    expect(format.code).toBe(2);
    expect(format.stderr).toContain('fix: use one of: text, json, markdown, html');
  }, 60_000);
});
