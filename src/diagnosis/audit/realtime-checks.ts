/**
 * Checks that decide whether postgres_changes can reach mechanics at all: RLS and the broad
 * SELECT policy, REPLICA IDENTITY FULL, the supabase_realtime publication, logical WAL, the
 * replication slot and its lag — the seed's "RLS Policy Audit" and "Realtime Configuration".
 */
import { randomUUID } from 'node:crypto';
import { qualified, type AuditCheck, type AuditContext } from './audit-check.js';
import { REALTIME_PUBLICATION_NAME } from './expected-schema.js';

async function relation(ctx: AuditContext): Promise<{ oid: number; rls: boolean; replident: string } | null> {
  const { rows } = await ctx.client.query<{ oid: number; rls: boolean; replident: string }>(
    `select c.oid, c.relrowsecurity as rls, c.relreplident as replident
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p')`,
    [ctx.schema, ctx.table],
  );
  return rows[0] ?? null;
}

const missing = (ctx: AuditContext) => ({
  status: 'fail' as const,
  evidence: `table ${qualified(ctx)} does not exist`,
  fix: 'Create session_assignments first (see schema.table).',
});

export const rlsEnabled: AuditCheck = {
  id: 'rls.enabled',
  title: 'row level security is enabled on session_assignments',
  async run(ctx) {
    const rel = await relation(ctx);
    if (!rel) return missing(ctx);
    if (!rel.rls) {
      return {
        status: 'fail',
        evidence: 'RLS is disabled: every authenticated or anon client can read every assignment',
        fix: `alter table ${qualified(ctx)} enable row level security;`,
      };
    }
    return { status: 'pass', evidence: 'RLS enabled' };
  },
};

interface PolicyRow {
  name: string;
  command: string;
  roles: string[];
  permissive: string;
  qual: string | null;
}

export const realtimeSelectPolicy: AuditCheck = {
  id: 'rls.realtime_select_policy',
  title: 'a SELECT policy lets mechanics see assignments (postgres_changes needs it)',
  async run(ctx) {
    const rel = await relation(ctx);
    if (!rel) return missing(ctx);
    const { rows } = await ctx.client.query<PolicyRow>(
      `select policyname as name, cmd as command, roles::text[] as roles, permissive, qual
         from pg_policies where schemaname = $1 and tablename = $2`,
      [ctx.schema, ctx.table],
    );
    const selectPolicies = rows.filter(
      (row) =>
        (row.command === 'SELECT' || row.command === 'ALL') &&
        row.permissive === 'PERMISSIVE' &&
        row.roles.some((role) => role === 'authenticated' || role === 'public'),
    );
    const fix =
      `create policy "Mechanics can view assignments for realtime" on ${qualified(ctx)} for select to authenticated\n` +
      `  using (exists (select 1 from public.mechanics m where m.id = auth.uid()));`;
    if (rel.rls && selectPolicies.length === 0) {
      return {
        status: 'fail',
        evidence: `RLS is on and no permissive SELECT policy applies to authenticated (policies: ${rows.map((r) => `"${r.name}" ${r.command}`).join(', ') || 'none'}): Realtime drops every INSERT/UPDATE event for mechanics`,
        fix,
      };
    }
    const functional = await visibleToAMechanic(ctx, selectPolicies);
    if (functional.kind === 'unverifiable') {
      return {
        status: 'warn',
        evidence: `SELECT policies for authenticated: ${selectPolicies.map((p) => `"${p.name}"`).join(', ')}, but ${functional.why}, so whether they let mechanics see new assignments is unverified`,
        fix: 'Audit again once a mechanic exists, or check the policy text: it must let every mechanic see new queued assignments.',
      };
    }
    if (functional.kind === 'synthetic') {
      if (functional.admitting.length === 0) {
        return {
          status: 'fail',
          evidence: `as mechanic ${functional.mechanicId} (role authenticated) no SELECT policy admits a new queued assignment (checked: ${selectPolicies.map((p) => `"${p.name}"`).join(', ')}): postgres_changes INSERT events will not reach mechanics`,
          fix,
        };
      }
      return {
        status: 'pass',
        evidence: `as mechanic ${functional.mechanicId} a new queued assignment is visible via ${functional.admitting.map((name) => `"${name}"`).join(', ')}`,
      };
    }
    if (functional.visible === 0) {
      return {
        status: 'fail',
        evidence: `as mechanic ${functional.mechanicId} (role authenticated) 0 of ${functional.total} assignments are visible: postgres_changes events will not reach mechanics`,
        fix,
      };
    }
    if (functional.visible < functional.total) {
      return {
        status: 'warn',
        evidence: `as mechanic ${functional.mechanicId} ${functional.visible} of ${functional.total} assignments are visible: events for the others are filtered by RLS`,
        fix: 'Intended? The realtime policy is meant to be broad (every mechanic sees every assignment; the API filters).',
      };
    }
    return {
      status: 'pass',
      evidence: `as mechanic ${functional.mechanicId} all ${functional.total} assignments are visible via ${selectPolicies.map((p) => `"${p.name}"`).join(', ')}`,
    };
  },
};

