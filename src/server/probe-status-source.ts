/**
 * Adapts running probes to the exporter's StatusSource: it reads each runner's `status()` on a
 * timer, groups probes by environment, adds the per-path latency series the page charts (the
 * runners keep only a short window of recent events, so the series is accumulated here), the SLO
 * state when someone provides it, and harness health — and tells listeners only when something
 * actually changed.
 */
import type { HarnessHealthSnapshot } from '../metrics/index.js';
import type { ProbeStatus } from '../probe/index.js';
import type {
  EnvironmentStatus,
  LatencyPoint,
  ProbeStatusView,
  SloState,
  StatusSnapshot,
  StatusSource,
} from './status-snapshot.js';

/** Anything with the runner's status(); ProbeRunner satisfies it as it is. */
export interface ProbeStatusProvider {
  status(): ProbeStatus;
}

export interface ProbeStatusSourceOptions {
  /** The runners to show; a function when the set changes over time (scheduler, load ramp). */
  runners: readonly ProbeStatusProvider[] | (() => readonly ProbeStatusProvider[]);
  /**
   * Environments configured for this run, in display order. Listed even before (or without) a
   * running probe, so /readyz can say which environment is not up yet.
   */
  environments?: readonly string[];
  health?: { snapshot(): HarnessHealthSnapshot };
  /** SLO judgements for one probe in one environment; empty when none are evaluated. */
  slos?: (env: string, probe: string) => SloState[];
  /** How often runners are read; 500 ms by default. */
  refreshMs?: number;
  /** Points kept per (environment, probe, path) chart; 120 by default. */
  seriesLength?: number;
  now?: () => Date;
}

export interface ProbeStatusSource extends StatusSource {
  /** Read the runners now and notify listeners if anything changed. */
  refresh(): StatusSnapshot;
  stop(): void;
}

interface SeriesPoint extends LatencyPoint {
  id: string;
}

export function createProbeStatusSource(options: ProbeStatusSourceOptions): ProbeStatusSource {
  const refreshMs = options.refreshMs ?? 500;
  const seriesLength = options.seriesLength ?? 120;
  const now = options.now ?? (() => new Date());
  const runners =
    typeof options.runners === 'function' ? options.runners : () => options.runners as ProbeStatusProvider[];
  const series = new Map<string, SeriesPoint[]>();
  const listeners = new Set<(snapshot: StatusSnapshot) => void>();
  let timer: NodeJS.Timeout | null = null;
  let latest: StatusSnapshot | null = null;
  let latestFingerprint = '';

  /** Adds newly final outcomes of the runner's recent events to the chart series, in time order. */
  function updateSeries(
    key: string,
    status: ProbeStatus,
    path: ProbeStatus['paths'][number]['path'],
  ): LatencyPoint[] {
    const points = series.get(key) ?? [];
    series.set(key, points);
    const known = new Set(points.map((point) => point.id));
    const oldestKept = points.length >= seriesLength ? points[0]!.at : '';
    for (const event of [...status.recentEvents].reverse()) {
      const outcome = event.latencyMs[path];
      if (outcome === undefined || known.has(event.id) || event.publishedAt < oldestKept) continue;
      const point: SeriesPoint = {
        id: event.id,
        at: event.publishedAt,
        latencyMs: outcome === 'dropped' ? null : outcome,
      };
      // Drops are decided at the deadline, after later events were delivered: insert in order.
      let index = points.length;
      while (index > 0 && points[index - 1]!.at > point.at) index -= 1;
      points.splice(index, 0, point);
    }
    if (points.length > seriesLength) points.splice(0, points.length - seriesLength);
    return points.map(({ at, latencyMs }) => ({ at, latencyMs }));
  }

  function toView(status: ProbeStatus): ProbeStatusView {
    return {
      name: status.probe,
      roundsCompleted: status.roundsCompleted,
      lastRoundAt: status.lastRoundAt,
      lastRoundSuccess: status.lastRoundSuccess,
      subscribers: status.subscribers.map((group) => ({
        client: group.client,
        desired: group.desired,
        byStatus: { ...group.byStatus },
      })),
      paths: status.paths.map((path) => ({
        path: path.path,
        latencyMs: { ...path.latencyMs },
        delivered: path.delivered,
        late: path.late,
        dropped: path.dropped,
        duplicates: path.duplicates,
        deliveredRatio: path.deliveredRatio,
        series: updateSeries(`${status.env}\u0000${status.probe}\u0000${path.path}`, status, path.path),
      })),
      slos: options.slos?.(status.env, status.probe) ?? [],
      recentEvents: status.recentEvents.map((event) => ({
        id: event.id,
        publishedAt: event.publishedAt,
        latencyMs: { ...event.latencyMs },
      })),
    };
  }

  function build(): StatusSnapshot {
    const environments = new Map<string, EnvironmentStatus>();
    for (const name of options.environments ?? []) environments.set(name, { name, probes: [] });
    for (const runner of runners()) {
      const status = runner.status();
      const environment = environments.get(status.env) ?? { name: status.env, probes: [] };
      environments.set(status.env, environment);
      environment.probes.push(toView(status));
      // Every probe of an environment shares its mechanics; the first one's view stands for all.
      if (!environment.mechanics && status.mechanics)
        environment.mechanics = status.mechanics.map((m) => ({ ...m }));
    }
    const health = options.health?.snapshot();
    return {
      generatedAt: now().toISOString(),
      harness:
        health && health.samples > 0
          ? {
              overloaded: health.overloaded,
              eventLoopLagP99Ms: health.eventLoopLagP99Ms,
              cpuRatio: health.cpuRatio,
            }
          : null,
      environments: [...environments.values()],
    };
  }

  function refresh(): StatusSnapshot {
    const snapshot = build();
    // generatedAt changes every time; only a change in content is news for the live page.
    const fingerprint = JSON.stringify([snapshot.harness, snapshot.environments]);
    latest = snapshot;
    if (fingerprint !== latestFingerprint) {
      latestFingerprint = fingerprint;
      for (const listener of [...listeners]) listener(snapshot);
    }
    return snapshot;
  }

  // Always running, not only while a page listens: the chart series are accumulated from each
  // runner's short recent-event window, which would otherwise scroll past unseen.
  timer = setInterval(refresh, refreshMs);
  // A status source must not keep a finished run alive.
  timer.unref();

  return {
    snapshot: () => latest ?? refresh(),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    refresh,
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
      listeners.clear();
    },
  };
}
