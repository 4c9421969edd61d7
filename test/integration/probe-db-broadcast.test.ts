/**
 * The db_broadcast path end to end: the probe's rows reach supabase-js (private channel, setAuth)
 * and lean subscribers through the session_assignments trigger and realtime.broadcast_changes(),
 * on the same ledger as postgres_changes; a reconnect gap is recovered by Broadcast Replay and
 * counted as such; a removed realtime.messages policy makes the path fail with an authorization
 * reason.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ProbeRunner, ResolvedEnvironment } from '../../src/probe/index.js';
import type { LocalTarget } from '../../src/local-target/index.js';
import { booksBalance, createRunner, metricSum, startLocalEnvironment } from './probe-support.js';
import { sleep } from './realtime-support.js';

let env: ResolvedEnvironment;
let target: LocalTarget;
const runners: ProbeRunner[] = [];

beforeAll(async () => {
  ({ env, target } = await startLocalEnvironment());
}, 60_000);

afterEach(async () => {
  for (const runner of runners.splice(0)) await runner.stop();
  await target.faults.reset();
});

afterAll(async () => {
  await env?.close();
});

function pathStatus(runner: ProbeRunner, path: string) {
  const status = runner.status().paths.find((p) => p.path === path);
  if (!status) throw new Error(`no status for ${path}`);
  return status;
}

describe('the db_broadcast path', () => {
  it('delivers every event to supabase-js and lean subscribers beside postgres_changes, and the books balance', async () => {
    const { runner, registry } = createRunner(env, {
      name: 'db-books',
      subscribers: { lean: 2, 'supabase-js': 1 },
      paths: ['postgres_changes'],
      pathsByEnv: { [env.name]: ['postgres_changes', 'db_broadcast'] },
      lateAfter: '2s',
      deadline: '6s',
      eventsPerRound: 3,
      readinessCheck: false,
    });
    runners.push(runner);
    await runner.start();
    expect(await runner.waitUntilSubscribed(20_000)).toBe(true);
    await runner.runRound();
    await runner.runRound();
    await runner.drain();
    const db = pathStatus(runner, 'db_broadcast');
    expect(db.due).toBe(18);
    expect(db.dropped).toBe(0);
    expect(db.delivered + db.late).toBe(18);
    expect(db.duplicates).toBe(0);
    expect(pathStatus(runner, 'postgres_changes').due).toBe(18);
    expect(booksBalance(runner)).toBe(true);
    expect(await metricSum(registry, 'canary_delivery_latency_seconds_count', { path: 'db_broadcast' })).toBe(
      18,
    );
    // The row's updated_at stands in for its commit time on this path.
    expect(
      await metricSum(registry, 'canary_commit_to_receive_seconds_count', { path: 'db_broadcast' }),
    ).toBe(18);
  }, 60_000);

  it('recovers events published during a reconnect gap through replay, counted apart from the gap losses', async () => {
    const { runner, registry } = createRunner(env, {
      name: 'db-replay',
      subscribers: { lean: 1, 'supabase-js': 1 },
      paths: ['db_broadcast'],
      lateAfter: '5s',
      deadline: '15s',
      readinessCheck: false,
    });
    runners.push(runner);
    await runner.start();
    expect(await runner.waitUntilSubscribed(20_000)).toBe(true);
    await target.faults.update({ disconnects: { everyMs: 300, fraction: 1, code: 1006 }, connectionCap: 0 });
    await sleep(700);
    for (let i = 0; i < 3; i++) await runner.publishOne();
    await sleep(300);
    await target.faults.reset();
    expect(await runner.waitUntilSubscribed(20_000)).toBe(true);
    await runner.drain();
    const db = pathStatus(runner, 'db_broadcast');
    expect(db.due).toBe(6);
    expect(db.replayRecovered).toBe(6);
    expect(db.dropped).toBe(0);
    expect(db.gapMissed).toBe(0);
    expect(await metricSum(registry, 'canary_events_replay_recovered_total', { path: 'db_broadcast' })).toBe(
      6,
    );
    expect(booksBalance(runner)).toBe(true);
  }, 90_000);

  it('fails with an authorization reason when the realtime.messages policy is missing', async () => {
    await target.faults.update({ messagesPolicyMissing: true });
    const { runner, registry } = createRunner(env, {
      name: 'db-policy',
      subscribers: { lean: 1, 'supabase-js': 1 },
      paths: ['db_broadcast'],
      lateAfter: '1s',
      deadline: '2s',
      readinessCheck: false,
    });
    runners.push(runner);
    await runner.start();
    expect(await runner.waitUntilSubscribed(3_000)).toBe(false);
    expect(
      await metricSum(registry, 'canary_subscription_errors_total', { reason: 'unauthorized' }),
    ).toBeGreaterThan(0);
  }, 60_000);
});
