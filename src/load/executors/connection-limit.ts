/**
 * `executor: connection-limit` — discovery, not a fixed load: add subscribers step by step until
 * the target refuses them or latency breaks the bound, then name the breaking point and its cause —
 * the plan's connection cap, the join rate limit, the database pool, or the harness itself
 * (subscriber or file-descriptor budget, CPU, event-loop lag). A harness-bound result says the
 * number is about this machine, not about Supabase.
 */
import { z } from 'zod';
import { duration } from '../../config/index.js';
import { CanaryError, percentileOfSorted } from '../../shared/index.js';
import { commonScenarioShape } from '../scenario-common.js';
import type { BreakCause, Executor, ExecutorContext, ExecutorResult } from './executor.js';

export const connectionLimitSchema = z
  .strictObject({
    ...commonScenarioShape,
    executor: z.literal('connection-limit'),
    /** First level of concurrent subscribers. */
    start: z.number().int().min(1).default(25),
    /** Subscribers added per level. */
    step: z.number().int().min(1).default(25),
    /** How long each level is held (joins settle, events are measured) before judging it. */
    hold: duration({ min: 100, max: 600_000 }).default(3000),
    /** Highest level tried; reaching it without a break reports "no break up to max". */
    max: z.number().int().min(1).max(100_000).default(1000),
    /** Waivers per second while holding a level, to measure latency at that level. */
    rate: z.number().min(0).max(100).default(1),
    /** A level breaks when its p95 latency exceeds this (default: the probe's lateAfter). */
    latencyP95: duration({ min: 1 }).optional(),
    /** A level breaks when fewer than this share of its subscribers reach SUBSCRIBED. */
    minConnectedRatio: z.number().gt(0).lte(1).default(0.99),
  })
  .superRefine((scenario, ctx) => {
    if (scenario.start > scenario.max) {
      ctx.addIssue({
        code: 'custom',
        path: ['start'],
        message: 'start is above max — lower start or raise max',
      });
    }
  });

export type ConnectionLimitScenario = z.output<typeof connectionLimitSchema>;

/** The levels tried, in order: start, start+step, …, up to max. */
export function connectionLevels(
  scenario: Pick<ConnectionLimitScenario, 'start' | 'step' | 'max'>,
): number[] {
  const levels: number[] = [];
  for (let level = scenario.start; level <= scenario.max; level += scenario.step) levels.push(level);
  if (levels[levels.length - 1] !== scenario.max) levels.push(scenario.max);
  return levels;
}

/** Upper bound of the run's length when no level breaks: every level ramped and held. */
export function connectionLimitDurationMs(scenario: ConnectionLimitScenario): number {
  const levels = connectionLevels(scenario);
  const rampMs = (scenario.max / scenario.spawnRate) * 1000;
  return levels.length * scenario.hold + rampMs;
}

export interface LevelObservation {
  level: number;
  /** Subscribers SUBSCRIBED at the end of the hold. */
  connected: number;
  /** Subscription errors by reason during this level. */
  newErrors: Record<string, number>;
  /** Raw error texts seen during this level (EMFILE, pool messages…). */
  errorMessages: readonly string[];
  /** p95 publish-to-receive latency of this level's deliveries, if any. */
  latencyP95Ms?: number;
  overloaded: boolean;
  /** What made the harness overloaded, if it was. */
  overloadDetail?: string;
}

export interface LevelVerdict {
  broken: boolean;
  cause: BreakCause;
  detail: string;
}

/** Judge one held level. Order matters: a harness that cannot keep up explains everything else. */
export function judgeLevel(
  observation: LevelObservation,
  limits: { latencyP95Ms: number; minConnectedRatio: number },
): LevelVerdict {
  const { level, connected, newErrors, errorMessages } = observation;
  const fdExhausted = errorMessages.find((message) => /EMFILE|ENFILE|too many open files/i.test(message));
  if (fdExhausted) {
    return {
      broken: true,
      cause: 'harness',
      detail: `file descriptors exhausted on the harness (${fdExhausted})`,
    };
  }
  if (observation.overloaded) {
    return {
      broken: true,
      cause: 'harness',
      detail: `harness overloaded at ${level} subscribers (${observation.overloadDetail ?? 'event-loop lag or CPU over threshold'})`,
    };
  }
  const refusedForCap = newErrors.connection_limit ?? 0;
  const refusedForRate = newErrors.rate_limit ?? 0;
  const poolMessage = errorMessages.find((message) =>
    /too many clients|remaining connection slots|pool|connection limit exceeded for non-superusers/i.test(
      message,
    ),
  );
  const enoughConnected = connected >= Math.floor(level * limits.minConnectedRatio);
  if (refusedForCap > 0) {
    return {
      broken: true,
      cause: 'plan_cap',
      detail: `target refused ${refusedForCap} connection(s) as connection_limit with ${connected} connected`,
    };
  }
  if (refusedForRate > 0) {
    return {
      broken: true,
      cause: 'join_rate',
      detail: `target refused ${refusedForRate} join(s) as rate_limit (joins per second) with ${connected} connected`,
    };
  }
  if (poolMessage) {
    return { broken: true, cause: 'db_pool', detail: `database pool exhausted: ${poolMessage}` };
  }
  if (!enoughConnected) {
    const reasons = Object.entries(newErrors)
      .map(([reason, count]) => `${reason}×${count}`)
      .join(', ');
    // Nothing refused outright: the target accepts joins more slowly than the level asks for.
    return {
      broken: true,
      cause: 'join_rate',
      detail: `only ${connected} of ${level} subscribers reached SUBSCRIBED, joins too slow${reasons ? ` (${reasons})` : ''}`,
    };
  }
  if (observation.latencyP95Ms !== undefined && observation.latencyP95Ms > limits.latencyP95Ms) {
    return {
      broken: true,
      cause: 'latency',
      detail: `p95 latency ${Math.round(observation.latencyP95Ms)} ms over ${limits.latencyP95Ms} ms at ${level} subscribers`,
    };
  }
  return { broken: false, cause: 'none', detail: `${connected} of ${level} connected` };
}

