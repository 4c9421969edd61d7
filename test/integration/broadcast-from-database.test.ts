/**
 * Broadcast from Database on private channels, end to end with the unmodified supabase-js:
 * realtime.broadcast_changes() from the session_assignments trigger, Realtime Authorization by
 * realtime.messages policies evaluated as the mechanic, Supabase's join errors, replay on rejoin,
 * and the faults that break each part.
 */
import type { SupabaseClient } from '@supabase/supabase-js';
import { afterEach, describe, expect, it } from 'vitest';
import { createSupabaseClient, withTarget } from '../helpers/target.js';
import { sleep, subscribeAndLog, waitFor } from './realtime-support.js';

const target = withTarget();
const clients: SupabaseClient[] = [];

afterEach(async () => {
  for (const supabase of clients.splice(0)) {
    await supabase.removeAllChannels();
    supabase.realtime.disconnect();
  }
  await target.current.faults.reset();
});

/** A supabase-js client of a signed-in mechanic: anon key, then setAuth with the mechanic's token. */
async function mechanicClient(): Promise<{ supabase: SupabaseClient; id: string }> {
  const mechanic = await target.current.createMechanic();
  const supabase = createSupabaseClient(target.current.url, target.current.anonKey, {
    client: { realtime: { vsn: '2.0.0' } },
  });
  await supabase.realtime.setAuth(mechanic.token);
  clients.push(supabase);
  return { supabase, id: mechanic.id };
}

async function insertAssignment(mechanicId: string | null, label: string): Promise<string> {
  const pool = target.current.db.adminPool;
  const session = await pool.query<{ id: string }>(
    `insert into public.sessions (type) values ('free') returning id`,
  );
  const row = await pool.query<{ id: string }>(
    `insert into public.session_assignments (session_id, mechanic_id, status, metadata)
     values ($1, $2, 'offered', $3) returning id`,
    [session.rows[0]!.id, mechanicId, { label }],
  );
  return row.rows[0]!.id;
}

interface Heard {
  event: string;
  payload: Record<string, unknown>;
  meta?: { id: string; replayed?: boolean };
}

