/**
 * `--env-file` and `CANARY_CONFIG`: the KEY=value file `canary target` prints (plus CANARY_CONFIG)
 * is enough to run the canary against an environment whose secrets are named by variable, and
 * `canary load` needs --env only when the config defines several environments.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './load-support.js';

const dir = tempDir('env-file');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// A remote environment on a closed loopback port: its secrets come from variables only.
const config = path.join(dir, 'remote.yaml');
fs.writeFileSync(
  config,
  [
    'version: canary/v1',
    'environments:',
    '  - name: remote-one',
    '    remote:',
    '      supabaseUrl: http://127.0.0.1:9',
    '      anonKeyEnv: ENVFILE_TEST_ANON_KEY',
    '      serviceRoleKeyEnv: ENVFILE_TEST_SERVICE_KEY',
    '      waiverUrl: http://127.0.0.1:9/api/waiver',
    '      queueUrl: http://127.0.0.1:9/api/mechanic/queue',
    '    mechanics: { from: env, tokensEnv: [ENVFILE_TEST_MECHANIC_TOKEN] }',
    'probes:',
    '  - { name: p, subscribers: { lean: 1 }, paths: [broadcast] }',
    '',
  ].join('\n'),
);
const envFile = path.join(dir, 'canary.env');
fs.writeFileSync(
  envFile,
  [
    `CANARY_CONFIG=${config}`,
    'ENVFILE_TEST_ANON_KEY=a.b.c',
    'export ENVFILE_TEST_SERVICE_KEY="x.y.z"',
    'ENVFILE_TEST_MECHANIC_TOKEN=t.t.t',
    '',
  ].join('\n'),
);
const run = ['run', '--duration', '1s', '--port', '0', '--log-level', 'warn'];

describe('canary --env-file', () => {
  it('takes CANARY_CONFIG and the secrets from the file: the environment gets as far as the network', async () => {
    const result = await runCli(['--env-file', envFile, ...run], { timeoutMs: 60_000 });
    const output = result.stdout + result.stderr;
    expect(output).toContain('TARGET_UNREACHABLE: environment "remote-one": cannot reach http://127.0.0.1:9');
    expect(output).not.toContain('ENV_VAR_MISSING');
  }, 90_000);

  it('without it, CANARY_CONFIG alone picks the config and the missing secrets are named', async () => {
    const result = await runCli(run, { timeoutMs: 60_000, env: { CANARY_CONFIG: config } });
    const output = result.stdout + result.stderr;
    expect(output).toContain('ENV_VAR_MISSING');
    expect(output).toContain('ENVFILE_TEST_ANON_KEY');
  }, 90_000);
});

describe('canary load without --env', () => {
  it('asks for --env when the config defines several environments, listing them', async () => {
    const result = await runCli(['load', 'scenarios/smoke.yaml', '--report-dir', path.join(dir, 'r')], {
      timeoutMs: 30_000,
      env: { CANARY_CONFIG: 'environments/local-dev-prod.yaml' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--env is required: environments/local-dev-prod.yaml defines');
    expect(result.stderr).toContain('add --env with one of:');
  });
});
