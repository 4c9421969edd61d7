import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../metrics/index.js';
import { RunTimeline } from './run-timeline.js';

const base = { subscribersTarget: 2, subscribersConnected: 2, published: 3, overloaded: false };

describe('run timeline', () => {
  it('counts outcomes per path and gives each sample its own interval percentiles', () => {
    const timeline = new RunTimeline();
    for (const latencyMs of [10, 20, 30, 40]) {
      timeline.record({
        path: 'broadcast',
        eventId: 'e',
        subscriberId: 's',
        outcome: 'delivered',
        latencyMs,
      });
    }
    timeline.record({ path: 'broadcast', eventId: 'e', subscriberId: 's', outcome: 'dropped' });
    const first = timeline.sample({ t: 1, ...base });
    expect(first).toMatchObject({ delivered: 4, dropped: 1, late: 0 });
    expect(first.latencyP50Ms).toEqual({ broadcast: 20 });
    expect(first.latencyP95Ms).toEqual({ broadcast: 40 });
    timeline.record({ path: 'broadcast', eventId: 'f', subscriberId: 's', outcome: 'late', latencyMs: 2500 });
    const second = timeline.sample({ t: 2, ...base });
    expect(second.latencyP95Ms).toEqual({ broadcast: 2500 });
    expect(second).toMatchObject({ delivered: 4, late: 1, dropped: 1 });
    expect(timeline.points).toHaveLength(2);
  });

  it('keeps untrusted outcomes out of the latency figures but counts them', () => {
    const timeline = new RunTimeline();
    timeline.record({
      path: 'postgres_changes',
      eventId: 'e',
      subscriberId: 's',
      outcome: 'delivered',
      latencyMs: 9000,
      trusted: false,
    });
    timeline.record({
      path: 'postgres_changes',
      eventId: 'e',
      subscriberId: 't',
      outcome: 'delivered',
      latencyMs: 12,
    });
    expect(timeline.counts.postgres_changes).toEqual({ delivered: 2, late: 0, dropped: 0, untrusted: 1 });
    const latency = LatencyHistogram.decode(timeline.encodedLatency().postgres_changes!.all);
    expect(latency.count).toBe(1);
    expect(latency.max()).toBeCloseTo(12, 1);
    expect(timeline.takeWindow()).toEqual([12]);
    expect(timeline.takeWindow()).toEqual([]);
  });

  it('keeps every latency in a histogram per path and per subscriber kind, whatever the run length', () => {
    const timeline = new RunTimeline();
    for (let i = 1; i <= 25_000; i++) {
      timeline.record({
        path: 'broadcast',
        eventId: String(i),
        subscriberId: 's',
        outcome: 'delivered',
        latencyMs: i / 10,
        kind: i % 5 === 0 ? 'supabase-js' : 'lean',
      });
    }
    timeline.record({
      path: 'polling',
      eventId: 'p',
      subscriberId: 'poll:m',
      outcome: 'delivered',
      latencyMs: 900,
    });
    const encoded = timeline.encodedLatency();
    const all = LatencyHistogram.decode(encoded.broadcast!.all);
    expect(all.count).toBe(25_000);
    // Exact nearest ranks are 2,500.0 ms and 1,250.0 ms; the histogram answers within its 0.1 %.
    for (const [q, exact] of [
      [1, 2500],
      [0.5, 1250],
    ] as const) {
      const answer = all.percentile(q) as number;
      expect(answer).toBeGreaterThanOrEqual(exact);
      expect((answer - exact) / exact).toBeLessThanOrEqual(0.001);
    }
    expect(LatencyHistogram.decode(encoded.broadcast!.byClient['supabase-js']!).count).toBe(5000);
    expect(LatencyHistogram.decode(encoded.broadcast!.byClient.lean!).count).toBe(20_000);
    expect(encoded.polling!.byClient).toEqual({});
  });
});