type Visibility =
  | { kind: 'measured'; mechanicId: string; visible: number; total: number }
  | { kind: 'synthetic'; mechanicId: string; admitting: string[] }
  | { kind: 'unverifiable'; why: string };

/**
 * Under a real mechanic's claims, inside a read-only transaction that is rolled back: count the
 * visible rows, or — with no rows to count — evaluate each policy's USING expression against a
 * synthetic new queued assignment (the row a postgres_changes INSERT event is about).
 */
async function visibleToAMechanic(ctx: AuditContext, policies: readonly PolicyRow[]): Promise<Visibility> {
  const mechanics = await ctx.client
    .query<{ id: string }>(`select id::text from public.mechanics order by created_at limit 1`)
    .catch(() => null);
  const mechanicId = mechanics?.rows[0]?.id;
  if (!mechanicId) return { kind: 'unverifiable', why: 'no mechanics rows to test with' };
  const total = await ctx.client.query<{ n: string }>(`select count(*) as n from ${quoteQualified(ctx)}`);
  const totalRows = Number(total.rows[0]?.n ?? 0);
  await ctx.client.query('begin read only');
  try {
    await ctx.client.query('set local role authenticated');
    await ctx.client.query(`select set_config('request.jwt.claims', $1, true)`, [
      JSON.stringify({ sub: mechanicId, role: 'authenticated', aud: 'authenticated' }),
    ]);
    if (totalRows === 0) {
      const admitting: string[] = [];
      const row = JSON.stringify({
        id: randomUUID(),
        session_id: randomUUID(),
        status: 'queued',
        metadata: {},
      });
      for (const policy of policies) {
        if (!policy.qual) {
          admitting.push(policy.name);
          continue;
        }
        // The expression is the database's own deparsed policy text; the row alias carries the
        // table's name so its column references resolve.
        const result = await ctx.client.query<{ visible: boolean | null }>(
          `select (${policy.qual}) as visible from jsonb_populate_record(null::${quoteQualified(ctx)}, $1::jsonb) as "${ctx.table.replaceAll('"', '""')}"`,
          [row],
        );
        if (result.rows[0]?.visible === true) admitting.push(policy.name);
      }
      return { kind: 'synthetic', mechanicId, admitting };
    }
    const visible = await ctx.client.query<{ n: string }>(`select count(*) as n from ${quoteQualified(ctx)}`);
    return { kind: 'measured', mechanicId, visible: Number(visible.rows[0]?.n ?? 0), total: totalRows };
  } catch (error) {
    return { kind: 'unverifiable', why: `could not assume role authenticated: ${(error as Error).message}` };
  } finally {
    await ctx.client.query('rollback');
  }
}

function quoteQualified(ctx: AuditContext): string {
  const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;
  return `${quote(ctx.schema)}.${quote(ctx.table)}`;
}

export const replicaIdentityFull: AuditCheck = {
  id: 'realtime.replica_identity',
  title: 'REPLICA IDENTITY FULL (UPDATE events carry the old row)',
  async run(ctx) {
    const rel = await relation(ctx);
    if (!rel) return missing(ctx);
    const names: Record<string, string> = {
      d: 'DEFAULT (primary key only)',
      f: 'FULL',
      n: 'NOTHING',
      i: 'INDEX',
    };
    if (rel.replident !== 'f') {
      return {
        status: 'warn',
        evidence: `replica identity is ${names[rel.replident] ?? rel.replident}: UPDATE/DELETE events carry only key columns in old`,
        fix: `alter table ${qualified(ctx)} replica identity full;`,
      };
    }
    return { status: 'pass', evidence: 'replica identity FULL' };
  },
};

