import { describe, expect, it } from 'vitest';
import { createMetrics, type DeliveryPath } from '../metrics/index.js';
import type { Clock } from '../shared/index.js';
import { EventLedger, type OutcomeRecord } from './event-ledger.js';

/** A clock the test moves by hand, so outcome boundaries are exact. */
function manualClock(start = 1000): Clock & { advance(ms: number): void; set(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    wallNow: () => 1_700_000_000_000 + now,
    advance: (ms) => {
      now += ms;
    },
    set: (ms) => {
      now = ms;
    },
  };
}

function setup(options: { zombieAfterMissed?: number; overloaded?: () => boolean } = {}) {
  const clock = manualClock();
  const { registry, metrics } = createMetrics();
  const ledger = new EventLedger({
    env: 'local',
    probe: 'p',
    lateAfterMs: 1000,
    deadlineMs: 5000,
    zombieAfterMissed: options.zombieAfterMissed ?? 3,
    clock,
    metrics,
    isOverloaded: options.overloaded,
  });
  const outcomes: OutcomeRecord[] = [];
  ledger.onOutcome((o) => outcomes.push(o));
  return { clock, registry, metrics, ledger, outcomes };
}

async function metricValue(
  registry: ReturnType<typeof createMetrics>['registry'],
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  const match = metric?.values.find((v) =>
    Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val),
  );
  return match?.value ?? 0;
}

const REALTIME: DeliveryPath[] = ['postgres_changes', 'broadcast'];

