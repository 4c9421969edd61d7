/**
 * A million latencies recorded as a four-worker load would record them: the report's percentiles,
 * from the workers' HDR histograms merged, agree with the Prometheus histogram of the same values
 * within its bucket resolution, with the exact nearest-rank values within the HDR precision, and
 * the merge equals one process recording everything.
 */
import { describe, expect, it } from 'vitest';
import { mergeLatency, RunTimeline } from '../src/load/index.js';
import { createMetrics, LATENCY_HISTOGRAM_PRECISION } from '../src/metrics/index.js';
import { reportLatency } from '../src/report/index.js';
import { percentileOfSorted } from '../src/shared/index.js';

const VALUES = 1_000_000;
const WORKERS = 4;
const QUANTILES = [0.5, 0.9, 0.95, 0.99, 0.999] as const;

/** Deterministic latencies (ms): log-normal around 40 ms with a slow tail, from a seeded PRNG. */
function latencies(count: number): Float64Array {
  let state = 0x9e3779b9;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const values = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const normal = Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
    values[i] = Math.exp(Math.log(40) + 0.8 * normal) + (uniform() < 0.01 ? 2000 * uniform() : 0);
  }
  return values;
}

describe('report percentiles', () => {
  it('match the Prometheus histogram within its buckets and the exact values within the HDR precision, over a million values from four workers', async () => {
    const values = latencies(VALUES);
    const { metrics, registry } = createMetrics();
    const labels = { env: 'local', probe: 'million', path: 'broadcast' } as const;
    const workers = Array.from({ length: WORKERS }, () => new RunTimeline());
    const single = new RunTimeline();
    for (let i = 0; i < VALUES; i++) {
      const outcome = {
        path: 'broadcast',
        eventId: String(i),
        subscriberId: `s${i % 7}`,
        outcome: 'delivered',
        latencyMs: values[i],
        kind: i % 3 === 0 ? 'supabase-js' : 'lean',
      } as const;
      workers[i % WORKERS]!.record(outcome);
      single.record(outcome);
      metrics.deliveryLatency.observe(labels, values[i]! / 1000);
    }

    const merged = reportLatency(mergeLatency(workers.map((worker) => worker.encodedLatency())));
    const summary = merged.summaries.broadcast?.latencyMs;
    expect(summary?.count).toBe(VALUES);
    // Adding histograms is exact: the merge is what one process recording everything reports.
    expect(merged).toEqual(reportLatency(single.encodedLatency()));
    expect(
      (merged.summaries.broadcast?.latencyByClientMs?.lean?.count ?? 0) +
        (merged.summaries.broadcast?.latencyByClientMs?.['supabase-js']?.count ?? 0),
    ).toBe(VALUES);

    // Prometheus's cumulative buckets for the same values.
    const snapshot = await registry.getSingleMetric('canary_delivery_latency_seconds')!.get();
    const buckets = snapshot.values
      .filter(
        (value) => (value as { metricName?: string }).metricName === 'canary_delivery_latency_seconds_bucket',
      )
      .map((value) => ({ le: Number(value.labels.le), count: value.value }))
      .sort((a, b) => a.le - b.le);
    expect(buckets.at(-1)?.count).toBe(VALUES);

    const sorted = Float64Array.from(values).sort();
    const reported = { 0.5: summary?.p50, 0.9: summary?.p90, 0.95: summary?.p95, 0.99: summary?.p99 };
    const hdr = reportLatencyPercentile(merged, QUANTILES);
    for (const q of QUANTILES) {
      const answer = (reported as Record<number, number | undefined>)[q] ?? hdr[q]!;
      const rank = Math.ceil(q * VALUES);
      const index = buckets.findIndex((bucket) => bucket.count >= rank);
      const upperMs = buckets[index]!.le * 1000;
      const lowerMs = index === 0 ? 0 : buckets[index - 1]!.le * 1000;
      // Inside the Prometheus bucket that holds the rank (the top edge widened by the HDR precision).
      expect(answer).toBeGreaterThanOrEqual(lowerMs);
      expect(answer).toBeLessThanOrEqual(upperMs * (1 + LATENCY_HISTOGRAM_PRECISION));
      // And within the HDR precision of the exact nearest-rank value (values are kept to the µs).
      const exact = percentileOfSorted(sorted, q) as number;
      expect(answer).toBeGreaterThanOrEqual(exact - 0.0005);
      expect(answer).toBeLessThanOrEqual(exact * (1 + LATENCY_HISTOGRAM_PRECISION) + 0.0005);
    }
  });
});

/** Percentiles the summary does not carry (p99.9), read from the CDF values the report keeps. */
function reportLatencyPercentile(
  report: ReturnType<typeof reportLatency>,
  quantiles: readonly number[],
): Record<number, number> {
  const cdf = report.latencySamplesMs.broadcast ?? [];
  return Object.fromEntries(quantiles.map((q) => [q, percentileOfSorted(cdf, q) as number]));
}
