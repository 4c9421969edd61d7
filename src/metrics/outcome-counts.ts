/**
 * Outcome counts: how many due (event, subscriber, path) triples ended delivered, late or dropped
 * (each ends in exactly one; docs/configuration.md, "Outcomes"). Declared once here, next to the
 * `Outcome` label it counts, and extended — never re-declared — by the ledger's totals, a run's
 * per-path counts, timeline points, reports, status views and diff evidence.
 */
import type { Outcome } from './catalog.js';

export type OutcomeCounts = Record<Outcome, number>;

export function emptyCounts(): OutcomeCounts {
  return { delivered: 0, late: 0, dropped: 0 };
}

/**
 * Adds every count of `from` into the same fields of `into` and returns `into`. `from` is any
 * all-numeric shape (OutcomeCounts, or a type extending it), so a field added to it is summed too;
 * `into` may carry other fields besides.
 */
export function addCounts<F extends { [K in keyof F]: number }, I extends { [K in keyof F]: number }>(
  into: I,
  from: Readonly<F>,
): I {
  const target = into as Record<string, number>;
  for (const [key, value] of Object.entries(from as Record<string, number>)) {
    target[key] = (target[key] ?? 0) + value;
  }
  return into;
}

/** Just the three outcome counts of a richer record (a report row, a timeline point). */
export function outcomeCountsOf(counts: Readonly<OutcomeCounts>): OutcomeCounts {
  return { delivered: counts.delivered, late: counts.late, dropped: counts.dropped };
}

/** delivered / (delivered + late + dropped); null when no triple has a final outcome yet. */
export function deliveredRatio(counts: Readonly<OutcomeCounts>): number | null {
  const final = counts.delivered + counts.late + counts.dropped;
  return final === 0 ? null : counts.delivered / final;
}
