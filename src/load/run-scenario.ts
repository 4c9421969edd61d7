/**
 * Runs one load scenario against one live environment: builds a ProbeRunner for it, follows the
 * executor tick by tick (subscribers, arrivals, or connection-limit levels), samples the timeline,
 * and always stops by itself — at the end of the plan, at the run bound (maxDuration / maxEvents),
 * at a breaking point, or when the caller's signal aborts (Ctrl-C: a partial result).
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
  percentileOfSorted,
  silentLogger,
  sleep,
  systemClock,
  type Clock,
  type Logger,
} from '../shared/index.js';
import {
  connectionLevels,
  judgeLevel,
  type BreakCause,
  type LevelObservation,
} from './executors/connection-limit.js';
import type { RampPlan } from './executors/ramp-plan.js';
import { rampingArrivalRatePlan } from './executors/ramping-arrival-rate.js';
import { rampingSubscribersPlan } from './executors/ramping-subscribers.js';
import { runBoundMs, plannedDurationMs, type Scenario } from './scenario-schema.js';
import { RunTimeline, type PathCounts, type TimelinePoint } from './run-timeline.js';
import { publishesEvents, shareOf, type ShardRole } from './shard.js';

export type StopReason =
  'completed' | 'interrupted' | 'max_duration' | 'max_events' | 'breaking_point' | 'failed';

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

export interface LoadBreakingPoint {
  subscribers: number;
  level: number;
  cause: BreakCause;
  detail: string;
  planLimit: number;
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
  latencySamplesMs: Record<string, number[]>;
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
  clock?: Clock;
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
  if (scenario.executor === 'connection-limit' && probe.lateAfter >= probe.deadline) {
    throw new CanaryError('CONFIG_INVALID', `lateAfter must be below deadline for "${scenario.name}"`, {
      hint: 'lower lateAfter or raise deadline in the scenario',
    });
  }
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

  let published = 0;
  let publishErrors = 0;
  let inFlight = 0;
  let subscribersSet = 0;
  let subscribersTarget = 0;
  let peakSubscribers = 0;
  let stopReason: StopReason = 'completed';
  let failure: LoadRunResult['failure'];
  let breakingPoint: LoadBreakingPoint | undefined;
  let currentLevel: number | undefined;
  const harnessStats = { samples: 0, overloadedSamples: 0, maxEventLoopLagMs: 0, maxCpuRatio: 0 };
  let nextSampleAt = 0;
  // Remote environments: a token bucket at the environment's loadRateCap (events/s), 1 s of burst.
  const rateCap = env.kind === 'remote' ? env.loadRateCap : undefined;
  let tokens = rateCap ?? 0;
  let lastRefill = clock.now();

  const publish = (): void => {
    if (options.shard && !publishesEvents(options.shard)) return;
    if (rateCap !== undefined) {
      if (tokens < 1) return;
      tokens -= 1;
    }
    published += 1;
    inFlight += 1;
    runner
      .publishOne()
      .catch(() => {
        publishErrors += 1;
      })
      .finally(() => {
        inFlight -= 1;
      });
  };

  /** Publish what the plan wants by now, bounded by maxEvents and in-flight publishes. */
  const publishDue = (due: number): void => {
    if (rateCap !== undefined) {
      const now = clock.now();
      tokens = Math.min(rateCap, tokens + ((now - lastRefill) / 1000) * rateCap);
      lastRefill = now;
    }
    const target = Math.min(due, scenario.maxEvents);
    while (published < target && inFlight < MAX_IN_FLIGHT_PUBLISHES) {
      const before = published;
      publish();
      if (published === before) break;
    }
  };

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
      published,
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
      published,
      ...totals,
      ...(currentLevel !== undefined ? { level: currentLevel } : {}),
    });
  };

  /** Why the loop must stop now, if it must. */
  const mustStop = (): StopReason | undefined => {
    if (options.signal?.aborted) return 'interrupted';
    if (elapsed() >= boundMs) return 'max_duration';
    if (published >= scenario.maxEvents) return 'max_events';
    return undefined;
  };

  let spawnAllowance = 0;
  let lastTick = clock.now();
  /** Move the subscriber count toward `wanted`, at most spawnRate new ones per second. */
  const steerSubscribers = async (planned: number): Promise<void> => {
    const wanted = options.shard ? shareOf(planned, options.shard) : planned;
    const spawnRate = scenario.spawnRate / (options.shard?.count ?? 1);
    subscribersTarget = wanted;
    metrics.loadTargetSubscribers.set(labels, wanted);
    const now = clock.now();
    spawnAllowance = Math.min(spawnRate, spawnAllowance + ((now - lastTick) / 1000) * spawnRate);
    lastTick = now;
    let next = wanted;
    if (wanted > subscribersSet) {
      const step = Math.floor(spawnAllowance);
      next = Math.min(wanted, subscribersSet + step);
      spawnAllowance -= next - subscribersSet;
    }
    if (next !== subscribersSet) {
      subscribersSet = next;
      await runner.setSubscribers(next, scenario.clients);
    }
  };

  const overBudget = (wanted: number): boolean =>
    scenario.harness.maxSubscribers !== undefined && wanted > scenario.harness.maxSubscribers;

  health.start();
  try {
    await runner.start();
    if (scenario.executor === 'connection-limit') {
      const levels = connectionLevels(scenario);
      const latencyLimitMs = scenario.latencyP95 ?? probe.lateAfter;
      const errorsBefore = await errorsByReason(metrics, env.name, probe.name);
      let previousErrors = errorsBefore;
      let lastGoodConnected = 0;
      const settleMs = Math.max(3 * scenario.hold, 10_000);
      for (const level of levels) {
        currentLevel = level;
        if (overBudget(level)) {
          breakingPoint = {
            subscribers: Math.max(lastGoodConnected, runner.connectedCount()),
            level,
            cause: 'harness',
            detail: `the harness's subscriber budget (harness.maxSubscribers = ${scenario.harness.maxSubscribers}) is below level ${level}: the target was not the limit`,
            planLimit: env.connectionLimit,
          };
          stopReason = 'breaking_point';
          break;
        }
        const messagesBefore = errorMessages.length;
        timeline.takeWindow();
        const levelStart = elapsed();
        const publishedAtStart = published;
        // Ramp at spawnRate, then hold the level for `hold` before judging it.
        const holdUntil = levelStart + ((level - subscribersSet) / scenario.spawnRate) * 1000 + scenario.hold;
        let overloadedTicks = 0;
        let ticks = 0;
        let windowsAtRampEnd: number | undefined;
        let stop: StopReason | undefined;
        for (;;) {
          stop = mustStop();
          if (stop) break;
          await steerSubscribers(level);
          publishDue(publishedAtStart + Math.floor(((elapsed() - levelStart) / 1000) * scenario.rate));
          // Judge overload on health windows that lie wholly after the ramp: joining a step's
          // subscribers is a burst by design and says nothing about sustained saturation.
          if (subscribersSet >= level) {
            const windows = health.snapshot().samples;
            windowsAtRampEnd ??= windows;
            if (windows >= windowsAtRampEnd + 2) {
              ticks += 1;
              if (isOverloaded()) overloadedTicks += 1;
            }
          }
          sampleIfDue();
          progress('running');
          if (subscribersSet >= level && elapsed() >= holdUntil) {
            // Joins still completing, nothing refused: give the level time to settle before judging
            // it, so a slow machine is not mistaken for a limit.
            const settled = runner.connectedCount() >= Math.floor(level * scenario.minConnectedRatio);
            if (settled || elapsed() >= holdUntil + settleMs) break;
            const refusals = diffCounts(await errorsByReason(metrics, env.name, probe.name), previousErrors);
            if ((refusals.connection_limit ?? 0) > 0 || (refusals.rate_limit ?? 0) > 0) break;
          }
          await sleep(tickMs, options.signal);
        }
        if (stop) {
          stopReason = stop;
          break;
        }
        const errorsNow = await errorsByReason(metrics, env.name, probe.name);
        const newErrors = diffCounts(errorsNow, previousErrors);
        previousErrors = errorsNow;
        const window = timeline.takeWindow().sort((a, b) => a - b);
        const connected = runner.connectedCount();
        peakSubscribers = Math.max(peakSubscribers, connected);
        const snapshot = health.snapshot();
        const observation: LevelObservation = {
          level,
          connected,
          newErrors,
          errorMessages: errorMessages.slice(messagesBefore),
          overloaded: scenario.harness.forceOverloaded || (ticks > 0 && overloadedTicks / ticks > 0.5),
          overloadDetail: scenario.harness.forceOverloaded
            ? 'harness.forceOverloaded is set in the scenario'
            : `event-loop lag p99 ${snapshot.eventLoopLagP99Ms.toFixed(0)} ms, CPU ${(snapshot.cpuRatio * 100).toFixed(0)}% of a core`,
          ...(window.length ? { latencyP95Ms: percentileOfSorted(window, 0.95) as number } : {}),
        };
        const verdict = judgeLevel(observation, {
          latencyP95Ms: latencyLimitMs,
          minConnectedRatio: scenario.minConnectedRatio,
        });
        logger.info('connection-limit level', {
          level,
          connected,
          broken: verdict.broken,
          cause: verdict.cause,
        });
        if (verdict.broken) {
          breakingPoint = {
            subscribers: Math.max(lastGoodConnected, connected),
            level,
            cause: verdict.cause,
            detail: verdict.detail,
            planLimit: env.connectionLimit,
          };
          stopReason = 'breaking_point';
          break;
        }
        lastGoodConnected = connected;
      }
      if (!breakingPoint && stopReason === 'completed') {
        breakingPoint = {
          subscribers: lastGoodConnected,
          level: scenario.max,
          cause: 'none',
          detail: `no break up to ${scenario.max} subscribers`,
          planLimit: env.connectionLimit,
        };
      }
    } else {
      const plan: RampPlan =
        scenario.executor === 'ramping-subscribers'
          ? rampingSubscribersPlan(scenario)
          : rampingArrivalRatePlan(scenario);
      for (;;) {
        const stop = mustStop();
        if (stop) {
          stopReason = stop;
          break;
        }
        const t = elapsed();
        if (t >= plan.durationMs) break;
        const wanted = plan.subscribersAt(t);
        if (overBudget(wanted)) {
          throw new CanaryError(
            'HARNESS_OVERLOADED',
            `scenario "${scenario.name}" wants ${wanted} subscribers, over this harness's budget of ${scenario.harness.maxSubscribers}`,
            { hint: 'lower the stages, raise harness.maxSubscribers, or shard the load over more machines' },
          );
        }
        await steerSubscribers(wanted);
        metrics.loadArrivalRate.set(labels, plan.rateAt(t));
        publishDue(plan.arrivalsBy(t));
        sampleIfDue();
        progress('running');
        await sleep(tickMs, options.signal);
      }
    }
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
  const drainTicker = setInterval(
    () => {
      sampleIfDue();
      progress('draining');
    },
    Math.min(1000, scenario.sampleEvery),
  );
  drainTicker.unref();
  try {
    await runner.stop();
  } finally {
    clearInterval(drainTicker);
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
    published,
    publishErrors,
    peakSubscribers,
    paths: timeline.counts,
    timeline: timeline.points,
    latencySamplesMs: timeline.latencySamples,
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

function diffCounts(now: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(now)) {
    const delta = value - (before[key] ?? 0);
    if (delta > 0) out[key] = delta;
  }
  return out;
}
