/**
 * `canary load <scenario> --env <env>`: run a load scenario against one environment, show progress
 * (on a terminal), print a k6-like summary, judge the scenario's SLO thresholds on the run's own
 * registry and write JSON, JUnit, Markdown and HTML reports. Exit 0 = every SLO met, 1 = an SLO
 * breached, 2 = the run itself failed (the report says which). Ctrl-C drains and writes a partial
 * report; a second Ctrl-C quits at once.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { loadCanaryConfig, pickEnvironment, probesFor, type CanaryConfig } from '../../config/index.js';
import {
  loadScenarioFile,
  plannedDurationMs,
  runBoundMs,
  runScenario,
  runWithWorkers,
  checkWorkerCount,
  parseShard,
  runShard,
  DEFAULT_FEED_PORT,
  type LoadProgress,
  type LoadRunResult,
  type Scenario,
} from '../../load/index.js';
import {
  createMetrics,
  newRunId,
  parseOutputSpec,
  startMetricsOutputs,
  type MetricsOutputs,
  type OutputSpec,
} from '../../metrics/index.js';
import { resolveEnvironment, type ResolvedEnvironment } from '../../probe/index.js';
import {
  buildLoadReport,
  failedLoadReport,
  writeReports,
  type CanaryReport,
  type RunFailure,
  type WrittenReports,
} from '../../report/index.js';
import {
  evaluateSlos,
  loadSloFile,
  parseSlo,
  registrySource,
  type MetricSnapshot,
  type Slo,
} from '../../slo/index.js';
import { createStatusHub, startExporter, type Exporter } from '../../server/index.js';
import {
  CanaryError,
  createLogger,
  durationFlag,
  ExitCode,
  isCanaryError,
  resolveShippedFile,
  sleep,
} from '../../shared/index.js';
import { faultSettingsSchema, startTarget } from '../../local-target/index.js';
import { formatMs, liveLines, onRunSignals, progressBar, takeOverSignals } from '../terminal.js';

interface LoadFlags {
  env?: string;
  config: string;
  out: string[];
  reportDir?: string;
  runId?: string;
  pushInterval: string;
  allowRemote?: boolean;
  slos?: string;
  progress?: boolean;
  workers?: string;
  shard?: string;
  shardFeed?: string;
  feedPort?: string;
  metricsPort?: string;
  listenHost?: string;
  linger?: string;
}

export function register(program: Command): void {
  program
    .command('load')
    .description('run a load scenario (scenarios/*.yaml) against an environment and judge its SLOs')
    .argument(
      '<scenario>',
      'scenario file, e.g. scenarios/smoke.yaml, or the name of a shipped one (smoke, peak, soak, spike, connection-limit)',
    )
    .option('--env <name>', 'environment to load (from the config; optional when it defines only one)')
    .option('--config <file>', 'config file', 'canary.yaml')
    .option(
      '--report-dir <dir>',
      'directory for report.json, junit.xml, summary.md and report.html (default artifacts/<scenario>)',
    )
    .option(
      '--out <output>',
      'push metrics while running and at the end: prometheus-rw=<remote write URL> or ' +
        'pushgateway=<URL> (repeatable)',
      collect,
      [],
    )
    .option('--run-id <id>', 'run_id label of pushed metrics (default: CANARY_RUN_ID or a timestamp)')
    .option('--push-interval <duration>', 'with --out: push every this long while running', '10s')
    .option('--slos <file>', "SLO file to judge the run by, instead of the scenario's thresholds")
    .option('--allow-remote', 'allow load against a non-local environment (its loadRateCap still applies)')
    .option('--no-progress', 'no progress bar, even on a terminal')
    .option(
      '--workers <n>',
      'split the subscribers over n worker processes (one per core); results merge exactly',
    )
    .option(
      '--shard <i/N>',
      'run shard i of N (e.g. a Kubernetes Indexed Job): a share of the subscribers; shard 0 publishes',
    )
    .option(
      '--shard-feed <url>',
      "shards 1..N-1: shard 0's event feed, e.g. http://canary-load-0.canary-shards:9465",
    )
    .option(
      '--feed-port <port>',
      `shard 0: port of the event feed (default ${DEFAULT_FEED_PORT}; 0 = a free one)`,
    )
    .option(
      '--metrics-port <port>',
      "serve this run's /metrics on this port (0 = a free one) for Prometheus to scrape",
    )
    .option('--listen-host <host>', 'address for --metrics-port and the event feed', '0.0.0.0')
    .option(
      '--linger <seconds>',
      'with --metrics-port: keep serving /metrics this long after the run (a last scrape)',
      '0',
    )
    .action(async (scenarioFile: string, flags: LoadFlags) => {
      process.exitCode = await load(resolveShippedFile(scenarioFile, 'scenarios'), flags);
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * `--out` values: outputs (`kind=URL`), or — the flag's meaning before outputs existed — the report
 * directory, still accepted with a deprecation warning.
 */
