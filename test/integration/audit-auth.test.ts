/**
 * The audit's auth checks against real local targets: a project on the new keys and ES256 signing
 * keys passes them; legacy keys and an HS256-only project warn with the migration step; a wrong
 * password, a refused key and an app that cannot verify the project's tokens fail with the fix.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/index.js';
import { runAuthChecks, type AuthAuditInput, type CheckResult } from '../../src/diagnosis/index.js';
import { startTarget, type LocalTarget } from '../../src/local-target/index.js';

let modern: LocalTarget;
let legacy: LocalTarget;

beforeAll(async () => {
  [modern, legacy] = await Promise.all([
    startTarget({ jwtMode: 'asymmetric', accessTokenTtlSeconds: 600 }),
    startTarget({ jwtMode: 'legacy', accessTokenTtlSeconds: 15 }),
  ]);
});

afterAll(async () => {
  await Promise.all([modern?.stop(), legacy?.stop()]);
});

const timing = { marginMs: 120_000, jitterMs: 60_000 };

async function checks(
  input: Partial<AuthAuditInput> & Pick<AuthAuditInput, 'supabaseUrl' | 'clientKey' | 'clientKeyKind'>,
) {
  const results = await runAuthChecks({ timing, schema: 'public', table: 'session_assignments', ...input });
  return new Map<string, CheckResult>(results.map((result) => [result.id, result]));
}

describe('canary audit: auth checks', () => {
  it('passes a project on publishable/secret keys and ES256 signing keys whose mechanic signs in and reads the queue', async () => {
    const mechanic = await modern.createMechanic();
    const results = await checks({
      supabaseUrl: modern.url,
      clientKey: new Secret(modern.publishableKey, 'PUBLISHABLE_KEY'),
      clientKeyKind: 'publishable',
      serverKey: new Secret(modern.secretKey, 'SECRET_KEY'),
      serverKeyKind: 'secret',
      mechanic: {
        kind: 'password',
        email: new Secret(mechanic.email, 'M_EMAIL'),
        password: new Secret(mechanic.password, 'M_PASSWORD'),
      },
      queueUrl: `${modern.url}/api/mechanic/queue`,
    });
    expect([...results.values()].map((r) => `${r.id}:${r.status}`)).toEqual([
      'auth.api_keys:pass',
      'auth.jwks:pass',
      'auth.mechanic_sign_in:pass',
      'auth.token_lifetime:pass',
      'auth.mechanic_reads_queue:pass',
    ]);
    const kid = modern.signingKeys.list().find((key) => key.state === 'current')!.kid;
    expect(results.get('auth.jwks')!.evidence).toContain(`${kid} (ES256)`);
    expect(results.get('auth.mechanic_sign_in')!.evidence).toMatch(
      /M_EMAIL signed in in \d+ ms; its access token lives 600 s and is renewed 120–180 s before expiry/,
    );
    expect(JSON.stringify([...results.values()])).not.toContain(mechanic.password);
  });

  it('warns on legacy keys, an HS256-only project and 15-second tokens, each with the step to take', async () => {
    const mechanic = await legacy.createMechanic();
    const results = await checks({
      supabaseUrl: legacy.url,
      clientKey: new Secret(legacy.anonKey, 'ANON_KEY'),
      clientKeyKind: 'anon',
      serverKey: new Secret(legacy.serviceRoleKey, 'SERVICE_ROLE_KEY'),
      serverKeyKind: 'service_role',
      mechanic: {
        kind: 'password',
        email: new Secret(mechanic.email, 'E'),
        password: new Secret(mechanic.password, 'P'),
      },
    });
    expect(results.get('auth.api_keys')).toMatchObject({ status: 'warn' });
    expect(results.get('auth.api_keys')!.fix).toContain('deprecated');
    expect(results.get('auth.jwks')).toMatchObject({ status: 'warn' });
    expect(results.get('auth.jwks')!.evidence).toContain('legacy HS256 JWT secret');
    expect(results.get('auth.token_lifetime')).toMatchObject({ status: 'warn' });
    expect(results.get('auth.token_lifetime')!.evidence).toContain('access tokens live 15 s');
    expect(results.get('auth.mechanic_reads_queue')).toMatchObject({ status: 'pass' });
  });

  it('fails a wrong password, a refused key and a mint that the asymmetric project refuses, with fixes', async () => {
    const mechanic = await modern.createMechanic();
    const results = await checks({
      supabaseUrl: modern.url,
      clientKey: new Secret(modern.publishableKey, 'PUBLISHABLE_KEY'),
      clientKeyKind: 'publishable',
      serverKey: new Secret(`sb_secret_${'x'.repeat(32)}`, 'SECRET_KEY'),
      serverKeyKind: 'secret',
      mechanic: {
        kind: 'password',
        email: new Secret(mechanic.email, 'E'),
        password: new Secret('not-the-password', 'P'),
      },
    });
    expect(results.get('auth.api_keys')).toMatchObject({ status: 'fail' });
    expect(results.get('auth.api_keys')!.evidence).toMatch(/secret key \(SECRET_KEY\) → HTTP 401/);
    expect(results.get('auth.mechanic_sign_in')).toMatchObject({ status: 'fail' });
    expect(results.get('auth.mechanic_sign_in')!.fix).toContain('canary mechanics create');

    const minted = await checks({
      supabaseUrl: modern.url,
      clientKey: new Secret(modern.publishableKey, 'PUBLISHABLE_KEY'),
      clientKeyKind: 'publishable',
      mechanic: {
        kind: 'mint',
        jwtSecret: new Secret('a-legacy-secret-this-project-does-not-have!!', 'JWT_SECRET'),
        userId: mechanic.id,
        lifetimeSeconds: 600,
      },
      queueUrl: `${modern.url}/api/mechanic/queue`,
    });
    expect(minted.get('auth.mechanic_sign_in')).toMatchObject({ status: 'warn' });
    expect(minted.get('auth.mechanic_reads_queue')).toMatchObject({ status: 'fail' });
    expect(minted.get('auth.mechanic_reads_queue')!.fix).toContain('JWKS');
  });
});
