/**
 * Checks that decide whether Broadcast from Database (the db_broadcast path) can reach mechanics:
 * a trigger on session_assignments that calls realtime.broadcast_changes() or realtime.send(), a
 * realtime.messages SELECT policy that admits a real mechanic on its topic (evaluated as that
 * mechanic, with realtime.topic() set, as Realtime Authorization does on join), the project's
 * "private channels only" setting against the public channels the other paths use, and the daily
 * partitions of realtime.messages being created ahead and dropped after the retention.
 */
import type { AuditCheck, AuditContext } from './audit-check.js';

/** Supabase keeps three days of messages; a partition much older means housekeeping stopped. */
const RETENTION_DAYS = 3;

const TRIGGER_FIX =
  'create trigger broadcast_session_assignment after insert or update on public.session_assignments\n' +
  "  for each row execute function public.broadcast_session_assignment('per_mechanic');  -- calls realtime.broadcast_changes()";

export const broadcastTrigger: AuditCheck = {
  id: 'broadcast.trigger',
  title: 'a trigger on session_assignments broadcasts changes (Broadcast from Database needs it)',
  async run(ctx) {
    const { rows } = await ctx.client.query<{ name: string; enabled: string; fn: string }>(
      `select t.tgname as name, t.tgenabled as enabled, p.proname as fn
         from pg_trigger t
         join pg_class c on c.oid = t.tgrelid
         join pg_namespace n on n.oid = c.relnamespace
         join pg_proc p on p.oid = t.tgfoid
        where n.nspname = $1 and c.relname = $2 and not t.tgisinternal
          and (p.prosrc ilike '%realtime.broadcast_changes%' or p.prosrc ilike '%realtime.send%')`,
      [ctx.schema, ctx.table],
    );
    if (rows.length === 0) {
      return {
        status: 'fail',
        evidence: `no trigger on ${ctx.schema}.${ctx.table} calls realtime.broadcast_changes() or realtime.send(): the db_broadcast path receives nothing`,
        fix: TRIGGER_FIX,
      };
    }
    const enabled = rows.filter((row) => row.enabled !== 'D');
    if (enabled.length === 0) {
      return {
        status: 'fail',
        evidence: `trigger ${rows.map((row) => `"${row.name}"`).join(', ')} exists but is disabled`,
        fix: `alter table ${ctx.schema}.${ctx.table} enable trigger ${rows[0]!.name};`,
      };
    }
    return {
      status: 'pass',
      evidence: `trigger ${enabled.map((row) => `"${row.name}" → ${row.fn}()`).join(', ')} broadcasts changes`,
    };
  },
};

interface MessagePolicy {
  name: string;
  roles: string[];
  qual: string | null;
}

const POLICY_FIX = (topic: string): string =>
  `create policy "Mechanics can receive assignment broadcasts" on realtime.messages for select to authenticated\n` +
  `  using (public.is_mechanic() and realtime.messages.extension in ('broadcast', 'presence')\n` +
  `         and realtime.topic() = '${topic.replaceAll("'", "''").replace('{mechanic}', "' || auth.uid()::text || '")}');`;

export const messagesPolicy: AuditCheck = {
  id: 'broadcast.messages_policy',
  title: 'a realtime.messages SELECT policy lets a mechanic join its private topic',
  async run(ctx) {
    const template = ctx.dbBroadcastTopic ?? 'assignments';
    const table = await ctx.client.query<{ rls: boolean }>(
      `select c.relrowsecurity as rls from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'realtime' and c.relname = 'messages'`,
    );
    if (table.rows.length === 0) {
      return {
        status: 'fail',
        evidence:
          'realtime.messages does not exist: Realtime Authorization and Broadcast from Database are unavailable',
        fix: 'Use a Supabase project (or the local target) whose Realtime has created the realtime schema.',
      };
    }
    const { rows } = await ctx.client.query<MessagePolicy>(
      `select policyname as name, roles::text[] as roles, qual from pg_policies
        where schemaname = 'realtime' and tablename = 'messages' and cmd in ('SELECT', 'ALL')
          and permissive = 'PERMISSIVE'`,
    );
    const candidates = rows.filter((row) =>
      row.roles.some((role) => role === 'authenticated' || role === 'public'),
    );
    const mechanics = await ctx.client
      .query<{ id: string }>(`select id::text from public.mechanics order by created_at limit 1`)
      .catch(() => null);
    const mechanicId = mechanics?.rows[0]?.id;
    if (candidates.length === 0) {
      return {
        status: 'fail',
        evidence: `no SELECT policy on realtime.messages applies to authenticated (policies: ${rows.map((row) => `"${row.name}"`).join(', ') || 'none'}): every private join is refused with "Unauthorized: You do not have permissions to read from this Channel topic"`,
        fix: POLICY_FIX(template),
      };
    }
    if (!mechanicId) {
      return {
        status: 'warn',
        evidence: `SELECT policies ${candidates.map((row) => `"${row.name}"`).join(', ')} exist, but there is no mechanic to evaluate them as`,
        fix: 'Audit again once a mechanic exists.',
      };
    }
    const topic = template.replaceAll('{mechanic}', mechanicId);
    const admitting: string[] = [];
    await ctx.client.query('begin read only');
    try {
      await ctx.client.query('set local role authenticated');
      await ctx.client.query(
        `select set_config('request.jwt.claims', $1, true), set_config('realtime.topic', $2, true)`,
        [JSON.stringify({ sub: mechanicId, role: 'authenticated', aud: 'authenticated' }), topic],
      );
      const row = JSON.stringify({
        topic,
        extension: 'broadcast',
        private: true,
        event: 'INSERT',
        payload: {},
      });
      for (const policy of candidates) {
        if (!policy.qual) {
          admitting.push(policy.name);
          continue;
        }
        // The database's own deparsed policy text over a synthetic message row, as the mechanic.
        const result = await ctx.client.query<{ visible: boolean | null }>(
          `select (${policy.qual}) as visible from jsonb_populate_record(null::realtime.messages, $1::jsonb) as messages`,
          [row],
        );
        if (result.rows[0]?.visible === true) admitting.push(policy.name);
      }
    } finally {
      await ctx.client.query('rollback');
    }
    if (admitting.length === 0) {
      return {
        status: 'fail',
        evidence: `as mechanic ${mechanicId} (role authenticated) no SELECT policy on realtime.messages admits topic "${topic}" (checked: ${candidates.map((row) => `"${row.name}"`).join(', ')}): private joins are refused and db_broadcast delivers nothing`,
        fix: POLICY_FIX(template),
      };
    }
    return {
      status: 'pass',
      evidence: `as mechanic ${mechanicId} topic "${topic}" is readable via ${admitting.map((name) => `"${name}"`).join(', ')}`,
    };
  },
};

