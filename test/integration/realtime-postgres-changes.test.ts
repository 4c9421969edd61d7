import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SupabaseClient } from '@supabase/supabase-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type {
  ChangeFeed,
  ChangeSubscription,
  JwtClaims,
  PostgresChangeData,
  RealtimeGateway,
} from '../../src/local-target/components.js';
import { createRealtimeGateway } from '../../src/local-target/gateway/index.js';
import { createSupabaseClient, withTarget } from '../helpers/target.js';
import { sleep, subscribeAndLog, waitFor } from './realtime-support.js';

const target = withTarget({ faultSeed: 11 });
const clients: SupabaseClient[] = [];

/**
 * A change feed the test drives by hand: it reports ready after `readyAfterMs`, and `emit()` hands a
 * change to every subscription registered at that moment — so what a subscriber misses is exactly
 * what was emitted before its subscription existed.
 */
class ManualChangeFeed implements ChangeFeed {
  readonly live = new Set<ChangeSubscription>();
  readonly subscribedAt: number[] = [];
  readonly claimUpdates: JwtClaims[] = [];
  failWith: string | null = null;
  readyAfterMs = 30;

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  subscribe(subscription: ChangeSubscription) {
    this.subscribedAt.push(performance.now());
    setTimeout(() => {
      if (this.failWith !== null) return subscription.onError(this.failWith);
      this.live.add(subscription);
      subscription.onReady();
    }, this.readyAfterMs);
    return {
      updateClaims: (claims: JwtClaims) => this.claimUpdates.push(claims),
      close: () => this.live.delete(subscription),
    };
  }

  emit(record: Record<string, unknown>): void {
    const data: PostgresChangeData = {
      schema: 'public',
      table: 'session_assignments',
      commit_timestamp: new Date().toISOString(),
      type: 'INSERT',
      columns: [
        { name: 'id', type: 'uuid' },
        { name: 'status', type: 'text' },
      ],
      record,
      errors: null,
    };
    for (const subscription of this.live)
      subscription.onChange(
        data,
        subscription.bindings.map((binding) => binding.id),
      );
  }
}

let feed: ManualChangeFeed;
let gateway: RealtimeGateway;
let server: http.Server;
let url: string;

beforeAll(async () => {
  feed = new ManualChangeFeed();
  gateway = createRealtimeGateway(target.current.context, feed);
  server = http.createServer((_request, response) => response.writeHead(404).end());
  gateway.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await gateway?.close();
  await new Promise((resolve) => server?.close(resolve));
});

afterEach(async () => {
  await target.current.faults.reset();
  feed.failWith = null;
  for (const supabase of clients.splice(0)) {
    await supabase.removeAllChannels();
    supabase.realtime.disconnect();
  }
});

function client(
  baseUrl: string,
  key = target.current.anonKey,
  vsn: '1.0.0' | '2.0.0' = '2.0.0',
): SupabaseClient {
  const supabase = createSupabaseClient(baseUrl, key, { client: { realtime: { vsn } } });
  clients.push(supabase);
  return supabase;
}

interface Received {
  eventType: string;
  new: Record<string, unknown>;
  commit_timestamp: string;
  at: number;
}

function listen(supabase: SupabaseClient, name: string) {
  const received: Received[] = [];
  const system: { status?: string; message?: string; extension?: string }[] = [];
  const channel = supabase
    .channel(name)
    .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'session_assignments' }, (payload) =>
      received.push({
        eventType: payload.eventType,
        new: payload.new as Record<string, unknown>,
        commit_timestamp: payload.commit_timestamp,
        at: performance.now(),
      }),
    )
    .on('system', {}, (payload: { status?: string; message?: string; extension?: string }) =>
      system.push(payload),
    );
  return { channel, received, system, log: subscribeAndLog(channel) };
}

