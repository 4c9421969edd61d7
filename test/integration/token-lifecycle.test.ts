/**
 * Weeks compressed into five minutes: `canary run` against three local targets used as REMOTE
 * projects, each with 20-second access tokens, so a run lives through fifteen token lifetimes.
 * - `asym`: publishable/secret keys only and ES256 signing keys, mechanics made by `canary mechanics
 *   create` and signed in with email + password; mid-run the signing key rotates and the old one is
 *   revoked after an overlap. Nothing may be lost, nothing refused.
 * - `legacy`: the legacy anon/service_role keys and HS256 secret, tokens re-minted before expiry.
 * - `refresh`: like `asym`, but the refresh endpoint fails for 30 s: the run must show refresh
 *   failures and, once tokens expire, auth-reason subscription errors and the alert's condition —
 *   never dropped deliveries — and recover by itself.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sleep } from '../../src/shared/index.js';
import { startTarget, type LocalTarget } from '../../src/local-target/index.js';
import { sampleSum, scrape, spawnCanary } from './canary-run-support.js';
import { runCli } from './load-support.js';

const RUN_SECONDS = 300;
const TOKEN_SECONDS = 20;
const children: ChildProcess[] = [];
const targets: LocalTarget[] = [];
let dir: string | undefined;

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.all(targets.map((t) => t.stop()));
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

interface Outcome {
  env: string;
  path: string;
  outcome: 'delivered' | 'late' | 'dropped';
}

interface MechanicView {
  mechanicId: string;
  source: string;
  state: string;
  refreshes: number;
}

async function start(jwtMode: 'asymmetric' | 'legacy'): Promise<LocalTarget> {
  const target = await startTarget({ jwtMode, accessTokenTtlSeconds: TOKEN_SECONDS });
  targets.push(target);
  return target;
}

function remote(name: string, target: LocalTarget, keys: string[], mechanics: string[]): string[] {
  return [
    `  - name: ${name}`,
    '    remote:',
    `      supabaseUrl: ${target.url}`,
    ...keys.map((line) => `      ${line}`),
    `      waiverUrl: ${target.url}/api/waiver`,
    `      queueUrl: ${target.url}/api/mechanic/queue`,
    `    broadcastChannel: ${target.broadcastChannel}`,
    '    mechanics:',
    ...mechanics.map((line) => `      ${line}`),
  ];
}

describe('mechanic tokens over many lifetimes', () => {
  it(
    'keeps every path delivered through 15 token lifetimes and a key rotation, and reports a failing refresh endpoint as auth, never as drops',
    async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-tokens-'));
      const [asym, legacy, failing] = await Promise.all([
        start('asymmetric'),
        start('legacy'),
        start('asymmetric'),
      ]);
      const legacyMechanics = [await legacy.createMechanic(), await legacy.createMechanic()];
      const failingMechanics = [await failing.createMechanic(), await failing.createMechanic()];

      const config = path.join(dir, 'canary.yaml');
      fs.writeFileSync(
        config,
        [
          'version: canary/v1',
          'environments:',
          ...remote(
            'asym',
            asym,
            ['publishableKeyEnv: ASYM_PUBLISHABLE_KEY', 'secretKeyEnv: ASYM_SECRET_KEY'],
            [
              'from: password',
              'accounts:',
              '  - { emailEnv: ASYM_MECHANIC_1_EMAIL, passwordEnv: ASYM_MECHANIC_1_PASSWORD }',
              '  - { emailEnv: ASYM_MECHANIC_2_EMAIL, passwordEnv: ASYM_MECHANIC_2_PASSWORD }',
            ],
          ),
          ...remote(
            'legacy',
            legacy,
            ['anonKeyEnv: LEGACY_ANON_KEY', 'serviceRoleKeyEnv: LEGACY_SERVICE_ROLE_KEY'],
            [
              'from: mint',
              'jwtSecretEnv: LEGACY_JWT_SECRET',
              `userIds: [${legacyMechanics.map((m) => m.id).join(', ')}]`,
              `expiresInSeconds: ${TOKEN_SECONDS}`,
            ],
          ),
          ...remote(
            'refresh',
            failing,
            ['publishableKeyEnv: REFRESH_PUBLISHABLE_KEY', 'secretKeyEnv: REFRESH_SECRET_KEY'],
            [
              'from: password',
              'accounts:',
              '  - { emailEnv: REFRESH_MECHANIC_1_EMAIL, passwordEnv: REFRESH_MECHANIC_1_PASSWORD }',
              '  - { emailEnv: REFRESH_MECHANIC_2_EMAIL, passwordEnv: REFRESH_MECHANIC_2_PASSWORD }',
            ],
          ),
          'probes:',
          '  - name: tokens',
          '    interval: 3s',
          '    subscribers: { lean: 2, supabase-js: 1 }',
          '    paths: [postgres_changes, broadcast, polling]',
          '    pollInterval: 1s',
          '    lateAfter: 2s',
          '    deadline: 8s',
          '',
        ].join('\n'),
      );
      const env: Record<string, string> = {
        ASYM_PUBLISHABLE_KEY: asym.publishableKey,
        ASYM_SECRET_KEY: asym.secretKey,
        LEGACY_ANON_KEY: legacy.anonKey,
        LEGACY_SERVICE_ROLE_KEY: legacy.serviceRoleKey,
        LEGACY_JWT_SECRET: legacy.jwtSecret ?? '',
        REFRESH_PUBLISHABLE_KEY: failing.publishableKey,
        REFRESH_SECRET_KEY: failing.secretKey,
        REFRESH_MECHANIC_1_EMAIL: failingMechanics[0]!.email,
        REFRESH_MECHANIC_1_PASSWORD: failingMechanics[0]!.password,
        REFRESH_MECHANIC_2_EMAIL: failingMechanics[1]!.email,
        REFRESH_MECHANIC_2_PASSWORD: failingMechanics[1]!.password,
      };

      // The asym project's mechanics are made the way a user makes them: with the secret key.
      const created = await runCli(
        ['mechanics', 'create', '--env', 'asym', '--count', '2', '--config', config],
        {
          env,
          timeoutMs: 60_000,
        },
      );
      expect(created.code, created.stderr).toBe(0);
      for (const line of created.stdout.trim().split('\n')) {
        const [key, ...value] = line.split('=');
        env[key!] = value.join('=');
      }
      expect(Object.keys(env)).toContain('ASYM_MECHANIC_2_PASSWORD');
      expect(created.stderr).toContain('from: password');

      const outcomesFile = path.join(dir, 'outcomes.jsonl');
      const run = spawnCanary(
        'run',
        [
          '--config',
          config,
          '--duration',
          `${RUN_SECONDS + 60}s`,
          '--port',
          '0',
          '--outcomes-file',
          outcomesFile,
          '--summary-every',
          '30s',
        ],
        env,
        children,
      );
      const url = await run.exporterUrl();
      const startedAt = Date.now();
      const at = async (seconds: number): Promise<void> => {
        const wait = startedAt + seconds * 1000 - Date.now();
        if (wait > 0) await sleep(wait);
      };

      // Refresh endpoint of `refresh` fails for 30 s, long past its tokens' 20 s lifetime.
      await at(60);
      await failing.faults.update({ auth: { refresh: { failRate: 1, failStatus: 503 } } });
      let sawOverdue = false;
      let sawExpiring = false;
      for (let i = 0; i < 28 && !(sawOverdue && sawExpiring); i++) {
        await sleep(1_000);
        const metrics = await scrape(url);
        sawOverdue ||= sampleSum(metrics, 'canary_auth_tokens_overdue', { env: 'refresh' }) > 0;
        sawExpiring ||= sampleSum(metrics, 'canary_auth_token_expiry_seconds', { env: 'refresh' }) < 60;
      }
      await at(90);
      await failing.faults.update({ auth: { refresh: { failRate: 0 } } });

      // `asym` rotates its signing key; the old one is revoked once every token had time to renew.
      await at(120);
      const previous = asym.signingKeys.list().find((key) => key.state === 'current')!;
      asym.signingKeys.makeCurrent(await asym.signingKeys.addStandby());
      await at(165);
      asym.signingKeys.revoke(previous.kid);

      await at(RUN_SECONDS);
      const metrics = await scrape(url);
      const status = (await (await fetch(`${url}/api/status`)).json()) as {
        environments: { name: string; mechanics?: MechanicView[] }[];
      };
      // Stopped as a service manager would; the drain settles every outcome before it exits.
      run.child.kill('SIGTERM');
      expect(await run.exit).toBe(0);

      const outcomes = fs
        .readFileSync(outcomesFile, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Outcome);
      const count = (envName: string, p: string, outcome: Outcome['outcome']): number =>
        outcomes.filter((o) => o.env === envName && o.path === p && o.outcome === outcome).length;
      const published = (envName: string): number =>
        sampleSum(metrics, 'canary_events_published_total', { env: envName });

      for (const envName of ['asym', 'legacy', 'refresh']) {
        for (const p of ['postgres_changes', 'broadcast', 'polling']) {
          // Books balance: every due (event, subscriber, path) arrived; none dropped, even in `refresh`.
          expect(count(envName, p, 'dropped'), `${envName} ${p} dropped`).toBe(0);
          expect(
            count(envName, p, 'delivered') + count(envName, p, 'late'),
            `${envName} ${p}`,
          ).toBeGreaterThan(0);
        }
        expect(published(envName), envName).toBeGreaterThan(RUN_SECONDS / 3 / 2);
        expect(sampleSum(metrics, 'canary_subscribers_connected', { env: envName }), envName).toBe(3);
        const mechanics = status.environments.find((e) => e.name === envName)?.mechanics ?? [];
        expect(mechanics, envName).toHaveLength(2);
        for (const mechanic of mechanics) expect(mechanic.state, envName).toBe('valid');
      }

      // The healthy projects: every token renewed in time, nothing refused, nothing excluded.
      for (const envName of ['asym', 'legacy']) {
        const mechanics = status.environments.find((e) => e.name === envName)!.mechanics!;
        for (const mechanic of mechanics) expect(mechanic.refreshes, envName).toBeGreaterThanOrEqual(12);
        expect(sampleSum(metrics, 'canary_auth_subscription_errors_total', { env: envName }), envName).toBe(
          0,
        );
        expect(
          sampleSum(metrics, 'canary_subscription_errors_total', { env: envName, reason: 'auth' }),
          envName,
        ).toBe(0);
        expect(sampleSum(metrics, 'canary_auth_excluded_deliveries_total', { env: envName }), envName).toBe(
          0,
        );
        expect(
          sampleSum(metrics, 'canary_auth_refreshes_total', { env: envName, outcome: 'failure' }),
          envName,
        ).toBe(0);
      }
      expect(mechanicsSources(status, 'asym')).toEqual(['password']);
      expect(mechanicsSources(status, 'legacy')).toEqual(['mint']);
      // The supabase-js subscriber of `asym` keeps its own Auth session: its refreshes count too.
      const asymRefreshes = sampleSum(metrics, 'canary_auth_refreshes_total', {
        env: 'asym',
        outcome: 'success',
      });
      expect(asymRefreshes).toBeGreaterThanOrEqual(12 * 3);

      // The failing refresh endpoint: seen as what it is.
      expect(sawOverdue && sawExpiring, 'the alert condition held while refreshes failed').toBe(true);
      expect(
        sampleSum(metrics, 'canary_auth_refreshes_total', { env: 'refresh', outcome: 'failure' }),
      ).toBeGreaterThan(0);
      expect(
        sampleSum(metrics, 'canary_auth_subscription_errors_total', {
          env: 'refresh',
          auth_reason: 'token_expired',
        }),
      ).toBeGreaterThan(0);
      expect(sampleSum(metrics, 'canary_auth_excluded_deliveries_total', { env: 'refresh' })).toBeGreaterThan(
        0,
      );
      expect(sampleSum(metrics, 'canary_auth_tokens_overdue', { env: 'refresh' })).toBe(0);
      expect(run.output()).not.toContain(asym.secretKey);
      expect(run.output()).not.toContain(env.ASYM_MECHANIC_1_PASSWORD!);
    },
    (RUN_SECONDS + 120) * 1000,
  );
});

function mechanicsSources(
  status: { environments: { name: string; mechanics?: MechanicView[] }[] },
  name: string,
): string[] {
  return [...new Set(status.environments.find((e) => e.name === name)?.mechanics?.map((m) => m.source))];
}
