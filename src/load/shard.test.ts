import { describe, expect, it } from 'vitest';
import { isCanaryError } from '../shared/index.js';
import { parseShard, publishesEvents, shareOf } from './shard.js';

describe('shards', () => {
  it('parses i/N and rejects indexes outside the shard count with a hint', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    expect(parseShard(' 0 / 1 ')).toEqual({ index: 0, count: 1 });
    for (const bad of ['3/3', '1', '-1/2', 'a/b', '0/0', '']) {
      let caught: unknown;
      try {
        parseShard(bad);
      } catch (error) {
        caught = error;
      }
      expect(isCanaryError(caught) && caught.hint?.includes('--shard 0/3')).toBe(true);
    }
  });

  it('splits every subscriber total into parts that add up to it and differ by at most one', () => {
    for (const count of [1, 2, 3, 7]) {
      for (const total of [0, 1, 2, 5, 10, 101, 1000]) {
        const parts = Array.from({ length: count }, (_, index) => shareOf(total, { index, count }));
        expect(parts.reduce((a, b) => a + b, 0)).toBe(total);
        expect(Math.max(...parts) - Math.min(...parts)).toBeLessThanOrEqual(1);
      }
    }
  });

  it('lets exactly one shard publish', () => {
    const publishers = [0, 1, 2].filter((index) => publishesEvents({ index, count: 3 }));
    expect(publishers).toEqual([0]);
  });
});
