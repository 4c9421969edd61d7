/**
 * `canary mechanics create|delete` against a local target used as a remote project on the new API
 * keys: accounts that sign in, rows the app's RLS needs, and a delete that removes exactly what
 * create made. Bad input stops with the flag or key to fix.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthApi } from '../../src/auth/index.js';
import { startTarget, type LocalTarget } from '../../src/local-target/index.js';
import { runCli } from './load-support.js';

let target: LocalTarget;
let dir: string;
let config: string;
let env: Record<string, string>;

beforeAll(async () => {
  target = await startTarget({ jwtMode: 'asymmetric' });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-mechanics-'));
  config = path.join(dir, 'canary.yaml');
  fs.writeFileSync(
    config,
    [
      'version: canary/v1',
      'environments:',
      '  - name: staging',
      '    remote:',
      `      supabaseUrl: ${target.url}`,
      '      publishableKeyEnv: STAGING_PUBLISHABLE_KEY',
      '      secretKeyEnv: STAGING_SECRET_KEY',
      `      waiverUrl: ${target.url}/api/waiver`,
      '    mechanics:',
      '      from: password',
      '      accounts: [{ emailEnv: STAGING_MECHANIC_1_EMAIL, passwordEnv: STAGING_MECHANIC_1_PASSWORD }]',
      '  - name: nosecret',
      '    remote:',
      `      supabaseUrl: ${target.url}`,
      '      publishableKeyEnv: STAGING_PUBLISHABLE_KEY',
      '    mechanics: { from: env, tokensEnv: [T] }',
      '  - name: here',
      '    local: {}',
      'probes:',
      '  - name: p',
      '    paths: [postgres_changes, broadcast]',
      '',
    ].join('\n'),
  );
  env = { STAGING_PUBLISHABLE_KEY: target.publishableKey, STAGING_SECRET_KEY: target.secretKey };
});

afterAll(async () => {
  await target?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function mechanicRows(): Promise<number> {
  const { rows } = await target.db.adminPool.query<{ n: string }>(
    `select count(*) as n from public.mechanics m join auth.users u on u.id = m.id
      where u.raw_user_meta_data ->> 'realtime_canary' = 'true'`,
  );
  return Number(rows[0]?.n ?? 0);
}

describe('canary mechanics', () => {
  it('creates accounts that sign in and have mechanic rows, then deletes exactly those', async () => {
    const before = await target.createMechanic({ name: 'a real mechanic' });
    const created = await runCli(
      ['mechanics', 'create', '--env', 'staging', '--count', '2', '--config', config],
      {
        env,
        timeoutMs: 60_000,
      },
    );
    expect(created.code, created.stderr).toBe(0);
    const lines = Object.fromEntries(
      created.stdout
        .trim()
        .split('\n')
        .map((line) => line.split(/=(.*)/s).slice(0, 2)),
    );
    expect(Object.keys(lines)).toEqual([
      'STAGING_MECHANIC_1_EMAIL',
      'STAGING_MECHANIC_1_PASSWORD',
      'STAGING_MECHANIC_2_EMAIL',
      'STAGING_MECHANIC_2_PASSWORD',
    ]);
    expect(created.stderr).toContain(
      'emailEnv: STAGING_MECHANIC_2_EMAIL, passwordEnv: STAGING_MECHANIC_2_PASSWORD',
    );
    expect(await mechanicRows()).toBe(2);
    const auth = new AuthApi({ supabaseUrl: target.url, apiKey: target.publishableKey });
    const session = await auth.signInWithPassword(
      lines.STAGING_MECHANIC_1_EMAIL!,
      lines.STAGING_MECHANIC_1_PASSWORD!,
    );
    // The mechanic row lets RLS show it its queue.
    const queue = await fetch(`${target.url}/api/mechanic/queue`, {
      headers: { authorization: `Bearer ${session.accessToken}` },
    });
    expect(queue.status).toBe(200);

    const deleted = await runCli(['mechanics', 'delete', '--env', 'staging', '--config', config], {
      env,
      timeoutMs: 60_000,
    });
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stderr).toContain('2 synthetic mechanic account(s) deleted from staging');
    expect(await mechanicRows()).toBe(0);
    const refused = await auth
      .signInWithPassword(lines.STAGING_MECHANIC_1_EMAIL!, lines.STAGING_MECHANIC_1_PASSWORD!)
      .catch((error: unknown) => error);
    expect((refused as { errorCode?: string }).errorCode).toBe('invalid_credentials');
    // The mechanic the canary did not make is untouched.
    await expect(auth.signInWithPassword(before.email, before.password)).resolves.toMatchObject({
      userId: before.id,
    });
  }, 120_000);

  it('stops with the flag or key to fix on a bad count, a missing secret key or a local environment', async () => {
    const zero = await runCli(
      ['mechanics', 'create', '--env', 'staging', '--count', '0', '--config', config],
      { env },
    );
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('--count "0" is not a count');
    const noSecret = await runCli(
      ['mechanics', 'create', '--env', 'nosecret', '--count', '1', '--config', config],
      { env },
    );
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toContain('add remote.secretKeyEnv');
    const local = await runCli(['mechanics', 'delete', '--env', 'here', '--config', config], { env });
    expect(local.code).toBe(2);
    expect(local.stderr).toContain('environment "here" is local');
  }, 120_000);
});