export const connectionLimit: Executor<ConnectionLimitScenario> = {
  name: 'connection-limit',
  plannedMs: connectionLimitDurationMs,
  check(scenario, probe) {
    if (probe.lateAfter >= probe.deadline) {
      throw new CanaryError('CONFIG_INVALID', `lateAfter must be below deadline for "${scenario.name}"`, {
        hint: 'lower lateAfter or raise deadline in the scenario',
      });
    }
  },
  run: runConnectionLimit,
};

/**
 * Level by level: ramp to the level at spawnRate, hold it for `hold` (longer while joins are
 * still settling and nothing was refused), then judge it; stop at the first broken level.
 */
async function runConnectionLimit(
  scenario: ConnectionLimitScenario,
  context: ExecutorContext,
): Promise<ExecutorResult> {
  const latencyLimitMs = scenario.latencyP95 ?? context.lateAfterMs;
  const settleMs = Math.max(3 * scenario.hold, 10_000);
  const breakingPoint = (level: number, subscribers: number, cause: BreakCause, detail: string) =>
    ({
      stopReason: 'breaking_point',
      breakingPoint: { subscribers, level, cause, detail, planLimit: context.planLimit },
    }) satisfies ExecutorResult;
  let previousErrors = await context.errorsByReason();
  let lastGoodConnected = 0;
  for (const level of connectionLevels(scenario)) {
    context.setLevel(level);
    const budget = scenario.harness.maxSubscribers;
    if (budget !== undefined && level > budget) {
      return breakingPoint(
        level,
        Math.max(lastGoodConnected, context.connectedCount()),
        'harness',
        `the harness's subscriber budget (harness.maxSubscribers = ${budget}) is below level ${level}: the target was not the limit`,
      );
    }
    const messagesBefore = context.errorMessages().length;
    context.takeLatencyWindow();
    const levelStart = context.elapsed();
    const publishedAtStart = context.published();
    // Ramp at spawnRate, then hold the level for `hold` before judging it.
    const holdUntil =
      levelStart + ((level - context.subscribersSet()) / scenario.spawnRate) * 1000 + scenario.hold;
    let overloadedTicks = 0;
    let ticks = 0;
    let windowsAtRampEnd: number | undefined;
    for (;;) {
      const stop = context.mustStop();
      if (stop) return { stopReason: stop };
      await context.steerSubscribers(level);
      context.publishDue(
        publishedAtStart + Math.floor(((context.elapsed() - levelStart) / 1000) * scenario.rate),
      );
      // Judge overload on health windows that lie wholly after the ramp: joining a step's
      // subscribers is a burst by design and says nothing about sustained saturation.
      if (context.subscribersSet() >= level) {
        const windows = context.harness.windows();
        windowsAtRampEnd ??= windows;
        if (windows >= windowsAtRampEnd + 2) {
          ticks += 1;
          if (context.harness.isOverloaded()) overloadedTicks += 1;
        }
      }
      context.sample();
      if (context.subscribersSet() >= level && context.elapsed() >= holdUntil) {
        // Joins still completing, nothing refused: give the level time to settle before judging
        // it, so a slow machine is not mistaken for a limit.
        const settled = context.connectedCount() >= Math.floor(level * scenario.minConnectedRatio);
        if (settled || context.elapsed() >= holdUntil + settleMs) break;
        const refusals = diffCounts(await context.errorsByReason(), previousErrors);
        if ((refusals.connection_limit ?? 0) > 0 || (refusals.rate_limit ?? 0) > 0) break;
      }
      await context.clock.sleep(context.tickMs, context.signal);
    }
    const errorsNow = await context.errorsByReason();
    const newErrors = diffCounts(errorsNow, previousErrors);
    previousErrors = errorsNow;
    const window = context.takeLatencyWindow().sort((a, b) => a - b);
    const connected = context.observeConnected();
    const observation: LevelObservation = {
      level,
      connected,
      newErrors,
      errorMessages: context.errorMessages().slice(messagesBefore),
      overloaded: scenario.harness.forceOverloaded || (ticks > 0 && overloadedTicks / ticks > 0.5),
      overloadDetail: scenario.harness.forceOverloaded
        ? 'harness.forceOverloaded is set in the scenario'
        : context.harness.detail(),
      ...(window.length ? { latencyP95Ms: percentileOfSorted(window, 0.95) as number } : {}),
    };
    const verdict = judgeLevel(observation, {
      latencyP95Ms: latencyLimitMs,
      minConnectedRatio: scenario.minConnectedRatio,
    });
    context.logger.info('connection-limit level', {
      level,
      connected,
      broken: verdict.broken,
      cause: verdict.cause,
    });
    if (verdict.broken) {
      return breakingPoint(level, Math.max(lastGoodConnected, connected), verdict.cause, verdict.detail);
    }
    lastGoodConnected = connected;
  }
  return {
    stopReason: 'completed',
    breakingPoint: {
      subscribers: lastGoodConnected,
      level: scenario.max,
      cause: 'none',
      detail: `no break up to ${scenario.max} subscribers`,
      planLimit: context.planLimit,
    },
  };
}

/** Per key, how much `now` grew over `before` (keys that did not grow are left out). */
export function diffCounts(
  now: Record<string, number>,
  before: Record<string, number>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(now)) {
    const delta = value - (before[key] ?? 0);
    if (delta > 0) out[key] = delta;
  }
  return out;
}
