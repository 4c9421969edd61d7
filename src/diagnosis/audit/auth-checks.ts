/**
 * Auth checks: can the canary keep measuring this project for weeks? They talk to the project's
 * HTTP APIs, not its database: which key kinds it accepts, whether its JWKS is reachable and which
 * signing keys it lists, how long its access tokens live against the refresh margin, and whether a
 * synthetic mechanic can sign in and read the queue the way the dashboard does.
 */
import {
  AuthApi,
  AuthRequestError,
  claimsOf,
  effectiveTiming,
  mintUserToken,
  type AuthTokens,
  type MechanicCredentials,
  type RefreshTiming,
} from '../../auth/index.js';
import type { Secret } from '../../config/index.js';
import type { CheckResult } from './audit-check.js';

export interface AuthAuditInput {
  supabaseUrl: string;
  clientKey: Secret;
  clientKeyKind: 'publishable' | 'anon';
  serverKey?: Secret;
  serverKeyKind?: 'secret' | 'service_role';
  /** The first synthetic mechanic's credentials; undefined when the environment has none. */
  mechanic?: MechanicCredentials;
  timing: RefreshTiming;
  queueUrl?: string;
  schema: string;
  table: string;
  timeoutMs?: number;
  /** The environment's fetch (its trusted CAs); default the global fetch. */
  fetch?: typeof globalThis.fetch;
}

type Result = Omit<CheckResult, 'id' | 'title'>;

export async function runAuthChecks(input: AuthAuditInput): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const check = async (id: string, title: string, run: () => Promise<Result>): Promise<void> => {
    try {
      results.push({ id, title, ...(await run()) });
    } catch (error) {
      results.push({
        id,
        title,
        status: 'fail',
        evidence: `the check could not run: ${(error as Error).message}`,
      });
    }
  };
  const auth = new AuthApi({
    supabaseUrl: input.supabaseUrl,
    apiKey: input.clientKey.reveal(),
    timeoutMs: input.timeoutMs,
    ...(input.fetch ? { fetch: input.fetch } : {}),
  });

  await check('auth.api_keys', 'The project accepts the configured API keys', () => apiKeys(input));
  await check('auth.jwks', 'The JWKS is reachable and lists the signing keys', async () => {
    const keys = await auth.jwks();
    if (keys.length === 0) {
      return {
        status: 'warn',
        evidence: 'the JWKS lists no keys: access tokens are signed with the legacy HS256 JWT secret',
        fix: 'Dashboard → Project Settings → JWT Keys: migrate to asymmetric signing keys (ES256) before the legacy secret is retired.',
      };
    }
    const listed = keys.map((key) => `${key.kid ?? '(no kid)'} (${key.alg ?? key.kty ?? '?'})`).join(', ');
    return { status: 'pass', evidence: `${keys.length} signing key(s): ${listed}` };
  });

  let token: string | undefined;
  await check('auth.mechanic_sign_in', 'A synthetic mechanic signs in', async () => {
    const mechanic = input.mechanic;
    if (!mechanic) {
      return {
        status: 'warn',
        evidence: 'the environment configures no mechanics',
        fix: 'add `mechanics: {from: password, …}`',
      };
    }
    if (mechanic.kind === 'env') {
      token = mechanic.token.reveal();
      const exp = claimsOf(token).exp;
      const left = typeof exp === 'number' ? exp - Math.floor(Date.now() / 1000) : undefined;
      return {
        status: left !== undefined && left <= 0 ? 'fail' : 'warn',
        evidence:
          left === undefined
            ? `the pre-issued token in ${mechanic.token.source} has no exp claim`
            : left <= 0
              ? `the pre-issued token in ${mechanic.token.source} expired ${-left} s ago`
              : `a pre-issued token (${mechanic.token.source}) valid for ${Math.round(left / 60)} more minutes, never renewed`,
        fix: 'use `mechanics.from: password` (accounts from `canary mechanics create`), which renews its tokens',
      };
    }
    if (mechanic.kind === 'mint') {
      token = await mintUserToken(mechanic.jwtSecret.reveal(), mechanic.userId, mechanic.lifetimeSeconds);
      return {
        status: input.clientKeyKind === 'publishable' ? 'warn' : 'pass',
        evidence: `tokens are minted with the legacy JWT secret (${mechanic.jwtSecret.source}) for ${mechanic.userId}`,
        ...(input.clientKeyKind === 'publishable'
          ? { fix: 'projects on asymmetric signing keys refuse HS256 tokens: use `mechanics.from: password`' }
          : {}),
      };
    }
    const started = performance.now();
    let tokens: AuthTokens;
    try {
      tokens = await auth.signInWithPassword(mechanic.email.reveal(), mechanic.password.reveal());
    } catch (error) {
      const failure =
        error instanceof AuthRequestError
          ? error
          : new AuthRequestError('server', String(error), 0, undefined);
      return {
        status: 'fail',
        evidence: `${mechanic.email.source} could not sign in: ${failure.message}`,
        fix:
          failure.kind === 'credentials'
            ? 'the email/password variables do not match a confirmed account: recreate them with `canary mechanics create`'
            : failure.kind === 'rejected_key'
              ? 'the publishable (or anon) key was refused: check publishableKeyEnv'
              : 'check the project URL and that Supabase Auth answers',
      };
    }
    token = tokens.accessToken;
    const ms = Math.round(performance.now() - started);
    const timing = effectiveTiming(input.timing, tokens.expiresIn * 1000);
    return {
      status: 'pass',
      evidence:
        `${mechanic.email.source} signed in in ${ms} ms; its access token lives ${tokens.expiresIn} s and is renewed ` +
        `${Math.round(timing.marginMs / 1000)}–${Math.round((timing.marginMs + timing.jitterMs) / 1000)} s before expiry`,
    };
  });

  await check(
    'auth.token_lifetime',
    'Access tokens live long enough to renew before they expire',
    async () => {
      if (!token) return { status: 'warn', evidence: 'no mechanic token to inspect' };
      const claims = claimsOf(token);
      if (typeof claims.exp !== 'number' || typeof claims.iat !== 'number') {
        return { status: 'warn', evidence: 'the access token has no exp/iat claims' };
      }
      const lifetime = claims.exp - claims.iat;
      const timing = effectiveTiming(input.timing, lifetime * 1000);
      if (lifetime < 30) {
        return {
          status: 'warn',
          evidence: `access tokens live ${lifetime} s: every mechanic renews every ${Math.round(lifetime - timing.marginMs / 1000)} s or so`,
          fix: 'Dashboard → Authentication → Sessions: an access-token lifetime of several minutes or more loads Auth far less',
        };
      }
      return {
        status: 'pass',
        evidence: `access tokens live ${lifetime} s; renewed ${Math.round(timing.marginMs / 1000)} s (+ up to ${Math.round(timing.jitterMs / 1000)} s jitter) before expiry`,
      };
    },
  );

  await check(
    'auth.mechanic_reads_queue',
    'The mechanic token is accepted where the dashboard uses it',
    async () => {
      if (!token) return { status: 'warn', evidence: 'no mechanic token to try' };
      const url =
        input.queueUrl ??
        `${input.supabaseUrl.replace(/\/$/, '')}/rest/v1/${encodeURIComponent(input.table)}?select=id&limit=1`;
      const response = await (input.fetch ?? fetch)(url, {
        headers: {
          apikey: input.clientKey.reveal(),
          authorization: `Bearer ${token}`,
          'accept-profile': input.schema,
        },
        signal: AbortSignal.timeout(input.timeoutMs ?? 10_000),
      });
      await response.body?.cancel().catch(() => undefined);
      const where = input.queueUrl ? 'the queue API' : 'the REST API';
      if (response.ok)
        return { status: 'pass', evidence: `${where} answered ${response.status} to the mechanic's token` };
      return {
        status: 'fail',
        evidence: `${where} answered ${response.status} to a freshly issued mechanic token`,
        fix:
          response.status === 401
            ? "the endpoint does not accept the project's current tokens: an app that verifies with the legacy JWT secret must verify through the JWKS (asymmetric keys)"
            : "check the endpoint and the mechanic's row-level access",
      };
    },
  );
  return results;
}

