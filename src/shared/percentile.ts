/**
 * The one nearest-rank percentile: the smallest sample with at least q of the sample at or below
 * it (rank ⌈q·n⌉, clamped to 1…n). An empty sample has no percentile, so the answer is `null`,
 * never 0: a zero would read as "instant delivery" in a report or on the status page. Callers
 * that must show something print a dash for null.
 */

/** Nearest-rank percentile of an ascending-sorted sample (0 < q ≤ 1); null when it is empty. */
export function percentileOfSorted(sorted: ArrayLike<number>, q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] ?? null;
}

/** Nearest-rank percentile of a sample in any order (0 < q ≤ 1); null when it is empty. */
export function percentile(sample: readonly number[], q: number): number | null {
  if (sample.length === 0) return null;
  return percentileOfSorted(
    [...sample].sort((a, b) => a - b),
    q,
  );
}
