/**
 * Merging the workers (or shards) of one load into one result, exactly: counters and histogram
 * buckets are summed from each worker's prom-client registry JSON (never averaged percentiles),
 * outcome counts are summed, and the HDR latency histograms are added, so the report's
 * percentiles and CDFs cover every worker's deliveries at once, however long the run.
 */
import { AggregatorRegistry, type Registry } from 'prom-client';
import {
  addCounts,
  emptyCounts,
  LatencyHistogram,
  outcomeCountsOf,
  type ClientKind,
} from '../../metrics/index.js';
import type { EncodedPathLatency, PathCounts, TimelinePoint } from '../run-timeline.js';
import type { LoadRunResult } from '../run-scenario.js';

/** What `registry.getMetricsAsJSON()` returns. */
export type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/**
 * Gauges that describe the environment or the machine rather than a share of the load: the merge
 * takes their maximum instead of their sum.
 */
const MAX_GAUGES = new Set([
  'canary_connection_limit',
  'canary_build_info',
  'canary_harness_event_loop_lag_seconds',
  'canary_harness_cpu_ratio',
  'canary_harness_overloaded',
]);

export function mergeMetrics(perWorker: readonly MetricsJson[]): Registry {
  const marked = perWorker.map((metrics) =>
    metrics.map((metric) =>
      MAX_GAUGES.has(metric.name) ? { ...metric, aggregator: 'max' as const } : metric,
    ),
  );
  return AggregatorRegistry.aggregate(marked);
}

/**
 * One timeline from several: point i of the merge is point i of every worker (they sample on the
 * same period from a common start), with subscribers and cumulative counts summed. A worker whose
 * timeline is shorter contributes its last point. Interval percentiles cannot be merged exactly
 * from percentiles; the merge keeps the highest worker's (an upper bound), and the report's
 * latency figures come from the merged HDR histograms instead.
 */
export function mergeTimelines(timelines: readonly (readonly TimelinePoint[])[]): TimelinePoint[] {
  const length = Math.max(0, ...timelines.map((points) => points.length));
  const merged: TimelinePoint[] = [];
  for (let i = 0; i < length; i++) {
    const points = timelines
      .map((points) => points[Math.min(i, points.length - 1)])
      .filter((point): point is TimelinePoint => point !== undefined);
    const point: TimelinePoint = {
      t: Math.max(...points.map((p) => p.t)),
      subscribersTarget: 0,
      subscribersConnected: 0,
      published: 0,
      ...emptyCounts(),
      latencyP50Ms: {},
      latencyP95Ms: {},
      overloaded: points.some((p) => p.overloaded),
    };
    for (const p of points) {
      addCounts(point, { ...sizeOf(p), ...outcomeCountsOf(p) });
      for (const [path, value] of Object.entries(p.latencyP50Ms))
        point.latencyP50Ms[path] = Math.max(point.latencyP50Ms[path] ?? 0, value);
      for (const [path, value] of Object.entries(p.latencyP95Ms))
        point.latencyP95Ms[path] = Math.max(point.latencyP95Ms[path] ?? 0, value);
      if (p.eventLoopLagMs !== undefined)
        point.eventLoopLagMs = Math.max(point.eventLoopLagMs ?? 0, p.eventLoopLagMs);
      if (p.cpuRatio !== undefined) point.cpuRatio = Math.max(point.cpuRatio ?? 0, p.cpuRatio);
    }
    merged.push(point);
  }
  return merged;
}

/** Per path and kind, one histogram holding every worker's values (HDR histograms add exactly). */
export function mergeLatency(
  perWorker: readonly Record<string, EncodedPathLatency>[],
): Record<string, EncodedPathLatency> {
  const paths = new Set(perWorker.flatMap((latency) => Object.keys(latency)));
  const merged: Record<string, EncodedPathLatency> = {};
  for (const path of paths) {
    const parts = perWorker.flatMap((latency) => (latency[path] ? [latency[path]] : []));
    const kinds = new Set(parts.flatMap((part) => Object.keys(part.byClient) as ClientKind[]));
    const byClient: EncodedPathLatency['byClient'] = {};
    for (const kind of kinds)
      byClient[kind] = LatencyHistogram.merge(parts.flatMap((part) => part.byClient[kind] ?? [])).encode();
    merged[path] = { all: LatencyHistogram.merge(parts.map((part) => part.all)).encode(), byClient };
  }
  return merged;
}

/** The summed part of a timeline point or a progress report besides its outcome counts. */
export function sizeOf(
  point: Pick<TimelinePoint, 'subscribersTarget' | 'subscribersConnected' | 'published'>,
): {
  subscribersTarget: number;
  subscribersConnected: number;
  published: number;
} {
  return {
    subscribersTarget: point.subscribersTarget,
    subscribersConnected: point.subscribersConnected,
    published: point.published,
  };
}

/**
 * The result of the whole load from its workers' results; `results[0]` is the publishing one
 * (its plan, stop reason and rate cap are the run's).
 */
export function mergeLoadResults(results: readonly LoadRunResult[]): LoadRunResult {
  const leader = results[0];
  if (!leader) throw new RangeError('merging needs at least one worker result');
  const paths: Record<string, PathCounts> = {};
  for (const result of results) {
    for (const [path, counts] of Object.entries(result.paths))
      addCounts((paths[path] ??= { ...emptyCounts(), untrusted: 0 }), counts);
  }
  const timeline = mergeTimelines(results.map((result) => result.timeline));
  const failed = results.findIndex((result) => result.failure !== undefined);
  const failure = failed >= 0 ? results[failed]?.failure : undefined;
  return {
    scenario: leader.scenario,
    env: leader.env,
    envKind: leader.envKind,
    startedAt: results.map((r) => r.startedAt).sort()[0] ?? leader.startedAt,
    endedAt:
      results
        .map((r) => r.endedAt)
        .sort()
        .reverse()[0] ?? leader.endedAt,
    durationSeconds: Math.max(...results.map((r) => r.durationSeconds)),
    partial: leader.partial,
    stopReason: failure ? 'failed' : leader.stopReason,
    published: results.reduce((sum, r) => sum + r.published, 0),
    publishErrors: results.reduce((sum, r) => sum + r.publishErrors, 0),
    peakSubscribers: Math.max(
      ...timeline.map((point) => point.subscribersConnected),
      ...results.map((r) => r.peakSubscribers),
    ),
    paths,
    timeline,
    latencyHistograms: mergeLatency(results.map((result) => result.latencyHistograms)),
    ...(failure ? { failure: { ...failure, message: `worker ${failed}: ${failure.message}` } } : {}),
    ...(leader.rateCap !== undefined ? { rateCap: leader.rateCap } : {}),
    harness: {
      samples: results.reduce((sum, r) => sum + r.harness.samples, 0),
      overloadedSamples: results.reduce((sum, r) => sum + r.harness.overloadedSamples, 0),
      maxEventLoopLagMs: Math.max(...results.map((r) => r.harness.maxEventLoopLagMs)),
      maxCpuRatio: Math.max(...results.map((r) => r.harness.maxCpuRatio)),
    },
  };
}
