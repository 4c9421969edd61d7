/**
 * Gathers the evidence for `canary diff`: either by running the same probe against both
 * environments at the same time (one registry, one clock, exact per-delivery outcomes), or by
 * reading both environments from Prometheus over a time range.
 */
import { createMetrics } from '../../metrics/index.js';
import type { ProbeSpec } from '../../config/index.js';
import { ProbeRunner, type ResolvedEnvironment } from '../../probe/index.js';
import { prometheusSource, registrySource } from '../../slo/index.js';
import { silentLogger, sleep, systemClock, type Clock, type Logger } from '../../shared/index.js';
import { collectEvidence, type OutcomeSample } from './env-evidence.js';
import { DEFAULT_NOISE_BAND, rankCauses, type NoiseBand } from './rank-causes.js';
import type { DiffReport } from './render-diff.js';

export interface ProbeDiffOptions {
  baseline: ResolvedEnvironment;
  suspect: ResolvedEnvironment;
  /** The one probe both environments run. */
  probe: ProbeSpec;
  /** How long to publish; outcomes are then drained up to the probe's deadline. */
  durationMs: number;
  noiseBand?: NoiseBand;
  clock?: Clock;
  logger?: Logger;
  /** Stops publishing early (Ctrl-C); outcomes are still drained. */
  signal?: AbortSignal;
  /** Record into these instruments (e.g. ones an exporter serves, so Prometheus sees the run too). */
  instruments?: ReturnType<typeof createMetrics>;
}

export async function diffByProbing(options: ProbeDiffOptions): Promise<DiffReport> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const { registry, metrics } = options.instruments ?? createMetrics();
  const outcomes: OutcomeSample[] = [];
  const runners = [options.baseline, options.suspect].map(
    (env) =>
      new ProbeRunner({ env, probe: options.probe, metrics, clock, logger: logger.child({ env: env.name }) }),
  );
  for (const runner of runners) {
    runner.onOutcome((outcome) => {
      outcomes.push({
        env: outcome.env,
        path: outcome.path,
        eventId: outcome.eventId,
        subscriberId: outcome.subscriberId,
        outcome: outcome.outcome,
        ...(outcome.latencyMs === undefined ? {} : { latencyMs: outcome.latencyMs }),
      });
    });
  }
  const startedAt = new Date();
  try {
    // An environment whose subscribers never connect (e.g. refused joins) is evidence, not an error.
    await Promise.all(runners.map((runner) => runner.start()));
    await Promise.all(
      runners.map((runner) => runner.waitUntilSubscribed(Math.min(15_000, options.durationMs))),
    );
    const end = clock.now() + options.durationMs;
    while (clock.now() < end && !options.signal?.aborted) {
      await Promise.all(
        runners.flatMap((runner) =>
          Array.from({ length: options.probe.eventsPerRound }, () =>
            runner
              .publishOne()
              .catch((error: unknown) => logger.warn('publish failed', { error: String(error) })),
          ),
        ),
      );
      await sleep(Math.min(options.probe.interval, Math.max(0, end - clock.now())), options.signal);
    }
    await Promise.all(runners.map((runner) => runner.drain()));
  } finally {
    await Promise.all(runners.map((runner) => runner.stop()));
  }
  const source = registrySource(registry, 'probe run');
  const baseline = await collectEvidence(source, options.baseline.name, outcomes);
  const suspect = await collectEvidence(source, options.suspect.name, outcomes);
  const band = { ...(options.noiseBand ?? DEFAULT_NOISE_BAND), minPollingMs: options.probe.pollInterval };
  const subscribers = `${options.probe.subscribers.lean} lean + ${options.probe.subscribers['supabase-js']} supabase-js`;
  return {
    version: 'canary.diff/v1',
    generatedAt: new Date().toISOString(),
    method: `probe "${options.probe.name}" against both at once for ${Math.round((Date.now() - startedAt.getTime()) / 1000)} s, ${subscribers} subscribers each, one event every ${options.probe.interval} ms`,
    baseline,
    suspect,
    ranking: rankCauses(baseline, suspect, band),
  };
}

export interface PrometheusDiffOptions {
  url: string;
  baseline: string;
  suspect: string;
  /** Look back this far; omitted = the counters' values as they stand (since each process started). */
  rangeSeconds?: number;
  end?: Date;
  noiseBand?: NoiseBand;
}

export async function diffFromPrometheus(options: PrometheusDiffOptions): Promise<DiffReport> {
  const source = prometheusSource({
    url: options.url,
    ...(options.rangeSeconds === undefined ? {} : { rangeSeconds: options.rangeSeconds }),
    ...(options.end ? { end: options.end } : {}),
  });
  const baseline = await collectEvidence(source, options.baseline);
  const suspect = await collectEvidence(source, options.suspect);
  return {
    version: 'canary.diff/v1',
    generatedAt: new Date().toISOString(),
    method: `Prometheus ${options.url}, ${options.rangeSeconds === undefined ? 'totals so far' : `last ${options.rangeSeconds} s`} (latency percentiles interpolated from histogram buckets)`,
    baseline,
    suspect,
    ranking: rankCauses(baseline, suspect, options.noiseBand ?? DEFAULT_NOISE_BAND),
  };
}
