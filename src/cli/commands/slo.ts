/**
 * `canary slo`: judge SLOs without running anything — on a finished run's report.json
 * (`--run`), or on a Prometheus server (`--prometheus URL`, over `--range` or at the counters'
 * current values). The same evaluator and spec as `canary load`, so both give the same verdict on
 * the same data. Exit 0 = all met, 1 = an SLO breached, 2 = the check itself failed.
 */
import type { Command } from 'commander';
import {
  readReportFile,
  REPORT_SCHEMA,
  reportGenerator,
  renderJUnit,
  renderMarkdown,
  runOutcome,
  writeReports,
  type CanaryReport,
} from '../../report/index.js';
import {
  evaluateSlos,
  loadSloFile,
  prometheusSource,
  snapshotSource,
  type SliSource,
} from '../../slo/index.js';
import { CanaryError, durationFlag } from '../../shared/index.js';

interface SloFlags {
  run?: string;
  runId?: string;
  prometheus?: string;
  range?: string;
  at?: string;
  slos: string;
  env?: string;
  out?: string;
  format: string;
}

const FORMATS = ['text', 'json', 'markdown', 'junit'] as const;

export function register(program: Command): void {
  program
    .command('slo')
    .description("judge SLOs on a finished run's report or on Prometheus data")
    .option('--run <report.json>', 'a report written by `canary load`')
    .option('--prometheus <url>', 'Prometheus base URL, e.g. http://127.0.0.1:9090')
    .option(
      '--range <duration>',
      'with --prometheus: judge the increase over this window (e.g. 1h); default: counter values now',
    )
    .option('--at <time>', 'with --prometheus: evaluate at this ISO time instead of now')
    .option('--run-id <id>', 'with --prometheus: only the series of this pushed run (canary load --out …)')
    .option('--slos <file>', 'SLO file (canary.slo/v1)', 'slos/delivery.yaml')
    .option('--env <name>', 'only this environment')
    .option('--out <dir>', 'also write report.json, junit.xml, summary.md and report.html here')
    .option('--format <format>', `stdout format: ${FORMATS.join(', ')}`, 'text')
    .action(async (flags: SloFlags) => {
      process.exitCode = await slo(flags);
    });
}

async function slo(flags: SloFlags): Promise<number> {
  if (!(FORMATS as readonly string[]).includes(flags.format)) {
    throw new CanaryError('CLI_USAGE', `--format ${flags.format} is not supported`, {
      hint: `use one of: ${FORMATS.join(', ')}`,
    });
  }
  if ((flags.run === undefined) === (flags.prometheus === undefined)) {
    throw new CanaryError('CLI_USAGE', 'give exactly one of --run <report.json> or --prometheus <url>', {
      hint: 'e.g. canary slo --run artifacts/smoke/report.json, or canary slo --prometheus http://127.0.0.1:9090 --range 1h',
    });
  }
  if (
    flags.run !== undefined &&
    (flags.range !== undefined || flags.at !== undefined || flags.runId !== undefined)
  ) {
    throw new CanaryError('CLI_USAGE', '--range, --at and --run-id apply to --prometheus only', {
      hint: 'a report is judged over its whole run; drop --range/--at',
    });
  }
  const spec = loadSloFile(flags.slos);
  const started = new Date();
  let source: SliSource;
  let base: CanaryReport | undefined;
  if (flags.run !== undefined) {
    base = readReportFile(flags.run);
    source = snapshotSource(base.metrics, `run report ${flags.run}`);
  } else {
    const rangeSeconds = flags.range === undefined ? undefined : durationFlag('--range', flags.range) / 1000;
    const end = flags.at === undefined ? undefined : new Date(flags.at);
    if (end && Number.isNaN(end.getTime())) {
      throw new CanaryError('CLI_USAGE', `--at ${flags.at} is not a time`, {
        hint: 'use ISO 8601, e.g. 2026-01-31T12:00:00Z',
      });
    }
    source = prometheusSource({
      url: flags.prometheus as string,
      ...(rangeSeconds !== undefined ? { rangeSeconds } : {}),
      ...(end ? { end } : {}),
      ...(flags.runId === undefined ? {} : { matchers: { run_id: flags.runId } }),
    });
  }
  const verdict = await evaluateSlos(spec.slos, source, flags.env === undefined ? {} : { env: flags.env });
  const ended = new Date();
  const report: CanaryReport = {
    schema: REPORT_SCHEMA,
    generator: reportGenerator(),
    run: {
      kind: 'slo',
      ...(base?.run.scenario ? { scenario: base.run.scenario, executor: base.run.executor } : {}),
      ...((flags.env ?? base?.run.env) ? { env: flags.env ?? base?.run.env } : {}),
      description: `SLOs from ${flags.slos} judged on ${verdict.source}`,
      startedAt: base?.run.startedAt ?? started.toISOString(),
      endedAt: base?.run.endedAt ?? ended.toISOString(),
      durationSeconds: base?.run.durationSeconds ?? (ended.getTime() - started.getTime()) / 1000,
      partial: base?.run.partial ?? false,
      stopReason: base?.run.stopReason ?? 'completed',
      ...runOutcome(verdict, base?.run.failure),
      ...(base?.run.failure ? { failure: base.run.failure } : {}),
    },
    totals: base?.totals ?? { published: 0, publishErrors: 0, peakSubscribers: 0, paths: {} },
    ...(base?.breakingPoint ? { breakingPoint: base.breakingPoint } : {}),
    slo: verdict,
    timeline: base?.timeline ?? [],
    latencySamplesMs: base?.latencySamplesMs ?? {},
    ...(base?.latencyHistograms ? { latencyHistograms: base.latencyHistograms } : {}),
    metrics: base?.metrics ?? [],
  };
  if (flags.out) writeReports(report, flags.out);
  process.stdout.write(render(report, flags.format));
  return report.run.exitCode;
}

function render(report: CanaryReport, format: string): string {
  switch (format) {
    case 'json':
      return (
        JSON.stringify(
          { status: report.run.status, exitCode: report.run.exitCode, slo: report.slo },
          null,
          2,
        ) + '\n'
      );
    case 'markdown':
      return renderMarkdown(report);
    case 'junit':
      return renderJUnit(report);
    default: {
      const lines = [`SLOs judged on ${report.slo?.source ?? '?'}`];
      for (const result of report.slo?.results ?? []) {
        const mark = result.status === 'met' ? '✓' : result.status === 'breached' ? '✗' : '-';
        lines.push(`  ${mark} ${result.slo}: ${result.summary}`);
      }
      if (report.run.failure)
        lines.push(`  ! the run itself failed: ${report.run.failure.code}: ${report.run.failure.message}`);
      lines.push(`result: ${report.run.status} (exit ${report.run.exitCode})`, '');
      return lines.join('\n');
    }
  }
}
