/**
 * Broadcast from the database: `realtime.send(payload, event, topic, private)` like Supabase's, so
 * triggers and SQL can announce events. Supabase streams a `realtime.messages` table; this target
 * uses pg_notify on one channel the gateway LISTENs to, which keeps the same contract (delivered
 * after commit, payload gets an `id` the client sees as `meta.id`) at a fraction of the cost.
 * Limit: pg_notify payloads are at most 8000 bytes, so larger messages fail in the caller's SQL.
 */
import pg from 'pg';
import type { TargetContext } from '../components.js';

export const DATABASE_BROADCAST_CHANNEL = 'realtime_canary_send';

const SEND_FUNCTION_SQL = `
create schema if not exists realtime;
grant usage on schema realtime to anon, authenticated, service_role;
create or replace function realtime.send(payload jsonb, event text, topic text, private boolean default true)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform pg_notify('${DATABASE_BROADCAST_CHANNEL}', pg_catalog.jsonb_build_object(
    'topic', topic, 'event', event, 'payload', payload, 'private', private,
    'id', coalesce(
      case when pg_catalog.jsonb_typeof(payload) = 'object' then payload->>'id' end,
      pg_catalog.gen_random_uuid()::text
    )
  )::text);
end
$$;
revoke all on function realtime.send(jsonb, text, text, boolean) from public;
grant execute on function realtime.send(jsonb, text, text, boolean) to authenticated, service_role;
`;

export interface DatabaseBroadcast {
  topic: string;
  event: string;
  payload: unknown;
  isPrivate: boolean;
  id: string;
}

function parseNotification(text: string): DatabaseBroadcast | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  const record = parsed as Record<string, unknown> | null;
  if (!record || typeof record.topic !== 'string' || typeof record.event !== 'string') return null;
  return {
    topic: record.topic,
    event: record.event,
    payload: record.payload ?? null,
    isPrivate: record.private !== false,
    id: typeof record.id === 'string' ? record.id : '',
  };
}

/** Install realtime.send and start listening; resolves to a function that stops listening. */
export async function listenForDatabaseBroadcasts(
  ctx: TargetContext,
  deliver: (message: DatabaseBroadcast) => void,
): Promise<() => Promise<void>> {
  await ctx.db.adminPool.query(SEND_FUNCTION_SQL);
  const client = new pg.Client({ connectionString: ctx.db.databaseUrl });
  client.on('error', (error) =>
    ctx.logger.warn('database broadcast listener failed', { error: error.message }),
  );
  client.on('notification', (notification) => {
    if (notification.channel !== DATABASE_BROADCAST_CHANNEL) return;
    const message = parseNotification(notification.payload ?? '');
    if (message === null) {
      ctx.metrics.protocolErrors.inc({ kind: 'database_broadcast' });
      return;
    }
    deliver(message);
  });
  await client.connect();
  await client.query(`listen ${DATABASE_BROADCAST_CHANNEL}`);
  return async () => {
    await client.end().catch(() => undefined);
  };
}
