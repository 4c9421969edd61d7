/**
 * Latency histograms for reports: HDR histograms (hdr-histogram-js) at microsecond resolution and
 * three significant digits, so a percentile read from one is within 0.1 % of the exact
 * nearest-rank value, memory stays a few kilobytes however long the run, and two histograms add
 * exactly — workers' and shards' histograms merge into the one a single process would have
 * recorded. They travel between processes as compressed base64 strings (`encode`/`decode`).
 *
 * Prometheus's own histograms (the catalogue's buckets) stay what SLOs and dashboards read; these
 * are only the report's percentiles and CDF.
 */
import * as hdr from 'hdr-histogram-js';

/** Values are recorded as integer microseconds. */
const MICROS_PER_MS = 1000;
/** Relative precision of a recorded value (three significant digits). */
export const LATENCY_HISTOGRAM_PRECISION = 0.001;

export class LatencyHistogram {
  private readonly histogram: hdr.Histogram;

  constructor(from?: hdr.Histogram) {
    this.histogram =
      from ??
      hdr.build({
        lowestDiscernibleValue: 1,
        numberOfSignificantValueDigits: 3,
        autoResize: true,
        bitBucketSize: 32,
      });
  }

  static decode(encoded: string): LatencyHistogram {
    return new LatencyHistogram(hdr.decodeFromCompressedBase64(encoded, 32));
  }

  /** One histogram holding every value of `encoded` (each from `encode()`). */
  static merge(encoded: readonly string[]): LatencyHistogram {
    const merged = new LatencyHistogram();
    for (const one of encoded) merged.add(LatencyHistogram.decode(one));
    return merged;
  }

  record(latencyMs: number): void {
    this.histogram.recordValue(Math.max(0, Math.round(latencyMs * MICROS_PER_MS)));
  }

  add(other: LatencyHistogram): void {
    this.histogram.add(other.histogram);
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  /**
   * Nearest-rank percentile (0 < q ≤ 1) in ms: the highest value equivalent to the recorded one
   * at that rank, so within LATENCY_HISTOGRAM_PRECISION above the exact value. Null when empty.
   */
  percentile(q: number): number | null {
    if (this.count === 0) return null;
    return this.histogram.getValueAtPercentile(Math.min(100, Math.max(0, q * 100))) / MICROS_PER_MS;
  }

  /** The largest value recorded, at the histogram's precision; null when empty. */
  max(): number | null {
    return this.count === 0 ? null : this.histogram.maxValue / MICROS_PER_MS;
  }

  /**
   * Up to `limit` values that stand for the distribution, ascending: every recorded value (at the
   * histogram's precision) when there are at most `limit`, else the value at each 1/limit quantile.
   * The report's CDF plot is drawn from these.
   */
  representativeValues(limit = 1000): number[] {
    const n = Math.min(this.count, limit);
    return Array.from({ length: n }, (_, i) => this.percentile((i + 1) / n) as number);
  }

  encode(): string {
    return hdr.encodeIntoCompressedBase64(this.histogram);
  }
}
