import { describe, expect, it } from 'vitest';
import { addCounts, deliveredRatio, emptyCounts, outcomeCountsOf } from './outcome-counts.js';

describe('outcome counts', () => {
  it('adds every field of the counts, including fields a richer shape adds', () => {
    const into = { ...emptyCounts(), untrusted: 1 };
    addCounts(into, { delivered: 3, late: 2, dropped: 1, untrusted: 4 });
    addCounts(into, { delivered: 1, late: 0, dropped: 5, untrusted: 0 });
    expect(into).toEqual({ delivered: 4, late: 2, dropped: 6, untrusted: 5 });
  });

  it('leaves fields of the target that the addend does not name alone', () => {
    const progress = { phase: 'running', published: 7, ...emptyCounts() };
    addCounts(progress, outcomeCountsOf({ delivered: 2, late: 1, dropped: 0 }));
    expect(progress).toEqual({ phase: 'running', published: 7, delivered: 2, late: 1, dropped: 0 });
  });

  it('gives the delivered ratio over final outcomes, and null before any outcome', () => {
    expect(deliveredRatio({ delivered: 3, late: 1, dropped: 0 })).toBe(0.75);
    expect(deliveredRatio(emptyCounts())).toBeNull();
  });
});
