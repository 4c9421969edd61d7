import {
  SignJWT,
  UnsecuredJWT,
  createRemoteJWKSet,
  decodeProtectedHeader,
  generateKeyPair,
  jwtVerify,
} from 'jose';
import { describe, expect, it } from 'vitest';
import type { CreatedMechanic } from '../../src/local-target/index.js';
import { withTarget } from '../helpers/target.js';
import { openRawSocket, refusalOf, wsUrl } from './realtime-support.js';

const target = withTarget({ jwtMode: 'asymmetric', accessTokenTtlSeconds: 60 });
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

function admin(path: string, method = 'GET'): Promise<Response> {
  return fetch(`${target.current.url}/admin/v1/signing-keys${path}`, {
    method,
    headers: { Authorization: `Bearer ${target.current.adminToken}` },
  });
}

/** What REST, the app, Auth and a Realtime join each answer for `token`. */
async function answersTo(token: string): Promise<{
  rest: { status: number; body: unknown };
  app: { status: number; body: unknown };
  auth: { status: number; body: unknown };
  realtimeJoin: { status: string; response: unknown };
  realtimeSocket: { status: number; body: unknown } | 'connected';
}> {
  const rest = await fetch(`${target.current.url}/rest/v1/session_assignments?select=id`, {
    headers: { apikey: target.current.publishableKey, Authorization: `Bearer ${token}` },
  });
  const app = await fetch(`${target.current.url}/api/mechanic/queue`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  const auth = await fetch(`${target.current.authUrl}/user`, {
    headers: { apikey: target.current.publishableKey, Authorization: `Bearer ${token}` },
  });
  const socket = await openRawSocket(
    wsUrl(target.current.url, { apikey: target.current.publishableKey, vsn: '2.0.0' }),
  );
  socket.send(['1', '1', 'realtime:signing-keys', 'phx_join', { config: {}, access_token: token }]);
  const reply = (await socket.next(
    (frame) => Array.isArray(frame) && frame[1] === '1' && frame[3] === 'phx_reply',
    'join reply',
  )) as [unknown, unknown, unknown, unknown, { status: string; response: unknown }];
  socket.ws.close();
  let realtimeSocket: { status: number; body: unknown } | 'connected' = 'connected';
  try {
    realtimeSocket = await refusalOf(wsUrl(target.current.url, { apikey: token, vsn: '2.0.0' }));
  } catch {
    realtimeSocket = 'connected';
  }
  return {
    rest: { status: rest.status, body: await rest.json() },
    app: { status: app.status, body: await app.json() },
    auth: { status: auth.status, body: await auth.json() },
    realtimeJoin: reply[4],
    realtimeSocket,
  };
}

describe('tokens and the JWKS', () => {
  it('verifies a signed-in mechanic token against the JWKS with jose, as a third party would', async () => {
    const mechanic = await target.current.createMechanic();
    const jwks = createRemoteJWKSet(new URL(target.current.jwksUrl));
    const { payload, protectedHeader } = await jwtVerify(mechanic.token, jwks, {
      issuer: target.current.authUrl,
      audience: 'authenticated',
    });
    expect(payload.sub).toBe(mechanic.id);
    expect(protectedHeader.alg).toBe('ES256');
  });
});

describe('signing-key rotation', () => {
  let before: CreatedMechanic;

  it('publishes a standby key, signs with it once current, and keeps the previous key verifying', async () => {
    before = await target.current.createMechanic();
    const oldKid = decodeProtectedHeader(before.token).kid;
    const added = await admin('', 'POST');
    expect(added.status).toBe(201);
    const standby = (await added.json()) as { kid: string; state: string; algorithm: string };
    expect(standby).toMatchObject({ state: 'standby', algorithm: 'ES256' });
    const published = (await (await fetch(target.current.jwksUrl)).json()) as { keys: { kid: string }[] };
    expect(published.keys.map((key) => key.kid).sort()).toEqual([oldKid, standby.kid].sort());

    const made = await admin(`/${standby.kid}/current`, 'POST');
    expect(made.status).toBe(200);
    const after = await target.current.createMechanic();
    expect(decodeProtectedHeader(after.token).kid).toBe(standby.kid);
    const listed = (await (await admin('')).json()) as { keys: { kid: string; state: string }[] };
    expect(listed.keys.find((key) => key.kid === oldKid)?.state).toBe('previously_used');

    const answers = await answersTo(before.token);
    expect(answers.rest.status).toBe(200);
    expect(answers.app.status).toBe(200);
    expect(answers.auth.status).toBe(200);
    expect(answers.realtimeJoin.status).toBe('ok');
  });

  it('refuses a token signed by a revoked key in REST, Realtime, the app endpoints and Auth', async () => {
    const oldKid = decodeProtectedHeader(before.token).kid!;
    const current = target.current.signingKeys.list().find((key) => key.state === 'current')!;
    const refused = await admin(`/${current.kid}/revoke`, 'POST');
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { message: string }).message).toMatch(/current key/);

    expect((await admin(`/${oldKid}/revoke`, 'POST')).status).toBe(200);
    const published = (await (await fetch(target.current.jwksUrl)).json()) as { keys: { kid: string }[] };
    expect(published.keys.map((key) => key.kid)).toEqual([current.kid]);
    const jwks = createRemoteJWKSet(new URL(target.current.jwksUrl));
    await expect(jwtVerify(before.token, jwks)).rejects.toThrow();

    const answers = await answersTo(before.token);
    expect(answers.rest).toEqual({
      status: 401,
      body: { code: 'PGRST301', details: null, hint: null, message: 'No suitable key or wrong key type' },
    });
    expect(answers.app.status).toBe(401);
    expect(answers.auth.status).toBe(403);
    expect(answers.auth.body).toEqual({
      code: 403,
      error_code: 'bad_jwt',
      msg: `invalid JWT: unable to parse or verify signature, token is unverifiable: error while executing keyfunc: invalid kid: ${oldKid}`,
    });
    expect(answers.realtimeJoin).toEqual({
      status: 'error',
      response: { reason: 'JwtSignatureError: Failed to validate JWT signature' },
    });
    expect(answers.realtimeSocket).toEqual({
      status: 401,
      body: { error: 'Failed to validate JWT signature' },
    });

    const metrics = await (await fetch(`${target.current.url}/metrics`)).text();
    for (const component of ['rest', 'app', 'auth', 'realtime']) {
      expect(metrics).toMatch(
        new RegExp(
          `target_auth_tokens_refused_total\\{component="${component}",reason="revoked_key"\\} [1-9]`,
        ),
      );
    }
    expect(metrics).toMatch(/target_auth_signing_key_rotations_total\{trigger="admin"\} 1/);
  });

  it('needs the admin token and names unknown kids', async () => {
    const anonymous = await fetch(`${target.current.url}/admin/v1/signing-keys`);
    expect(anonymous.status).toBe(401);
    const unknown = await admin('/no-such-kid/current', 'POST');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { message: string }).message).toBe(
      'no signing key with kid no-such-kid',
    );
  });
});

