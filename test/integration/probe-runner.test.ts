/**
 * The probe runner against the local target: real Postgres, real websocket gateway, real
 * supabase-js and lean subscribers. Every due (event, subscriber, path) ends in one outcome.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalTarget } from '../../src/local-target/index.js';
import type { ResolvedEnvironment } from '../../src/probe/index.js';
import { booksBalance, createRunner, metricSum, startLocalEnvironment } from './probe-support.js';

let env: ResolvedEnvironment;
let target: LocalTarget;

beforeAll(async () => {
  ({ env, target } = await startLocalEnvironment());
}, 60_000);

afterAll(async () => {
  await env?.close();
});

describe('ProbeRunner on the local target', () => {
  it('delivers every event on postgres_changes, broadcast and polling, and the books balance', async () => {
    const { runner, registry } = createRunner(env, {
      name: 'books',
      subscribers: { lean: 2, 'supabase-js': 1 },
      pollInterval: '300ms',
      lateAfter: '2s',
      deadline: '6s',
      eventsPerRound: 3,
      readinessCheck: false,
    });
    try {
      await runner.start();
      expect(await runner.waitUntilSubscribed(20_000)).toBe(true);
      const round = await runner.runRound();
      const second = await runner.runRound();
      await runner.drain();
      const status = runner.status();
      for (const path of status.paths) {
        expect(path.due, path.path).toBe(path.delivered + path.late + path.dropped);
      }
      const byPath = Object.fromEntries(status.paths.map((p) => [p.path, p]));
      // 6 events × 3 subscribers on the realtime paths; pollers: one per mechanic in use (3).
      expect(byPath.postgres_changes?.due).toBe(18);
      expect(byPath.broadcast?.due).toBe(18);
      expect(byPath.polling?.due).toBe(18);
      // Nothing is lost on a healthy target; on a busy machine a few may land after lateAfter.
      for (const path of ['postgres_changes', 'broadcast', 'polling'] as const) {
        expect(byPath[path]?.dropped, path).toBe(0);
        expect((byPath[path]?.delivered ?? 0) + (byPath[path]?.late ?? 0), path).toBe(18);
      }
      expect(round.success && second.success).toBe(true);
      expect(await metricSum(registry, 'canary_delivery_latency_seconds_count', { path: 'broadcast' })).toBe(
        18,
      );
      expect(
        await metricSum(registry, 'canary_delivery_latency_seconds_count', {
          path: 'postgres_changes',
        }),
      ).toBe(18);
      expect(await metricSum(registry, 'canary_probe_success', { probe: 'books' })).toBe(1);
      expect(status.recentEvents.length).toBe(6);
      expect(booksBalance(runner)).toBe(true);
    } finally {
      await runner.stop();
    }
  }, 60_000);

  it('ramps subscribers up and down for load executors; withdrawn subscribers leave the books balanced', async () => {
    const { runner, registry } = createRunner(env, {
      name: 'ramp',
      subscribers: { lean: 1, 'supabase-js': 0 },
      paths: ['postgres_changes', 'broadcast'],
      lateAfter: '2s',
      deadline: '4s',
      readinessCheck: false,
    });
    try {
      await runner.start();
      expect(await runner.waitUntilSubscribed(20_000)).toBe(true);
      await runner.setSubscribers(5, 'lean');
      expect(await runner.waitUntilSubscribed(20_000)).toBe(true);
      expect(runner.connectedCount('lean')).toBe(5);
      expect(await metricSum(registry, 'canary_subscribers_desired', { client: 'lean' })).toBe(5);
      expect(await metricSum(registry, 'canary_subscribers_connected', { client: 'lean' })).toBe(5);
      const first = await runner.publishOne();
      // Ramp down while the first event is still pending for the subscribers that leave.
      await runner.setSubscribers(2, 'lean');
      expect(runner.connectedCount('lean')).toBe(2);
      await runner.publishOne();
      await runner.drain();
      expect(runner.ledger.isFinalized(first)).toBe(true);
      for (const path of runner.status().paths) {
        expect(path.due, path.path).toBe(path.delivered + path.late + path.dropped);
        expect(path.dropped, path.path).toBe(0);
        // event 1: 5 due, of which 3 withdrawn unless they already delivered; event 2: 2 due.
        expect(path.due).toBeGreaterThanOrEqual(4);
        expect(path.due).toBeLessThanOrEqual(7);
        expect(runner.ledger.totalsFor(path.path).withdrawn + path.due).toBe(7);
      }
      expect(await metricSum(registry, 'canary_connections_peak', { env: 'local' })).toBe(5);
    } finally {
      await runner.stop();
    }
  }, 60_000);

  it('tags every synthetic row and deletes it once it is older than the retention', async () => {
    const { runner } = createRunner(env, {
      name: 'cleanup',
      subscribers: { lean: 1, 'supabase-js': 0 },
      paths: ['broadcast'],
      lateAfter: '1s',
      deadline: '2s',
      retention: '1s',
      readinessCheck: false,
    });
    try {
      await runner.start();
      expect(await runner.waitUntilSubscribed(20_000)).toBe(true);
      const eventId = await runner.publishOne();
      const tagged = await target.db.adminPool.query<{ metadata: Record<string, unknown> }>(
        "select metadata from public.session_assignments where metadata->>'canary_event_id' = $1",
        [eventId],
      );
      expect(tagged.rows[0]?.metadata).toMatchObject({
        synthetic: true,
        canary_event_id: eventId,
        probe: 'cleanup',
      });
      await runner.drain();
      await new Promise((resolve) => setTimeout(resolve, 1200));
      expect(await runner.cleanup()).toBeGreaterThanOrEqual(1);
      const left = await target.db.adminPool.query(
        "select 1 from public.session_assignments where metadata->>'canary_event_id' = $1",
        [eventId],
      );
      expect(left.rowCount).toBe(0);
    } finally {
      await runner.stop();
    }
  }, 60_000);
});
