/**
 * Everything `canary diff` compares, for one environment, read from catalogue metrics through
 * an SliSource (a run's registry, or Prometheus over a range) — so the in-process diff and the
 * Prometheus diff read the same numbers — plus, in-process, the exact per-delivery outcomes
 * (exact percentiles and broadcast-vs-postgres_changes arrival order).
 */
import {
  catalog,
  CONNECTION_PHASES,
  type ConnectionPhaseLabel,
  deliveredRatio,
  DELIVERY_PATHS,
  type DeliveryPath,
  type Outcome,
  type OutcomeCounts,
} from '../../metrics/index.js';
import { percentileOfSorted } from '../../shared/index.js';
import type { SliSource, SeriesSelector } from '../../slo/index.js';

export interface LatencyStats {
  /** Deliveries measured (delivered + late). */
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** True when computed from exact samples, false when interpolated from histogram buckets. */
  exact: boolean;
  /** Up to 101 points of the empirical CDF (ms at each percentile 0..100), exact samples only. */
  cdf?: number[];
}

export interface PathEvidence extends OutcomeCounts {
  path: DeliveryPath;
  /** delivered / (delivered + late + dropped); null when nothing was due. */
  deliveredRatio: number | null;
  duplicates: number;
  outOfOrder: number;
  gapMissed: number;
  latencyMs: LatencyStats;
}

export interface ArrivalOrder {
  /** (event, subscriber) pairs seen on both realtime paths. */
  pairs: number;
  /** Share of pairs where broadcast arrived first. */
  broadcastFirstRatio: number;
  /** Median of (broadcast − postgres_changes) receive time, ms; positive = broadcast later. */
  medianSpreadMs: number;
}

export interface EnvEvidence {
  env: string;
  source: string;
  published: number;
  publishErrors: Record<string, number>;
  paths: Partial<Record<DeliveryPath, PathEvidence>>;
  subscription: {
    joinAttempts: number;
    subscribed: number;
    /** CHANNEL_ERROR / TIMED_OUT / CLOSED transitions. */
    statuses: Record<string, number>;
    errorsByReason: Record<string, number>;
    reconnects: number;
    timeToSubscribedMs: LatencyStats;
    readinessGapMs: LatencyStats;
    zombies: number;
  };
  polling: {
    requests: number;
    cacheableResponses: number;
    stalenessMs: LatencyStats;
    coveredGapEvents: number;
  };
  connections: { peak: number; limit: number | null };
  /**
   * How long opening a connection took, phase by phase (tls only over wss): a slow TLS edge shows
   * in tls while join stays flat. Handshakes and resumed handshakes are counts.
   */
  connectionPhases: {
    phasesMs: Record<ConnectionPhaseLabel, LatencyStats>;
    tlsHandshakes: number;
    tlsResumed: number;
  };
  harnessOverloaded: boolean;
  arrivalOrder: ArrivalOrder | null;
}

/** Per-delivery outcome, as the probe engine's onOutcome reports it. */
export interface OutcomeSample {
  env: string;
  path: DeliveryPath;
  eventId: string;
  subscriberId: string;
  outcome: Outcome;
  latencyMs?: number;
}

async function total(
  source: SliSource,
  metric: string,
  matchers: SeriesSelector['matchers'],
): Promise<number> {
  const values = await source.sum({ metric, matchers }, []);
  return values.reduce((sum, value) => sum + value.value, 0);
}

async function byLabel(
  source: SliSource,
  metric: string,
  matchers: SeriesSelector['matchers'],
  label: string,
): Promise<Record<string, number>> {
  const values = await source.sum({ metric, matchers }, [label]);
  const out: Record<string, number> = {};
  for (const value of values) {
    const key = value.labels[label];
    if (key !== undefined && value.value > 0) out[key] = (out[key] ?? 0) + value.value;
  }
  return out;
}

/** histogram_quantile over cumulative buckets (linear interpolation inside a bucket, like Prometheus). */
export function bucketQuantile(buckets: readonly { le: number; count: number }[], q: number): number | null {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const last = sorted[sorted.length - 1];
  if (!last || last.count === 0) return null;
  const rank = q * last.count;
  let previousLe = 0;
  let previousCount = 0;
  for (const bucket of sorted) {
    if (bucket.count >= rank) {
      if (!Number.isFinite(bucket.le)) return previousLe;
      const inBucket = bucket.count - previousCount;
      if (inBucket <= 0) return bucket.le;
      return previousLe + ((bucket.le - previousLe) * (rank - previousCount)) / inBucket;
    }
    previousLe = bucket.le;
    previousCount = bucket.count;
  }
  return previousLe;
}

async function histogramStats(
  source: SliSource,
  metric: string,
  matchers: SeriesSelector['matchers'],
): Promise<LatencyStats> {
  const values = await source.sum({ metric: `${metric}_bucket`, matchers }, ['le']);
  const buckets = values.map((value) => ({
    le: value.labels.le === '+Inf' ? Infinity : Number(value.labels.le),
    count: value.value,
  }));
  const count = buckets.find((bucket) => bucket.le === Infinity)?.count ?? 0;
  const quantile = (q: number) => {
    const seconds = bucketQuantile(buckets, q);
    return seconds === null ? null : seconds * 1000;
  };
  return { count, p50: quantile(0.5), p95: quantile(0.95), p99: quantile(0.99), exact: false };
}

async function connectionPhaseEvidence(
  source: SliSource,
  envOnly: SeriesSelector['matchers'],
): Promise<EnvEvidence['connectionPhases']> {
  const phasesMs = {} as Record<ConnectionPhaseLabel, LatencyStats>;
  for (const phase of CONNECTION_PHASES) {
    phasesMs[phase] = await histogramStats(source, catalog.connectionPhase.name, { ...envOnly, phase });
  }
  const handshakes = await byLabel(source, catalog.tlsHandshakes.name, envOnly, 'resumed');
  return {
    phasesMs,
    tlsHandshakes: (handshakes.true ?? 0) + (handshakes.false ?? 0),
    tlsResumed: handshakes.true ?? 0,
  };
}

