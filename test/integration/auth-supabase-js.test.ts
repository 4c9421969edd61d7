/**
 * The unmodified supabase-js against a project with only asymmetric keys and 20 s access tokens:
 * the mechanic signs in with email + password using the publishable key alone, subscribes to
 * postgres_changes and broadcast, and either keeps every event flowing through supabase-js's own
 * refresh (2 minutes) or — with no refresh before expiry — gets Supabase's token-expired close.
 *
 * How supabase-js refreshes here: with a session, Realtime asks `auth.getSession()` for a token on
 * every heartbeat, and getSession refreshes any session within 90 s of expiry (always, with 20 s
 * tokens); the new token goes to the joined channels as an in-band `access_token`. The auto-refresh
 * ticker (every 30 s) refreshes too. A 20 s token therefore needs heartbeats more often than every
 * 20 s (here 8 s); with the default 25 s heartbeat and auto-refresh off, the first token expires
 * before anything refreshes it.
 */
import type { RealtimeChannel, SupabaseClient } from '@supabase/supabase-js';
import { decodeJwt } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import type { CreatedMechanic } from '../../src/local-target/index.js';
import { createSupabaseClient, withTarget } from '../helpers/target.js';
import { sleep, waitFor } from './realtime-support.js';

const TOKEN_SECONDS = 20;
const target = withTarget({ jwtMode: 'asymmetric', accessTokenTtlSeconds: TOKEN_SECONDS });
const clients: SupabaseClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) {
    await client.auth.stopAutoRefresh();
    await client.removeAllChannels();
  }
});

interface Subscription {
  channel: RealtimeChannel;
  statuses: string[];
  system: { status?: string; message?: string; extension?: string }[];
  changes: number[];
  broadcasts: number[];
}

/** Sign in with the publishable key only and subscribe to both paths on one channel. */
async function signInAndSubscribe(
  mechanic: CreatedMechanic,
  options: { autoRefreshToken: boolean; heartbeatIntervalMs?: number },
): Promise<{ client: SupabaseClient; subscription: Subscription; expiresAt: number }> {
  const client = createSupabaseClient(target.current.url, target.current.publishableKey, {
    client: {
      auth: { autoRefreshToken: options.autoRefreshToken },
      realtime: options.heartbeatIntervalMs ? { heartbeatIntervalMs: options.heartbeatIntervalMs } : {},
    },
  });
  clients.push(client);
  const { data, error } = await client.auth.signInWithPassword({
    email: mechanic.email,
    password: mechanic.password,
  });
  expect(error).toBeNull();
  expect(data.session?.expires_in).toBe(TOKEN_SECONDS);

  const subscription: Subscription = {
    channel: client.channel(target.current.broadcastChannel),
    statuses: [],
    system: [],
    changes: [],
    broadcasts: [],
  };
  subscription.channel
    .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'session_assignments' }, (change) => {
      const seq = (change.new as { metadata?: { seq?: number } }).metadata?.seq;
      if (typeof seq === 'number') subscription.changes.push(seq);
    })
    .on('broadcast', { event: 'tick' }, (message) => {
      const seq = (message.payload as { seq?: number }).seq;
      if (typeof seq === 'number') subscription.broadcasts.push(seq);
    })
    .on('system', {}, (payload: { status?: string; message?: string; extension?: string }) => {
      subscription.system.push(payload);
    })
    .subscribe((status) => subscription.statuses.push(status));
  await waitFor(
    () =>
      subscription.statuses.includes('SUBSCRIBED') &&
      subscription.system.some((message) => message.message === 'Subscribed to PostgreSQL'),
    'SUBSCRIBED and the postgres_changes subscription',
  );
  return { client, subscription, expiresAt: data.session!.expires_at! };
}

