import { describe, expect, it } from 'vitest';
import { arrivalsBy, peakValue, stagesDurationMs, valueAt } from './stages.js';

const stages = [
  { duration: 10_000, target: 100 },
  { duration: 20_000, target: 100 },
  { duration: 10_000, target: 0 },
];

describe('stage arithmetic', () => {
  it('interpolates linearly within a stage and holds the last target after the end', () => {
    expect(valueAt(stages, 0, 0)).toBe(0);
    expect(valueAt(stages, 0, 5_000)).toBe(50);
    expect(valueAt(stages, 0, 10_000)).toBe(100);
    expect(valueAt(stages, 0, 25_000)).toBe(100);
    expect(valueAt(stages, 0, 35_000)).toBe(50);
    expect(valueAt(stages, 0, 99_000)).toBe(0);
    expect(stagesDurationMs(stages)).toBe(40_000);
    expect(peakValue(stages, 0)).toBe(100);
    expect(peakValue([{ duration: 1000, target: 5 }], 20)).toBe(20);
  });

  it('counts arrivals as the area under the rate curve', () => {
    const rate = [
      { duration: 10_000, target: 10 },
      { duration: 10_000, target: 10 },
    ];
    // Triangle 0→10/s over 10 s = 50 events, then 10/s for 10 s = 100 more.
    expect(arrivalsBy(rate, 0, 10_000)).toBeCloseTo(50);
    expect(arrivalsBy(rate, 0, 5_000)).toBeCloseTo(12.5);
    expect(arrivalsBy(rate, 0, 20_000)).toBeCloseTo(150);
    // After the stages end the last rate continues.
    expect(arrivalsBy(rate, 0, 21_000)).toBeCloseTo(160);
    expect(arrivalsBy([{ duration: 4_000, target: 2 }], 2, 4_000)).toBeCloseTo(8);
  });
});
