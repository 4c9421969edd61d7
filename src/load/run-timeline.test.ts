import { describe, expect, it } from 'vitest';
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
    expect(timeline.latencySamples.postgres_changes).toEqual([12]);
    expect(timeline.takeWindow()).toEqual([12]);
    expect(timeline.takeWindow()).toEqual([]);
  });

  it('bounds the stored latency samples with a reservoir', () => {
    let seed = 1;
    const timeline = new RunTimeline({ random: () => (seed = (seed * 16807) % 2147483647) / 2147483647 });
    for (let i = 0; i < 25_000; i++) {
      timeline.record({
        path: 'polling',
        eventId: String(i),
        subscriberId: 's',
        outcome: 'delivered',
        latencyMs: i,
      });
    }
    const samples = timeline.latencySamples.polling ?? [];
    expect(samples).toHaveLength(20_000);
    // Late values make it in too: the reservoir is not just the first 20 000.
    expect(samples.some((value) => value >= 20_000)).toBe(true);
  });
});
