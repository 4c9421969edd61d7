import type { AuthApiError } from '@supabase/supabase-js';
import { isAuthApiError } from '@supabase/supabase-js';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { createSupabaseClient, withTarget } from '../helpers/target.js';

const target = withTarget({
  jwtMode: 'asymmetric',
  accessTokenTtlSeconds: 20,
  auth: { refreshTokenReuseIntervalSeconds: 1, rateLimits: { signInsPerFiveMinutes: 5 } },
});

let addressCounter = 0;
/** Each test signs in from its own address, so one test's sign-ins never count against another's. */
function address(): string {
  addressCounter += 1;
  return `198.51.100.${addressCounter}`;
}

function authFetch(
  path: string,
  init: RequestInit & { key?: string; from?: string } = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has('apikey')) headers.set('apikey', init.key ?? target.current.publishableKey);
  headers.set('X-Forwarded-For', init.from ?? address());
  if (init.body !== undefined && !headers.has('Content-Type'))
    headers.set('Content-Type', 'application/json');
  return fetch(`${target.current.authUrl}${path}`, { ...init, headers });
}

async function signIn(
  email: string,
  password: string,
  from = address(),
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await authFetch('/token?grant_type=password', {
    method: 'POST',
    body: JSON.stringify({ email, password }),
    from,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function refresh(refreshToken: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await authFetch('/token?grant_type=refresh_token', {
    method: 'POST',
    body: JSON.stringify({ refresh_token: refreshToken }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('password sign-in', () => {
  it('signs a mechanic in with supabase-js and the publishable key, with claims as Supabase Auth issues them', async () => {
    const mechanic = await target.current.createMechanic();
    const client = createSupabaseClient(target.current.url, target.current.publishableKey);
    const { data, error } = await client.auth.signInWithPassword({
      email: mechanic.email,
      password: mechanic.password,
    });
    expect(error).toBeNull();
    const session = data.session!;
    expect(session.token_type).toBe('bearer');
    expect(session.expires_in).toBe(20);
    expect(session.user.id).toBe(mechanic.id);
    expect(session.user.email).toBe(mechanic.email);
    expect(session.refresh_token).toMatch(/^[a-z0-9]{12}$/);
    const header = decodeProtectedHeader(session.access_token);
    const current = target.current.signingKeys.list().find((key) => key.state === 'current');
    expect(header).toEqual({ alg: 'ES256', kid: current?.kid, typ: 'JWT' });
    const claims = decodeJwt(session.access_token);
    expect(claims).toMatchObject({
      iss: target.current.authUrl,
      sub: mechanic.id,
      aud: 'authenticated',
      email: mechanic.email,
      phone: '',
      role: 'authenticated',
      aal: 'aal1',
      is_anonymous: false,
      app_metadata: { provider: 'email', providers: ['email'] },
      user_metadata: {},
    });
    expect(claims.exp! - claims.iat!).toBe(20);
    expect(session.expires_at).toBe(claims.exp);
    expect(typeof claims.session_id).toBe('string');
    expect(claims.amr).toEqual([{ method: 'password', timestamp: expect.any(Number) as number }]);

    const { data: user } = await client.auth.getUser();
    expect(user.user?.id).toBe(mechanic.id);
    await client.auth.signOut();
  });

  it('refuses a wrong password with invalid_credentials and rate-limits repeated failures with over_request_rate_limit', async () => {
    const mechanic = await target.current.createMechanic();
    const from = address();
    const statuses: number[] = [];
    let last: Record<string, unknown> = {};
    for (let attempt = 0; attempt < 6; attempt++) {
      const result = await signIn(mechanic.email, 'not-the-password', from);
      statuses.push(result.status);
      last = result.body;
      if (attempt === 0) {
        expect(result.body).toEqual({
          code: 400,
          error_code: 'invalid_credentials',
          msg: 'Invalid login credentials',
        });
      }
    }
    expect(statuses).toEqual([400, 400, 400, 400, 400, 429]);
    expect(last).toEqual({
      code: 429,
      error_code: 'over_request_rate_limit',
      msg: 'Request rate limit reached',
    });
    // Another address is not limited.
    expect((await signIn(mechanic.email, mechanic.password)).status).toBe(200);
  });

  it('answers supabase-js with an AuthApiError carrying the error code', async () => {
    const client = createSupabaseClient(target.current.url, target.current.publishableKey, {
      client: { global: { headers: { 'X-Forwarded-For': address() } } },
    });
    const { error } = await client.auth.signInWithPassword({
      email: 'nobody@canary.local',
      password: 'whatever1',
    });
    expect(isAuthApiError(error)).toBe(true);
    expect((error as AuthApiError).status).toBe(400);
    expect((error as AuthApiError).code).toBe('invalid_credentials');
  });

  it('answers malformed grant bodies with bad_json or validation_failed and never a 500', async () => {
    const cases: [string, unknown, number, string][] = [
      ['{"email": ', undefined, 400, 'bad_json'],
      ['[1,2]', undefined, 400, 'bad_json'],
      ['{"email": 5, "password": "x"}', undefined, 400, 'bad_json'],
      ['{}', undefined, 400, 'validation_failed'],
      ['{"email":"a@b.co","phone":"123","password":"x"}', undefined, 400, 'validation_failed'],
      ['', undefined, 400, 'bad_json'],
    ];
    for (const [body, , status, code] of cases) {
      const response = await authFetch('/token?grant_type=password', { method: 'POST', body });
      expect(response.status, body).toBe(status);
      const json = (await response.json()) as { error_code: string; msg: string };
      expect(json.error_code, body).toBe(code);
      expect(response.headers.get('x-sb-error-code')).toBe(code);
    }
    const unknownGrant = await authFetch('/token?grant_type=magic', { method: 'POST', body: '{}' });
    expect(unknownGrant.status).toBe(400);
    expect(await unknownGrant.json()).toEqual({
      code: 400,
      error_code: 'invalid_credentials',
      msg: 'unsupported_grant_type',
    });
    const missingToken = await authFetch('/token?grant_type=refresh_token', { method: 'POST', body: '{}' });
    expect(missingToken.status).toBe(400);
    expect(await missingToken.json()).toEqual({
      error: 'invalid_request',
      error_description: 'refresh_token required',
    });
  });

  it('answers the 2024-01-01 API version with code and message, as supabase-js asks', async () => {
    const response = await authFetch('/token?grant_type=password', {
      method: 'POST',
      headers: { 'X-Supabase-Api-Version': '2024-01-01' },
      body: JSON.stringify({ email: 'nobody@canary.local', password: 'whatever1' }),
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-supabase-api-version')).toBe('2024-01-01');
    expect(await response.json()).toEqual({
      code: 'invalid_credentials',
      message: 'Invalid login credentials',
    });
  });

  it('refuses a body over 1 MB with request_entity_too_large', async () => {
    const response = await authFetch('/token?grant_type=password', {
      method: 'POST',
      body: JSON.stringify({ email: 'a@b.co', password: 'x'.repeat(1_100_000) }),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({
      code: 413,
      error_code: 'request_entity_too_large',
      msg: 'Request body too large (max 1048576 bytes)',
    });
  });
});

describe('refresh-token rotation', () => {
  it('rotates the refresh token and refuses the used one after the reuse interval with refresh_token_already_used', async () => {
    const mechanic = await target.current.createMechanic();
    const first = await refresh(mechanic.refreshToken);
    expect(first.status).toBe(200);
    const rotated = first.body.refresh_token as string;
    expect(rotated).not.toBe(mechanic.refreshToken);
    expect(decodeJwt(first.body.access_token as string).sub).toBe(mechanic.id);

    // Within the reuse interval the parent of the active token gets the active token back.
    const retried = await refresh(mechanic.refreshToken);
    expect(retried.status).toBe(200);
    expect(retried.body.refresh_token).toBe(rotated);

    const second = await refresh(rotated);
    expect(second.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    const reused = await refresh(mechanic.refreshToken);
    expect(reused).toEqual({
      status: 400,
      body: {
        code: 400,
        error_code: 'refresh_token_already_used',
        msg: 'Invalid Refresh Token: Already Used',
      },
    });
    // Reuse is treated as theft: the whole session's tokens are revoked (usable again only within
    // the reuse interval, as in GoTrue), so the newest one is refused once the interval has passed.
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    const after = await refresh(second.body.refresh_token as string);
    expect(after.body.error_code).toBe('refresh_token_already_used');
  });

  it('refuses an unknown refresh token with refresh_token_not_found', async () => {
    expect(await refresh('abcdefghijkl')).toEqual({
      status: 400,
      body: {
        code: 400,
        error_code: 'refresh_token_not_found',
        msg: 'Invalid Refresh Token: Refresh Token Not Found',
      },
    });
  });
});

describe('user and logout', () => {
  it('needs a bearer token, refuses a bad one with bad_jwt, and ends the session on logout', async () => {
    const mechanic = await target.current.createMechanic();
    const none = await authFetch('/user');
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({
      code: 401,
      error_code: 'no_authorization',
      msg: 'This endpoint requires a valid Bearer token',
    });
    const bad = await authFetch('/user', { headers: { Authorization: 'Bearer not.a.jwt' } });
    expect(bad.status).toBe(403);
    expect(((await bad.json()) as { error_code: string }).error_code).toBe('bad_jwt');
    const anon = await authFetch('/user', {
      headers: { Authorization: `Bearer ${target.current.publishableKey}` },
    });
    expect(await anon.json()).toEqual({
      code: 403,
      error_code: 'bad_jwt',
      msg: 'invalid claim: missing sub claim',
    });

    const me = await authFetch('/user', { headers: { Authorization: `Bearer ${mechanic.token}` } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { id: string }).id).toBe(mechanic.id);

    const logout = await authFetch('/logout?scope=global', {
      method: 'POST',
      headers: { Authorization: `Bearer ${mechanic.token}` },
    });
    expect(logout.status).toBe(204);
    const gone = await authFetch('/user', { headers: { Authorization: `Bearer ${mechanic.token}` } });
    expect(gone.status).toBe(403);
    expect(((await gone.json()) as { error_code: string }).error_code).toBe('session_not_found');
    expect((await refresh(mechanic.refreshToken)).body.error_code).toBe('refresh_token_not_found');
  });
});

describe('admin users', () => {
  it('creates, lists, reads and deletes users with the secret key through supabase-js', async () => {
    const admin = createSupabaseClient(target.current.url, target.current.secretKey);
    const email = `admin-made-${Date.now()}@canary.local`;
    const created = await admin.auth.admin.createUser({
      email,
      password: 'a-long-password',
      email_confirm: true,
      user_metadata: { team: 'night' },
    });
    expect(created.error).toBeNull();
    const user = created.data.user!;
    expect(user.email).toBe(email);
    expect(user.email_confirmed_at).toBeDefined();
    expect(user.user_metadata).toEqual({ team: 'night' });

    const duplicate = await admin.auth.admin.createUser({ email, password: 'a-long-password' });
    expect(duplicate.error?.status).toBe(422);
    expect(duplicate.error?.code).toBe('email_exists');
    const weak = await admin.auth.admin.createUser({ email: `w-${email}`, password: 'abc' });
    expect(weak.error?.code).toBe('weak_password');

    const listed = await admin.auth.admin.listUsers({ page: 1, perPage: 1000 });
    expect(listed.data.users.map((listedUser) => listedUser.id)).toContain(user.id);
    const fetched = await admin.auth.admin.getUserById(user.id);
    expect(fetched.data.user?.email).toBe(email);

    expect((await signIn(email, 'a-long-password')).status).toBe(200);
    expect((await admin.auth.admin.deleteUser(user.id)).error).toBeNull();
    const missing = await admin.auth.admin.getUserById(user.id);
    expect(missing.error?.status).toBe(404);
    expect(missing.error?.code).toBe('user_not_found');
  });

  it('refuses the publishable key with not_admin, a secret key only as a bearer with UNAUTHORIZED_MISSING_API_KEY, and a secret key from a browser', async () => {
    const notAdmin = await authFetch('/admin/users', {
      headers: { Authorization: `Bearer ${target.current.publishableKey}` },
    });
    expect(notAdmin.status).toBe(403);
    expect(await notAdmin.json()).toEqual({ code: 403, error_code: 'not_admin', msg: 'User not allowed' });

    const bearerOnly = await fetch(`${target.current.authUrl}/admin/users`, {
      headers: { Authorization: `Bearer ${target.current.secretKey}` },
    });
    expect(bearerOnly.status).toBe(401);
    expect(bearerOnly.headers.get('sb-error-code')).toBe('UNAUTHORIZED_MISSING_API_KEY');
    expect(((await bearerOnly.json()) as { message: string }).message).toBe('No API key found in request');

    const apikeyOnly = await fetch(`${target.current.authUrl}/admin/users`, {
      headers: { apikey: target.current.secretKey },
    });
    expect(apikeyOnly.status).toBe(200);

    const browser = await fetch(`${target.current.authUrl}/admin/users`, {
      headers: {
        apikey: target.current.secretKey,
        'User-Agent':
          'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
      },
    });
    expect(browser.status).toBe(401);
    expect(((await browser.json()) as { message: string }).message).toBe(
      'Forbidden use of secret API key in browser',
    );

    const unknown = await fetch(`${target.current.authUrl}/admin/users`, {
      headers: { apikey: 'sb_secret_notthisprojectskey_00000000' },
    });
    expect(unknown.status).toBe(401);
    expect(((await unknown.json()) as { message: string }).message).toBe('Invalid API key');
  });

  it('counts sign-ins, refreshes and failures in the target metrics', async () => {
    const metrics = await (await fetch(`${target.current.url}/metrics`)).text();
    expect(metrics).toMatch(/^target_auth_sign_ins_total \d+/m);
    expect(metrics).toMatch(/^target_auth_refreshes_total [1-9]\d*/m);
    expect(metrics).toMatch(
      /target_auth_failures_total\{grant="password",reason="invalid_credentials"\} [1-9]/,
    );
    expect(metrics).toMatch(
      /target_auth_failures_total\{grant="password",reason="over_request_rate_limit"\} [1-9]/,
    );
    expect(metrics).toMatch(/target_auth_tokens_refused_total\{component="auth",reason="malformed"\} [1-9]/);
  });
});

describe('JWKS', () => {
  it('serves the current ES256 public key without an API key, as Supabase does', async () => {
    const response = await fetch(target.current.jwksUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('public, max-age=600');
    const { keys } = (await response.json()) as { keys: Record<string, unknown>[] };
    const current = target.current.signingKeys.list().find((key) => key.state === 'current');
    expect(keys).toEqual([
      {
        alg: 'ES256',
        crv: 'P-256',
        ext: true,
        key_ops: ['verify'],
        kid: current?.kid,
        kty: 'EC',
        use: 'sig',
        x: expect.any(String) as string,
        y: expect.any(String) as string,
      },
    ]);
  });
});
