/**
 * What a load run records while it runs, for the summary and the report's plots: every outcome
 * (via the runner's onOutcome), an HDR latency histogram per path and per subscriber kind (exact
 * to 0.1 %, mergeable across workers and shards), and a sample every `sampleEvery` of subscribers
 * wanted/connected, cumulative counts and the interval's latency percentiles.
 */
import {
  addCounts,
  emptyCounts,
  LatencyHistogram,
  outcomeCountsOf,
  type ClientKind,
  type OutcomeCounts,
} from '../metrics/index.js';
import { percentileOfSorted } from '../shared/index.js';
import type { LoadOutcome } from './load-driver.js';

/** One sample of a run (the report's `timeline[]`, documented in docs/reports.md). */
export interface TimelinePoint extends OutcomeCounts {
  /** Seconds since the run started. */
  t: number;
  subscribersTarget: number;
  subscribersConnected: number;
  /** Cumulative counts since the start (published and the outcome counts). */
  published: number;
  /** p50 / p95 latency (ms) per path of the outcomes recorded in this sampling interval. */
  latencyP50Ms: Record<string, number>;
  latencyP95Ms: Record<string, number>;
  overloaded: boolean;
  eventLoopLagMs?: number;
  cpuRatio?: number;
}

export interface PathCounts extends OutcomeCounts {
  /** Outcomes measured while the harness was overloaded (their latency is left out). */
  untrusted: number;
}

/** A path's latency histograms, encoded (LatencyHistogram.encode): all its subscribers, and per kind. */
export interface EncodedPathLatency {
  all: string;
  byClient: Partial<Record<ClientKind, string>>;
}

interface PathLatency {
  all: LatencyHistogram;
  byClient: Partial<Record<ClientKind, LatencyHistogram>>;
}

export class RunTimeline {
  readonly points: TimelinePoint[] = [];
  readonly counts: Record<string, PathCounts> = {};
  private readonly latency: Record<string, PathLatency> = {};
  private intervalLatencies: Record<string, number[]> = {};
  /** Latencies since the last `takeWindow()`, for connection-limit levels. */
  private windowLatencies: number[] = [];

  record(outcome: LoadOutcome): void {
    const counts = (this.counts[outcome.path] ??= { ...emptyCounts(), untrusted: 0 });
    if (outcome.outcome === 'delivered' || outcome.outcome === 'late' || outcome.outcome === 'dropped') {
      counts[outcome.outcome] += 1;
    }
    // Same rule as the latency SLIs: a saturated harness's timings are not the target's.
    if (outcome.trusted === false) counts.untrusted += 1;
    if (outcome.latencyMs === undefined || outcome.outcome === 'dropped' || outcome.trusted === false) return;
    (this.intervalLatencies[outcome.path] ??= []).push(outcome.latencyMs);
    this.windowLatencies.push(outcome.latencyMs);
    const latency = (this.latency[outcome.path] ??= { all: new LatencyHistogram(), byClient: {} });
    latency.all.record(outcome.latencyMs);
    if (outcome.kind) (latency.byClient[outcome.kind] ??= new LatencyHistogram()).record(outcome.latencyMs);
  }

  /** The latency histograms so far, per path, encoded for the result (and the IPC pipe). */
  encodedLatency(): Record<string, EncodedPathLatency> {
    const encoded: Record<string, EncodedPathLatency> = {};
    for (const [path, latency] of Object.entries(this.latency)) {
      const byClient: EncodedPathLatency['byClient'] = {};
      for (const [kind, histogram] of Object.entries(latency.byClient) as [ClientKind, LatencyHistogram][])
        byClient[kind] = histogram.encode();
      encoded[path] = { all: latency.all.encode(), byClient };
    }
    return encoded;
  }

  totals(): OutcomeCounts {
    const total = emptyCounts();
    for (const counts of Object.values(this.counts)) addCounts(total, outcomeCountsOf(counts));
    return total;
  }

  /** Latencies recorded since the previous call (a connection-limit level's window). */
  takeWindow(): number[] {
    const window = this.windowLatencies;
    this.windowLatencies = [];
    return window;
  }

  sample(
    point: Omit<TimelinePoint, 'delivered' | 'late' | 'dropped' | 'latencyP50Ms' | 'latencyP95Ms'>,
  ): TimelinePoint {
    const latencyP50Ms: Record<string, number> = {};
    const latencyP95Ms: Record<string, number> = {};
    for (const [path, values] of Object.entries(this.intervalLatencies)) {
      const sorted = [...values].sort((a, b) => a - b);
      const p50 = percentileOfSorted(sorted, 0.5);
      const p95 = percentileOfSorted(sorted, 0.95);
      if (p50 !== null) latencyP50Ms[path] = p50;
      if (p95 !== null) latencyP95Ms[path] = p95;
    }
    this.intervalLatencies = {};
    const full: TimelinePoint = { ...point, ...this.totals(), latencyP50Ms, latencyP95Ms };
    this.points.push(full);
    return full;
  }
}