export function splitOutFlags(
  values: readonly string[],
  reportDir: string | undefined,
): {
  outputs: OutputSpec[];
  reportDir: string | undefined;
} {
  const outputs: OutputSpec[] = [];
  let dir = reportDir;
  for (const value of values) {
    if (/^[a-z-]+=/.test(value)) {
      outputs.push(parseOutputSpec(value));
      continue;
    }
    if (dir !== undefined) {
      throw new CanaryError('CLI_USAGE', `--out "${value}" is not an output`, {
        hint: 'write --out prometheus-rw=URL or --out pushgateway=URL; the report directory is --report-dir',
      });
    }
    process.stderr.write(
      `canary: --out <dir> for reports is deprecated; use --report-dir ${value} (--out now takes prometheus-rw=URL or pushgateway=URL)\n`,
    );
    dir = value;
  }
  return { outputs, reportDir: dir };
}

/** The SLOs a scenario is judged by: --slos, or its thresholds (file, only, inline). */
export function scenarioSlos(scenario: Scenario, scenarioFile: string, override?: string): Slo[] {
  if (override) return loadSloFile(override).slos;
  const { thresholds } = scenario;
  const slos: Slo[] = [];
  if (thresholds.slos) {
    const file = path.resolve(path.dirname(scenarioFile), thresholds.slos);
    const spec = loadSloFile(file);
    if (thresholds.only) {
      const known = spec.slos.map((slo) => slo.name);
      const unknown = thresholds.only.filter((name) => !known.includes(name));
      if (unknown.length > 0) {
        throw new CanaryError(
          'CONFIG_INVALID',
          `${scenarioFile}: thresholds.only: ${unknown.map((n) => `"${n}"`).join(', ')} not in ${thresholds.slos}`,
          { hint: `use names defined there: ${known.join(', ')}` },
        );
      }
      slos.push(...spec.slos.filter((slo) => thresholds.only?.includes(slo.name)));
    } else {
      slos.push(...spec.slos);
    }
  } else if (thresholds.only) {
    throw new CanaryError('CONFIG_INVALID', `${scenarioFile}: thresholds.only: needs thresholds.slos`, {
      hint: 'name the SLO file the names come from, e.g. thresholds: { slos: ../slos/delivery.yaml, only: [...] }',
    });
  }
  (thresholds.inline ?? []).forEach((raw, index) =>
    slos.push(parseSlo(raw, scenarioFile, ['thresholds', 'inline', index])),
  );
  return slos;
}