describe('EventLedger outcomes', () => {
  it('classifies by latency: ≤ lateAfter delivered, ≤ deadline late, later dropped but still observed', () => {
    const { clock, ledger, outcomes } = setup();
    for (const id of ['s1', 's2', 's3', 's4']) {
      ledger.addSubscriber(id, { paths: ['broadcast'] });
      ledger.setStatus(id, 'broadcast', 'SUBSCRIBED');
    }
    ledger.publish('e1');
    const t0 = clock.now();
    ledger.recordDelivery({
      subscriberId: 's1',
      path: 'broadcast',
      keys: { eventId: 'e1' },
      receivedAt: t0 + 1000,
    });
    ledger.recordDelivery({
      subscriberId: 's2',
      path: 'broadcast',
      keys: { eventId: 'e1' },
      receivedAt: t0 + 1001,
    });
    ledger.recordDelivery({
      subscriberId: 's3',
      path: 'broadcast',
      keys: { eventId: 'e1' },
      receivedAt: t0 + 5000,
    });
    clock.advance(5000);
    ledger.tick();
    ledger.recordDelivery({
      subscriberId: 's4',
      path: 'broadcast',
      keys: { eventId: 'e1' },
      receivedAt: t0 + 7000,
    });
    const bySub = Object.fromEntries(outcomes.map((o) => [o.subscriberId, o.outcome]));
    expect(bySub).toEqual({ s1: 'delivered', s2: 'late', s3: 'late', s4: 'dropped' });
    const totals = ledger.totalsFor('broadcast');
    expect(totals).toMatchObject({ due: 4, delivered: 1, late: 2, dropped: 1, arrivedAfterDrop: 1 });
    expect(outcomes).toHaveLength(4);
  });

  it('settles an event as soon as everyone due has it, and still counts later duplicates', () => {
    const { clock, ledger, outcomes } = setup();
    for (const id of ['s1', 's2']) {
      ledger.addSubscriber(id, { paths: ['broadcast'] });
      ledger.setStatus(id, 'broadcast', 'SUBSCRIBED');
    }
    ledger.publish('e1');
    const t0 = clock.now();
    ledger.recordDelivery({
      subscriberId: 's1',
      path: 'broadcast',
      keys: { eventId: 'e1' },
      receivedAt: t0 + 10,
    });
    expect(ledger.pendingEvents()).toBe(1);
    ledger.recordDelivery({
      subscriberId: 's2',
      path: 'broadcast',
      keys: { eventId: 'e1' },
      receivedAt: t0 + 1500,
    });
    // Long before the 5 s deadline: nothing left to decide.
    expect(ledger.pendingEvents()).toBe(0);
    expect(ledger.isFinalized('e1')).toBe(true);
    ledger.recordDelivery({
      subscriberId: 's2',
      path: 'broadcast',
      keys: { eventId: 'e1' },
      receivedAt: t0 + 1600,
    });
    clock.advance(6000);
    ledger.tick();
    expect(outcomes.map((o) => o.outcome)).toEqual(['delivered', 'late']);
    expect(ledger.totalsFor('broadcast')).toMatchObject({
      due: 2,
      delivered: 1,
      late: 1,
      dropped: 0,
      duplicates: 1,
    });
  });

  it('balances the books: published × subscribers × paths == delivered + late + dropped', () => {
    const { clock, ledger, outcomes } = setup();
    const subscribers = ['a', 'b', 'c'];
    for (const id of subscribers) {
      ledger.addSubscriber(id, { paths: REALTIME });
      for (const path of REALTIME) ledger.setStatus(id, path, 'SUBSCRIBED');
    }
    let seed = 7;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const published = 40;
    for (let i = 0; i < published; i++) {
      ledger.publish(`e${i}`);
      const t = clock.now();
      for (const id of subscribers) {
        for (const path of REALTIME) {
          const roll = random();
          if (roll < 0.6)
            ledger.recordDelivery({
              subscriberId: id,
              path,
              keys: { eventId: `e${i}` },
              receivedAt: t + roll * 1000,
            });
          else if (roll < 0.8)
            ledger.recordDelivery({
              subscriberId: id,
              path,
              keys: { eventId: `e${i}` },
              receivedAt: t + 1000 + roll * 3000,
            });
          else if (roll < 0.9) {
            // duplicate on top of a delivery: counted, not a second outcome
            ledger.recordDelivery({ subscriberId: id, path, keys: { eventId: `e${i}` }, receivedAt: t + 10 });
            ledger.recordDelivery({ subscriberId: id, path, keys: { eventId: `e${i}` }, receivedAt: t + 20 });
          }
          // else: never delivered → dropped at the deadline
        }
      }
      clock.advance(700);
      ledger.tick();
    }
    clock.advance(10_000);
    ledger.tick();
    expect(ledger.pendingEvents()).toBe(0);
    for (const path of REALTIME) {
      const t = ledger.totalsFor(path);
      expect(t.due).toBe(published * subscribers.length);
      expect(t.delivered + t.late + t.dropped).toBe(t.due);
      expect(t.delivered).toBeGreaterThan(0);
      expect(t.late).toBeGreaterThan(0);
      expect(t.dropped).toBeGreaterThan(0);
      expect(t.duplicates).toBeGreaterThan(0);
    }
    expect(outcomes).toHaveLength(published * subscribers.length * REALTIME.length);
    const triples = new Set(outcomes.map((o) => `${o.eventId}/${o.subscriberId}/${o.path}`));
    expect(triples.size).toBe(outcomes.length);
  });

  it('counts duplicates and out-of-order sightings per subscriber and path', async () => {
    const { clock, ledger, registry } = setup();
    ledger.addSubscriber('s', { paths: ['postgres_changes'] });
    ledger.setStatus('s', 'postgres_changes', 'SUBSCRIBED');
    ledger.publish('e1');
    clock.advance(10);
    ledger.publish('e2');
    const now = clock.now();
    ledger.recordDelivery({
      subscriberId: 's',
      path: 'postgres_changes',
      keys: { eventId: 'e2' },
      receivedAt: now + 5,
    });
    ledger.recordDelivery({
      subscriberId: 's',
      path: 'postgres_changes',
      keys: { eventId: 'e1' },
      receivedAt: now + 6,
    });
    ledger.recordDelivery({
      subscriberId: 's',
      path: 'postgres_changes',
      keys: { eventId: 'e1' },
      receivedAt: now + 7,
    });
    const t = ledger.totalsFor('postgres_changes');
    expect(t).toMatchObject({ delivered: 2, duplicates: 1, outOfOrder: 1 });
    expect(await metricValue(registry, 'canary_events_duplicate_total', { path: 'postgres_changes' })).toBe(
      1,
    );
    expect(
      await metricValue(registry, 'canary_events_out_of_order_total', { path: 'postgres_changes' }),
    ).toBe(1);
  });

  it('holds a delivery that carries only the assignment id until the publisher learns it', () => {
    const { clock, ledger, outcomes } = setup();
    ledger.addSubscriber('s', { paths: ['broadcast'] });
    ledger.setStatus('s', 'broadcast', 'SUBSCRIBED');
    ledger.publish('e1');
    const t = clock.now();
    ledger.recordDelivery({
      subscriberId: 's',
      path: 'broadcast',
      keys: { assignmentId: 'row-1' },
      receivedAt: t + 30,
    });
    expect(outcomes).toHaveLength(0);
    clock.advance(200);
    ledger.setAssignmentId('e1', 'row-1');
    expect(outcomes).toEqual([
      expect.objectContaining({ eventId: 'e1', outcome: 'delivered', latencyMs: 30 }),
    ]);
  });

  it('does not expect subscribers that were still joining when the event was published', () => {
    const { clock, ledger, outcomes } = setup();
    ledger.addSubscriber('early', { paths: ['broadcast'] });
    ledger.setStatus('early', 'broadcast', 'SUBSCRIBED');
    ledger.addSubscriber('joining', { paths: ['broadcast'] });
    ledger.publish('e1');
    ledger.setStatus('joining', 'broadcast', 'SUBSCRIBED');
    ledger.recordDelivery({
      subscriberId: 'joining',
      path: 'broadcast',
      keys: { eventId: 'e1' },
      receivedAt: clock.now() + 1,
    });
    clock.advance(6000);
    ledger.tick();
    expect(ledger.totalsFor('broadcast')).toMatchObject({ due: 1, dropped: 1 });
    expect(outcomes.map((o) => o.subscriberId)).toEqual(['early']);
  });

  it('counts a replayed first sighting as recovered from the gap, and a replay of a seen event as neither a duplicate nor recovered', async () => {
    const { clock, ledger, registry } = setup();
    ledger.addSubscriber('db', { paths: ['db_broadcast'] });
    ledger.setStatus('db', 'db_broadcast', 'SUBSCRIBED');
    ledger.publish('seen');
    ledger.recordDelivery({
      subscriberId: 'db',
      path: 'db_broadcast',
      keys: { eventId: 'seen' },
      receivedAt: clock.now() + 50,
    });
    clock.advance(100);
    ledger.setStatus('db', 'db_broadcast', 'CHANNEL_ERROR');
    ledger.publish('away');
    ledger.publish('lost');
    clock.advance(1500);
    ledger.setStatus('db', 'db_broadcast', 'SUBSCRIBED');
    for (const eventId of ['seen', 'away']) {
      ledger.recordDelivery({
        subscriberId: 'db',
        path: 'db_broadcast',
        keys: { eventId },
        receivedAt: clock.now(),
        replayed: true,
      });
    }
    clock.advance(6000);
    ledger.tick();
    expect(ledger.totalsFor('db_broadcast')).toMatchObject({
      due: 3,
      delivered: 1,
      late: 1,
      dropped: 1,
      duplicates: 0,
      replayRecovered: 1,
      replayRepeated: 1,
      gapMissed: 1,
    });
    expect(
      await metricValue(registry, 'canary_events_replay_recovered_total', { path: 'db_broadcast' }),
    ).toBe(1);
  });

  it('counts events missed in a subscription gap as dropped and gap-missed, and notes when polling covered them', async () => {
    const { clock, ledger, registry } = setup();
    ledger.addSubscriber('rt', { paths: ['postgres_changes'], mechanicId: 'm1' });
    ledger.addSubscriber('poll:m1', { paths: ['polling'], mechanicId: 'm1' });
    ledger.setStatus('rt', 'postgres_changes', 'SUBSCRIBED');
    ledger.setStatus('poll:m1', 'polling', 'SUBSCRIBED');
    clock.advance(100);
    ledger.setStatus('rt', 'postgres_changes', 'CHANNEL_ERROR');
    ledger.publish('e1');
    ledger.recordDelivery({
      subscriberId: 'poll:m1',
      path: 'polling',
      keys: { eventId: 'e1' },
      receivedAt: clock.now() + 900,
    });
    clock.advance(2000);
    ledger.setStatus('rt', 'postgres_changes', 'SUBSCRIBED');
    clock.advance(4000);
    ledger.tick();
    const t = ledger.totalsFor('postgres_changes');
    expect(t).toMatchObject({ due: 1, dropped: 1, gapMissed: 1, gapCoveredByPolling: 1 });
    expect(await metricValue(registry, 'canary_gap_events_missed_total', { path: 'postgres_changes' })).toBe(
      1,
    );
    expect(await metricValue(registry, 'canary_gap_events_covered_by_polling_total', {})).toBe(1);
  });

  it('flags a SUBSCRIBED subscriber that keeps missing what others receive as a zombie, and clears it', async () => {
    const { clock, ledger, registry } = setup({ zombieAfterMissed: 3 });
    for (const id of ['ok', 'zombie']) {
      ledger.addSubscriber(id, { paths: ['broadcast'] });
      ledger.setStatus(id, 'broadcast', 'SUBSCRIBED');
    }
    for (let i = 0; i < 3; i++) {
      ledger.publish(`e${i}`);
      ledger.recordDelivery({
        subscriberId: 'ok',
        path: 'broadcast',
        keys: { eventId: `e${i}` },
        receivedAt: clock.now() + 5,
      });
      clock.advance(6000);
      ledger.tick();
    }
    expect(ledger.zombies('broadcast')).toEqual(['zombie']);
    expect(await metricValue(registry, 'canary_zombie_subscribers', { path: 'broadcast' })).toBe(1);
    ledger.publish('e3');
    ledger.recordDelivery({
      subscriberId: 'zombie',
      path: 'broadcast',
      keys: { eventId: 'e3' },
      receivedAt: clock.now() + 5,
    });
    expect(ledger.zombies('broadcast')).toEqual([]);
    expect(await metricValue(registry, 'canary_zombie_subscribers', { path: 'broadcast' })).toBe(0);
  });

  it('measures a readiness gap when events right after SUBSCRIBED are missed', async () => {
    const { clock, ledger, registry } = setup();
    ledger.addSubscriber('s', { paths: ['postgres_changes'] });
    ledger.setStatus('s', 'postgres_changes', 'SUBSCRIBED');
    for (let i = 0; i < 4; i++) {
      ledger.publish(`e${i}`);
      clock.advance(250);
    }
    ledger.recordDelivery({
      subscriberId: 's',
      path: 'postgres_changes',
      keys: { eventId: 'e3' },
      receivedAt: clock.now(),
    });
    expect(ledger.readiness('postgres_changes')).toEqual({
      measured: 1,
      withMissedEvents: 1,
      missedEvents: 3,
    });
    const histogram = await registry.getSingleMetric('canary_readiness_gap_seconds')?.get();
    const sum = histogram?.values.find(
      (v) => (v as { metricName?: string }).metricName === 'canary_readiness_gap_seconds_sum',
    );
    expect(sum?.value).toBeCloseTo(0.75, 5);
  });

  it('flags deliveries measured while the harness is overloaded and keeps them out of latency', async () => {
    let overloaded = true;
    const { clock, ledger, registry } = setup({ overloaded: () => overloaded });
    ledger.addSubscriber('s', { paths: ['broadcast'] });
    ledger.setStatus('s', 'broadcast', 'SUBSCRIBED');
    ledger.publish('e1');
    ledger.recordDelivery({
      subscriberId: 's',
      path: 'broadcast',
      keys: { eventId: 'e1' },
      receivedAt: clock.now() + 40,
    });
    overloaded = false;
    ledger.publish('e2');
    ledger.recordDelivery({
      subscriberId: 's',
      path: 'broadcast',
      keys: { eventId: 'e2' },
      receivedAt: clock.now() + 50,
    });
    expect(await metricValue(registry, 'canary_untrusted_measurements_total', { path: 'broadcast' })).toBe(1);
    const histogram = await registry.getSingleMetric('canary_delivery_latency_seconds')?.get();
    const count = histogram?.values.find(
      (v) => (v as { metricName?: string }).metricName === 'canary_delivery_latency_seconds_count',
    );
    expect(count?.value).toBe(1);
    expect(ledger.totalsFor('broadcast')).toMatchObject({ delivered: 2, untrusted: 1 });
  });

  it('withdraws the pending triples of a subscriber removed on purpose', () => {
    const { clock, ledger, outcomes } = setup();
    for (const id of ['stay', 'leave']) {
      ledger.addSubscriber(id, { paths: ['broadcast'] });
      ledger.setStatus(id, 'broadcast', 'SUBSCRIBED');
    }
    ledger.publish('e1');
    ledger.removeSubscriber('leave');
    clock.advance(6000);
    ledger.tick();
    const t = ledger.totalsFor('broadcast');
    expect(t).toMatchObject({ due: 1, dropped: 1, withdrawn: 1 });
    expect(t.delivered + t.late + t.dropped).toBe(t.due);
    expect(outcomes.map((o) => o.subscriberId)).toEqual(['stay']);
  });

  it('forgets a failed publish entirely', () => {
    const { clock, ledger, outcomes } = setup();
    ledger.addSubscriber('s', { paths: ['broadcast'] });
    ledger.setStatus('s', 'broadcast', 'SUBSCRIBED');
    ledger.publish('e1');
    ledger.publishFailed('e1');
    clock.advance(6000);
    ledger.tick();
    expect(ledger.totalsFor('broadcast').due).toBe(0);
    expect(outcomes).toHaveLength(0);
  });
});