export const privateOnlySetting: AuditCheck = {
  id: 'broadcast.private_only',
  title: '"private channels only" agrees with the channels the paths use',
  async run(ctx: AuditContext) {
    if (ctx.privateOnly === undefined) {
      return {
        status: 'warn',
        evidence: 'the project\'s "private channels only" setting cannot be read from the database',
        fix: 'Check Supabase dashboard → Realtime → Settings. With it on, the public channels of the postgres_changes and broadcast paths are refused; db_broadcast uses a private channel and is unaffected.',
      };
    }
    if (ctx.privateOnly) {
      return {
        status: 'warn',
        evidence:
          'private channels only: public joins (the postgres_changes and app broadcast paths as configured) are refused with "PrivateOnly: This project only allows private channels"; only db_broadcast can deliver',
        fix: 'Intended after a move to Broadcast from Database; otherwise turn the setting off or make those channels private with realtime.messages policies.',
      };
    }
    return {
      status: 'pass',
      evidence:
        'public and private channels are allowed; private topics are still guarded by realtime.messages policies',
    };
  },
};

export const messagePartitions: AuditCheck = {
  id: 'broadcast.partitions',
  title: `realtime.messages has today's partition and none past the ${RETENTION_DAYS}-day retention`,
  async run(ctx) {
    const { rows } = await ctx.client.query<{ name: string; day: string }>(
      `select c.relname as name, to_char(to_date(substr(c.relname, 10), 'YYYY_MM_DD'), 'YYYY-MM-DD') as day
         from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = to_regclass('realtime.messages') and c.relname ~ '^messages_\\d{4}_\\d{2}_\\d{2}$'
        order by 1`,
    );
    const today = await ctx.client.query<{ today: string; cutoff: string }>(
      `select to_char(current_date, 'YYYY-MM-DD') as today, to_char(current_date - $1::int, 'YYYY-MM-DD') as cutoff`,
      [RETENTION_DAYS + 1],
    );
    const { today: day, cutoff } = today.rows[0]!;
    if (!rows.some((row) => row.day === day)) {
      return {
        status: 'fail',
        evidence: `no partition of realtime.messages for ${day} (partitions: ${rows.map((row) => row.name).join(', ') || 'none'}): realtime.send() only warns and today's broadcasts are lost`,
        fix: 'Realtime creates the partitions; on the local target restart it or run select realtime.canary_housekeep_messages();',
      };
    }
    const stale = rows.filter((row) => row.day < cutoff);
    if (stale.length > 0) {
      return {
        status: 'warn',
        evidence: `${stale.length} partition(s) older than ${RETENTION_DAYS} days remain (${stale.map((row) => row.name).join(', ')}): housekeeping is not dropping them`,
        fix: 'Check that Realtime (its janitor) runs for this project; on the local target: select realtime.canary_housekeep_messages();',
      };
    }
    return {
      status: 'pass',
      evidence: `${rows.length} daily partitions, today's present, none past retention`,
    };
  },
};

export const broadcastChecks: readonly AuditCheck[] = [
  broadcastTrigger,
  messagesPolicy,
  privateOnlySetting,
  messagePartitions,
];
