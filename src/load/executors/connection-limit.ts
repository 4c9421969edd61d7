/**
 * `executor: connection-limit` — discovery, not a fixed load: add subscribers step by step until
 * the target refuses them or latency breaks the bound, then name the breaking point and its cause —
 * the plan's connection cap, the join rate limit, the database pool, or the harness itself
 * (subscriber or file-descriptor budget, CPU, event-loop lag). A harness-bound result says the
 * number is about this machine, not about Supabase.
 */
import { z } from 'zod';
import { duration } from '../../config/index.js';
import { commonScenarioShape } from '../scenario-common.js';

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

export const BREAK_CAUSES = [
  'plan_cap', // the target refused connections (connection_limit / HTTP 429 at upgrade)
  'join_rate', // the target refused joins per second (rate_limit)
  'db_pool', // the database ran out of connections
  'latency', // everything connected but delivery got too slow
  'harness', // this machine: subscriber/fd budget, CPU, event-loop lag
  'none', // reached max without a break
] as const;
export type BreakCause = (typeof BREAK_CAUSES)[number];

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
