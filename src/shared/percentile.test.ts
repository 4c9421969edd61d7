import { describe, expect, it } from 'vitest';
import { percentile, percentileOfSorted } from './percentile.js';

describe('percentile', () => {
  it('picks the nearest rank, so every answer is a value that was measured', () => {
    expect(percentile([5, 1, 3, 2, 4], 0.5)).toBe(3);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95)).toBe(10);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.1)).toBe(1);
    expect(percentileOfSorted(Float64Array.from([1, 2, 3, 4]), 0.75)).toBe(3);
  });

  it('answers null for an empty sample instead of a zero that would read as instant delivery', () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentileOfSorted([], 0.99)).toBeNull();
  });

  it('clamps the rank, so a tiny q gives the minimum and q = 1 the maximum', () => {
    expect(percentile([7, 3, 9], 0.0001)).toBe(3);
    expect(percentile([7, 3, 9], 1)).toBe(9);
  });
});
