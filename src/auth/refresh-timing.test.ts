import { describe, expect, it } from 'vitest';
import { effectiveTiming, refreshDelayMs, retryDelayMs } from './refresh-timing.js';

describe('refresh timing', () => {
  const hour = 3_600_000;

  it('renews an hour-long token the margin before expiry, earlier by up to the jitter', () => {
    const timing = { marginMs: 120_000, jitterMs: 60_000 };
    expect(refreshDelayMs(timing, hour, hour, 0, 0)).toBe(hour - 120_000);
    expect(refreshDelayMs(timing, hour, hour, 0, 0.999_999)).toBe(Math.round(hour - 120_000 - 59_999.94));
  });

  it('caps margin and jitter at a quarter of a short lifetime, so 20 s tokens renew at 10–15 s', () => {
    const timing = { marginMs: 120_000, jitterMs: 60_000 };
    expect(effectiveTiming(timing, 20_000)).toEqual({ marginMs: 5_000, jitterMs: 5_000 });
    const earliest = refreshDelayMs(timing, 20_000, 20_000, 0, 0.999_999);
    const latest = refreshDelayMs(timing, 20_000, 20_000, 0, 0);
    expect(earliest).toBeGreaterThanOrEqual(10_000);
    expect(latest).toBe(15_000);
  });

  it('spreads a thousand sessions that signed in together over the whole jitter window', () => {
    const timing = { marginMs: 120_000, jitterMs: 60_000 };
    const delays = Array.from({ length: 1000 }, (_, i) => refreshDelayMs(timing, hour, hour, 0, i / 1000));
    const perSecond = new Map<number, number>();
    for (const delay of delays)
      perSecond.set(Math.floor(delay / 1000), (perSecond.get(Math.floor(delay / 1000)) ?? 0) + 1);
    expect(perSecond.size).toBeGreaterThanOrEqual(60);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(2 * (1000 / 60));
  });

  it('renews at once when the renewal moment has already passed', () => {
    expect(refreshDelayMs({ marginMs: 10_000, jitterMs: 0 }, 5_000, 60_000, 4_000, 0)).toBe(0);
  });

  it('backs off 1, 2, 5, 10, 20 then 30 s after consecutive failures, each within ±20 %', () => {
    expect([1, 2, 3, 4, 5, 6, 9].map((n) => retryDelayMs(n, 0.5))).toEqual([
      1_000, 2_000, 5_000, 10_000, 20_000, 30_000, 30_000,
    ]);
    expect(retryDelayMs(1, 0)).toBe(800);
    expect(retryDelayMs(1, 0.999_999)).toBe(1_200);
  });

  it('waits at least 10 s after a rate limit, since every attempt counts against it', () => {
    expect(retryDelayMs(1, 0.5, true)).toBe(10_000);
    expect(retryDelayMs(6, 0.5, true)).toBe(30_000);
  });
});