describe('forged tokens', () => {
  it('refuses alg none, a foreign key, an HS256 token and a tampered kid everywhere with Supabase errors', async () => {
    const mechanic = await target.current.createMechanic();
    const claims = { sub: mechanic.id, role: 'authenticated', aud: 'authenticated', exp: nowSeconds() + 600 };
    const kid = decodeProtectedHeader(mechanic.token).kid!;
    const foreignKey = await generateKeyPair('ES256');
    const [, payload, signature] = mechanic.token.split('.');
    const tamperedHeader = Buffer.from(
      JSON.stringify({ alg: 'ES256', kid: '11111111-1111-4111-8111-111111111111', typ: 'JWT' }),
    ).toString('base64url');
    const forged: [string, string, string][] = [
      [
        'alg none',
        new UnsecuredJWT(claims).encode(),
        'invalid JWT: unable to parse or verify signature, token signature is invalid: signing method none is invalid',
      ],
      [
        'foreign key',
        await new SignJWT(claims)
          .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
          .sign(foreignKey.privateKey),
        'invalid JWT: unable to parse or verify signature, token signature is invalid: crypto/ecdsa: verification error',
      ],
      [
        'HS256 with no legacy secret',
        await new SignJWT(claims)
          .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
          .sign(new TextEncoder().encode('a-guessed-secret-a-guessed-secret-1234')),
        'invalid JWT: unable to parse or verify signature, token signature is invalid: signing method HS256 is invalid',
      ],
      [
        'tampered kid',
        `${tamperedHeader}.${payload}.${signature}`,
        'invalid JWT: unable to parse or verify signature, token is unverifiable: error while executing keyfunc: invalid kid: 11111111-1111-4111-8111-111111111111',
      ],
    ];
    for (const [what, token, authMessage] of forged) {
      const answers = await answersTo(token);
      expect(answers.rest.status, what).toBe(401);
      expect((answers.rest.body as { code: string }).code, what).toBe('PGRST301');
      expect(answers.app.status, what).toBe(401);
      expect(answers.auth.body, what).toEqual({ code: 403, error_code: 'bad_jwt', msg: authMessage });
      expect(answers.realtimeJoin, what).toEqual({
        status: 'error',
        response: { reason: 'JwtSignatureError: Failed to validate JWT signature' },
      });
      expect(answers.realtimeSocket, what).toEqual({
        status: 401,
        body: { error: 'Failed to validate JWT signature' },
      });
    }
  });

  it('refuses the secret key on a Realtime socket opened from a browser but accepts the publishable key there', async () => {
    const browser = {
      'User-Agent':
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605.1.15',
    };
    await expect(
      openRawSocket(wsUrl(target.current.url, { apikey: target.current.secretKey, vsn: '2.0.0' }), browser),
    ).rejects.toMatchObject({ status: 401, body: '{"error":"Forbidden use of secret API key in browser"}' });
    const socket = await openRawSocket(
      wsUrl(target.current.url, { apikey: target.current.publishableKey, vsn: '2.0.0' }),
      browser,
    );
    socket.ws.close();
    const rest = await fetch(`${target.current.url}/rest/v1/session_assignments?select=id`, {
      headers: { apikey: target.current.secretKey, ...browser },
    });
    expect(rest.status).toBe(401);
    expect(await rest.json()).toMatchObject({ message: 'Forbidden use of secret API key in browser' });
  });
});