describe('EventLedger auth failures', () => {
  it('withdraws a channel refused for auth from the books instead of dropping its events, until it resubscribes', async () => {
    const { clock, registry, ledger, outcomes } = setup();
    for (const id of ['ok', 'expired']) {
      ledger.addSubscriber(id, { paths: ['broadcast'] });
      ledger.setStatus(id, 'broadcast', 'SUBSCRIBED');
    }
    ledger.publish('before');
    clock.advance(100);
    // The token expired: Realtime closed the channel with "Token has expired".
    ledger.setStatus('expired', 'broadcast', 'CLOSED', clock.now(), 'auth');
    ledger.publish('during');
    clock.advance(100);
    ledger.recordDelivery({
      subscriberId: 'ok',
      path: 'broadcast',
      keys: { eventId: 'before' },
      receivedAt: clock.now(),
    });
    ledger.recordDelivery({
      subscriberId: 'ok',
      path: 'broadcast',
      keys: { eventId: 'during' },
      receivedAt: clock.now(),
    });
    clock.advance(100);
    ledger.setStatus('expired', 'broadcast', 'SUBSCRIBED', clock.now());
    ledger.publish('after');
    ledger.recordDelivery({
      subscriberId: 'ok',
      path: 'broadcast',
      keys: { eventId: 'after' },
      receivedAt: clock.now(),
    });
    ledger.recordDelivery({
      subscriberId: 'expired',
      path: 'broadcast',
      keys: { eventId: 'after' },
      receivedAt: clock.now(),
    });
    clock.advance(10_000);
    ledger.tick();

    const totals = ledger.totalsFor('broadcast');
    expect(totals).toMatchObject({ due: 4, delivered: 4, dropped: 0, authExcluded: 2, gapMissed: 0 });
    expect(outcomes.filter((o) => o.outcome === 'dropped')).toEqual([]);
    expect(outcomes.map((o) => `${o.eventId}:${o.subscriberId}`).sort()).toEqual([
      'after:expired',
      'after:ok',
      'before:ok',
      'during:ok',
    ]);
    expect(await metricValue(registry, 'canary_auth_excluded_deliveries_total', { path: 'broadcast' })).toBe(
      2,
    );
  });

  it('still counts a channel lost to the network as a gap with dropped events', () => {
    const { clock, ledger } = setup();
    ledger.addSubscriber('s', { paths: ['broadcast'] });
    ledger.setStatus('s', 'broadcast', 'SUBSCRIBED');
    ledger.setStatus('s', 'broadcast', 'CHANNEL_ERROR', clock.now());
    ledger.publish('lost');
    clock.advance(10_000);
    ledger.tick();
    expect(ledger.totalsFor('broadcast')).toMatchObject({
      due: 1,
      dropped: 1,
      gapMissed: 1,
      authExcluded: 0,
    });
  });
});
