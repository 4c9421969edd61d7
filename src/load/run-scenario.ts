/**
 * Runs one load scenario against one live environment: builds a ProbeRunner for it and hands the
 * scenario's executor (executors/) a context to drive it with, keeping here what every executor
 * shares — the spawn-rate and publish-rate limits, timeline sampling, progress, draining and the
 * result. A run always stops by itself — at the end of the plan, at the run bound (maxDuration /
 * maxEvents), at a breaking point, or when the caller's signal aborts (Ctrl-C: a partial result).
 * Failures of the run itself (target unreachable, harness overloaded) come back in `failure`
 * with what was measured so far, so the report can say which.
 */
import type { ProbeSpec } from '../config/index.js';
import {
  createHarnessHealth,
  type CanaryMetrics,
  type HarnessHealth,
  type OutcomeCounts,
} from '../metrics/index.js';
import { ProbeRunner, type ResolvedEnvironment } from '../probe/index.js';
import {
  createLeanSubscriber,
  createSupabaseJsSubscriber,
  type SubscriberFactory,
} from '../realtime/index.js';
import {
  CanaryError,
  isCanaryError,
  silentLogger,
  systemClock,
  type Logger,
  type TimerClock,
} from '../shared/index.js';
import {
  executorFor,
  type ExecutorContext,
  type LoadBreakingPoint,
  type StopReason,
} from './executors/index.js';
import { runBoundMs, plannedDurationMs, type Scenario } from './scenario-schema.js';
import { RunTimeline, type EncodedPathLatency, type PathCounts, type TimelinePoint } from './run-timeline.js';
import { PublishPacer, SpawnLimiter } from './load-limits.js';
import { publishesEvents, shareOf, type ShardRole } from './shard.js';

export interface LoadProgress extends OutcomeCounts {
  elapsedMs: number;
  plannedMs: number;
  phase: 'running' | 'draining';
  subscribersTarget: number;
  subscribersConnected: number;
  published: number;
  /** connection-limit: the level being held. */
  level?: number;
}

export interface LoadRunResult {
  scenario: Scenario;
  env: string;
  envKind: 'local' | 'remote';
  startedAt: string;
  endedAt: string;
  durationSeconds: number;
  partial: boolean;
  stopReason: StopReason;
  published: number;
  publishErrors: number;
  peakSubscribers: number;
  paths: Record<string, PathCounts>;
  timeline: TimelinePoint[];
  /** HDR latency histograms per path and subscriber kind; merged exactly across workers and shards. */
  latencyHistograms: Record<string, EncodedPathLatency>;
  breakingPoint?: LoadBreakingPoint;
  failure?: { code: string; message: string; hint?: string };
  /** Set when the environment's loadRateCap lowered the scenario's publish rate. */
  rateCap?: number;
  harness: { samples: number; overloadedSamples: number; maxEventLoopLagMs: number; maxCpuRatio: number };
}

export interface RunScenarioOptions {
  scenario: Scenario;
  env: ResolvedEnvironment;
  /** The probe whose publisher settings, mechanics and deadlines the load uses. */
  probe: ProbeSpec;
  metrics: CanaryMetrics;
  /** Load against a remote environment only with this (`--allow-remote`). */
  allowRemote?: boolean;
  signal?: AbortSignal;
  clock?: TimerClock;
  logger?: Logger;
  onProgress?: (progress: LoadProgress) => void;
  /** Tick of the control loop. */
  tickMs?: number;
  /** One shard of a split load (shard.ts): its share of subscribers; only shard 0 publishes. */
  shard?: ShardRole;
}

const MAX_IN_FLIGHT_PUBLISHES = 64;

/** The probe the load runs: the configured one with the scenario's overrides and no probe-driven publishing. */
export function loadProbeSpec(probe: ProbeSpec, scenario: Scenario): ProbeSpec {
  return {
    ...probe,
    name: scenario.name,
    // The executor decides how many subscribers exist and when events are published.
    subscribers: { lean: 0, 'supabase-js': 0 },
    readinessCheck: false,
    paths: scenario.paths ?? probe.paths,
    payloadBytes: scenario.payloadBytes ?? probe.payloadBytes,
    lateAfter: scenario.lateAfter ?? probe.lateAfter,
    deadline: scenario.deadline ?? probe.deadline,
  };
}

