/**
 * Each fault, switched on through the admin API of a real target, with its measured effect on
 * real supabase-js subscribers — and counted in the target's /metrics.
 */
import type { RealtimePostgresChangesPayload, SupabaseClient } from '@supabase/supabase-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSupabaseClient, withTarget } from '../helpers/target.js';

interface Subscription {
  client: SupabaseClient;
  events: { payload: RealtimePostgresChangesPayload<Record<string, unknown>>; receivedAt: number }[];
  systems: { status: string; message: string }[];
}

async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

describe('faults on the postgres_changes path', () => {
  const target = withTarget({ faultSeed: 7 });
  const open: SupabaseClient[] = [];
  let sessionId: string;

  async function admin(method: string, body?: unknown): Promise<Response> {
    return fetch(`${target.current.url}/admin/v1/faults`, {
      method,
      headers: {
        Authorization: `Bearer ${target.current.adminToken}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  async function patchFaults(body: unknown): Promise<void> {
    const response = await admin('PATCH', body);
    expect(response.status, await response.clone().text()).toBe(200);
  }

  /** A dashboard-like subscriber (INSERT on session_assignments), SUBSCRIBED before it returns. */
  async function subscribe(token: string | null, name: string): Promise<Subscription> {
    const t = target.current;
    // A secret key (sb_secret_…) is an API key, not a JWT: like Supabase, the target takes it as the
    // socket's apikey and ignores it as a join access_token, so the client is created with it.
    const apiKeyOnly = token?.startsWith('sb_') ?? false;
    const client = apiKeyOnly
      ? createSupabaseClient(t.url, token!)
      : createSupabaseClient(t.url, t.anonKey, token ? { accessToken: token } : {});
    if (token && !apiKeyOnly) void client.realtime.setAuth(token);
    open.push(client);
    const subscription: Subscription = { client, events: [], systems: [] };
    await new Promise<void>((resolve, reject) => {
      client
        .channel(name)
        .on(
          'postgres_changes',
          { event: 'INSERT', schema: 'public', table: 'session_assignments' },
          (payload) => subscription.events.push({ payload, receivedAt: Date.now() }),
        )
        .on('system', {}, (payload: { status: string; message: string }) =>
          subscription.systems.push({ status: payload.status, message: payload.message }),
        )
        .subscribe((status, error) => {
          if (status === 'SUBSCRIBED') resolve();
          else if (status !== 'CLOSED') reject(new Error(`${name}: ${status} ${error?.message ?? ''}`));
        });
    });
    return subscription;
  }

  async function insertMany(probe: string, count: number, perStatement = 100): Promise<void> {
    for (let start = 0; start < count; start += perStatement) {
      await target.current.db.adminPool.query(
        `insert into public.session_assignments (session_id, metadata)
         select $1, jsonb_build_object('probe', $2::text, 'seq', g) from generate_series($3::int, $4::int) g`,
        [sessionId, probe, start, Math.min(count, start + perStatement) - 1],
      );
    }
  }

  const ofProbe = (subscription: Subscription, probe: string): Subscription['events'] =>
    subscription.events.filter(
      (e) => (e.payload.new as { metadata?: { probe?: string } }).metadata?.probe === probe,
    );
  const seqs = (events: Subscription['events']): number[] =>
    events.map((e) => (e.payload.new as { metadata: { seq: number } }).metadata.seq);

  beforeAll(async () => {
    const { rows } = await target.current.db.adminPool.query<{ id: string }>(
      'insert into public.sessions default values returning id',
    );
    sessionId = rows[0]!.id;
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((client) => client.removeAllChannels()));
    expect((await admin('DELETE')).status).toBe(200);
  });

  it('delays every postgres_changes delivery by the configured 200 ms', async () => {
    const subscriber = await subscribe(target.current.serviceRoleKey, 'delay');
    await insertMany('baseline', 10, 1);
    await waitFor(() => ofProbe(subscriber, 'baseline').length === 10, 10_000, 'baseline events');
    await patchFaults({ postgresChanges: { delayMs: 200 } });
    for (let i = 0; i < 10; i++) await insertMany('delayed', 1, 1);
    await waitFor(() => ofProbe(subscriber, 'delayed').length === 10, 15_000, 'delayed events');
    const latency = (events: Subscription['events']): number[] =>
      events.map((e) => e.receivedAt - Date.parse(e.payload.commit_timestamp));
    const baseline = latency(ofProbe(subscriber, 'baseline'));
    const delayed = latency(ofProbe(subscriber, 'delayed'));
    // commit_timestamp is truncated to the millisecond, hence 199. Only the lower bound is
    // asserted: on two shared cores either window can be slowed by an unrelated burst.
    expect(Math.min(...delayed)).toBeGreaterThanOrEqual(199);
    expect(median(delayed)).toBeGreaterThanOrEqual(199);
    expect(baseline).toHaveLength(10);
    const delays = await target.current.context.metrics.faultsInjected.get();
    const counted = delays.values.find(
      (v) => v.labels.fault === 'delay' && v.labels.path === 'postgres_changes',
    );
    expect(counted?.value).toBe(10);
  });

  it('loses between 40 and 60 % of 1,000 events at a 50 % drop rate', async () => {
    const subscriber = await subscribe(target.current.serviceRoleKey, 'drop');
    await patchFaults({ postgresChanges: { dropRate: 0.5 } });
    await insertMany('drop', 1000);
    // Delivery has no end marker under loss: wait for the feed to have read all 1,000, then settle.
    await waitFor(
      async () => {
        const metric = await target.current.context.metrics.walChanges.get();
        return metric.values.reduce((sum, v) => sum + v.value, 0) >= 1000;
      },
      20_000,
      'the feed to read 1,000 changes',
    );
    await sleep(1_500);
    const delivered = ofProbe(subscriber, 'drop');
    const lost = 1000 - delivered.length;
    expect(lost).toBeGreaterThanOrEqual(400);
    expect(lost).toBeLessThanOrEqual(600);
    // Whatever survives still arrives in commit order, once.
    const order = seqs(delivered);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(new Set(order).size).toBe(order.length);
  });

  it('builds slot lag while replication is paused and releases every event in order on resume', async () => {
    const subscriber = await subscribe(target.current.serviceRoleKey, 'pause');
    await patchFaults({ replicationPaused: true });
    await insertMany('paused', 50, 5);
    const lagBytes = async (): Promise<number> =>
      (await target.current.context.metrics.replicationLagBytes.get()).values[0]?.value ?? 0;
    await waitFor(async () => (await lagBytes()) > 0, 10_000, 'slot lag to show');
    const { rows } = await target.current.db.adminPool.query<{ lag: string }>(
      `select (pg_current_wal_lsn() - confirmed_flush_lsn)::text as lag from pg_replication_slots where slot_name like 'canary_feed_%'`,
    );
    expect(Number(rows[0]!.lag)).toBeGreaterThan(0);
    await sleep(500);
    expect(ofProbe(subscriber, 'paused')).toHaveLength(0);

    await patchFaults({ replicationPaused: false });
    await waitFor(() => ofProbe(subscriber, 'paused').length >= 50, 15_000, 'the held events');
    expect(seqs(ofProbe(subscriber, 'paused'))).toEqual(Array.from({ length: 50 }, (_, i) => i));
    await waitFor(async () => (await lagBytes()) === 0, 10_000, 'the lag to drain');
  });

  it('turns the publication fault into a subscription error and no events, and recovers on reset', async () => {
    const before = await subscribe(target.current.serviceRoleKey, 'publication-before');
    await patchFaults({ publicationMissing: true });
    const unableMessage = /^Unable to subscribe to changes with given parameters/;
    await waitFor(
      () => before.systems.some((s) => s.status === 'error' && unableMessage.test(s.message)),
      10_000,
      'the existing subscription to be told',
    );
    const during = await subscribe(target.current.serviceRoleKey, 'publication-during');
    await waitFor(() => during.systems.length > 0, 10_000, 'the new subscription to be told');
    expect(during.systems[0]).toMatchObject({ status: 'error' });
    expect(during.systems[0]!.message).toMatch(unableMessage);
    await insertMany('unpublished', 5, 5);
    await sleep(800);
    expect([...ofProbe(before, 'unpublished'), ...ofProbe(during, 'unpublished')]).toHaveLength(0);

    expect((await admin('DELETE')).status).toBe(200);
    const after = await subscribe(target.current.serviceRoleKey, 'publication-after');
    await insertMany('republished', 3, 3);
    await waitFor(() => ofProbe(after, 'republished').length === 3, 10_000, 'events after the reset');
  });

  it('starves mechanics but not the service role while the realtime policy is missing', async () => {
    const mechanic = await target.current.createMechanic();
    const mechanicSub = await subscribe(mechanic.token, 'policy-mechanic');
    const serviceSub = await subscribe(target.current.serviceRoleKey, 'policy-service');
    await patchFaults({ realtimeSelectPolicyMissing: true });
    await insertMany('no-policy', 5, 1);
    await waitFor(() => ofProbe(serviceSub, 'no-policy').length === 5, 10_000, 'service-role events');
    await sleep(300);
    expect(ofProbe(mechanicSub, 'no-policy')).toHaveLength(0);

    expect((await admin('DELETE')).status).toBe(200);
    await insertMany('policy-back', 2, 1);
    // RLS is asked on every change, so the same subscription sees rows again without a rejoin.
    await waitFor(
      () => ofProbe(mechanicSub, 'policy-back').length === 2,
      10_000,
      'mechanic events after reset',
    );
  });

  afterAll(async () => {
    const response = await fetch(`${target.current.url}/metrics`);
    const text = await response.text();
    const counted = (fault: string, path: string): number => {
      const line = text
        .split('\n')
        .find((l) => l.startsWith(`target_faults_injected_total{fault="${fault}",path="${path}"}`));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    expect(counted('delay', 'postgres_changes')).toBeGreaterThanOrEqual(10);
    expect(counted('drop', 'postgres_changes')).toBeGreaterThanOrEqual(400);
    expect(counted('replication_paused', 'replication')).toBe(1);
    expect(counted('publication_missing', 'postgres_changes')).toBe(1);
    expect(counted('realtime_policy_missing', 'postgres_changes')).toBe(1);
  });
});
