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

/**
 * Listen for realtime.send() (migrations/0005_realtime_send.sql notifies on
 * DATABASE_BROADCAST_CHANNEL); resolves to a function that stops listening.
 */
export async function listenForDatabaseBroadcasts(
  ctx: TargetContext,
  deliver: (message: DatabaseBroadcast) => void,
): Promise<() => Promise<void>> {
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
