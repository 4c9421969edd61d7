/**
 * The scheduler: every environment's probes run concurrently, each on its own interval with
 * jitter. Environments are independent — one that cannot start or is unreachable logs a clear
 * error and is retried with backoff while the others keep running; a bad secret (which will not
 * fix itself) stops only that environment. stop() stops scheduling, lets in-flight rounds reach
 * their deadline, drains every runner and closes the environments.
 */
import type { CanaryConfig, EnvironmentConfig, ProbeSpec } from '../config/index.js';
import type { CanaryMetrics } from '../metrics/index.js';
import { isCanaryError, silentLogger, systemClock, type Logger, type TimerClock } from '../shared/index.js';
import type { OutcomeRecord } from './event-ledger.js';
import type { PublisherFactory } from './event-publisher.js';
import { ProbeRunner, type ProbeStatus } from './probe-runner.js';
import {
  checkReachable,
  resolveEnvironment,
  type ResolvedEnvironment,
  type StartLocalTarget,
} from './resolved-environment.js';

export type EnvironmentState = 'starting' | 'running' | 'retrying' | 'failed' | 'stopped';

export interface EnvironmentRunStatus {
  name: string;
  state: EnvironmentState;
  /** Last error (already formatted for people), when starting failed. */
  error: string | null;
  probes: ProbeStatus[];
}

export interface SchedulerOptions {
  config: Pick<CanaryConfig, 'probes' | 'sources'>;
  environments: readonly EnvironmentConfig[];
  metrics: CanaryMetrics;
  startLocalTarget?: StartLocalTarget;
  logger?: Logger;
  /** Times the retry backoff and the rounds (a manual clock in unit tests). */
  clock?: TimerClock;
  isOverloaded?: () => boolean;
  processEnv?: NodeJS.ProcessEnv;
  publisher?: PublisherFactory;
  /** First retry delay after a failed start; doubles up to maxRetryDelayMs. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Called for every final outcome of every runner. */
  onOutcome?: (record: OutcomeRecord) => void;
  /** Called when an environment is up (tests use it to reach the local target). */
  onEnvironmentReady?: (env: ResolvedEnvironment, runners: readonly ProbeRunner[]) => void;
}

interface EnvironmentRun {
  config: EnvironmentConfig;
  state: EnvironmentState;
  error: string | null;
  env: ResolvedEnvironment | undefined;
  runners: ProbeRunner[];
  rounds: Set<Promise<unknown>>;
  loop: Promise<void> | undefined;
}

