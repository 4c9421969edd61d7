import { describe, expect, it } from 'vitest';
import { createMetrics } from '../metrics/index.js';
import { evaluateSlos } from './evaluate.js';
import { registrySource, snapshotSource, type MetricSnapshot } from './registry-source.js';
import { parseSloSpec } from './slo-spec.js';

const spec = parseSloSpec(
  {
    version: 'canary.slo/v1',
    slos: [
      { name: 'latency', description: 'fast', objective: 0.9, sli: { latency: { threshold: '1s' } } },
      { name: 'delivery', description: 'arrives', objective: 0.99, sli: { delivery: {} } },
      {
        name: 'subscribe',
        description: 'joins',
        objective: 0.9,
        sli: { subscription: { timeToSubscribed: '5s' } },
      },
      { name: 'headroom', description: 'room', objective: 0.99, sli: { headroom: { minSubscribers: 50 } } },
      {
        name: 'polling-only',
        description: 'poll',
        objective: 0.5,
        paths: ['polling'],
        sli: { delivery: {} },
      },
    ],
  },
  'test',
);

function filledRegistry() {
  const { registry, metrics } = createMetrics();
  const pc = { env: 'local', probe: 'p', path: 'postgres_changes' };
  const bc = { env: 'local', probe: 'p', path: 'broadcast' };
  // postgres_changes: 19 of 20 within 1 s; broadcast: 5 of 10 within 1 s.
  for (let i = 0; i < 19; i++) metrics.deliveryLatency.observe(pc, 0.05);
  metrics.deliveryLatency.observe(pc, 2);
  for (let i = 0; i < 5; i++) metrics.deliveryLatency.observe(bc, 0.1);
  for (let i = 0; i < 5; i++) metrics.deliveryLatency.observe(bc, 1.5);
  metrics.deliveryOutcomes.inc({ ...pc, outcome: 'delivered' }, 200);
  metrics.deliveryOutcomes.inc({ ...bc, outcome: 'delivered' }, 99);
  metrics.deliveryOutcomes.inc({ ...bc, outcome: 'dropped' }, 1);
  const client = { env: 'local', probe: 'p', client: 'supabase-js' };
  metrics.joinAttempts.inc(client, 60);
  for (let i = 0; i < 60; i++) metrics.timeToSubscribed.observe(client, i < 57 ? 0.2 : 7);
  metrics.subscriptionTransitions.inc({ ...client, status: 'SUBSCRIBED' }, 60);
  metrics.connectionsPeak.set({ env: 'local', probe: 'p' }, 60);
  metrics.connectionLimit.set({ env: 'local' }, 200);
  return registry;
}

describe('SLO evaluator', () => {
  it('judges each SLO per env and path from a run registry', async () => {
    const verdict = await evaluateSlos(spec.slos, registrySource(filledRegistry()));
    const byName = (name: string, path?: string) =>
      verdict.results.find((r) => r.slo === name && (path === undefined || r.path === path));

    expect(byName('latency', 'postgres_changes')).toMatchObject({
      good: 19,
      total: 20,
      status: 'met',
      env: 'local',
    });
    expect(byName('latency', 'broadcast')).toMatchObject({
      good: 5,
      total: 10,
      ratio: 0.5,
      status: 'breached',
    });
    expect(byName('latency', 'broadcast')?.summary).toContain(
      '50% of deliveries within 1s (5/10), objective 90%',
    );
    expect(byName('delivery', 'broadcast')).toMatchObject({ good: 99, total: 100, status: 'met' });
    expect(byName('subscribe')).toMatchObject({ good: 57, total: 60, status: 'met' });
    expect(byName('headroom')).toMatchObject({
      peakSubscribers: 60,
      minSubscribers: 50,
      planLimit: 200,
      status: 'met',
    });
    expect(byName('headroom')?.summary).toContain(
      'peak 60 concurrent subscribers (need ≥ 50, plan limit 200)',
    );
    expect(byName('polling-only')).toMatchObject({ status: 'no_data', ratio: null });
    expect(verdict.status).toBe('breached');
  });

  it('breaches headroom when the peak stays under the minimum even if every join succeeded', async () => {
    const { registry, metrics } = createMetrics();
    const client = { env: 'local', probe: 'p', client: 'lean' };
    metrics.joinAttempts.inc(client, 10);
    metrics.subscriptionTransitions.inc({ ...client, status: 'SUBSCRIBED' }, 10);
    metrics.connectionsPeak.set({ env: 'local', probe: 'p' }, 10);
    const headroom = spec.slos.filter((s) => s.name === 'headroom');
    const verdict = await evaluateSlos(headroom, registrySource(registry));
    expect(verdict.results[0]).toMatchObject({ status: 'breached', ratio: 1, peakSubscribers: 10 });
    expect(verdict.results[0]?.summary).toContain('peak 10 concurrent subscribers (need ≥ 50)');
  });

  it('gives the same verdict from a stored snapshot as from the live registry', async () => {
    const registry = filledRegistry();
    const live = await evaluateSlos(spec.slos, registrySource(registry));
    const snapshot = JSON.parse(JSON.stringify(await registry.getMetricsAsJSON())) as MetricSnapshot[];
    const stored = await evaluateSlos(spec.slos, snapshotSource(snapshot));
    expect(stored.results).toEqual(live.results);
  });

  it('skips SLOs restricted to other environments', async () => {
    const onlyProd = parseSloSpec(
      {
        version: 'canary.slo/v1',
        slos: [{ name: 'p', description: 'x', objective: 0.9, envs: ['prod'], sli: { delivery: {} } }],
      },
      't',
    );
    const verdict = await evaluateSlos(onlyProd.slos, registrySource(filledRegistry()), { env: 'local' });
    expect(verdict.results).toEqual([]);
    expect(verdict.status).toBe('met');
  });
});