async function apiKeys(input: AuthAuditInput): Promise<Result> {
  const url = `${input.supabaseUrl.replace(/\/$/, '')}/rest/v1/${encodeURIComponent(input.table)}?select=id&limit=1`;
  const tried: string[] = [];
  let refused = false;
  for (const [key, kind] of [
    [input.clientKey, input.clientKeyKind],
    [input.serverKey, input.serverKeyKind],
  ] as const) {
    if (!key || !kind) continue;
    const value = key.reveal();
    const headers: Record<string, string> = { apikey: value, 'accept-profile': input.schema };
    if (!value.startsWith('sb_')) headers.authorization = `Bearer ${value}`;
    const response = await (input.fetch ?? fetch)(url, {
      headers,
      signal: AbortSignal.timeout(input.timeoutMs ?? 10_000),
    });
    await response.body?.cancel().catch(() => undefined);
    tried.push(`${kind} key (${key.source}) → HTTP ${response.status}`);
    if (response.status === 401 || response.status === 403) refused = true;
  }
  if (refused) {
    return {
      status: 'fail',
      evidence: tried.join('; '),
      fix: 'copy the keys again from Dashboard → Project Settings → API Keys (a revoked or rotated key is refused)',
    };
  }
  const legacy = input.clientKeyKind === 'anon' || input.serverKeyKind === 'service_role';
  if (legacy) {
    return {
      status: 'warn',
      evidence: `${tried.join('; ')}: the legacy JWT keys work today`,
      fix: 'the legacy anon / service_role keys are deprecated: create publishable and secret keys and set publishableKeyEnv / secretKeyEnv',
    };
  }
  return { status: 'pass', evidence: tried.join('; ') };
}
