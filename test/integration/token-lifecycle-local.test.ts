/**
 * The default job (`npm start`: the local environment of canary.yaml and the waiver-to-mechanic
 * probe) with 10-second access tokens: the mechanics sign in through the target's Auth like a remote
 * project's and live through at least three token lifetimes at 100 % delivered.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, sampleSum, scrape, spawnCanary } from './canary-run-support.js';

const children: ChildProcess[] = [];
let dir: string | undefined;

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the default job with short-lived tokens', () => {
  it('stays at 100 % delivered through three 10-second token lifetimes, renewing every mechanic token', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-default-tokens-'));
    const defaults = fs.readFileSync(path.join(repoRoot, 'canary.yaml'), 'utf8');
    const config = defaults
      .replace(/^ {4}local: \{\}$/m, '    local:\n      auth: { accessTokenTtl: 10s }')
      .replace(/- file: probes\//, `- file: ${path.join(repoRoot, 'probes')}/`)
      .replace(/- slos\//, `- ${path.join(repoRoot, 'slos')}/`);
    expect(config).not.toBe(defaults);
    const file = path.join(dir, 'canary.yaml');
    fs.writeFileSync(file, config);
    const outcomesFile = path.join(dir, 'outcomes.jsonl');

    const run = spawnCanary(
      'run',
      ['--config', file, '--duration', '40s', '--port', '0', '--outcomes-file', outcomesFile],
      {},
      children,
    );
    const url = await run.exporterUrl();
    let metrics = '';
    let status = {
      environments: [] as {
        name: string;
        mechanics?: { source: string; refreshes: number; state: string }[];
      }[],
    };
    const deadline = Date.now() + 36_000;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      metrics = await scrape(url).catch(() => metrics);
      status = (await fetch(`${url}/api/status`)
        .then((r) => r.json())
        .catch(() => status)) as typeof status;
    }
    expect(await run.exit).toBe(0);

    const outcomes = fs
      .readFileSync(outcomesFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { path: string; outcome: string });
    for (const p of ['postgres_changes', 'broadcast', 'polling']) {
      const onPath = outcomes.filter((o) => o.path === p);
      expect(onPath.length, p).toBeGreaterThan(10);
      expect(
        onPath.filter((o) => o.outcome !== 'delivered'),
        p,
      ).toEqual([]);
    }
    const mechanics = status.environments[0]?.mechanics ?? [];
    expect(mechanics.length).toBeGreaterThan(0);
    for (const mechanic of mechanics) {
      expect(mechanic.source).toBe('password');
      expect(mechanic.state).toBe('valid');
      // Renewed 2.5–5 s into each 10 s lifetime (margin and jitter are capped by it): three or more in 36 s.
      expect(mechanic.refreshes).toBeGreaterThanOrEqual(3);
    }
    expect(sampleSum(metrics, 'canary_auth_excluded_deliveries_total')).toBe(0);
    expect(sampleSum(metrics, 'canary_subscription_errors_total', { reason: 'auth' })).toBe(0);
  }, 100_000);
});
