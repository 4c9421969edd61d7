import { SignJWT, UnsecuredJWT, decodeJwt, decodeProtectedHeader, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { CanaryError } from '../shared/index.js';
import { KeyError, createKeyRing } from './keys.js';
import { resolveJwtMode } from './start-target.js';

const SECRET = 'a-test-secret-that-is-at-least-32-characters';

async function signWith(secret: string, claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
}

async function failure(promise: Promise<unknown>): Promise<KeyError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(KeyError);
  return error as KeyError;
}

describe('createKeyRing', () => {
  it('mints anon and service_role keys shaped like a Supabase project', async () => {
    const ring = await createKeyRing({ secret: SECRET });
    const anon = decodeJwt(ring.anonKey);
    const service = decodeJwt(ring.serviceRoleKey);
    expect(anon).toMatchObject({ iss: 'supabase-demo', role: 'anon', ref: 'canary-local' });
    expect(service).toMatchObject({ iss: 'supabase-demo', role: 'service_role' });
    expect(anon.exp).toBeGreaterThan(Date.now() / 1000 + 5 * 365 * 24 * 3600);
    expect(await ring.verify(ring.anonKey)).toMatchObject({ role: 'anon' });
  });

  it('mints user tokens with role authenticated, the user as subject and a bounded lifetime', async () => {
    const ring = await createKeyRing();
    const token = await ring.mintUserToken('7f6c3a52-4c55-4bb6-9f7e-0d3f1e0b4a11', { expiresInSeconds: 60 });
    const claims = await ring.verify(token);
    expect(claims).toMatchObject({
      role: 'authenticated',
      aud: 'authenticated',
      sub: '7f6c3a52-4c55-4bb6-9f7e-0d3f1e0b4a11',
    });
    expect(claims.exp - (claims.iat ?? 0)).toBe(60);
  });

  it('uses a fresh random secret per ring unless one is configured', async () => {
    const [a, b] = await Promise.all([createKeyRing(), createKeyRing()]);
    expect(a.secret).not.toBe(b.secret);
    expect(a.secret?.length).toBeGreaterThanOrEqual(32);
    await expect(a.verify(b.anonKey)).rejects.toBeInstanceOf(KeyError);
  });

  it('refuses a configured secret shorter than 32 characters with a hint', async () => {
    const error = await createKeyRing({ secret: 'short' }).catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(CanaryError);
    expect((error as CanaryError).hint).toMatch(/at least 32/);
  });
});

describe('KeyRing.verify', () => {
  it('rejects a token signed with another secret as a signature failure', async () => {
    const ring = await createKeyRing({ secret: SECRET });
    const foreign = await signWith('another-secret-that-is-also-32-characters-long', {
      role: 'anon',
      exp: Math.floor(Date.now() / 1000) + 60,
    });
    const error = await failure(ring.verify(foreign));
    expect(error.kind).toBe('signature');
    expect(error.message).toBe('Failed to validate JWT signature');
    expect(error.joinReason).toBe('JwtSignatureError: Failed to validate JWT signature');
  });

  it('rejects alg none', async () => {
    const ring = await createKeyRing({ secret: SECRET });
    const unsigned = new UnsecuredJWT({
      role: 'service_role',
      exp: Math.floor(Date.now() / 1000) + 60,
    }).encode();
    const error = await failure(ring.verify(unsigned));
    expect(error.kind).toBe('signature');
  });

  it('rejects an expired token and says how long ago it expired', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const ring = await createKeyRing({ secret: SECRET, now: () => now });
    const token = await ring.mintUserToken('u1', { expiresInSeconds: 10 });
    now += 15_000;
    const error = await failure(ring.verify(token));
    expect(error.kind).toBe('expired');
    expect(error.secondsSinceExpiry).toBe(5);
    expect(error.message).toBe('Token has expired 5 seconds ago');
    expect(error.joinReason).toBe('InvalidJWTToken: Token has expired 5 seconds ago');
    expect(error.upgradeError).toBe('Token has expired');
  });

  it('rejects tokens without role or exp with the Realtime wording', async () => {
    const ring = await createKeyRing({ secret: SECRET });
    for (const claims of [{ role: 'anon' }, { exp: Math.floor(Date.now() / 1000) + 60 }]) {
      const error = await failure(ring.verify(await signWith(SECRET, claims)));
      expect(error.kind).toBe('claims');
      expect(error.message).toBe('Fields `role` and `exp` are required in JWT');
    }
  });

  it('rejects strings that are not JWTs as malformed', async () => {
    const ring = await createKeyRing({ secret: SECRET });
    for (const token of ['', 'abc', 'a.b.c', 'sb_publishable_xyz']) {
      const error = await failure(ring.verify(token));
      expect(error.kind).toBe('malformed');
      expect(error.message).toBe('The token provided is not a valid JWT');
    }
  });
});