export function exactStats(samples: readonly number[]): LatencyStats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number | null => percentileOfSorted(sorted, q);
  const cdf =
    sorted.length === 0 ? [] : Array.from({ length: 101 }, (_, i) => at(Math.max(0.001, i / 100)) ?? 0);
  return { count: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), exact: true, cdf };
}

export function arrivalOrder(outcomes: readonly OutcomeSample[]): ArrivalOrder | null {
  const byPair = new Map<string, Partial<Record<DeliveryPath, number>>>();
  for (const outcome of outcomes) {
    if (outcome.latencyMs === undefined || outcome.path === 'polling') continue;
    const key = `${outcome.eventId}\u0000${outcome.subscriberId}`;
    const entry = byPair.get(key) ?? {};
    entry[outcome.path] = outcome.latencyMs;
    byPair.set(key, entry);
  }
  const spreads: number[] = [];
  let broadcastFirst = 0;
  for (const entry of byPair.values()) {
    if (entry.broadcast === undefined || entry.postgres_changes === undefined) continue;
    const spread = entry.broadcast - entry.postgres_changes;
    spreads.push(spread);
    if (spread < 0) broadcastFirst += 1;
  }
  if (spreads.length === 0) return null;
  const median = exactStats(spreads).p50 ?? 0;
  return {
    pairs: spreads.length,
    broadcastFirstRatio: broadcastFirst / spreads.length,
    medianSpreadMs: median,
  };
}

/** The readiness gap is per path; report the path whose changes start flowing last. */
async function worstReadinessGap(source: SliSource, env: string): Promise<LatencyStats> {
  const perPath = await Promise.all(
    (['postgres_changes', 'broadcast'] as const).map((path) =>
      histogramStats(source, catalog.readinessGap.name, { env, path }),
    ),
  );
  return perPath.reduce((worst, stats) => ((stats.p50 ?? -1) > (worst.p50 ?? -1) ? stats : worst));
}

export async function collectEvidence(
  source: SliSource,
  env: string,
  outcomes?: readonly OutcomeSample[],
): Promise<EnvEvidence> {
  const envOnly = { env };
  const paths: Partial<Record<DeliveryPath, PathEvidence>> = {};
  const mine = outcomes?.filter((outcome) => outcome.env === env);
  for (const path of DELIVERY_PATHS) {
    const scope = { env, path };
    const outcomesByKind = await byLabel(source, catalog.deliveryOutcomes.name, scope, 'outcome');
    const counts: OutcomeCounts = {
      delivered: outcomesByKind.delivered ?? 0,
      late: outcomesByKind.late ?? 0,
      dropped: outcomesByKind.dropped ?? 0,
    };
    const ratio = deliveredRatio(counts);
    if (ratio === null) continue;
    const samples = mine
      ?.filter((o) => o.path === path && o.latencyMs !== undefined)
      .map((o) => o.latencyMs as number);
    paths[path] = {
      path,
      ...counts,
      deliveredRatio: ratio,
      duplicates: await total(source, catalog.duplicates.name, scope),
      outOfOrder: await total(source, catalog.outOfOrder.name, scope),
      gapMissed: await total(source, catalog.gapEventsMissed.name, scope),
      latencyMs:
        samples && samples.length > 0
          ? exactStats(samples)
          : await histogramStats(source, catalog.deliveryLatency.name, scope),
    };
  }
  const statuses = await byLabel(source, catalog.subscriptionTransitions.name, envOnly, 'status');
  const peak = await source.max({ metric: catalog.connectionsPeak.name, matchers: envOnly }, []);
  const limit = await source.max({ metric: catalog.connectionLimit.name, matchers: envOnly }, []);
  const overloaded = await source.max({ metric: catalog.harnessOverloaded.name, matchers: {} }, []);
  const zombies = await source.max({ metric: catalog.zombieSubscribers.name, matchers: envOnly }, []);
  return {
    env,
    source: source.description,
    published: await total(source, catalog.eventsPublished.name, envOnly),
    publishErrors: await byLabel(source, catalog.publishErrors.name, envOnly, 'step'),
    paths,
    subscription: {
      joinAttempts: await total(source, catalog.joinAttempts.name, envOnly),
      subscribed: statuses.SUBSCRIBED ?? 0,
      statuses,
      errorsByReason: await byLabel(source, catalog.subscriptionErrors.name, envOnly, 'reason'),
      reconnects: await total(source, catalog.reconnects.name, envOnly),
      timeToSubscribedMs: await histogramStats(source, catalog.timeToSubscribed.name, envOnly),
      readinessGapMs: await worstReadinessGap(source, env),
      zombies: Math.max(0, ...zombies.map((value) => value.value)),
    },
    polling: {
      requests: await total(source, catalog.pollRequests.name, envOnly),
      cacheableResponses: await total(source, catalog.pollCacheable.name, envOnly),
      stalenessMs: await histogramStats(source, catalog.pollStaleness.name, envOnly),
      coveredGapEvents: await total(source, catalog.gapEventsCoveredByPolling.name, envOnly),
    },
    connections: {
      peak: Math.max(0, ...peak.map((value) => value.value)),
      limit: limit.length > 0 ? Math.max(...limit.map((value) => value.value)) : null,
    },
    connectionPhases: await connectionPhaseEvidence(source, envOnly),
    harnessOverloaded: overloaded.some((value) => value.value > 0),
    arrivalOrder: mine ? arrivalOrder(mine) : null,
  };
}