describe('Broadcast from Database on private channels', () => {
  it('a mechanic whose policy allows the topic receives broadcast_changes for an insert, after commit only', async () => {
    const { supabase, id } = await mechanicClient();
    const heard: Heard[] = [];
    const channel = supabase.channel(`mechanic:${id}:assignments`, { config: { private: true } });
    channel.on('broadcast', { event: 'INSERT' }, (message) => heard.push(message as unknown as Heard));
    await subscribeAndLog(channel).reached('SUBSCRIBED');

    const pool = target.current.db.adminPool;
    const client = await pool.connect();
    try {
      await client.query('begin');
      const session = await client.query<{ id: string }>(
        `insert into public.sessions (type) values ('free') returning id`,
      );
      await client.query(
        `insert into public.session_assignments (session_id, mechanic_id, status) values ($1, $2, 'offered')`,
        [session.rows[0]!.id, id],
      );
      await client.query('rollback');
    } finally {
      client.release();
    }
    const assignmentId = await insertAssignment(id, 'committed');
    await waitFor(() => heard.length >= 1, 'the INSERT broadcast');
    await sleep(200);
    expect(heard).toHaveLength(1);
    const message = heard[0]!;
    expect(message.event).toBe('INSERT');
    expect(message.meta?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(message.payload).toMatchObject({
      operation: 'INSERT',
      table: 'session_assignments',
      schema: 'public',
      old_record: null,
      record: { id: assignmentId, mechanic_id: id, metadata: { label: 'committed' } },
    });
  });

  it('the same mechanic gets Supabase’s join error on a topic its policy does not allow, and when the policy is missing', async () => {
    const { supabase, id } = await mechanicClient();
    const other = supabase.channel('mechanic:someone-else:assignments', { config: { private: true } });
    const refused = subscribeAndLog(other);
    await refused.reached('CHANNEL_ERROR');
    expect(refused.errors.join(' ')).toContain(
      'Unauthorized: You do not have permissions to read from this Channel topic: mechanic:someone-else:assignments',
    );

    await target.current.faults.update({ messagesPolicyMissing: true });
    const own = supabase.channel(`mechanic:${id}:assignments`, { config: { private: true } });
    const ownLog = subscribeAndLog(own);
    await ownLog.reached('CHANNEL_ERROR');
    expect(ownLog.errors.join(' ')).toContain(
      `Unauthorized: You do not have permissions to read from this Channel topic: mechanic:${id}:assignments`,
    );
  });

  it('a rejoining client with replay receives the messages sent while it was away, marked replayed', async () => {
    const { supabase, id } = await mechanicClient();
    const topic = `mechanic:${id}:assignments`;
    const first = supabase.channel(topic, { config: { private: true } });
    await subscribeAndLog(first).reached('SUBSCRIBED');
    const leftAt = Date.now() - 1000;
    await supabase.removeChannel(first);

    const missed = [await insertAssignment(id, 'away-1'), await insertAssignment(id, 'away-2')];
    await sleep(300);

    const heard: Heard[] = [];
    const again = supabase.channel(topic, {
      config: { private: true, broadcast: { replay: { since: leftAt, limit: 10 } } },
    });
    again.on('broadcast', { event: 'INSERT' }, (message) => heard.push(message as unknown as Heard));
    await subscribeAndLog(again).reached('SUBSCRIBED');
    await waitFor(() => heard.length >= 2, 'two replayed messages');
    expect(heard.map((message) => (message.payload.record as { id: string }).id).sort()).toEqual(
      [...missed].sort(),
    );
    expect(heard.every((message) => message.meta?.replayed === true)).toBe(true);

    const live = await insertAssignment(id, 'live');
    await waitFor(() => heard.length >= 3, 'the live message after the replay');
    expect((heard[2]!.payload.record as { id: string }).id).toBe(live);
    expect(heard[2]!.meta?.replayed).toBeUndefined();
  });

  it('replay unavailable refuses the join with Supabase’s replay error', async () => {
    const { supabase, id } = await mechanicClient();
    await target.current.faults.update({ replayUnavailable: true });
    const channel = supabase.channel(`mechanic:${id}:assignments`, {
      config: { private: true, broadcast: { replay: { since: Date.now() - 60_000 } } },
    });
    const log = subscribeAndLog(channel);
    await log.reached('CHANNEL_ERROR');
    expect(log.errors.join(' ')).toContain('UnableToReplayMessages');
  });

  it('with the trigger missing nothing is broadcast, and with slow message inserts the writer waits', async () => {
    const { supabase, id } = await mechanicClient();
    const heard: Heard[] = [];
    const channel = supabase.channel(`mechanic:${id}:assignments`, { config: { private: true } });
    channel.on('broadcast', { event: 'INSERT' }, (message) => heard.push(message as unknown as Heard));
    await subscribeAndLog(channel).reached('SUBSCRIBED');

    await target.current.faults.update({ broadcastTriggerMissing: true });
    await insertAssignment(id, 'no-trigger');
    await sleep(400);
    expect(heard).toEqual([]);

    await target.current.faults.update({ broadcastTriggerMissing: false, messageInsertDelayMs: 300 });
    const started = performance.now();
    await insertAssignment(id, 'slow');
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    await waitFor(() => heard.length === 1, 'the broadcast once the trigger is back');
  });

  it('a mechanic cannot broadcast on a topic it may read but not write, and can where the policy allows', async () => {
    const sender = await mechanicClient();
    const listener = await mechanicClient();
    const heard: unknown[] = [];
    const topic = 'assignments';
    const listenChannel = listener.supabase.channel(topic, { config: { private: true } });
    listenChannel.on('broadcast', { event: 'ping' }, (message) => heard.push(message.payload));
    await subscribeAndLog(listenChannel).reached('SUBSCRIBED');
    const sendChannel = sender.supabase.channel(topic, { config: { private: true } });
    await subscribeAndLog(sendChannel).reached('SUBSCRIBED');
    expect(await sendChannel.send({ type: 'broadcast', event: 'ping', payload: { n: 1 } })).toBe('ok');
    await waitFor(() => heard.length === 1, 'the mechanic’s broadcast');

    await target.current.db.adminPool.query(
      'drop policy "Mechanics can send on their assignment topics" on realtime.messages',
    );
    try {
      const refusedSender = await mechanicClient();
      const refusedChannel = refusedSender.supabase.channel(topic, { config: { private: true } });
      await subscribeAndLog(refusedChannel).reached('SUBSCRIBED');
      await refusedChannel.send({ type: 'broadcast', event: 'ping', payload: { n: 2 } });
      await sleep(300);
      expect(heard).toEqual([{ n: 1 }]);
    } finally {
      await target.current.db.adminPool.query(
        `create policy "Mechanics can send on their assignment topics" on realtime.messages for insert to authenticated with check (public.is_mechanic() and realtime.messages.extension in ('broadcast', 'presence') and (realtime.topic() = 'assignments' or realtime.topic() = 'mechanic:' || auth.uid()::text || ':assignments'))`,
      );
    }
  });

  it('keeps daily partitions of realtime.messages and drops the ones past retention', async () => {
    const pool = target.current.db.adminPool;
    await pool.query(
      `create table realtime.messages_2001_01_01 partition of realtime.messages for values from ('2001-01-01') to ('2001-01-02')`,
    );
    const { rows } = await pool.query<{ created: string[]; dropped: string[] }>(
      'select created, dropped from realtime.canary_housekeep_messages(3, 3)',
    );
    expect(rows[0]!.dropped).toEqual(['messages_2001_01_01']);
    const partitions = await pool.query<{ relname: string }>(
      `select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'realtime.messages'::regclass order by 1`,
    );
    expect(partitions.rows).toHaveLength(4);
  });
});

describe('a project that allows private channels only', () => {
  const privateOnly = withTarget({ realtime: { privateOnly: true } });

  it('refuses a public join with Supabase’s PrivateOnly error', async () => {
    const supabase = createSupabaseClient(privateOnly.current.url, privateOnly.current.anonKey);
    clients.push(supabase);
    const log = subscribeAndLog(supabase.channel('public-room'));
    await log.reached('CHANNEL_ERROR');
    expect(log.errors.join(' ')).toContain('PrivateOnly: This project only allows private channels');
  });
});
