/**
 * The run report (`schema: canary.report/v1`), the one document every output is rendered from:
 * JSON as is, JUnit, Markdown and HTML. docs/reports.md documents each field; additions are
 * backwards compatible within v1, removals or renames need v2.
 */
import fs from 'node:fs';
import type { EncodedPathLatency, TimelinePoint } from '../load/index.js';
import { LatencyHistogram, type ClientKind, type OutcomeCounts } from '../metrics/index.js';
import type { MetricSnapshot, SloResult, SloVerdict } from '../slo/index.js';
import { CanaryError, ExitCode } from '../shared/index.js';

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
  /** Over trusted delivered and late outcomes, ms (HDR histogram: within 0.1 % of exact). */
  latencyMs: LatencySummary | null;
  /** The same per subscriber kind (lean, supabase-js); the polling path has none. */
  latencyByClientMs?: Partial<Record<ClientKind, LatencySummary>>;
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
  /**
   * Per path, values (ms, ascending) that stand for the latency distribution, for the CDF plot:
   * every delivery's latency up to 1,000 of them, else the latency at each 0.1 % quantile.
   */
  latencySamplesMs: Record<string, number[]>;
  /**
   * Per path, the run's HDR latency histograms (all subscribers, and per kind) as compressed
   * base64 (hdr-histogram-js): adding them merges runs exactly.
   */
  latencyHistograms?: Record<string, EncodedPathLatency>;
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

export function summarizeLatency(histogram: LatencyHistogram): LatencySummary | null {
  if (histogram.count === 0) return null;
  // Not empty, so every percentile is a measured value (at the histogram's precision).
  const at = (q: number): number => histogram.percentile(q) as number;
  return {
    count: histogram.count,
    p50: at(0.5),
    p90: at(0.9),
    p95: at(0.95),
    p99: at(0.99),
    max: histogram.max() as number,
  };
}

/** What a report shows of a run's latency histograms: summaries per path and kind, and CDF values. */
export function reportLatency(encoded: Record<string, EncodedPathLatency>): {
  summaries: Record<string, Pick<PathTotals, 'latencyMs' | 'latencyByClientMs'>>;
  latencySamplesMs: Record<string, number[]>;
} {
  const summaries: Record<string, Pick<PathTotals, 'latencyMs' | 'latencyByClientMs'>> = {};
  const latencySamplesMs: Record<string, number[]> = {};
  for (const [path, latency] of Object.entries(encoded)) {
    const all = LatencyHistogram.decode(latency.all);
    const latencyByClientMs: Partial<Record<ClientKind, LatencySummary>> = {};
    for (const [kind, histogram] of Object.entries(latency.byClient) as [ClientKind, string][]) {
      const summary = summarizeLatency(LatencyHistogram.decode(histogram));
      if (summary) latencyByClientMs[kind] = summary;
    }
    summaries[path] = {
      latencyMs: summarizeLatency(all),
      ...(Object.keys(latencyByClientMs).length > 0 ? { latencyByClientMs } : {}),
    };
    latencySamplesMs[path] = all.representativeValues();
  }
  return { summaries, latencySamplesMs };
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
