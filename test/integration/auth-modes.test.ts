import { SignJWT, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { createSupabaseClient, withTarget } from '../helpers/target.js';

const legacy = withTarget({ jwtMode: 'legacy' });
const both = withTarget({ jwtMode: 'both' });
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

function restWith(url: string, apiKey: string, token?: string): Promise<Response> {
  return fetch(`${url}/rest/v1/session_assignments?select=id`, {
    headers: { apikey: apiKey, ...(token ? { Authorization: `Bearer ${token}` } : {}) },
  });
}

describe('legacy mode', () => {
  it('signs users in with HS256 tokens, serves an empty JWKS and still takes the publishable key', async () => {
    const target = legacy.current;
    expect(target.jwtSecret).toBeDefined();
    expect(target.anonKey).not.toBe(target.publishableKey);
    const mechanic = await target.createMechanic();
    const client = createSupabaseClient(target.url, target.publishableKey);
    const { data, error } = await client.auth.signInWithPassword({
      email: mechanic.email,
      password: mechanic.password,
    });
    expect(error).toBeNull();
    expect(decodeProtectedHeader(data.session!.access_token)).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(await (await fetch(target.jwksUrl)).json()).toEqual({ keys: [] });
    expect((await restWith(target.url, target.anonKey)).status).toBe(200);
    expect((await restWith(target.url, target.publishableKey, data.session!.access_token)).status).toBe(200);
  });
});

describe('both mode', () => {
  it('signs with ES256 while the legacy secret and keys verify, until the legacy key is revoked', async () => {
    const target = both.current;
    const mechanic = await target.createMechanic();
    expect(decodeProtectedHeader(mechanic.token).alg).toBe('ES256');
    const hs256 = await new SignJWT({ sub: mechanic.id, role: 'authenticated', exp: nowSeconds() + 600 })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(new TextEncoder().encode(target.jwtSecret));
    expect((await restWith(target.url, target.anonKey, hs256)).status).toBe(200);
    expect((await restWith(target.url, target.publishableKey, mechanic.token)).status).toBe(200);

    const legacyKey = target.signingKeys.list().find((key) => key.algorithm === 'HS256')!;
    expect(legacyKey.state).toBe('previously_used');
    target.signingKeys.revoke(legacyKey.kid);

    const oldApiKey = await restWith(target.url, target.anonKey);
    expect(oldApiKey.status).toBe(401);
    expect(await oldApiKey.json()).toEqual({
      message: 'Invalid API key',
      hint: 'Double check your Supabase `anon` or `service_role` API key.',
    });
    const oldToken = await restWith(target.url, target.publishableKey, hs256);
    expect(oldToken.status).toBe(401);
    expect(((await oldToken.json()) as { message: string }).message).toBe(
      'No suitable key or wrong key type',
    );
    expect((await restWith(target.url, target.publishableKey, mechanic.token)).status).toBe(200);
  });
});
