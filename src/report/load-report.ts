/**
 * A load run's report: the run's result (src/load) and SLO verdict turned into the
 * `canary.report/v1` document every output is rendered from.
 */
import type { LoadRunResult, Scenario } from '../load/index.js';
import type { MetricSnapshot, SloVerdict } from '../slo/index.js';
import { CANARY_VERSION } from '../shared/index.js';
import {
  REPORT_SCHEMA,
  reportLatency,
  runOutcome,
  type CanaryReport,
  type PathTotals,
  type RunFailure,
} from './report-model.js';

/** Who wrote the report: this package's version and the Node.js running it. */
export function reportGenerator(): CanaryReport['generator'] {
  return {
    name: 'realtime-canary',
    version: CANARY_VERSION,
    node: process.version,
  };
}

/** The report of a finished (or interrupted) load run and its SLO verdict. */
export function buildLoadReport(
  result: LoadRunResult,
  verdict: SloVerdict | null,
  metrics: MetricSnapshot[],
): CanaryReport {
  const failure: RunFailure | undefined =
    result.failure ??
    (result.stopReason === 'interrupted'
      ? {
          code: 'RUN_INTERRUPTED',
          message: 'interrupted before the plan finished: the report is partial',
          hint: 'rerun without interrupting for a full verdict',
        }
      : undefined);
  const latency = reportLatency(result.latencyHistograms);
  const paths: Record<string, PathTotals> = {};
  for (const [name, counts] of Object.entries(result.paths)) {
    paths[name] = { ...counts, ...(latency.summaries[name] ?? { latencyMs: null }) };
  }
  return {
    schema: REPORT_SCHEMA,
    generator: reportGenerator(),
    run: {
      kind: 'load',
      scenario: result.scenario.name,
      description: result.scenario.description,
      executor: result.scenario.executor,
      env: result.env,
      startedAt: result.startedAt,
      endedAt: result.endedAt,
      durationSeconds: result.durationSeconds,
      partial: result.partial,
      stopReason: result.stopReason,
      ...runOutcome(verdict, failure),
      ...(failure ? { failure } : {}),
    },
    totals: {
      published: result.published,
      publishErrors: result.publishErrors,
      peakSubscribers: result.peakSubscribers,
      paths,
    },
    ...(result.breakingPoint ? { breakingPoint: result.breakingPoint } : {}),
    slo: verdict,
    timeline: result.timeline,
    latencySamplesMs: latency.latencySamplesMs,
    latencyHistograms: result.latencyHistograms,
    metrics,
  };
}

/** The report of a load that failed before it produced a result (bad scenario, no target). */
export function failedLoadReport(
  scenario: Scenario | undefined,
  env: string,
  startedAt: Date,
  failure: RunFailure,
): CanaryReport {
  const now = new Date();
  return {
    schema: REPORT_SCHEMA,
    generator: reportGenerator(),
    run: {
      kind: 'load',
      ...(scenario
        ? { scenario: scenario.name, description: scenario.description, executor: scenario.executor }
        : {}),
      env,
      startedAt: startedAt.toISOString(),
      endedAt: now.toISOString(),
      durationSeconds: (now.getTime() - startedAt.getTime()) / 1000,
      partial: false,
      stopReason: 'failed',
      ...runOutcome(null, failure),
      failure,
    },
    totals: { published: 0, publishErrors: 0, peakSubscribers: 0, paths: {} },
    slo: null,
    timeline: [],
    latencySamplesMs: {},
    metrics: [],
  };
}
