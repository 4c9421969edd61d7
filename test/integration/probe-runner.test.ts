/**
 * The probe runner against the local target: real Postgres, real websocket gateway, real
 * supabase-js and lean subscribers. Every due (event, subscriber, path) ends in one outcome.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalTarget } from '../../src/target/index.js';
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
      expect(byPath.postgres_changes?.delivered).toBe(18);
      expect(byPath.broadcast?.delivered).toBe(18);
      expect(byPath.polling?.delivered).toBe(18);
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
    void target;
  }, 60_000);
});
