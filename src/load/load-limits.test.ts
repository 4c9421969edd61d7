import { describe, expect, it } from 'vitest';
import { PublishPacer, SpawnLimiter } from './load-limits.js';

describe('load limits', () => {
  it('let subscribers join at the spawn rate, saving at most a second of allowance, and leave at once', () => {
    const spawn = new SpawnLimiter(10, 0);
    expect(spawn.next(100, 0)).toBe(0);
    expect(spawn.next(100, 500)).toBe(5);
    // A long pause saves up one second's worth, not more.
    expect(spawn.next(100, 10_500)).toBe(15);
    expect(spawn.next(3, 10_600)).toBe(3);
  });

  it('publish what is due within maxEvents, the in-flight bound and the rate cap', async () => {
    const pending: (() => void)[] = [];
    const pacer = new PublishPacer({
      maxEvents: 50,
      maxInFlight: 4,
      rateCap: undefined,
      now: 0,
      publishOne: () => new Promise<void>((resolve) => pending.push(resolve)),
    });
    pacer.publishDue(10, 0);
    expect(pacer.published).toBe(4);
    for (const resolve of pending.splice(0)) resolve();
    await new Promise((resolve) => setImmediate(resolve));
    pacer.publishDue(10, 0);
    expect(pacer.published).toBe(8);

    const capped = new PublishPacer({
      maxEvents: 50,
      maxInFlight: 64,
      rateCap: 5,
      now: 0,
      publishOne: () => Promise.reject(new Error('refused')),
    });
    capped.publishDue(100, 0);
    expect(capped.published).toBe(5);
    capped.publishDue(100, 400);
    expect(capped.published).toBe(7);
    capped.publishDue(100, 60_000);
    expect(capped.published).toBe(12);
    await new Promise((resolve) => setImmediate(resolve));
    expect(capped.errors).toBe(12);
  });
});
