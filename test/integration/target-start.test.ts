import fs from 'node:fs';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { applyMigrations, startTarget } from '../../src/local-target/index.js';
import { withTarget } from '../helpers/target.js';

describe('startTarget', () => {
  const target = withTarget();

  it('serves health and its own metrics over HTTP on an ephemeral port', async () => {
    expect(target.current.port).toBeGreaterThan(0);
    const health = await fetch(`${target.current.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const metrics = await fetch(`${target.current.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('target_deliveries_total');
  });

  it('applies every migration once and records it', async () => {
    const { rows } = await target.current.db.adminPool.query<{ version: number; name: string }>(
      'select version, name from public.canary_migrations order by version',
    );
    expect(rows.map((row) => row.name)).toEqual([
      'roles_and_auth',
      'marketplace_schema',
      'row_level_security',
      'realtime_publication',
      'realtime_send',
      'auth_users',
      'realtime_messages',
    ]);
  });

  it('runs Postgres with logical replication and the publication the change feed reads', async () => {
    const client = new pg.Client({ connectionString: target.current.databaseUrl });
    await client.connect();
    try {
      const settings = await client.query<{ name: string; setting: string }>(
        `select name, setting from pg_settings where name in ('wal_level','max_replication_slots','max_wal_senders','max_connections')`,
      );
      const byName = Object.fromEntries(settings.rows.map((row) => [row.name, row.setting]));
      expect(byName.wal_level).toBe('logical');
      expect(Number(byName.max_replication_slots)).toBeGreaterThanOrEqual(10);
      expect(Number(byName.max_wal_senders)).toBeGreaterThanOrEqual(10);
      expect(Number(byName.max_connections)).toBeGreaterThanOrEqual(200);
      const published = await client.query(
        `select tablename from pg_publication_tables where pubname = 'supabase_realtime'`,
      );
      expect(published.rows).toEqual([{ tablename: 'session_assignments' }]);
      const identity = await client.query<{ relreplident: string }>(
        `select relreplident from pg_class where oid = 'public.session_assignments'::regclass`,
      );
      expect(identity.rows[0]?.relreplident).toBe('f');
    } finally {
      await client.end();
    }
  });

  it('creates mechanics with tokens whose subject is the mechanic id', async () => {
    const mechanic = await target.current.createMechanic({ name: 'Ada' });
    const claims = await target.current.keys.verify(mechanic.token);
    expect(claims.sub).toBe(mechanic.id);
    expect(claims.role).toBe('authenticated');
    expect(claims.aud).toBe('authenticated');
  });

  it('creates each mechanic as a confirmed auth user with the same id, an email and a password that signs in', async () => {
    const mechanic = await target.current.createMechanic({ name: 'Grace' });
    expect(mechanic.email).toMatch(/^canary-mechanic-[0-9a-f]+@canary\.local$/);
    const { rows } = await target.current.db.adminPool.query<{ email: string; confirmed: boolean }>(
      'select email, email_confirmed_at is not null as confirmed from auth.users where id = $1',
      [mechanic.id],
    );
    expect(rows).toEqual([{ email: mechanic.email, confirmed: true }]);
    const claims = await target.current.keys.verify(mechanic.token);
    expect(claims.exp - (claims.iat ?? 0)).toBe(target.current.accessTokenTtlSeconds);
    const again = await target.current.auth.signInWithPassword(
      { email: mechanic.email, password: mechanic.password },
      null,
    );
    expect(again.user.id).toBe(mechanic.id);
  });
});

describe('stopping a target', () => {
  it('stops Postgres, removes its temp directory and can be called twice', async () => {
    const target = await startTarget();
    const pid = target.db.pid;
    const dir = target.db.dataDir;
    expect(pid).toBeTypeOf('number');
    expect(fs.existsSync(dir)).toBe(true);
    await Promise.all([target.stop(), target.stop()]);
    expect(fs.existsSync(dir)).toBe(false);
    expect(() => process.kill(pid as number, 0)).toThrow();
  });
});

describe('the migrated schema', () => {
  const target = withTarget();

  it('has the four production policies on session_assignments, and RLS enabled', async () => {
    const { rows } = await target.current.db.adminPool.query<{ policyname: string; cmd: string }>(
      `select policyname, cmd from pg_policies where schemaname = 'public' and tablename = 'session_assignments' order by policyname`,
    );
    expect(rows).toEqual([
      { policyname: 'Admins can view all assignments', cmd: 'SELECT' },
      { policyname: 'Mechanics can update their assignments', cmd: 'UPDATE' },
      { policyname: 'Mechanics can view assignments for realtime', cmd: 'SELECT' },
      { policyname: 'System can insert assignments', cmd: 'INSERT' },
    ]);
    const rls = await target.current.db.adminPool.query<{ relrowsecurity: boolean }>(
      `select relrowsecurity from pg_class where oid = 'public.session_assignments'::regclass`,
    );
    expect(rls.rows[0]?.relrowsecurity).toBe(true);
  });

  it('reads the caller from request.jwt.claims in auth.uid(), auth.role() and auth.jwt()', async () => {
    const client = await target.current.db.adminPool.connect();
    try {
      await client.query('begin');
      await client.query(`select set_config('request.jwt.claims', $1, true)`, [
        JSON.stringify({
          sub: '7f6c3a52-4c55-4bb6-9f7e-0d3f1e0b4a11',
          role: 'authenticated',
          email: 'a@b.c',
        }),
      ]);
      const { rows } = await client.query(
        `select auth.uid()::text as uid, auth.role() as role, auth.jwt() ->> 'email' as email`,
      );
      expect(rows[0]).toEqual({
        uid: '7f6c3a52-4c55-4bb6-9f7e-0d3f1e0b4a11',
        role: 'authenticated',
        email: 'a@b.c',
      });
    } finally {
      await client.query('rollback');
      client.release();
    }
  });

  it('keeps the updated_at trigger and the status check of the seed', async () => {
    const pool = target.current.db.adminPool;
    const session = await pool.query<{ id: string }>(
      `insert into public.sessions default values returning id`,
    );
    const inserted = await pool.query<{ id: string; updated_at: Date }>(
      `insert into public.session_assignments (session_id) values ($1) returning id, updated_at`,
      [session.rows[0]?.id],
    );
    const row = inserted.rows[0];
    const updated = await pool.query<{ updated_at: Date }>(
      `update public.session_assignments set status = 'offered' where id = $1 returning updated_at`,
      [row?.id],
    );
    expect(updated.rows[0]?.updated_at.getTime()).toBeGreaterThanOrEqual(
      row?.updated_at.getTime() ?? Infinity,
    );
    await expect(
      pool.query(`update public.session_assignments set status = 'lost' where id = $1`, [row?.id]),
    ).rejects.toMatchObject({ code: '23514' });
  });

  it('lets service_role bypass RLS and applies nothing twice when migrations run again', async () => {
    const { rows } = await target.current.db.adminPool.query<{ rolbypassrls: boolean }>(
      `select rolbypassrls from pg_roles where rolname = 'service_role'`,
    );
    expect(rows[0]?.rolbypassrls).toBe(true);
    expect(await applyMigrations(target.current.db.adminPool)).toEqual([]);
  });
});