async function load(scenarioFile: string, flags: LoadFlags): Promise<number> {
  const logger = createLogger({ level: process.env.LOG_LEVEL === 'debug' ? 'debug' : 'warn' });
  const startedAt = new Date();
  const split = splitOutFlags(flags.out, flags.reportDir);
  let outDir = split.reportDir;
  const pushIntervalMs = durationFlag('--push-interval', flags.pushInterval, 1000);
  let outputs: MetricsOutputs | undefined;
  let scenario: Scenario | undefined;
  let env: ResolvedEnvironment | undefined;
  let exporter: Exporter | undefined;
  let closeShard: (() => Promise<void>) | undefined;
  try {
    scenario = loadScenarioFile(scenarioFile);
    outDir ??= path.join('artifacts', scenario.name);
    const slos = scenarioSlos(scenario, scenarioFile, flags.slos);
    const workers = flags.workers === undefined ? 1 : Number(flags.workers);
    checkWorkerCount(workers, scenario);
    const shard = flags.shard === undefined ? undefined : parseShard(flags.shard);
    if (shard && workers > 1) {
      throw new CanaryError('CLI_USAGE', '--shard and --workers do not combine', {
        hint: 'run one process per shard (give each pod a core), or --workers on one machine',
      });
    }
    const config: CanaryConfig = loadCanaryConfig(flags.config, { localFaultsSchema: faultSettingsSchema });
    const envConfig = pickEnvironment(config, flags.env);
    if (envConfig.remote && !flags.allowRemote) {
      throw new CanaryError(
        'UNSAFE_LOAD',
        `"${envConfig.name}" is a remote environment; load needs --allow-remote`,
        {
          hint: `add --allow-remote if you mean it; publishing stays under the environment's loadRateCap (${envConfig.loadRateCap}/s)`,
        },
      );
    }
    const probes = probesFor(config, envConfig.name);
    const probe = scenario.probe ? probes.find((p) => p.name === scenario?.probe) : probes[0];
    if (!probe) {
      throw new CanaryError(
        'CONFIG_INVALID',
        `${scenarioFile}: probe: ${scenario.probe ? `"${scenario.probe}" is not a probe of "${envConfig.name}"` : `no probe runs in "${envConfig.name}"`}`,
        {
          hint: `use one of: ${probes.map((p) => p.name).join(', ') || `(none — add a probe to ${flags.config})`}`,
        },
      );
    }

    const created = createMetrics(shard ? { defaultLabels: { shard: String(shard.index) } } : {});
    const metrics = created.metrics;
    env = await resolveEnvironment(envConfig, {
      file: config.sources.environments[envConfig.name],
      logger,
      metrics,
      startLocalTarget: (request) => startTarget(request),
    });
    let registry = created.registry;
    // Workers hold their own registries until the run merges them: push only the merged one.
    let pushable: typeof registry | undefined = workers > 1 ? undefined : registry;
    if (split.outputs.length > 0) {
      const runId = flags.runId ?? process.env.CANARY_RUN_ID ?? newRunId(startedAt);
      outputs = startMetricsOutputs({
        outputs: split.outputs,
        registry: () => pushable,
        run: { run_id: runId, scenario: scenario.name },
        intervalMs: pushIntervalMs,
        logger,
      });
      process.stderr.write(
        `canary: pushing metrics to ${split.outputs.map((o) => o.kind).join(', ')} as run_id="${runId}", scenario="${scenario.name}"\n`,
      );
    }
    const controller = new AbortController();
    const onSignal = (signal: NodeJS.Signals): void => {
      if (controller.signal.aborted) {
        process.stderr.write(`\ncanary: ${signal} again, quitting without a report\n`);
        process.exit(ExitCode.RunFailed);
      }
      process.stderr.write(
        `\ncanary: ${signal}: interrupted — draining in-flight events for a partial report (again to quit)\n`,
      );
      controller.abort();
    };
    // The run owns Ctrl-C while it drains (terminal.ts says why); restore() hands it back.
    const displaced = takeOverSignals(onSignal);
    const planned = plannedDurationMs(scenario) / 1000;
    process.stderr.write(
      `canary: load ${scenario.name} (${scenario.executor}) on ${env.name}: ~${planned.toFixed(0)} s planned, ` +
        `stops by itself within ${(runBoundMs(scenario, probe.deadline) / 1000).toFixed(0)} s (Ctrl-C: partial report)\n`,
    );
    const bar = flags.progress !== false && process.stderr.isTTY ? loadProgress() : undefined;
    let result: LoadRunResult;
    try {
      const common = {
        scenario,
        env,
        probe,
        allowRemote: flags.allowRemote === true,
        signal: controller.signal,
        logger,
        ...(bar ? { onProgress: bar.update } : {}),
      };
      if (flags.metricsPort !== undefined) {
        exporter = await startExporter({
          registry,
          status: createStatusHub(),
          host: flags.listenHost ?? '0.0.0.0',
          port: Number(flags.metricsPort),
        });
        process.stderr.write(`canary: serving /metrics at ${exporter.url}/metrics\n`);
      }
      if (shard) {
        const run = await runShard({
          ...common,
          metrics,
          shard,
          ...(flags.shardFeed ? { feedUrl: flags.shardFeed } : {}),
          feedHost: flags.listenHost ?? '0.0.0.0',
          feedPort: flags.feedPort === undefined ? DEFAULT_FEED_PORT : Number(flags.feedPort),
          onFeed: (url) =>
            process.stderr.write(`canary: shard ${flags.shard} serves the event feed at ${url}\n`),
        });
        result = run.result;
        closeShard = run.close;
      } else if (workers > 1) {
        const merged = await runWithWorkers({ ...common, workers });
        result = merged.result;
        registry = merged.registry;
        pushable = registry;
      } else {
        result = await runScenario({ ...common, metrics });
      }
    } finally {
      bar?.done();
      displaced.restore();
    }
    const verdict = slos.length
      ? await evaluateSlos(slos, registrySource(registry, `registry of this run`), { env: env.name })
      : null;
    const snapshot = ((await registry.getMetricsAsJSON()) as unknown as MetricSnapshot[]).filter((m) =>
      m.name.startsWith('canary_'),
    );
    const report = buildLoadReport(result, verdict, snapshot);
    const files = writeReports(report, outDir);
    for (const failure of (await outputs?.finish()) ?? []) process.stderr.write(`canary: ${failure}\n`);
    outputs = undefined;
    process.stdout.write(renderSummary(report, files));
    await lingerForScrape(exporter, Number(flags.linger ?? 0));
    return report.run.exitCode;
  } catch (error) {
    if (!isCanaryError(error) || !outDir) throw error;
    // The run could not happen: still leave a report that says why, then fail with the code.
    const failure: RunFailure = {
      code: error.code,
      message: error.message,
      ...(error.hint ? { hint: error.hint } : {}),
    };
    writeReports(failedLoadReport(scenario, flags.env ?? '', startedAt, failure), outDir);
    throw error;
  } finally {
    await outputs?.finish();
    await exporter?.close();
    await closeShard?.();
    await env
      ?.close()
      .catch((error: unknown) => logger.warn('closing the environment failed', { error: String(error) }));
  }
}

