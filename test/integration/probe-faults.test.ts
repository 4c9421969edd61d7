/**
 * The probe engine measuring the local target's injected faults: each fault shows up in the
 * metric it should, on the path it should, and the books still balance.
 */
import { MechanicSession } from '../../src/auth/index.js';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/index.js';
import type { ProbeRunner, ResolvedEnvironment } from '../../src/probe/index.js';
import { sleep } from '../../src/shared/index.js';
import type { LocalTarget } from '../../src/local-target/index.js';
import { createRunner, metricSum, startLocalEnvironment } from './probe-support.js';

let env: ResolvedEnvironment;
let target: LocalTarget;
const runners: ProbeRunner[] = [];

beforeAll(async () => {
  ({ env, target } = await startLocalEnvironment({ mechanics: 8 }));
}, 60_000);

afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.stop()));
  await target.faults.reset();
});

afterAll(async () => {
  await env?.close();
});

async function publishSeries(runner: ProbeRunner, count: number, spacingMs: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await runner.publishOne();
    await sleep(spacingMs);
  }
}

/** postgres_changes deliveries the target itself dropped so far (target_faults_injected_total). */
async function targetDrops(): Promise<number> {
  const metric = await target.context.metrics.registry.getSingleMetric('target_faults_injected_total')?.get();
  const sample = metric?.values.find(
    (v) => v.labels.fault === 'drop' && v.labels.path === 'postgres_changes',
  );
  return sample?.value ?? 0;
}

function pathStatus(runner: ProbeRunner, path: string) {
  const found = runner.status().paths.find((p) => p.path === path);
  if (!found) throw new Error(`no status for ${path}`);
  return found;
}

