/**
 * Where SLI numbers come from. The evaluator asks a source for sums and maxima of catalogue
 * series; the two sources — a run's in-process prom-client registry and PromQL against a
 * Prometheus server — answer the same questions, so the same spec gives the same verdict.
 */
import type { SeriesSelector } from './sli-queries.js';

export interface SeriesValue {
  labels: Record<string, string>;
  value: number;
}

export interface SliSource {
  /** Where the numbers came from, for reports ("registry of run …", "prometheus http://… range 1h"). */
  readonly description: string;
  /** Counter increase over the source's span (a run: since start), summed by `by` labels. */
  sum(selector: SeriesSelector, by: readonly string[]): Promise<SeriesValue[]>;
  /** Highest gauge value over the source's span, by `by` labels. */
  max(selector: SeriesSelector, by: readonly string[]): Promise<SeriesValue[]>;
}