export async function runScenario(options: RunScenarioOptions): Promise<LoadRunResult> {
  const { scenario, env, metrics } = options;
  if (env.kind === 'remote' && !options.allowRemote) {
    throw new CanaryError(
      'UNSAFE_LOAD',
      `scenario "${scenario.name}" would put load on the remote environment "${env.name}"`,
      {
        hint: `add --allow-remote if this is intended; the environment's loadRateCap (${env.loadRateCap}/s) still applies`,
      },
    );
  }
  const clock = options.clock ?? systemClock;
  const logger = (options.logger ?? silentLogger).child({ scenario: scenario.name, env: env.name });
  const probe = loadProbeSpec(options.probe, scenario);
  const executor = executorFor(scenario);
  executor.check?.(scenario, probe);
  const tickMs = options.tickMs ?? 100;
  const boundMs = runBoundMs(scenario, probe.deadline);
  const plannedMs = plannedDurationMs(scenario);
  const labels = { env: env.name, scenario: scenario.name };

  const health: HarnessHealth = createHarnessHealth({
    metrics,
    thresholds: {
      ...(scenario.harness.eventLoopLagP99Ms !== undefined
        ? { eventLoopLagP99Ms: scenario.harness.eventLoopLagP99Ms }
        : {}),
      ...(scenario.harness.cpuRatio !== undefined ? { cpuRatio: scenario.harness.cpuRatio } : {}),
    },
  });
  const isOverloaded = (): boolean => scenario.harness.forceOverloaded || health.isOverloaded();

  // Subscriber error texts (EMFILE, pool exhaustion…) are not in the metrics; keep the recent ones.
  const errorMessages: string[] = [];
  const capture =
    (base: SubscriberFactory): SubscriberFactory =>
    (config) =>
      base({
        ...config,
        handlers: {
          onDelivery: (delivery) => config.handlers.onDelivery(delivery),
          onStatus: (change) => {
            if (change.message && errorMessages.length < 1000) errorMessages.push(change.message);
            config.handlers.onStatus(change);
          },
        },
      });
  const runner = new ProbeRunner({
    env,
    probe,
    metrics,
    clock,
    logger,
    isOverloaded,
    ...(options.shard?.publisher ? { publisher: options.shard.publisher } : {}),
    subscriberFactories: {
      lean: capture((config) => createLeanSubscriber(config)),
      'supabase-js': capture((config) => createSupabaseJsSubscriber(config)),
    },
  });

  const timeline = new RunTimeline();
  const offOutcome = runner.onOutcome((outcome) => timeline.record(outcome));
  const offFeed = options.shard?.follow?.(runner.ledger);
  const startedWall = clock.wallNow();
  const start = clock.now();
  const elapsed = (): number => clock.now() - start;

  let peakSubscribers = 0;
  let subscribersTarget = 0;
  let stopReason: StopReason = 'completed';
  let failure: LoadRunResult['failure'];
  let breakingPoint: LoadBreakingPoint | undefined;
  let currentLevel: number | undefined;
  const harnessStats = { samples: 0, overloadedSamples: 0, maxEventLoopLagMs: 0, maxCpuRatio: 0 };
  let nextSampleAt = 0;
  // Remote environments: a token bucket at the environment's loadRateCap (events/s), 1 s of burst.
  const rateCap = env.kind === 'remote' ? env.loadRateCap : undefined;
  const publishing = !options.shard || publishesEvents(options.shard);
  const pacer = new PublishPacer({
    maxEvents: publishing ? scenario.maxEvents : 0,
    maxInFlight: MAX_IN_FLIGHT_PUBLISHES,
    rateCap,
    now: clock.now(),
    publishOne: () => runner.publishOne(),
  });
  const spawn = new SpawnLimiter(scenario.spawnRate / (options.shard?.count ?? 1), clock.now());

  const sampleIfDue = (force = false): void => {
    const t = elapsed();
    if (!force && t < nextSampleAt) return;
    nextSampleAt = t + scenario.sampleEvery;
    const snapshot = health.snapshot();
    const connected = runner.connectedCount();
    peakSubscribers = Math.max(peakSubscribers, connected);
    const overloaded = isOverloaded();
    harnessStats.samples += 1;
    if (overloaded) harnessStats.overloadedSamples += 1;
    harnessStats.maxEventLoopLagMs = Math.max(harnessStats.maxEventLoopLagMs, snapshot.eventLoopLagP99Ms);
    harnessStats.maxCpuRatio = Math.max(harnessStats.maxCpuRatio, snapshot.cpuRatio);
    timeline.sample({
      t: Math.round(t) / 1000,
      subscribersTarget,
      subscribersConnected: connected,
      published: pacer.published,
      overloaded,
      eventLoopLagMs: snapshot.eventLoopLagP99Ms,
      cpuRatio: snapshot.cpuRatio,
    });
  };

  const progress = (phase: LoadProgress['phase']): void => {
    const totals = timeline.totals();
    options.onProgress?.({
      elapsedMs: elapsed(),
      plannedMs,
      phase,
      subscribersTarget,
      subscribersConnected: runner.connectedCount(),
      published: pacer.published,
      ...totals,
      ...(currentLevel !== undefined ? { level: currentLevel } : {}),
    });
  };

  /** Why the loop must stop now, if it must. */
  const mustStop = (): StopReason | undefined => {
    if (options.signal?.aborted) return 'interrupted';
    if (elapsed() >= boundMs) return 'max_duration';
    if (pacer.published >= scenario.maxEvents) return 'max_events';
    return undefined;
  };

  /** Move the subscriber count toward `planned` (this shard's share), at the spawn rate. */
  const steerSubscribers = async (planned: number): Promise<void> => {
    const wanted = options.shard ? shareOf(planned, options.shard) : planned;
    subscribersTarget = wanted;
    metrics.loadTargetSubscribers.set(labels, wanted);
    const before = spawn.current;
    const next = spawn.next(wanted, clock.now());
    if (next !== before) await runner.setSubscribers(next, scenario.clients);
  };

  const context: ExecutorContext = {
    clock,
    tickMs,
    ...(options.signal ? { signal: options.signal } : {}),
    logger,
    lateAfterMs: probe.lateAfter,
    planLimit: env.connectionLimit,
    elapsed,
    mustStop,
    steerSubscribers,
    subscribersSet: () => spawn.current,
    connectedCount: () => runner.connectedCount(),
    observeConnected: () => {
      const connected = runner.connectedCount();
      peakSubscribers = Math.max(peakSubscribers, connected);
      return connected;
    },
    publishDue: (due) => pacer.publishDue(due, clock.now()),
    published: () => pacer.published,
    setArrivalRate: (rate) => metrics.loadArrivalRate.set(labels, rate),
    setLevel: (level) => {
      currentLevel = level;
    },
    sample: () => {
      sampleIfDue();
      progress('running');
    },
    harness: {
      windows: () => health.snapshot().samples,
      isOverloaded,
      detail: () => {
        const snapshot = health.snapshot();
        return `event-loop lag p99 ${snapshot.eventLoopLagP99Ms.toFixed(0)} ms, CPU ${(snapshot.cpuRatio * 100).toFixed(0)}% of a core`;
      },
    },
    errorsByReason: () => errorsByReason(metrics, env.name, probe.name),
    errorMessages: () => errorMessages,
    takeLatencyWindow: () => timeline.takeWindow(),
  };

  health.start();
  try {
    await runner.start();
    const outcome = await executor.run(scenario, context);
    stopReason = outcome.stopReason;
    breakingPoint = outcome.breakingPoint;
  } catch (error) {
    stopReason = 'failed';
    failure = isCanaryError(error)
      ? { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) }
      : { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
  }

  // A following shard keeps listening until the publishing shard has published its last event.
  await options.shard?.beforeDrain?.();
  // Drain: every published event gets its outcome (bounded by the deadline), then disconnect.
  progress('draining');
  const drainEvery = Math.min(1000, scenario.sampleEvery);
  let drainTicker = clock.setTimer(function drainTick() {
    sampleIfDue();
    progress('draining');
    drainTicker = clock.setTimer(drainTick, drainEvery);
  }, drainEvery);
  try {
    await runner.stop();
  } finally {
    clock.clearTimer(drainTicker);
    offOutcome();
    offFeed?.();
    health.stop();
  }
  sampleIfDue(true);
  metrics.loadTargetSubscribers.set(labels, 0);
  metrics.loadArrivalRate.set(labels, 0);

  if (!failure) failure = judgeRunHealth();

  return {
    scenario,
    env: env.name,
    envKind: env.kind,
    startedAt: new Date(startedWall).toISOString(),
    endedAt: new Date(clock.wallNow()).toISOString(),
    durationSeconds: elapsed() / 1000,
    partial: stopReason === 'interrupted' || stopReason === 'max_duration' || stopReason === 'max_events',
    stopReason,
    published: pacer.published,
    publishErrors: pacer.errors,
    peakSubscribers,
    paths: timeline.counts,
    timeline: timeline.points,
    latencyHistograms: timeline.encodedLatency(),
    ...(breakingPoint ? { breakingPoint } : {}),
    ...(failure ? { failure } : {}),
    ...(rateCap !== undefined ? { rateCap } : {}),
    harness: harnessStats,
  };

  /** A run whose harness was saturated, or that never reached the target, has no trustworthy verdict. */
  function judgeRunHealth(): LoadRunResult['failure'] {
    if (breakingPoint?.cause === 'harness') {
      return {
        code: 'HARNESS_OVERLOADED',
        message: `the breaking point (${breakingPoint.subscribers} subscribers) is this harness's, not the target's: ${breakingPoint.detail}`,
        hint: 'run from a bigger machine or shard the load; raise harness limits in the scenario if they are too strict',
      };
    }
    if (scenario.executor !== 'connection-limit') {
      const { samples, overloadedSamples } = harnessStats;
      if (
        scenario.harness.forceOverloaded ||
        (overloadedSamples >= 3 && overloadedSamples / Math.max(1, samples) > 0.5)
      ) {
        return {
          code: 'HARNESS_OVERLOADED',
          message: `the harness was overloaded in ${overloadedSamples} of ${samples} samples (max event-loop lag ${harnessStats.maxEventLoopLagMs.toFixed(0)} ms, max CPU ${(harnessStats.maxCpuRatio * 100).toFixed(0)}% of a core)`,
          hint: 'lower the load, give the harness more CPU, or shard the scenario; its latency numbers are not trustworthy',
        };
      }
    }
    const { published, errors: publishErrors } = pacer;
    if (published > 0 && publishErrors === published) {
      return {
        code: 'TARGET_UNREACHABLE',
        message: `every one of ${published} publishes to "${env.name}" failed`,
        hint: 'check the environment URL, keys and waiver endpoint (canary run --once shows the first error)',
      };
    }
    const wantedSubscribers =
      probe.paths.some((path) => path !== 'polling') && timeline.points.some((p) => p.subscribersTarget > 0);
    if (wantedSubscribers && peakSubscribers === 0) {
      return {
        code: 'TARGET_UNREACHABLE',
        message: `no subscriber reached SUBSCRIBED on "${env.name}"${errorMessages[0] ? ` (first error: ${errorMessages[0]})` : ''}`,
        hint: 'check the Realtime URL and anon key, and that the table is in the supabase_realtime publication',
      };
    }
    return undefined;
  }
}

async function errorsByReason(
  metrics: CanaryMetrics,
  env: string,
  probe: string,
): Promise<Record<string, number>> {
  const snapshot = await metrics.subscriptionErrors.get();
  const out: Record<string, number> = {};
  for (const value of snapshot.values) {
    if (value.labels.env !== env || value.labels.probe !== probe) continue;
    const reason = String(value.labels.reason ?? 'other');
    out[reason] = (out[reason] ?? 0) + value.value;
  }
  return out;
}