describe('signing keys and modes', () => {
  const now = (): number => Math.floor(Date.now() / 1000);

  it('signs user tokens with the current ES256 key by default and names it in the header', async () => {
    const ring = await createKeyRing();
    const token = await ring.mintUserToken('7f6c3a52-4c55-4bb6-9f7e-0d3f1e0b4a11');
    const header = decodeProtectedHeader(token);
    const current = ring.signingKeys.list().find((key) => key.state === 'current');
    expect(header).toEqual({ alg: 'ES256', kid: current?.kid, typ: 'JWT' });
    expect(ring.signingKeys.jwks().keys.map((key) => key.kid)).toEqual([current?.kid]);
    expect(await ring.verify(ring.legacyAnonKey ?? '')).toMatchObject({ role: 'anon' });
  });

  it('has no HS256 secret in asymmetric mode and refuses HS256 tokens and legacy keys', async () => {
    const ring = await createKeyRing({ mode: 'asymmetric' });
    expect(ring.secret).toBeUndefined();
    expect(ring.legacyAnonKey).toBeUndefined();
    expect(ring.anonKey).toBe(ring.publishableKey);
    expect(ring.serviceRoleKey).toBe(ring.secretKey);
    const hs256 = await signWith(SECRET, { role: 'authenticated', exp: now() + 60 });
    const error = await failure(ring.verify(hs256));
    expect(error.kind).toBe('signature');
    expect(error.reason).toBe('alg_not_allowed');
  });

  it('signs with HS256 and serves an empty JWKS in legacy mode', async () => {
    const ring = await createKeyRing({ mode: 'legacy', secret: SECRET });
    const token = await ring.mintUserToken('u1');
    expect(decodeProtectedHeader(token).alg).toBe('HS256');
    expect(ring.signingKeys.jwks()).toEqual({ keys: [] });
    expect(await ring.verify(ring.publishableKey)).toMatchObject({ role: 'anon' });
    expect(await ring.verify(ring.secretKey)).toMatchObject({ role: 'service_role' });
  });

  it('keeps verifying a previously used key after rotation and refuses it once revoked', async () => {
    const ring = await createKeyRing({ mode: 'asymmetric' });
    const oldKid = ring.signingKeys.list()[0]!.kid;
    const before = await ring.mintUserToken('u1', { expiresInSeconds: 60 });
    const standby = await ring.signingKeys.addStandby();
    expect(ring.signingKeys.jwks().keys).toHaveLength(2);
    ring.signingKeys.makeCurrent(standby);
    const after = await ring.mintUserToken('u1', { expiresInSeconds: 60 });
    expect(decodeProtectedHeader(after).kid).toBe(standby);
    await expect(ring.verify(before)).resolves.toMatchObject({ sub: 'u1' });
    expect(() => ring.signingKeys.revoke(standby)).toThrow(/current key/);
    ring.signingKeys.revoke(oldKid);
    expect(ring.signingKeys.jwks().keys.map((key) => key.kid)).toEqual([standby]);
    const error = await failure(ring.verify(before));
    expect(error.reason).toBe('revoked_key');
    await expect(ring.verify(after)).resolves.toMatchObject({ sub: 'u1' });
  });

  it('refuses a token whose kid was tampered with and one signed by a foreign ES256 key', async () => {
    const ring = await createKeyRing({ mode: 'asymmetric' });
    const token = await ring.mintUserToken('u1', { expiresInSeconds: 60 });
    const [, payload, signature] = token.split('.');
    const forgedHeader = Buffer.from(
      JSON.stringify({ alg: 'ES256', kid: '00000000-0000-4000-8000-000000000000', typ: 'JWT' }),
    ).toString('base64url');
    expect((await failure(ring.verify(`${forgedHeader}.${payload}.${signature}`))).reason).toBe(
      'unknown_key',
    );
    const foreign = await generateKeyPair('ES256');
    const kid = ring.signingKeys.list()[0]!.kid;
    const forged = await new SignJWT({ role: 'service_role', exp: now() + 60 })
      .setProtectedHeader({ alg: 'ES256', kid })
      .sign(foreign.privateKey);
    expect((await failure(ring.verify(forged))).reason).toBe('bad_signature');
  });

  it('refuses an unknown sb_ key and reports each refusal with its component', async () => {
    const refusals: string[] = [];
    const ring = await createKeyRing({
      onRefused: (component, reason) => refusals.push(`${component}:${reason}`),
    });
    await failure(ring.verify('sb_secret_not-this-project', 'rest'));
    expect(refusals).toEqual(['rest:api_key_unknown']);
  });
});

describe('resolveJwtMode', () => {
  it('takes the option, else CANARY_TARGET_JWT_MODE, else both, and names a bad value and its source', () => {
    expect(resolveJwtMode('legacy', { CANARY_TARGET_JWT_MODE: 'asymmetric' })).toBe('legacy');
    expect(resolveJwtMode(undefined, { CANARY_TARGET_JWT_MODE: 'asymmetric' })).toBe('asymmetric');
    expect(resolveJwtMode(undefined, {})).toBe('both');
    expect(() => resolveJwtMode(undefined, { CANARY_TARGET_JWT_MODE: 'rsa' })).toThrow(
      /CANARY_TARGET_JWT_MODE is "rsa", not a JWT mode/,
    );
  });

  it('refuses a JWT secret in asymmetric mode with a hint', async () => {
    const error = await createKeyRing({ mode: 'asymmetric', secret: SECRET }).catch(
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(CanaryError);
    expect((error as CanaryError).hint).toMatch(/drop --jwt-secret/);
  });
});
