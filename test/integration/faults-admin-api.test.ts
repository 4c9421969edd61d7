/**
 * The fault admin API of a real target: bearer auth, validation that names every bad key,
 * PATCH/PUT/DELETE semantics, SQL faults applied in the database, and the stats endpoint.
 */
import { describe, expect, it } from 'vitest';
import { withTarget } from '../helpers/target.js';

describe('the fault admin API', () => {
  const target = withTarget({ adminToken: 'admin-token-for-tests-0123456789' });

  async function call(
    method: string,
    path: string,
    options: { body?: unknown; token?: string | null } = {},
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const token = options.token === undefined ? target.current.adminToken : options.token;
    const response = await fetch(`${target.current.url}${path}`, {
      method,
      headers: {
        ...(token === null ? {} : { Authorization: `Bearer ${token}` }),
        ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  it('refuses every route without the right bearer token, with a JSON 401 that says what to send', async () => {
    for (const [method, path] of [
      ['GET', '/admin/v1/faults'],
      ['PATCH', '/admin/v1/faults'],
      ['PUT', '/admin/v1/faults'],
      ['DELETE', '/admin/v1/faults'],
      ['GET', '/admin/v1/stats'],
    ] as const) {
      for (const token of [null, 'wrong', `${target.current.adminToken}x`, '']) {
        const body = method === 'PATCH' || method === 'PUT' ? { replicationPaused: true } : undefined;
        const response = await call(method, path, { token, body });
        expect(response.status, `${method} ${path} with ${String(token)}`).toBe(401);
        expect(response.body.message).toMatch(/Authorization: Bearer/);
      }
    }
    expect(target.current.faults.current.replicationPaused).toBe(false);
  });

  it('answers 400 naming every bad key and applies nothing', async () => {
    const response = await call('PATCH', '/admin/v1/faults', {
      body: { postgresChanges: { dropRate: 1.5, delaysMs: 3 }, disconnects: { code: 42 }, bogus: true },
    });
    expect(response.status).toBe(400);
    const issues = response.body.issues as { path: string; message: string }[];
    expect(issues.map((issue) => issue.path).sort()).toEqual(
      ['bogus', 'disconnects.code', 'postgresChanges.delaysMs', 'postgresChanges.dropRate'].sort(),
    );
    expect(issues.find((issue) => issue.path === 'postgresChanges.delaysMs')?.message).toMatch(/delayMs/);
    expect(response.body.message).toMatch(/postgresChanges\.dropRate/);
    expect(target.current.faults.current.postgresChanges.dropRate).toBe(0);

    const notAnObject = await call('PATCH', '/admin/v1/faults', { body: [1, 2] });
    expect(notAnObject.status).toBe(400);
    const badPut = await call('PUT', '/admin/v1/faults', { body: { readinessGapMs: -1 } });
    expect(badPut.status).toBe(400);
    expect((badPut.body.issues as { path: string }[])[0]?.path).toBe('readinessGapMs');
  });

  it('merges PATCH, replaces with PUT, resets with DELETE, and GET shows the current settings', async () => {
    let response = await call('PATCH', '/admin/v1/faults', { body: { postgresChanges: { delayMs: 200 } } });
    expect(response.status).toBe(200);
    response = await call('PATCH', '/admin/v1/faults', {
      body: { postgresChanges: { dropRate: 0.25 }, readinessGapMs: 50 },
    });
    expect(response.body.postgresChanges).toEqual({ delayMs: 200, jitterMs: 0, dropRate: 0.25 });
    expect(response.body.readinessGapMs).toBe(50);
    expect((await call('GET', '/admin/v1/faults')).body).toEqual(response.body);

    // PUT keeps only what it names: the delay, drop and gap above are gone.
    response = await call('PUT', '/admin/v1/faults', { body: { broadcast: { delayMs: 100 } } });
    expect(response.status).toBe(200);
    expect(response.body.postgresChanges).toEqual({ delayMs: 0, jitterMs: 0, dropRate: 0 });
    expect(response.body.readinessGapMs).toBe(0);
    expect(response.body.broadcast).toEqual({ delayMs: 100, jitterMs: 0, dropRate: 0 });
    expect(target.current.faults.current.broadcast.delayMs).toBe(100);

    response = await call('DELETE', '/admin/v1/faults');
    expect(response.status).toBe(200);
    expect(response.body.broadcast).toEqual({ delayMs: 0, jitterMs: 0, dropRate: 0 });
    expect(target.current.faults.current).toEqual(response.body);
  });

  it('applies and reverts the SQL faults in the database, idempotently', async () => {
    const pool = target.current.db.adminPool;
    const state = async (): Promise<{ published: boolean; policy: string | null }> => {
      const published = await pool.query(
        `select 1 from pg_publication_tables where pubname = 'supabase_realtime' and tablename = 'session_assignments'`,
      );
      const policy = await pool.query<{ qual: string }>(
        `select qual from pg_policies where tablename = 'session_assignments' and policyname = 'Mechanics can view assignments for realtime'`,
      );
      return { published: (published.rowCount ?? 0) > 0, policy: policy.rows[0]?.qual ?? null };
    };
    const original = await state();
    expect(original.published).toBe(true);
    expect(original.policy).toMatch(/is_mechanic/);

    for (let i = 0; i < 2; i++) {
      const response = await call('PATCH', '/admin/v1/faults', {
        body: { publicationMissing: true, realtimeSelectPolicyMissing: true },
      });
      expect(response.status).toBe(200);
      expect(await state()).toEqual({ published: false, policy: null });
    }
    expect((await call('DELETE', '/admin/v1/faults')).status).toBe(200);
    expect(await state()).toEqual(original);
    expect((await call('DELETE', '/admin/v1/faults')).status).toBe(200);
    expect(await state()).toEqual(original);
  });

  it('reports connections, channels, slot lag and counted faults in /admin/v1/stats', async () => {
    await call('PATCH', '/admin/v1/faults', { body: { replicationPaused: true } });
    await target.current.db.adminPool.query(
      `insert into public.sessions (status) select 'stats' from generate_series(1, 50)`,
    );
    const deadline = Date.now() + 10_000;
    let stats = (await call('GET', '/admin/v1/stats')).body;
    while ((stats.replicationLagBytes as number) <= 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      stats = (await call('GET', '/admin/v1/stats')).body;
    }
    expect(stats.replicationLagBytes).toBeGreaterThan(0);
    expect(stats.connections).toBe(0);
    expect(stats.channels).toBe(0);
    expect(stats.faultsInjected).toContainEqual({
      fault: 'replication_paused',
      path: 'replication',
      count: 1,
    });
    expect(stats.faultsInjected).toContainEqual({
      fault: 'publication_missing',
      path: 'postgres_changes',
      count: 1,
    });
    expect((stats.faults as { replicationPaused: boolean }).replicationPaused).toBe(true);
    await call('DELETE', '/admin/v1/faults');
  });
});
