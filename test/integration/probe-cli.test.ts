/**
 * `canary run` end to end, as a separate process: the local target in-process, the exporter on a
 * free port, SIGTERM drain, secrets kept out of every output, and bad input that stops only the
 * environment it concerns.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sleep } from '../../src/shared/index.js';
import { startTarget, type LocalTarget } from '../../src/local-target/index.js';
import { repoRoot, sampleSum, scrape, spawnCanary, type CliRun } from './canary-run-support.js';

const dirs: string[] = [];
const children: ChildProcess[] = [];
const targets: LocalTarget[] = [];

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.all(targets.map((t) => t.stop()));
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-run-'));
  dirs.push(dir);
  return dir;
}

function runCli(args: string[], env: Record<string, string> = {}): CliRun {
  return spawnCanary('run', args, env, children);
}

function writeConfig(dir: string, text: string): string {
  const file = path.join(dir, 'canary.yaml');
  fs.writeFileSync(file, text);
  return file;
}

const fastProbe = (interval = '2s'): string =>
  [
    'probes:',
    '  - name: fast',
    `    interval: ${interval}`,
    '    subscribers: { lean: 1, supabase-js: 1 }',
    '    pollInterval: 500ms',
    '    lateAfter: 2s',
    '    deadline: 4s',
  ].join('\n');
const FAST_PROBE = fastProbe();

describe('canary run', () => {
  it('runs for --duration 12s against the local target and exports non-zero delivery latency for both realtime paths', async () => {
    const dir = tempDir();
    const config = writeConfig(
      dir,
      `version: canary/v1\nenvironments:\n  - name: local\n    local: {}\n${FAST_PROBE}\nsloFiles: [${path.join(repoRoot, 'slos/delivery.yaml')}]\n`,
    );
    const run = runCli(['--config', config, '--duration', '12s', '--port', '0', '--summary-every', '5s']);
    const url = await run.exporterUrl();
    let metrics = '';
    for (let i = 0; i < 60; i++) {
      metrics = await scrape(url);
      const changes = sampleSum(metrics, 'canary_delivery_latency_seconds_count', {
        path: 'postgres_changes',
      });
      const broadcast = sampleSum(metrics, 'canary_delivery_latency_seconds_count', { path: 'broadcast' });
      if (changes > 0 && broadcast > 0) break;
      await sleep(500);
    }
    expect(
      sampleSum(metrics, 'canary_delivery_latency_seconds_count', { path: 'postgres_changes' }),
    ).toBeGreaterThan(0);
    expect(
      sampleSum(metrics, 'canary_delivery_latency_seconds_count', { path: 'broadcast' }),
    ).toBeGreaterThan(0);
    expect(sampleSum(metrics, 'canary_subscribers_connected', { env: 'local' })).toBe(2);
    let status = { environments: [] as { name: string; probes: { slos: { name: string }[] }[] }[] };
    for (let i = 0; i < 40; i++) {
      status = (await (await fetch(`${url}/api/status`)).json()) as typeof status;
      // Judgments appear one by one; wait for the one asserted below, not just the first.
      const names = status.environments[0]?.probes[0]?.slos.map((s) => s.name) ?? [];
      if (names.includes('delivery-latency (broadcast)')) break;
      await sleep(500);
    }
    expect(status.environments.map((e) => e.name)).toEqual(['local']);
    // SLOs from the config are judged live on the run's own metrics.
    expect(status.environments[0]?.probes[0]?.slos.map((s) => s.name)).toContain(
      'delivery-latency (broadcast)',
    );
    expect(await run.exit).toBe(0);
    expect(run.output()).toContain('local/fast:');
    expect(run.output()).toMatch(/postgres_changes\s+p50\s+[\d.]+m?s\b/);
  }, 120_000);

  it('drains on SIGTERM mid-probe: every due outcome is written and the books balance; no key leaks anywhere', async () => {
    // Minting with the shared HS256 secret needs a project that still has one, whatever the suite's mode.
    const target = await startTarget({ jwtMode: 'both' });
    targets.push(target);
    const mechanics = [await target.createMechanic(), await target.createMechanic()];
    const dir = tempDir();
    const outcomesFile = path.join(dir, 'outcomes.jsonl');
    const config = writeConfig(
      dir,
      [
        'version: canary/v1',
        'environments:',
        '  - name: staging',
        '    remote:',
        `      supabaseUrl: ${target.url}`,
        '      anonKeyEnv: TEST_ANON_KEY',
        '      serviceRoleKeyEnv: TEST_SERVICE_ROLE_KEY',
        `      waiverUrl: ${target.url}/api/waiver`,
        `      queueUrl: ${target.url}/api/mechanic/queue`,
        '    mechanics:',
        '      from: mint',
        '      jwtSecretEnv: TEST_JWT_SECRET',
        `      userIds: [${mechanics.map((m) => m.id).join(', ')}]`,
        fastProbe('700ms'),
        '    publishMode: direct',
      ].join('\n'),
    );
    const secrets = {
      TEST_ANON_KEY: target.anonKey,
      TEST_SERVICE_ROLE_KEY: target.serviceRoleKey,
      TEST_JWT_SECRET: target.jwtSecret ?? '',
    };
    const run = runCli(
      ['--config', config, '--port', '0', '--outcomes-file', outcomesFile, '--log-level', 'debug'],
      secrets,
    );
    const url = await run.exporterUrl();
    let metrics = '';
    for (let i = 0; i < 120; i++) {
      metrics = await scrape(url);
      if (sampleSum(metrics, 'canary_events_published_total') >= 6) break;
      await sleep(250);
    }
    const status = await (await fetch(`${url}/api/status`)).text();
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    const output = run.output();
    const summaryLine = output.split('\n').find((line) => line.includes('"msg":"run summary"'));
    expect(summaryLine).toBeDefined();
    const summary = JSON.parse(summaryLine!) as {
      published: number;
      paths: Record<string, { due: number; delivered: number; late: number; dropped: number }>;
    };
    expect(summary.published).toBeGreaterThanOrEqual(6);
    let due = 0;
    for (const [name, p] of Object.entries(summary.paths)) {
      expect(p.delivered + p.late + p.dropped, name).toBe(p.due);
      due += p.due;
    }
    const outcomes = fs
      .readFileSync(outcomesFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { eventId: string; subscriberId: string; path: string });
    expect(outcomes.length).toBe(due);
    expect(new Set(outcomes.map((o) => `${o.eventId}/${o.subscriberId}/${o.path}`)).size).toBe(due);
    for (const value of Object.values(secrets)) {
      expect(output).not.toContain(value);
      expect(metrics).not.toContain(value);
      expect(status).not.toContain(value);
      expect(fs.readFileSync(outcomesFile, 'utf8')).not.toContain(value);
    }
  }, 120_000);

  it('keeps healthy environments running when one lacks a secret, one is unreachable and one has a wrong key', async () => {
    const remote = await startTarget({});
    targets.push(remote);
    const dir = tempDir();
    const config = writeConfig(
      dir,
      [
        'version: canary/v1',
        'environments:',
        '  - name: ok',
        '    local: {}',
        '  - name: nokey',
        '    remote:',
        '      supabaseUrl: http://127.0.0.1:9',
        '      waiverUrl: http://127.0.0.1:9/api/waiver',
        '      queueUrl: http://127.0.0.1:9/api/mechanic/queue',
        '      anonKeyEnv: CANARY_TEST_UNSET_ANON_KEY',
        '    mechanics: { from: env, tokensEnv: [CANARY_TEST_UNSET_TOKEN] }',
        '  - name: down',
        '    remote:',
        '      supabaseUrl: http://127.0.0.1:9',
        '      waiverUrl: http://127.0.0.1:9/api/waiver',
        '      queueUrl: http://127.0.0.1:9/api/mechanic/queue',
        '      anonKeyEnv: CANARY_TEST_ANON',
        '    mechanics: { from: env, tokensEnv: [CANARY_TEST_ANON] }',
        '  - name: wrongkey',
        '    remote:',
        `      supabaseUrl: ${remote.url}`,
        `      waiverUrl: ${remote.url}/api/waiver`,
        `      queueUrl: ${remote.url}/api/mechanic/queue`,
        '      anonKeyEnv: CANARY_TEST_WRONG_ANON',
        '    mechanics: { from: env, tokensEnv: [CANARY_TEST_WRONG_ANON] }',
        FAST_PROBE,
      ].join('\n'),
    );
    // A well-formed key whose signature this project does not accept.
    const genuine = await remote.mintToken('00000000-0000-4000-8000-000000000001', {
      claims: { role: 'anon' },
    });
    const tampered = genuine.slice(0, -4) + (genuine.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    const run = runCli(['--config', config, '--duration', '12s', '--port', '0'], {
      CANARY_TEST_ANON: 'x.y.z',
      CANARY_TEST_WRONG_ANON: tampered,
    });
    const url = await run.exporterUrl();
    let metrics = '';
    for (let i = 0; i < 60; i++) {
      metrics = await scrape(url);
      if (sampleSum(metrics, 'canary_delivery_outcomes_total', { env: 'ok', outcome: 'delivered' }) > 0)
        break;
      await sleep(250);
    }
    expect(
      sampleSum(metrics, 'canary_delivery_outcomes_total', { env: 'ok', outcome: 'delivered' }),
    ).toBeGreaterThan(0);
    expect(await run.exit).toBe(0);
    const output = run.output();
    expect(output).toContain('ENV_VAR_MISSING');
    expect(output).toContain('CANARY_TEST_UNSET_ANON_KEY (referenced by');
    expect(output).toContain('environments.nokey.remote.anonKeyEnv');
    expect(output).toContain('TARGET_UNREACHABLE');
    expect(output).toMatch(/"env":"down"/);
    expect(output).toMatch(/retrying in \d+ s/);
    expect(output).toContain('rejected the key in CANARY_TEST_WRONG_ANON (HTTP 401)');
    expect(output).toContain(`set CANARY_TEST_WRONG_ANON to this project's key`);
    expect(output).not.toContain(tampered);
  }, 120_000);

  it('rejects a mistyped config key with the file, the key and a suggestion, before starting anything', async () => {
    const dir = tempDir();
    const config = writeConfig(
      dir,
      'version: canary/v1\nenvironments:\n  - name: local\n    local: {}\n    brodcastChannel: x\nprobes:\n  - name: p\n    deadlin: 3s\n',
    );
    const run = runCli(['--config', config, '--port', '0']);
    expect(await run.exit).toBe(2);
    const output = run.output();
    expect(output).toContain('CONFIG_INVALID');
    expect(output).toContain(
      `${config}: environments[0].brodcastChannel: unknown key "brodcastChannel" — did you mean "broadcastChannel"?`,
    );
    expect(output).toContain(
      `${config}: probes[0].deadlin: unknown key "deadlin" — did you mean "deadline"?`,
    );
    expect(output).not.toContain('exporter listening');
  }, 60_000);
});
