/**
 * A run without a target: an ExecutorContext on a manual clock, where the subscribers asked for
 * connect as `connected` says, every publish succeeds at once with the latency `latencyMs` says,
 * and what the executor did is recorded. The spawn and publish limits are the runner's own
 * (load-limits.ts). Executors' unit tests drive them with it: minutes of a plan in milliseconds,
 * the same every time.
 */
import { createManualClock, silentLogger, type ManualClock } from '../../shared/index.js';
import { PublishPacer, SpawnLimiter } from '../load-limits.js';
import type { Executor, ExecutorContext, ExecutorResult, StopReason } from './executor.js';

export interface SimulatedRunOptions {
  spawnRate: number;
  maxEvents?: number;
  /** The run bound (maxDuration): mustStop() says max_duration from here on. */
  boundMs?: number;
  tickMs?: number;
  lateAfterMs?: number;
  planLimit?: number;
  signal?: AbortSignal;
  /** Subscribers SUBSCRIBED out of those asked for (default: all of them). */
  connected?: (asked: number) => number;
  /** Cumulative subscription errors by reason, given the subscribers asked for (default: none). */
  errors?: (asked: number) => Record<string, number>;
  /** Latency of an event published while `asked` subscribers were asked for (default 20 ms). */
  latencyMs?: (asked: number) => number;
  overloaded?: boolean;
}

export interface SimulatedRun {
  readonly clock: ManualClock;
  readonly context: ExecutorContext;
  /** Each change of the subscriber count asked for: when (ms into the run) and to what. */
  readonly steps: { t: number; subscribers: number }[];
  /** Arrival rates the executor set, in order. */
  readonly arrivalRates: number[];
  /** Levels the executor announced, in order. */
  readonly levels: number[];
  readonly published: () => number;
  /** Runs `executor` to its end on the manual clock, a tick at a time, for at most `limitMs`. */
  run<S extends { executor: string }>(
    executor: Executor<S>,
    scenario: S,
    limitMs?: number,
  ): Promise<ExecutorResult>;
}

export function simulatedRun(options: SimulatedRunOptions): SimulatedRun {
  const clock = createManualClock();
  const tickMs = options.tickMs ?? 100;
  const spawn = new SpawnLimiter(options.spawnRate, clock.now());
  let window: number[] = [];
  const pacer = new PublishPacer({
    maxEvents: options.maxEvents ?? Number.POSITIVE_INFINITY,
    maxInFlight: 64,
    rateCap: undefined,
    now: clock.now(),
    publishOne: async () => {
      window.push((options.latencyMs ?? (() => 20))(spawn.current));
    },
  });
  const steps: { t: number; subscribers: number }[] = [];
  const arrivalRates: number[] = [];
  const levels: number[] = [];
  const connected = (): number => Math.min(spawn.current, (options.connected ?? ((n) => n))(spawn.current));
  const mustStop = (): StopReason | undefined => {
    if (options.signal?.aborted) return 'interrupted';
    if (options.boundMs !== undefined && clock.now() >= options.boundMs) return 'max_duration';
    if (options.maxEvents !== undefined && pacer.published >= options.maxEvents) return 'max_events';
    return undefined;
  };
  const context: ExecutorContext = {
    clock,
    tickMs,
    ...(options.signal ? { signal: options.signal } : {}),
    logger: silentLogger,
    lateAfterMs: options.lateAfterMs ?? 1000,
    planLimit: options.planLimit ?? 200,
    elapsed: () => clock.now(),
    mustStop,
    async steerSubscribers(planned) {
      const before = spawn.current;
      if (spawn.next(planned, clock.now()) !== before)
        steps.push({ t: clock.now(), subscribers: spawn.current });
    },
    subscribersSet: () => spawn.current,
    connectedCount: connected,
    observeConnected: connected,
    publishDue: (due) => pacer.publishDue(due, clock.now()),
    published: () => pacer.published,
    setArrivalRate: (rate) => arrivalRates.push(rate),
    setLevel: (level) => levels.push(level),
    sample: () => {},
    harness: {
      windows: () => Math.floor(clock.now() / 1000),
      isOverloaded: () => options.overloaded ?? false,
      detail: () => 'simulated',
    },
    errorsByReason: async () => (options.errors ?? (() => ({})))(spawn.current),
    errorMessages: () => [],
    takeLatencyWindow: () => {
      const taken = window;
      window = [];
      return taken;
    },
  };
  return {
    clock,
    context,
    steps,
    arrivalRates,
    levels,
    published: () => pacer.published,
    async run(executor, scenario, limitMs = 600_000) {
      let result: ExecutorResult | undefined;
      let failure: unknown;
      let settled = false;
      executor.run(scenario, context).then(
        (value) => {
          result = value;
          settled = true;
        },
        (error: unknown) => {
          failure = error;
          settled = true;
        },
      );
      while (!settled && clock.now() < limitMs) await clock.advance(tickMs);
      if (!settled) throw new Error(`${executor.name} did not finish within ${limitMs} simulated ms`);
      if (failure !== undefined) throw failure;
      return result as ExecutorResult;
    },
  };
}
