import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../metrics/index.js';
import { mergeMetrics, mergeTimelines } from './merge.js';

const labels = { env: 'local', probe: 'p', path: 'broadcast' };

describe('merging worker registries', () => {
  it('sums histogram buckets and counters, and keeps the maximum of environment gauges', async () => {
    const a = createMetrics();
    const b = createMetrics();
    for (const seconds of [0.01, 0.02, 0.4]) a.metrics.deliveryLatency.observe(labels, seconds);
    for (const seconds of [0.03, 2]) b.metrics.deliveryLatency.observe(labels, seconds);
    a.metrics.eventsPublished.inc({ env: 'local', probe: 'p', mode: 'app_endpoint' }, 5);
    a.metrics.connectionLimit.set({ env: 'local' }, 200);
    b.metrics.connectionLimit.set({ env: 'local' }, 200);
    a.metrics.subscribersConnected.set({ env: 'local', probe: 'p', client: 'lean' }, 3);
    b.metrics.subscribersConnected.set({ env: 'local', probe: 'p', client: 'lean' }, 2);

    const merged = await mergeMetrics([
      await a.registry.getMetricsAsJSON(),
      await b.registry.getMetricsAsJSON(),
    ]).getMetricsAsJSON();
    const value = (name: string, series: string, match: Record<string, string | number> = {}): number =>
      merged
        .find((m) => m.name === name)!
        .values.filter(
          (v) =>
            ((v as { metricName?: string }).metricName ?? name) === series &&
            Object.entries(match).every(([k, x]) => v.labels[k] === x),
        )
        .reduce((sum, v) => sum + v.value, 0);
    const latency = 'canary_delivery_latency_seconds';
    expect(value(latency, `${latency}_count`)).toBe(5);
    expect(value(latency, `${latency}_sum`)).toBeCloseTo(2.46, 9);
    expect(value(latency, `${latency}_bucket`, { le: '+Inf' })).toBe(5);
    expect(value(latency, `${latency}_bucket`, { le: 0.05 })).toBe(3);
    expect(value('canary_events_published_total', 'canary_events_published_total')).toBe(5);
    expect(value('canary_connection_limit', 'canary_connection_limit')).toBe(200);
    expect(value('canary_subscribers_connected', 'canary_subscribers_connected')).toBe(5);
  });

  it('adds timelines point by point, carrying a shorter worker’s last point forward', () => {
    const point = (t: number, connected: number, delivered: number, p95: number) => ({
      t,
      subscribersTarget: connected,
      subscribersConnected: connected,
      published: 0,
      delivered,
      late: 0,
      dropped: 0,
      latencyP50Ms: { broadcast: p95 / 2 },
      latencyP95Ms: { broadcast: p95 },
      overloaded: false,
    });
    const merged = mergeTimelines([
      [point(1, 3, 10, 40), point(2, 3, 20, 50), point(3, 3, 30, 45)],
      [point(1, 2, 5, 80), point(2, 2, 12, 30)],
    ]);
    expect(merged.map((p) => [p.subscribersConnected, p.delivered, p.latencyP95Ms.broadcast])).toEqual([
      [5, 15, 80],
      [5, 32, 50],
      [5, 42, 45],
    ]);
  });
});
