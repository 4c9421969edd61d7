import fs from 'node:fs';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startTarget } from '../../src/target/index.js';
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