/** The server side of the app: a session row, then one assignment insert and one broadcast per tick. */
async function publisher(): Promise<(seq: number) => Promise<void>> {
  const service = createSupabaseClient(target.current.url, target.current.secretKey);
  const { data, error } = await service.from('sessions').insert({ type: 'paid' }).select('id').single();
  expect(error).toBeNull();
  const sessionId = (data as { id: string }).id;
  return async (seq) => {
    const inserted = await service
      .from('session_assignments')
      .insert({ session_id: sessionId, status: 'queued', metadata: { seq } });
    expect(inserted.error).toBeNull();
    const broadcast = await fetch(`${target.current.url}/realtime/v1/api/broadcast`, {
      method: 'POST',
      headers: {
        apikey: target.current.secretKey,
        Authorization: `Bearer ${target.current.secretKey}`,
        'Content-Type': 'application/json',
      },
      body: JSON.stringify({
        messages: [
          { topic: target.current.broadcastChannel, event: 'tick', payload: { seq }, private: false },
        ],
      }),
    });
    expect(broadcast.status).toBe(202);
  };
}

async function refreshCount(): Promise<number> {
  const metrics = await (await fetch(`${target.current.url}/metrics`)).text();
  return Number(/^target_auth_refreshes_total (\d+)/m.exec(metrics)?.[1] ?? 0);
}

describe('supabase-js with asymmetric keys and 20 s access tokens', () => {
  it('keeps receiving every postgres_changes and broadcast event for 2 minutes through its own token refresh', async () => {
    const mechanic = await target.current.createMechanic();
    const refreshesBefore = await refreshCount();
    const { client, subscription } = await signInAndSubscribe(mechanic, {
      autoRefreshToken: true,
      heartbeatIntervalMs: 8_000,
    });
    const publish = await publisher();
    const tokens = new Set<string>();
    const sent: number[] = [];
    const runUntil = Date.now() + 120_000;
    for (let seq = 1; Date.now() < runUntil && seq <= 40; seq++) {
      await publish(seq);
      sent.push(seq);
      const { data } = await client.auth.getSession();
      if (data.session) tokens.add(data.session.access_token);
      await sleep(4_000);
    }
    await waitFor(
      () => subscription.changes.length >= sent.length && subscription.broadcasts.length >= sent.length,
      `every event on both paths (changes ${subscription.changes.length}, broadcasts ${subscription.broadcasts.length} of ${sent.length})`,
      15_000,
    );
    expect(sent.length).toBeGreaterThanOrEqual(25);
    expect(subscription.changes).toEqual(sent);
    expect(subscription.broadcasts).toEqual(sent);
    expect(subscription.statuses).toEqual(['SUBSCRIBED']);
    expect(subscription.system.filter((message) => message.status === 'error')).toEqual([]);
    // Two minutes of 20 s tokens: the session was refreshed many times, each a new token.
    expect((await refreshCount()) - refreshesBefore).toBeGreaterThanOrEqual(6);
    expect(tokens.size).toBeGreaterThanOrEqual(6);
  }, 180_000);

  it('ends the subscription with the token-expired system error and phx_close when nothing refreshes the token in time', async () => {
    const mechanic = await target.current.createMechanic();
    const { client, subscription } = await signInAndSubscribe(mechanic, { autoRefreshToken: false });
    const publish = await publisher();
    await publish(1);
    await waitFor(
      () => subscription.changes.includes(1) && subscription.broadcasts.includes(1),
      'the first event on both paths',
    );
    await waitFor(() => subscription.statuses.includes('CLOSED'), 'the channel to close at expiry', 30_000);
    const closedAt = Date.now() / 1000;
    const errors = subscription.system.filter((message) => message.status === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ extension: 'system', status: 'error' });
    expect(errors[0]?.message).toMatch(/^Token has expired \d+ seconds ago$/);
    expect(subscription.statuses).toEqual(['SUBSCRIBED', 'CLOSED']);
    // It closed because the channel's token expired: not before that token's `exp`.
    const channelToken = client.realtime.accessTokenValue;
    expect(channelToken).toBeTruthy();
    expect(closedAt).toBeGreaterThanOrEqual(decodeJwt(channelToken!).exp!);
    await publish(2);
    await sleep(1_500);
    expect(subscription.changes).toEqual([1]);
    expect(subscription.broadcasts).toEqual([1]);
    const metrics = await (await fetch(`${target.current.url}/metrics`)).text();
    expect(metrics).toMatch(/target_auth_sign_ins_total [1-9]/);
  }, 60_000);
});
