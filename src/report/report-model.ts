/**
 * The run report (`schema: canary.report/v1`), the one document every output is rendered from:
 * JSON as is, JUnit, Markdown and HTML. docs/reports.md documents each field; additions are
 * backwards compatible within v1, removals or renames need v2.
 */
import fs from 'node:fs';
import type { TimelinePoint } from '../load/index.js';
import type { OutcomeCounts } from '../metrics/index.js';
import type { MetricSnapshot, SloResult, SloVerdict } from '../slo/index.js';
import { CanaryError, ExitCode, percentileOfSorted } from '../shared/index.js';

export const REPORT_SCHEMA = 'canary.report/v1';

/** passed = every SLO met; slo_breached = the run completed and an SLO failed; run_failed = no verdict can be trusted. */
export type RunStatus = 'passed' | 'slo_breached' | 'run_failed';

export interface RunFailure {
  /** A code from docs/errors.md (e.g. TARGET_UNREACHABLE, HARNESS_OVERLOADED). */
  code: string;
  message: string;
  hint?: string;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

export interface PathTotals extends OutcomeCounts {
  /** Outcomes measured while the harness was overloaded; left out of latencyMs (as of the latency SLIs). */
  untrusted?: number;
  /** Over trusted delivered and late outcomes, ms. */
  latencyMs: LatencySummary | null;
}

export interface BreakingPoint {
  /** Most subscribers concurrently SUBSCRIBED before the break. */
  subscribers: number;
  /** The level (subscribers wanted) at which it broke. */
  level: number;
  /** plan_cap | join_rate | db_pool | latency | harness | none */
  cause: string;
  detail: string;
  /** The environment's configured plan limit, to compare with. */
  planLimit?: number;
}

export interface CanaryReport {
  schema: typeof REPORT_SCHEMA;
  generator: { name: 'realtime-canary'; version: string; node: string };
  run: {
    kind: 'load' | 'slo';
    scenario?: string;
    description?: string;
    executor?: string;
    env?: string;
    startedAt: string;
    endedAt: string;
    durationSeconds: number;
    /** True when the run was interrupted (Ctrl-C) or cut short by its bound: numbers cover part of the plan. */
    partial: boolean;
    /** completed | interrupted | max_duration | max_events | breaking_point | failed */
    stopReason: string;
    status: RunStatus;
    exitCode: ExitCode;
    failure?: RunFailure;
  };
  totals: {
    published: number;
    publishErrors: number;
    peakSubscribers: number;
    paths: Record<string, PathTotals>;
  };
  breakingPoint?: BreakingPoint;
  slo: SloVerdict | null;
  timeline: TimelinePoint[];
  /** Latency samples (ms) per path, for the CDF plot; reservoir-sampled on long runs. */
  latencySamplesMs: Record<string, number[]>;
  /** The run's canary_* metrics at the end (prom-client JSON), so `canary slo --run` can re-judge it. */
  metrics: MetricSnapshot[];
}

/** Status and exit code from the verdict and whether the run itself failed. */
export function runOutcome(
  verdict: SloVerdict | null,
  failure: RunFailure | undefined,
): {
  status: RunStatus;
  exitCode: ExitCode;
} {
  if (failure) return { status: 'run_failed', exitCode: ExitCode.RunFailed };
  if (verdict?.status === 'breached') return { status: 'slo_breached', exitCode: ExitCode.SloBreached };
  return { status: 'passed', exitCode: ExitCode.Ok };
}

export function summarizeLatency(samples: readonly number[]): LatencySummary | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  // Not empty, so every percentile is a measured value.
  const at = (q: number): number => percentileOfSorted(sorted, q) as number;
  return { count: sorted.length, p50: at(0.5), p90: at(0.9), p95: at(0.95), p99: at(0.99), max: at(1) };
}

/** Results grouped per SLO name, in spec order (JUnit's one testcase per SLO). */
export function resultsBySlo(verdict: SloVerdict | null): Map<string, SloResult[]> {
  const groups = new Map<string, SloResult[]>();
  for (const result of verdict?.results ?? []) {
    const list = groups.get(result.slo) ?? [];
    list.push(result);
    groups.set(result.slo, list);
  }
  return groups;
}

/** Reads a JSON report for `canary slo --run`, checking it is one this version understands. */
export function readReportFile(file: string): CanaryReport {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new CanaryError('CONFIG_NOT_FOUND', `cannot read ${file}`, {
      hint: 'pass the report.json a `canary load --out <dir>` run wrote',
      cause: error,
    });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new CanaryError('CONFIG_INVALID', `${file}: not JSON (${(error as Error).message})`, {
      hint: 'pass the report.json file, not the Markdown, JUnit or HTML report',
      cause: error,
    });
  }
  const record = typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {};
  if (record.schema !== REPORT_SCHEMA) {
    throw new CanaryError(
      'CONFIG_INVALID',
      `${file}: schema: expected "${REPORT_SCHEMA}", found ${JSON.stringify(record.schema)}`,
      {
        hint: 'pass a report written by `canary load` (docs/reports.md describes the format)',
      },
    );
  }
  if (!Array.isArray(record.metrics)) {
    throw new CanaryError(
      'CONFIG_INVALID',
      `${file}: metrics: missing — the report has no metric snapshot to judge`,
      {
        hint: 'rerun `canary load`; reports from this version always include metrics',
      },
    );
  }
  return data as CanaryReport;
}