describe('postgres_changes through the gateway (a hand-driven change feed)', () => {
  it('the subscription is live before SUBSCRIBED, the system ok message follows, and changes arrive with ids (vsn 2 and 1)', async () => {
    for (const vsn of ['2.0.0', '1.0.0'] as const) {
      const subscriber = listen(client(url, target.current.anonKey, vsn), `changes-${vsn}`);
      await subscriber.log.reached('SUBSCRIBED');
      // Stricter than production: anything emitted right after SUBSCRIBED is delivered.
      feed.emit({ id: `row-${vsn}`, status: 'queued' });
      await waitFor(() => subscriber.received.length === 1, `the change over vsn ${vsn}`);
      expect(subscriber.received[0]).toMatchObject({
        eventType: 'INSERT',
        new: { id: `row-${vsn}`, status: 'queued' },
      });
      await waitFor(() => subscriber.system.length > 0, 'the system message');
      expect(subscriber.system[0]).toMatchObject({
        extension: 'postgres_changes',
        status: 'ok',
        message: 'Subscribed to PostgreSQL',
      });
    }
  });

  it('a feed error becomes a system error message while the join still succeeds', async () => {
    feed.failWith = 'Unable to subscribe to changes with given parameters.';
    const subscriber = listen(client(url), 'changes-error');
    await subscriber.log.reached('SUBSCRIBED');
    await waitFor(() => subscriber.system.length > 0, 'the system error');
    expect(subscriber.system[0]).toMatchObject({ status: 'error', message: feed.failWith });
  });

  it('readiness gap: SUBSCRIBED comes at once, changes inside the gap are lost, later ones arrive', async () => {
    const metric = target.current.context.metrics.faultsInjected;
    const gapCount = async (): Promise<number> =>
      (await metric.get()).values.find((value) => value.labels.fault === 'readiness_gap_lost')?.value ?? 0;
    const before = await gapCount();
    await target.current.faults.update({ readinessGapMs: 1500 });
    const subscriptionsBefore = feed.subscribedAt.length;
    const subscriber = listen(client(url), 'changes-gap');
    const joinedAt = performance.now();
    await subscriber.log.reached('SUBSCRIBED');
    // SUBSCRIBED came before the feed was even asked: the change below falls into the gap.
    expect(feed.subscribedAt.length).toBe(subscriptionsBefore);
    feed.emit({ id: 'in-the-gap', status: 'queued' });
    await waitFor(
      () => subscriber.system.some((message) => message.status === 'ok'),
      'the late system ok',
      5000,
    );
    expect(feed.subscribedAt.at(-1)! - joinedAt).toBeGreaterThanOrEqual(1450);
    feed.emit({ id: 'after-the-gap', status: 'queued' });
    await waitFor(() => subscriber.received.length === 1, 'the change after the gap');
    await sleep(100);
    expect(subscriber.received.map((change) => change.new.id)).toEqual(['after-the-gap']);
    expect(await gapCount()).toBe(before + 1);
  });

  it('postgres_changes delay and drop faults apply per delivery and keep order', async () => {
    const subscriber = listen(client(url), 'changes-faulted');
    await subscriber.log.reached('SUBSCRIBED');
    await target.current.faults.update({ postgresChanges: { delayMs: 150, jitterMs: 100 } });
    const sentAt = performance.now();
    for (let index = 0; index < 20; index++) feed.emit({ id: `d-${index}`, status: 'queued' });
    await waitFor(() => subscriber.received.length === 20, 'twenty delayed changes');
    expect(subscriber.received[0]!.at - sentAt).toBeGreaterThanOrEqual(50);
    expect(subscriber.received.map((change) => change.new.id)).toEqual(
      Array.from({ length: 20 }, (_, i) => `d-${i}`),
    );

    await target.current.faults.update({ postgresChanges: { delayMs: 0, jitterMs: 0, dropRate: 1 } });
    feed.emit({ id: 'dropped', status: 'queued' });
    await sleep(150);
    expect(subscriber.received).toHaveLength(20);
  });

  it('an access_token refresh hands the new claims to the feed subscription', async () => {
    const supabase = client(url);
    const subscriber = listen(supabase, 'changes-claims');
    await subscriber.log.reached('SUBSCRIBED');
    const mechanic = await target.current.createMechanic();
    await supabase.realtime.setAuth(mechanic.token);
    await waitFor(() => feed.claimUpdates.some((claims) => claims.sub === mechanic.id), 'the claims update');
  });
});

describe('postgres_changes end to end (WAL change feed)', () => {
  it('an insert through REST reaches a supabase-js subscriber with eventType, new and commit_timestamp', async () => {
    const { serviceRoleKey } = target.current;
    const subscriber = listen(client(target.current.url, serviceRoleKey), 'wal-end-to-end');
    await subscriber.log.reached('SUBSCRIBED');
    await waitFor(
      () => subscriber.system.some((message) => message.status === 'ok'),
      'Subscribed to PostgreSQL',
    );

    const writer = client(target.current.url, serviceRoleKey);
    const session = await writer.from('sessions').insert({ type: 'free' }).select().single();
    expect(session.error).toBeNull();
    const assignment = await writer
      .from('session_assignments')
      .insert({
        session_id: (session.data as { id: string }).id,
        status: 'queued',
        metadata: { canary_event_id: 'e2e-1' },
      })
      .select()
      .single();
    expect(assignment.error).toBeNull();
    await waitFor(() => subscriber.received.length === 1, 'the WAL change', 15_000);
    const change = subscriber.received[0]!;
    expect(change.eventType).toBe('INSERT');
    expect(change.new).toMatchObject({
      id: (assignment.data as { id: string }).id,
      status: 'queued',
      metadata: { canary_event_id: 'e2e-1' },
    });
    expect(change.commit_timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });
});