export class Scheduler {
  private readonly runs: EnvironmentRun[];
  private readonly logger: Logger;
  private readonly clock: TimerClock;
  private readonly abort = new AbortController();
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: SchedulerOptions) {
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? systemClock;
    this.runs = options.environments.map((config) => ({
      config,
      state: 'starting',
      error: null,
      env: undefined,
      runners: [],
      rounds: new Set(),
      loop: undefined,
    }));
  }

  /** Starts every environment in the background; resolves at once. */
  start(): void {
    for (const run of this.runs) run.loop = this.runEnvironment(run);
  }

  /** Resolves when every environment is running or failed (or the timeout passes). */
  async waitUntilStarted(timeoutMs = 60_000): Promise<void> {
    const until = this.clock.now() + timeoutMs;
    while (this.clock.now() < until && this.runs.some((r) => r.state === 'starting'))
      await this.clock.sleep(50);
  }

  runners(): ProbeRunner[] {
    return this.runs.flatMap((r) => r.runners);
  }

  environments(): ResolvedEnvironment[] {
    return this.runs.flatMap((r) => (r.env ? [r.env] : []));
  }

  status(): EnvironmentRunStatus[] {
    return this.runs.map((run) => ({
      name: run.config.name,
      state: run.state,
      error: run.error,
      probes: run.runners.map((r) => r.status()),
    }));
  }

  /** True when no environment could be started and none is still trying. */
  allFailed(): boolean {
    return this.runs.length > 0 && this.runs.every((r) => r.state === 'failed');
  }

  /** Stop scheduling, finish in-flight rounds, drain and disconnect. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.abort.abort();
      await Promise.allSettled(this.runs.map((r) => r.loop));
      await Promise.allSettled(
        this.runs.map(async (run) => {
          await Promise.allSettled([...run.rounds]);
          await Promise.allSettled(run.runners.map((r) => r.stop()));
          await run.env?.close().catch((error: unknown) => {
            this.logger.warn('closing an environment failed', { env: run.config.name, error: String(error) });
          });
          run.state = run.state === 'failed' ? 'failed' : 'stopped';
        }),
      );
    })();
    return this.stopping;
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async runEnvironment(run: EnvironmentRun): Promise<void> {
    const log = this.logger.child({ env: run.config.name });
    let delay = this.options.retryDelayMs ?? 5_000;
    const maxDelay = this.options.maxRetryDelayMs ?? 60_000;
    while (!this.stopped) {
      try {
        run.env = await resolveEnvironment(run.config, {
          startLocalTarget: this.options.startLocalTarget,
          env: this.options.processEnv,
          file: this.options.config.sources.environments[run.config.name],
          logger: log,
          metrics: this.options.metrics,
        });
        if (run.env.kind === 'remote') {
          await checkReachable(run.env, { file: this.options.config.sources.environments[run.config.name] });
        }
        break;
      } catch (error) {
        await run.env?.close().catch(() => {});
        run.env = undefined;
        const text = isCanaryError(error) ? error.format() : String(error);
        run.error = text;
        // A missing secret or invalid setting will not fix itself: stop trying this environment.
        const permanent = isCanaryError(error) && ['ENV_VAR_MISSING', 'CONFIG_INVALID'].includes(error.code);
        if (permanent) {
          run.state = 'failed';
          log.error('environment cannot run; the others keep running', { error: text });
          return;
        }
        run.state = 'retrying';
        log.error(
          `environment unavailable; retrying in ${delay < 1000 ? `${delay} ms` : `${Math.round(delay / 1000)} s`} (the others keep running)`,
          {
            error: text,
          },
        );
        await this.clock.sleep(delay, this.abort.signal);
        delay = Math.min(maxDelay, delay * 2);
      }
    }
    const env = run.env;
    if (!env || this.stopped) return;
    const probes = this.options.config.probes.filter(
      (p) => p.envs === undefined || p.envs.includes(env.name),
    );
    for (const probe of probes) {
      const runner = new ProbeRunner({
        env,
        probe,
        metrics: this.options.metrics,
        clock: this.clock,
        logger: log,
        isOverloaded: this.options.isOverloaded,
        publisher: this.options.publisher,
      });
      if (this.options.onOutcome) runner.onOutcome(this.options.onOutcome);
      run.runners.push(runner);
    }
    try {
      await Promise.all(run.runners.map((r) => r.start()));
    } catch (error) {
      run.error = isCanaryError(error) ? error.format() : String(error);
      run.state = 'failed';
      log.error('starting the probes failed', { error: run.error });
      return;
    }
    run.state = 'running';
    run.error = null;
    log.info('environment running', { probes: probes.map((p) => p.name).join(','), kind: env.kind });
    this.options.onEnvironmentReady?.(env, run.runners);
    await Promise.all(run.runners.map((runner, i) => this.probeLoop(run, runner, probes[i]!)));
  }

  /** Rounds start every interval (± jitter) and overlap when the deadline is longer. */
  private async probeLoop(run: EnvironmentRun, runner: ProbeRunner, probe: ProbeSpec): Promise<void> {
    // Give subscribers a moment to join so the first round has someone to deliver to.
    await Promise.race([runner.waitUntilSubscribed(Math.min(probe.interval, 10_000)), this.aborted()]);
    while (!this.stopped) {
      const round = runner.runRound().catch((error: unknown) => {
        this.logger.warn('probe round failed', {
          env: run.config.name,
          probe: probe.name,
          error: String(error),
        });
      });
      run.rounds.add(round);
      void round.finally(() => run.rounds.delete(round));
      const jitter = probe.jitter > 0 ? (Math.random() * 2 - 1) * probe.jitter : 0;
      await this.clock.sleep(Math.max(50, probe.interval + jitter), this.abort.signal);
    }
  }

  private aborted(): Promise<void> {
    return new Promise((resolve) => {
      if (this.abort.signal.aborted) return resolve();
      this.abort.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }
}