describe('probe measurements under injected faults', () => {
  it('shows a 300 ms broadcast delay in broadcast p50 and not in postgres_changes p50', async () => {
    await target.faults.update({ broadcast: { delayMs: 300, jitterMs: 0, dropRate: 0 } });
    const { runner } = createRunner(env, {
      name: 'broadcast-delay',
      subscribers: { lean: 2, 'supabase-js': 1 },
      paths: ['postgres_changes', 'broadcast'],
      lateAfter: '2s',
      deadline: '4s',
      readinessCheck: false,
    });
    runners.push(runner);
    await runner.start();
    expect(await runner.waitUntilSubscribed(20_000)).toBe(true);
    await publishSeries(runner, 12, 150);
    await runner.drain();
    const broadcast = pathStatus(runner, 'broadcast');
    const changes = pathStatus(runner, 'postgres_changes');
    expect(broadcast.delivered).toBe(36);
    expect(broadcast.latencyMs.p50).toBeGreaterThanOrEqual(300);
    expect(changes.latencyMs.p50).not.toBeNull();
    expect(changes.latencyMs.p50!).toBeLessThan(300);
    expect(changes.latencyMs.p50!).toBeLessThan(broadcast.latencyMs.p50! - 100);
  }, 90_000);

  it('counts a 30 % postgres_changes drop as 25–35 % dropped on that path while the books balance', async () => {
    const injectedBefore = await targetDrops();
    await target.faults.update({ postgresChanges: { delayMs: 0, jitterMs: 0, dropRate: 0.3 } });
    const { runner, registry } = createRunner(env, {
      name: 'changes-drop',
      subscribers: { lean: 8, 'supabase-js': 0 },
      paths: ['postgres_changes', 'broadcast'],
      // A long deadline, so that on a busy machine slow deliveries end late, not dropped.
      lateAfter: '2s',
      deadline: '10s',
      readinessCheck: false,
    });
    runners.push(runner);
    const droppedBy = new Map<string, number>();
    runner.onOutcome((o) => {
      if (o.path === 'postgres_changes' && o.outcome === 'dropped') {
        droppedBy.set(o.eventId, (droppedBy.get(o.eventId) ?? 0) + 1);
      }
    });
    await runner.start();
    expect(await runner.waitUntilSubscribed(20_000)).toBe(true);
    // Let the change feed settle: changes in the first moments after SUBSCRIBED are the readiness
    // gap's business (tested below), not this fault's.
    await sleep(1500);
    await publishSeries(runner, 60, 50);
    await runner.drain();
    const changes = pathStatus(runner, 'postgres_changes');
    const broadcast = pathStatus(runner, 'broadcast');
    expect(changes.due).toBe(480);
    expect(changes.delivered + changes.late + changes.dropped).toBe(changes.due);
    expect(broadcast.delivered + broadcast.late + broadcast.dropped).toBe(broadcast.due);
    expect(broadcast.dropped).toBe(0);
    expect(
      await metricSum(registry, 'canary_delivery_outcomes_total', {
        path: 'postgres_changes',
        outcome: 'dropped',
      }),
    ).toBe(changes.dropped);
    // Known truth: the target counts each delivery its dice threw away. A change that reached no
    // subscriber at all was lost before the fan-out (no dice rolled), so it is counted apart.
    const injected = (await targetDrops()) - injectedBefore;
    const lostEverywhere = [...droppedBy.values()].filter((n) => n === 8).length;
    expect(changes.dropped).toBe(injected + 8 * lostEverywhere);
    const faultRatio = injected / (changes.due - 8 * lostEverywhere);
    expect(faultRatio).toBeGreaterThanOrEqual(0.25);
    expect(faultRatio).toBeLessThanOrEqual(0.35);
    // Whole-change losses are a separate finding; they must stay rare for the band above to mean much.
    expect(lostEverywhere).toBeLessThanOrEqual(6);
  }, 120_000);

  it('turns a forced disconnect into reconnects, gap lengths and gap-missed events', async () => {
    const { runner, registry } = createRunner(env, {
      name: 'disconnect',
      subscribers: { lean: 2, 'supabase-js': 1 },
      paths: ['postgres_changes', 'broadcast', 'polling'],
      pollInterval: '300ms',
      lateAfter: '2s',
      deadline: '5s',
      readinessCheck: false,
    });
    runners.push(runner);
    await runner.start();
    expect(await runner.waitUntilSubscribed(20_000)).toBe(true);
    await target.faults.update({ disconnects: { everyMs: 1500, fraction: 1, code: 1006 } });
    await sleep(1600);
    await target.faults.update({ disconnects: { everyMs: 0, fraction: 1, code: 1006 } });
    // Publish while the clients are reconnecting (realtime-js waits 1 s before reconnecting).
    await publishSeries(runner, 10, 150);
    expect(await runner.waitUntilSubscribed(20_000)).toBe(true);
    await publishSeries(runner, 3, 150);
    await runner.drain();
    expect(await metricSum(registry, 'canary_reconnects_total')).toBeGreaterThanOrEqual(3);
    expect(await metricSum(registry, 'canary_subscription_gap_seconds_count')).toBeGreaterThanOrEqual(3);
    expect(
      await metricSum(registry, 'canary_subscription_errors_total', { reason: 'transport' }),
    ).toBeGreaterThan(0);
    const changes = pathStatus(runner, 'postgres_changes');
    expect(changes.gapMissed).toBeGreaterThan(0);
    expect(changes.gapCoveredByPolling).toBeGreaterThan(0);
    for (const p of runner.status().paths) expect(p.due).toBe(p.delivered + p.late + p.dropped);
  }, 90_000);

  it('detects a readiness gap: changes right after SUBSCRIBED are lost', async () => {
    await target.faults.update({ readinessGapMs: 1200 });
    const { runner, registry } = createRunner(env, {
      name: 'readiness',
      subscribers: { lean: 1, 'supabase-js': 0 },
      paths: ['postgres_changes', 'broadcast'],
      lateAfter: '1s',
      deadline: '3s',
      readinessCheck: true,
    });
    runners.push(runner);
    await runner.start();
    expect(await runner.waitUntilSubscribed(20_000)).toBe(true);
    await sleep(2500); // the readiness train runs for 2 s after SUBSCRIBED
    await runner.drain();
    const changes = pathStatus(runner, 'postgres_changes');
    expect(changes.readinessMissedEvents).toBeGreaterThan(0);
    expect(pathStatus(runner, 'broadcast').readinessMissedEvents).toBe(0);
    const sum = await metricSum(registry, 'canary_readiness_gap_seconds_sum', { path: 'postgres_changes' });
    expect(sum).toBeGreaterThanOrEqual(1.0);
    expect(
      await metricSum(registry, 'canary_readiness_gap_seconds_count', { path: 'postgres_changes' }),
    ).toBe(1);
  }, 90_000);

  it('flags a SUBSCRIBED subscriber that RLS keeps from seeing changes as a zombie', async () => {
    // A user who is not a mechanic: the channel joins fine, but the realtime SELECT policy
    // filters every change out — SUBSCRIBED and silent, the way a dashboard goes quiet.
    const ghostSession = new MechanicSession({
      credentials: { kind: 'env', token: new Secret(await target.mintToken(randomUUID()), 'ghost') },
    });
    await ghostSession.start();
    const ghost = { id: ghostSession.id, session: ghostSession };
    const mechanics = [env.mechanics[0]!, ghost];
    const twoMechanics: ResolvedEnvironment = { ...env, mechanics, close: async () => {} };
    const { runner, registry } = createRunner(twoMechanics, {
      name: 'zombie',
      subscribers: { lean: 2, 'supabase-js': 0 },
      paths: ['postgres_changes', 'broadcast'],
      lateAfter: '1s',
      deadline: '2s',
      zombieAfterMissed: 3,
      readinessCheck: false,
    });
    runners.push(runner);
    await runner.start();
    expect(await runner.waitUntilSubscribed(20_000)).toBe(true);
    await publishSeries(runner, 4, 100);
    await runner.drain();
    expect(pathStatus(runner, 'postgres_changes').zombies).toBe(1);
    expect(pathStatus(runner, 'broadcast').zombies).toBe(0);
    expect(await metricSum(registry, 'canary_zombie_subscribers', { path: 'postgres_changes' })).toBe(1);
  }, 90_000);
});
