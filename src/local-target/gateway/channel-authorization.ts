/**
 * Realtime Authorization for private channels, as Supabase does it: inside one transaction that is
 * always rolled back, probe rows for the topic are written to realtime.messages, then — as the
 * caller's role with its claims in `request.jwt.claims` and the topic in `realtime.topic` — the
 * caller's SELECT policies decide which probe rows it can read (read access per extension), and an
 * INSERT as the caller decides write access. Policies are never evaluated in TypeScript.
 */
import type pg from 'pg';
import { isApiRole } from '../database/index.js';
import type { JwtClaims } from '../components.js';

export type RealtimeExtension = 'broadcast' | 'presence';

export interface ChannelPermissions {
  read: Record<RealtimeExtension, boolean>;
  write: Record<RealtimeExtension, boolean>;
}

export const NO_PERMISSIONS: ChannelPermissions = {
  read: { broadcast: false, presence: false },
  write: { broadcast: false, presence: false },
};

/** Supabase's join error for a private channel the caller may not read. */
export function unauthorizedReadReason(subTopic: string): string {
  return `Unauthorized: You do not have permissions to read from this Channel topic: ${subTopic}`;
}

/** Supabase's join error for a public channel on a project that allows private channels only. */
export const PRIVATE_ONLY_REASON = 'PrivateOnly: This project only allows private channels';

async function canInsert(
  client: pg.PoolClient,
  topic: string,
  extension: RealtimeExtension,
): Promise<boolean> {
  await client.query('savepoint canary_write_check');
  try {
    await client.query(
      'insert into realtime.messages (topic, extension, private, payload, event) values ($1, $2, true, $3, $4)',
      [topic, extension, '{}', 'authorization_check'],
    );
    return true;
  } catch {
    return false;
  } finally {
    await client.query('rollback to savepoint canary_write_check');
  }
}

/** The caller's read and write permissions on a private topic; a database error means none. */
export async function checkChannelPermissions(
  pool: pg.Pool,
  claims: JwtClaims,
  topic: string,
): Promise<ChannelPermissions> {
  if (!isApiRole(claims.role)) return NO_PERMISSIONS;
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('begin');
    const probes = await client.query<{ id: string; extension: RealtimeExtension }>(
      `insert into realtime.messages (topic, extension, private, payload, event)
       values ($1, 'broadcast', true, '{}', 'authorization_check'), ($1, 'presence', true, '{}', 'authorization_check')
       returning id::text, extension`,
      [topic],
    );
    await client.query(`set local role ${client.escapeIdentifier(claims.role)}`);
    await client.query(
      `select set_config('request.jwt.claims', $1, true), set_config('realtime.topic', $2, true),
              set_config('statement_timeout', '15s', true)`,
      [JSON.stringify(claims), topic],
    );
    const readable = await client.query<{ extension: RealtimeExtension }>(
      'select extension from realtime.messages where topic = $1 and id = any($2::uuid[])',
      [topic, probes.rows.map((row) => row.id)],
    );
    const read = {
      broadcast: readable.rows.some((row) => row.extension === 'broadcast'),
      presence: readable.rows.some((row) => row.extension === 'presence'),
    };
    const write = {
      broadcast: await canInsert(client, topic, 'broadcast'),
      presence: await canInsert(client, topic, 'presence'),
    };
    return { read, write };
  } finally {
    await client.query('rollback').catch(() => {
      broken = true;
    });
    client.release(broken);
  }
}

/** Replay request of a private broadcast channel (`config.broadcast.replay`). */
export interface ReplayRequest {
  /** Unix milliseconds: messages inserted at or after this. */
  since: number;
  /** How many messages at most (1–25, Supabase's bounds; default 25). */
  limit: number;
}

export const MAX_REPLAY_LIMIT = 25;

export interface ReplayedMessage {
  id: string;
  event: string;
  payload: unknown;
}

/**
 * The newest `limit` broadcasts on the topic since `since`, oldest first, read as the caller (its
 * SELECT policies apply), like Supabase's replay on join.
 */
export async function readReplay(
  pool: pg.Pool,
  claims: JwtClaims,
  topic: string,
  request: ReplayRequest,
): Promise<ReplayedMessage[]> {
  if (!isApiRole(claims.role)) return [];
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('begin');
    await client.query(`set local role ${client.escapeIdentifier(claims.role)}`);
    await client.query(
      `select set_config('request.jwt.claims', $1, true), set_config('realtime.topic', $2, true),
              set_config('statement_timeout', '15s', true)`,
      [JSON.stringify(claims), topic],
    );
    const { rows } = await client.query<{ id: string; event: string | null; payload: unknown }>(
      `select id::text, event, payload from (
         select id, event, payload, inserted_at from realtime.messages
          where topic = $1 and extension = 'broadcast' and private
            and inserted_at >= (to_timestamp($2::double precision / 1000) at time zone current_setting('TimeZone'))
          order by inserted_at desc limit $3) newest
        order by inserted_at asc`,
      [topic, request.since, request.limit],
    );
    return rows.map((row) => ({ id: row.id, event: row.event ?? '', payload: row.payload }));
  } finally {
    await client.query('rollback').catch(() => {
      broken = true;
    });
    client.release(broken);
  }
}
