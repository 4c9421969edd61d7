import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { withTarget } from '../helpers/target.js';
import { waitFor } from './realtime-support.js';

// The rotation fault revokes ES256 keys only, so the target signs with one.
const target = withTarget({ jwtMode: 'both', accessTokenTtlSeconds: 20 });

afterEach(async () => {
  await target.current.faults.reset();
});

async function patchFaults(patch: unknown): Promise<Response> {
  return fetch(`${target.current.url}/admin/v1/faults`, {
    method: 'PATCH',
    headers: { Authorization: `Bearer ${target.current.adminToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(patch),
  });
}

async function refresh(refreshToken: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${target.current.authUrl}/token?grant_type=refresh_token`, {
    method: 'POST',
    headers: { apikey: target.current.publishableKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ refresh_token: refreshToken }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function metricsText(): Promise<string> {
  return (await fetch(`${target.current.url}/metrics`)).text();
}

function restAs(token: string): Promise<Response> {
  return fetch(`${target.current.url}/rest/v1/session_assignments?select=id`, {
    headers: { apikey: target.current.publishableKey, Authorization: `Bearer ${token}` },
  });
}

describe('auth faults', () => {
  it('fails the refresh endpoint with the configured status at runtime and counts it', async () => {
    const mechanic = await target.current.createMechanic();
    expect((await patchFaults({ auth: { refresh: { failRate: 1, failStatus: 503 } } })).status).toBe(200);
    const failed = await refresh(mechanic.refreshToken);
    expect(failed).toEqual({
      status: 503,
      body: {
        code: 503,
        error_code: 'unexpected_failure',
        msg: 'Unexpected failure, please check server logs for more information',
      },
    });
    await target.current.faults.update({ auth: { refresh: { failRate: 0 } } });
    // The failed attempt consumed nothing: the same refresh token still works.
    expect((await refresh(mechanic.refreshToken)).status).toBe(200);
    const metrics = await metricsText();
    expect(metrics).toMatch(/target_faults_injected_total\{fault="refresh_fail",path="auth"\} 1/);
    expect(metrics).toMatch(
      /target_auth_failures_total\{grant="refresh_token",reason="unexpected_failure"\} 1/,
    );
  });

  it('slows the refresh endpoint by the configured delay', async () => {
    const mechanic = await target.current.createMechanic();
    await target.current.faults.update({ auth: { refresh: { delayMs: 400 } } });
    const started = performance.now();
    expect((await refresh(mechanic.refreshToken)).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(390);
    expect(await metricsText()).toMatch(/target_faults_injected_total\{fault="delay",path="auth"\} [1-9]/);
  });

  it('issues tokens from a skewed clock: iat in the future, or already expired and refused', async () => {
    await target.current.faults.update({ auth: { clockSkewSeconds: 300 } });
    const ahead = await target.current.createMechanic();
    const claims = decodeJwt(ahead.token);
    expect(claims.iat! - Date.now() / 1000).toBeGreaterThan(290);
    expect(claims.exp! - claims.iat!).toBe(20);

    await target.current.faults.update({ auth: { clockSkewSeconds: -60 } });
    const behind = await target.current.createMechanic();
    const refused = await restAs(behind.token);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { code: string; message: string }).message).toBe('JWT expired');
    expect(await metricsText()).toMatch(
      /target_faults_injected_total\{fault="clock_skew",path="auth"\} [2-9]/,
    );
  });

  it('rotates the signing key mid-run and revokes the old key after the overlap', async () => {
    const before = await target.current.createMechanic();
    const oldKid = decodeProtectedHeader(before.token).kid;
    expect((await restAs(before.token)).status).toBe(200);
    await target.current.faults.update({ auth: { keyRotation: { everyMs: 400, overlapMs: 300 } } });
    await waitFor(
      () => target.current.signingKeys.list().find((key) => key.kid === oldKid)?.state === 'revoked',
      'the old key to be revoked by the rotation fault',
      5_000,
    );
    await target.current.faults.update({ auth: { keyRotation: { everyMs: 0 } } });
    const refused = await restAs(before.token);
    expect(refused.status).toBe(401);
    const after = await target.current.createMechanic();
    expect(decodeProtectedHeader(after.token).kid).not.toBe(oldKid);
    expect((await restAs(after.token)).status).toBe(200);
    const metrics = await metricsText();
    expect(metrics).toMatch(/target_faults_injected_total\{fault="key_rotation",path="auth"\} [1-9]/);
    expect(metrics).toMatch(/target_auth_signing_key_rotations_total\{trigger="fault"\} [1-9]/);
  });

  it('refuses invalid auth fault settings naming the key', async () => {
    const response = await patchFaults({ auth: { refresh: { failStatus: 200 } } });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { issues: { path: string }[] };
    expect(body.issues.map((issue) => issue.path)).toEqual(['auth.refresh.failStatus']);
  });
});
