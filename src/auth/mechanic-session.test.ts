import { randomBytes, randomUUID } from 'node:crypto';
import { jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { Secret } from '../config/index.js';
import { isCanaryError } from '../shared/index.js';
import { MechanicSession, mintUserToken, type AuthEvent } from './mechanic-session.js';

const sessions: MechanicSession[] = [];
afterEach(() => {
  for (const session of sessions.splice(0)) session.stop();
});

function track(session: MechanicSession): MechanicSession {
  sessions.push(session);
  return session;
}

describe('mechanic sessions', () => {
  it('re-mints a legacy token before it expires and tells every listener', async () => {
    const secret = randomBytes(32).toString('base64url');
    const userId = randomUUID();
    const events: AuthEvent['type'][] = [];
    const session = track(
      new MechanicSession({
        credentials: {
          kind: 'mint',
          jwtSecret: new Secret(secret, 'JWT_SECRET'),
          userId,
          lifetimeSeconds: 2,
        },
        timing: { marginMs: 1_000, jitterMs: 0 },
        onEvent: (event) => events.push(event.type),
      }),
    );
    await session.start();
    expect(session.id).toBe(userId);
    const first = session.current();
    const renewed = new Promise<string>((resolve) => session.onRefresh(resolve));
    const next = await renewed;
    expect(next).not.toBe(first);
    expect(session.current()).toBe(next);
    const { payload } = await jwtVerify(next, new TextEncoder().encode(secret));
    expect(payload.sub).toBe(userId);
    expect(payload.role).toBe('authenticated');
    expect(events).toEqual(['sign_in', 'refresh']);
    expect(session.status()).toMatchObject({
      source: 'mint',
      state: 'valid',
      refreshes: 1,
      refreshFailures: 0,
    });
  });

  it('reports a pre-issued token that runs out as expired, and never renews it', async () => {
    const nowSeconds = Math.floor(Date.now() / 1000);
    const token = await mintUserToken(randomBytes(32).toString('base64url'), 'user-1', 1, nowSeconds);
    const events: AuthEvent['type'][] = [];
    const session = track(
      new MechanicSession({
        credentials: { kind: 'env', token: new Secret(token, 'MECHANIC_TOKEN') },
        onEvent: (event) => events.push(event.type),
      }),
    );
    await session.start();
    expect(session.id).toBe('user-1');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(events).toEqual(['sign_in', 'expired']);
    expect(session.status().state).toBe('expired');
    expect(session.current()).toBe(token);
  });

  it('keeps passwords and tokens out of its status and its printed form', async () => {
    const secret = randomBytes(32).toString('base64url');
    const session = track(
      new MechanicSession({
        credentials: {
          kind: 'mint',
          jwtSecret: new Secret(secret, 'JWT_SECRET'),
          userId: 'u',
          lifetimeSeconds: 60,
        },
      }),
    );
    await session.start();
    const printed = JSON.stringify(session.status()) + JSON.stringify(session.credentials);
    expect(printed).not.toContain(secret);
    expect(printed).not.toContain(session.current());
  });

  it('fails start with AUTH_FAILED naming the variables when the password is refused', async () => {
    const { AuthApi } = await import('./auth-api.js');
    // Nothing listens on port 9 of loopback: the request fails fast as a network error.
    const session = track(
      new MechanicSession({
        credentials: {
          kind: 'password',
          email: new Secret('a@b.c', 'PROD_MECHANIC_EMAIL'),
          password: new Secret('x', 'PROD_MECHANIC_PASSWORD'),
        },
        auth: new AuthApi({
          supabaseUrl: 'http://127.0.0.1:9',
          apiKey: 'sb_publishable_x',
          timeoutMs: 2_000,
        }),
        startAttempts: 1,
      }),
    );
    const error = await session.start().catch((thrown: unknown) => thrown);
    expect(isCanaryError(error) && error.code).toBe('TARGET_UNREACHABLE');
    expect(String((error as Error).message)).toContain('PROD_MECHANIC_EMAIL');
  });
});