export const publicationMembership: AuditCheck = {
  id: 'realtime.publication',
  title: `session_assignments is in the ${REALTIME_PUBLICATION_NAME} publication`,
  async run(ctx) {
    const publication = await ctx.client.query<{
      all_tables: boolean;
      ins: boolean;
      upd: boolean;
      del: boolean;
    }>(
      `select puballtables as all_tables, pubinsert as ins, pubupdate as upd, pubdelete as del
         from pg_publication where pubname = $1`,
      [REALTIME_PUBLICATION_NAME],
    );
    const pub = publication.rows[0];
    if (!pub) {
      return {
        status: 'fail',
        evidence: `publication ${REALTIME_PUBLICATION_NAME} does not exist: Realtime sees no changes at all`,
        fix: `create publication ${REALTIME_PUBLICATION_NAME} for table ${qualified(ctx)};  -- or Dashboard → Database → Replication`,
      };
    }
    const member = await ctx.client.query(
      `select 1 from pg_publication_tables where pubname = $1 and schemaname = $2 and tablename = $3`,
      [REALTIME_PUBLICATION_NAME, ctx.schema, ctx.table],
    );
    if (member.rowCount === 0) {
      return {
        status: 'fail',
        evidence: `${qualified(ctx)} is not in ${REALTIME_PUBLICATION_NAME}: subscribers get "Unable to subscribe to changes" and no events`,
        fix: `alter publication ${REALTIME_PUBLICATION_NAME} add table ${qualified(ctx)};  -- or Dashboard → Database → Replication → enable session_assignments`,
      };
    }
    if (!pub.ins) {
      return {
        status: 'fail',
        evidence: `${REALTIME_PUBLICATION_NAME} does not publish INSERT`,
        fix: `alter publication ${REALTIME_PUBLICATION_NAME} set (publish = 'insert, update, delete');`,
      };
    }
    return { status: 'pass', evidence: `${qualified(ctx)} is published by ${REALTIME_PUBLICATION_NAME}` };
  },
};

export const logicalWal: AuditCheck = {
  id: 'realtime.wal_level',
  title: 'wal_level = logical (logical replication is possible)',
  async run(ctx) {
    const { rows } = await ctx.client.query<{ wal_level: string }>(`show wal_level`);
    const level = rows[0]?.wal_level ?? 'unknown';
    if (level !== 'logical') {
      return {
        status: 'fail',
        evidence: `wal_level is ${level}: no logical replication, so no postgres_changes`,
        fix: 'alter system set wal_level = logical;  -- then restart Postgres',
      };
    }
    return { status: 'pass', evidence: 'wal_level = logical' };
  },
};

export const replicationSlot: AuditCheck = {
  id: 'realtime.replication_slot',
  title: 'the Realtime replication slot is active and not lagging',
  async run(ctx) {
    const { rows } = await ctx.client.query<{
      name: string;
      plugin: string | null;
      active: boolean;
      lag: string | null;
    }>(
      `select slot_name as name, plugin, active,
              pg_wal_lsn_diff(pg_current_wal_lsn(), coalesce(confirmed_flush_lsn, restart_lsn))::bigint::text as lag
         from pg_replication_slots where slot_type = 'logical'`,
    );
    if (rows.length === 0) {
      return {
        status: 'warn',
        evidence:
          'no logical replication slot exists: Realtime creates one only while postgres_changes subscribers are connected',
        fix: 'Connect a subscriber (canary run) and audit again; if still none, check Realtime is enabled for the project (Dashboard → Project Settings → Realtime).',
      };
    }
    const described = rows.map(
      (row) =>
        `${row.name} (${row.plugin ?? '?'}, ${row.active ? 'active' : 'inactive'}, lag ${formatBytes(Number(row.lag ?? 0))})`,
    );
    const worst = Math.max(...rows.map((row) => Number(row.lag ?? 0)));
    const inactive = rows.filter((row) => !row.active);
    if (worst >= ctx.slotLagFailBytes) {
      return {
        status: 'fail',
        evidence: `slot lag ${formatBytes(worst)}: ${described.join('; ')} — changes reach subscribers late or never`,
        fix: "Check the replication consumer (Realtime) is running; drop abandoned slots: select pg_drop_replication_slot('<name>');",
      };
    }
    if (worst >= ctx.slotLagWarnBytes || inactive.length > 0) {
      return {
        status: 'warn',
        evidence: `${described.join('; ')}`,
        fix:
          inactive.length === rows.length
            ? 'No slot is being consumed: is Realtime connected to this database?'
            : 'Watch canary_delivery_latency_seconds for postgres_changes; lag above 64 MiB delays events.',
      };
    }
    return { status: 'pass', evidence: described.join('; ') };
  },
};

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

export const realtimeChecks: readonly AuditCheck[] = [
  rlsEnabled,
  realtimeSelectPolicy,
  replicaIdentityFull,
  publicationMembership,
  logicalWal,
  replicationSlot,
];