function dots(label: string, width = 18): string {
  return `${label} ${'.'.repeat(Math.max(2, width - label.length))}:`;
}

/** The end-of-run summary, k6-style: one line per fact, a check mark per SLO. */
export function renderSummary(report: CanaryReport, files?: WrittenReports): string {
  const { run, totals } = report;
  const lines = [''];
  lines.push(
    `     ${dots('scenario')} ${run.scenario} (${run.executor}) on ${run.env}, ${run.durationSeconds.toFixed(1)} s, ${run.stopReason}${run.partial ? ' — PARTIAL' : ''}`,
  );
  lines.push(`     ${dots('published')} ${totals.published} events (${totals.publishErrors} failed)`);
  lines.push(`     ${dots('subscribers')} peak ${totals.peakSubscribers} concurrently SUBSCRIBED`);
  for (const [name, path] of Object.entries(totals.paths)) {
    const l = path.latencyMs;
    lines.push(
      `     ${dots(name)} delivered=${path.delivered} late=${path.late} dropped=${path.dropped}` +
        `${path.untrusted ? ` untrusted=${path.untrusted}` : ''}  ` +
        `p50=${formatMs(l?.p50)} p95=${formatMs(l?.p95)} p99=${formatMs(l?.p99)} max=${formatMs(l?.max)}`,
    );
  }
  if (report.breakingPoint) {
    const point = report.breakingPoint;
    lines.push(
      `     ${dots('breaking point')} ${point.subscribers} subscribers (level ${point.level}), cause ${point.cause}${point.planLimit !== undefined ? `, plan limit ${point.planLimit}` : ''}`,
      `       ${point.detail}`,
    );
  }
  lines.push('');
  for (const result of report.slo?.results ?? []) {
    const mark = result.status === 'met' ? '✓' : result.status === 'breached' ? '✗' : '-';
    lines.push(`   ${mark} ${result.slo}: ${result.summary}`);
  }
  if (run.failure) {
    lines.push(
      '',
      `   ! ${run.failure.code}: ${run.failure.message}${run.failure.hint ? `\n     fix: ${run.failure.hint}` : ''}`,
    );
  }
  lines.push('', `     ${dots('result')} ${run.status} (exit ${run.exitCode})`);
  if (files)
    lines.push(`     ${dots('reports')} ${files.json}, ${files.junit}, ${files.markdown}, ${files.html}`);
  lines.push('');
  return lines.join('\n');
}

/** A one-line progress bar on stderr, redrawn in place. */
function loadProgress(): { update: (progress: LoadProgress) => void; done: () => void } {
  const screen = liveLines(process.stderr, { minIntervalMs: 200 });
  return {
    update(progress) {
      const bar = progressBar(progress.plannedMs > 0 ? progress.elapsedMs / progress.plannedMs : 0);
      const phase =
        progress.phase === 'draining'
          ? 'draining'
          : `${(progress.elapsedMs / 1000).toFixed(0)}s/${(progress.plannedMs / 1000).toFixed(0)}s`;
      const level = progress.level !== undefined ? ` level ${progress.level}` : '';
      screen.draw([
        `${bar} ${phase}${level} subs ${progress.subscribersConnected}/${progress.subscribersTarget} pub ${progress.published} ok ${progress.delivered} late ${progress.late} drop ${progress.dropped}`,
      ]);
    },
    done() {
      screen.done();
    },
  };
}

/** Keep /metrics up after the run so Prometheus scrapes the final counts; SIGTERM/Ctrl-C end it. */
async function lingerForScrape(exporter: Exporter | undefined, seconds: number): Promise<void> {
  if (!exporter || !(seconds > 0)) return;
  process.stderr.write(`canary: keeping /metrics up for ${seconds} s for a last scrape\n`);
  const done = new AbortController();
  const off = onRunSignals(() => done.abort());
  await sleep(seconds * 1000, done.signal);
  off();
}
