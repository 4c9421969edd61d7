/**
 * What an executor is: a load model in one file (k6's executors are the model). It plans — pure
 * functions of the scenario and elapsed time — and owns its loop, calling back into the runner
 * (run-scenario.ts) through an ExecutorContext for everything that is not the plan: steering
 * subscribers at the spawn rate, publishing within the rate cap and in-flight bound, sampling the
 * timeline, reporting progress and reading the run's health. Time comes from the context's
 * TimerClock, so a unit test runs an executor on a manual clock with a context of its own.
 *
 * Adding an executor: a file here exporting its zod schema and an `Executor`, a line in
 * ./index.ts and in the scenario schema's union, and a test beside it.
 */
import type { Logger, TimerClock } from '../../shared/index.js';

export type StopReason =
  'completed' | 'interrupted' | 'max_duration' | 'max_events' | 'breaking_point' | 'failed';

export const BREAK_CAUSES = [
  'plan_cap', // the target refused connections (connection_limit / HTTP 429 at upgrade)
  'join_rate', // the target refused joins per second (rate_limit)
  'db_pool', // the database ran out of connections
  'latency', // everything connected but delivery got too slow
  'harness', // this machine: subscriber/fd budget, CPU, event-loop lag
  'none', // reached max without a break
] as const;
export type BreakCause = (typeof BREAK_CAUSES)[number];

export interface LoadBreakingPoint {
  subscribers: number;
  level: number;
  cause: BreakCause;
  detail: string;
  planLimit: number;
}

/** What the runner offers an executor while it runs. */
export interface ExecutorContext {
  readonly clock: TimerClock;
  /** The control loop's period. */
  readonly tickMs: number;
  readonly signal?: AbortSignal;
  readonly logger: Logger;
  /** The probe's lateAfter, the default latency bound. */
  readonly lateAfterMs: number;
  /** The environment's configured connection limit (reported next to a breaking point). */
  readonly planLimit: number;
  /** Milliseconds since the run started. */
  elapsed(): number;
  /** Why the loop must stop now (interrupted, run bound, maxEvents), if it must. */
  mustStop(): StopReason | undefined;
  /** Move the subscriber count toward `planned`, at most spawnRate new ones per second (sharded). */
  steerSubscribers(planned: number): Promise<void>;
  /** Subscribers asked for so far (after the spawn-rate limit). */
  subscribersSet(): number;
  /** Subscribers SUBSCRIBED now. */
  connectedCount(): number;
  /** connectedCount(), also counted toward the run's peak. */
  observeConnected(): number;
  /** Publish until `due` events in total went out, within maxEvents, the rate cap and in-flight bound. */
  publishDue(due: number): void;
  published(): number;
  /** The arrival-rate gauge (events/s wanted now). */
  setArrivalRate(rate: number): void;
  /** The connection-limit level being held, for progress. */
  setLevel(level: number): void;
  /** Sample the timeline if a sample is due, and report progress. */
  sample(): void;
  /** The harness's own health: whether it is saturated. */
  readonly harness: {
    /** Health sampling windows completed so far. */
    windows(): number;
    isOverloaded(): boolean;
    /** Event-loop lag and CPU now, for people. */
    detail(): string;
  };
  /** Subscription errors by reason since the run started (cumulative). */
  errorsByReason(): Promise<Record<string, number>>;
  /** Subscription error texts seen so far (EMFILE, pool exhaustion…), oldest first. */
  errorMessages(): readonly string[];
  /** Trusted latencies recorded since the previous call, in ms. */
  takeLatencyWindow(): number[];
}

export interface ExecutorResult {
  stopReason: StopReason;
  breakingPoint?: LoadBreakingPoint;
}

export interface Executor<S extends { executor: string }> {
  readonly name: S['executor'];
  /** The executor's own length, before drain (progress bar, run bound). */
  plannedMs(scenario: S): number;
  /** Checks that need the probe as well as the scenario; throws CanaryError CONFIG_INVALID. */
  check?(scenario: S, probe: { lateAfter: number; deadline: number }): void;
  /** Runs the load until the plan ends or the context says stop. */
  run(scenario: S, context: ExecutorContext): Promise<ExecutorResult>;
}
