/**
 * Faults that live in the database: session_assignments taken out of the supabase_realtime
 * publication, and the mechanics' realtime SELECT policy dropped. Each call makes the database
 * match the requested settings (so it is idempotent and also repairs drift), in one transaction.
 *
 * The policy is captured from pg_policies before it is dropped and recreated from that capture,
 * so whatever definition the migrations installed comes back verbatim.
 */
import pg from 'pg';
import type { DatabaseHandle } from '../components.js';
import {
  ASSIGNMENT_BROADCAST_TRIGGER,
  MESSAGES_SELECT_POLICY,
  REALTIME_SELECT_POLICY,
  type AssignmentTopicMode,
} from '../database/index.js';
import type { FaultSettings } from './fault-settings.js';

const PUBLICATION = 'supabase_realtime';
const SCHEMA = 'public';
const TABLE = 'session_assignments';
const POLICY = REALTIME_SELECT_POLICY.name;

interface CapturedPolicy {
  permissive: string;
  roles: string[];
  cmd: string;
  qual: string | null;
  withCheck: string | null;
}

function createPolicyStatement(policy: CapturedPolicy): string {
  const roles = policy.roles
    .map((role) => (role === 'public' ? 'public' : pg.escapeIdentifier(role)))
    .join(', ');
  return (
    `create policy ${pg.escapeIdentifier(POLICY)} on ${pg.escapeIdentifier(SCHEMA)}.${pg.escapeIdentifier(TABLE)}` +
    ` as ${policy.permissive.toLowerCase()} for ${policy.cmd.toLowerCase()} to ${roles}` +
    (policy.qual !== null ? ` using (${policy.qual})` : '') +
    (policy.withCheck !== null ? ` with check (${policy.withCheck})` : '')
  );
}

export type SqlFaultApplier = (next: FaultSettings, previous: FaultSettings) => Promise<void>;

const SLOW_INSERT_FUNCTION = 'realtime.canary_slow_message_insert';
const SLOW_INSERT_TRIGGER = 'canary_slow_message_insert';

/** The Broadcast-from-Database faults: the messages policy, the assignment trigger, slow inserts. */
async function applyBroadcastFaults(
  client: pg.PoolClient,
  next: FaultSettings,
  topicMode: AssignmentTopicMode,
): Promise<void> {
  const policy = await client.query(
    `select 1 from pg_policies where schemaname = 'realtime' and tablename = 'messages' and policyname = $1`,
    [MESSAGES_SELECT_POLICY.name],
  );
  if (next.messagesPolicyMissing && policy.rowCount) await client.query(MESSAGES_SELECT_POLICY.drop);
  else if (!next.messagesPolicyMissing && !policy.rowCount) await client.query(MESSAGES_SELECT_POLICY.create);

  const trigger = await client.query(
    `select 1 from pg_trigger where tgrelid = 'public.session_assignments'::regclass and tgname = $1`,
    [ASSIGNMENT_BROADCAST_TRIGGER.name],
  );
  if (next.broadcastTriggerMissing && trigger.rowCount) await client.query(ASSIGNMENT_BROADCAST_TRIGGER.drop);
  else if (!next.broadcastTriggerMissing && !trigger.rowCount)
    await client.query(ASSIGNMENT_BROADCAST_TRIGGER.create(topicMode));

  await client.query(`drop trigger if exists ${SLOW_INSERT_TRIGGER} on realtime.messages`);
  if (next.messageInsertDelayMs > 0) {
    const seconds = (next.messageInsertDelayMs / 1000).toFixed(3);
    await client.query(
      `create or replace function ${SLOW_INSERT_FUNCTION}() returns trigger language plpgsql as $$
       begin perform pg_catalog.pg_sleep(${seconds}); return new; end $$`,
    );
    await client.query(
      `create trigger ${SLOW_INSERT_TRIGGER} before insert on realtime.messages for each row execute function ${SLOW_INSERT_FUNCTION}()`,
    );
  }
}

export function createSqlFaultApplier(
  db: DatabaseHandle,
  options: { assignmentTopic?: AssignmentTopicMode } = {},
): SqlFaultApplier {
  let captured: CapturedPolicy | undefined;
  const topicMode = options.assignmentTopic ?? 'per_mechanic';

  return async (next) => {
    const client = await db.adminPool.connect();
    // A checked-out client has no pool error listener; the failing query reports the problem.
    const ignoreClientError = (): void => {};
    client.on('error', ignoreClientError);
    try {
      await client.query('begin');
      const published = await client.query(
        'select 1 from pg_publication_tables where pubname = $1 and schemaname = $2 and tablename = $3',
        [PUBLICATION, SCHEMA, TABLE],
      );
      const table = `${pg.escapeIdentifier(SCHEMA)}.${pg.escapeIdentifier(TABLE)}`;
      if (next.publicationMissing && published.rowCount) {
        await client.query(`alter publication ${pg.escapeIdentifier(PUBLICATION)} drop table ${table}`);
      } else if (!next.publicationMissing && !published.rowCount) {
        await client.query(`alter publication ${pg.escapeIdentifier(PUBLICATION)} add table ${table}`);
      }

      const policies = await client.query<{
        permissive: string;
        roles: string[];
        cmd: string;
        qual: string | null;
        with_check: string | null;
      }>(
        `select permissive, roles::text[] as roles, cmd, qual, with_check
           from pg_policies where schemaname = $1 and tablename = $2 and policyname = $3`,
        [SCHEMA, TABLE, POLICY],
      );
      const existing = policies.rows[0];
      if (next.realtimeSelectPolicyMissing && existing) {
        captured = {
          permissive: existing.permissive,
          roles: existing.roles,
          cmd: existing.cmd,
          qual: existing.qual,
          withCheck: existing.with_check,
        };
        await client.query(`drop policy ${pg.escapeIdentifier(POLICY)} on ${table}`);
      } else if (!next.realtimeSelectPolicyMissing && !existing) {
        // Never captured (dropped before this target started): fall back to the migration's text.
        await client.query(captured ? createPolicyStatement(captured) : REALTIME_SELECT_POLICY.create);
      }
      await applyBroadcastFaults(client, next, topicMode);
      await client.query('commit');
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    } finally {
      client.off('error', ignoreClientError);
      client.release();
    }
  };
}
