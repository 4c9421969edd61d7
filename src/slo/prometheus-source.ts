/**
 * SLI source (b): PromQL against a Prometheus server. Two spans:
 * - `instant`: the counters' values at one time — for a run Prometheus scraped from its start,
 *   this is "since the run began", the same number the run's registry holds;
 * - `range`: `increase()` / `max_over_time()` over the last N seconds before `end`
 *   (`canary slo --prometheus URL --range 1h`). increase() extrapolates, so it agrees with the
 *   registry only within a tolerance.
 */
import { CanaryError } from '../shared/index.js';
import { formatPromDuration } from '../shared/duration.js';
import { renderSelector, type SeriesSelector } from './sli-queries.js';
import type { SeriesValue, SliSource } from './sli-source.js';

export interface PrometheusSourceOptions {
  /** Base URL, e.g. http://127.0.0.1:9090 */
  url: string;
  /** Look back this many seconds before `end` (range); omit for the instant values at `end`. */
  rangeSeconds?: number;
  /** Evaluation time; default now. */
  end?: Date;
  /** Per-query timeout; default 10 s. */
  timeoutMs?: number;
  /** Extra label matchers on every series, e.g. { run_id: '…' } for one pushed run. */
  matchers?: Readonly<Record<string, string>>;
}

interface PromVectorResponse {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

function grouped(aggregation: 'sum' | 'max', by: readonly string[], inner: string): string {
  return by.length ? `${aggregation} by (${by.join(', ')}) (${inner})` : `${aggregation}(${inner})`;
}

export function prometheusSource(options: PrometheusSourceOptions): SliSource & {
  /** Run one instant query (exposed for diagnostics and tests). */
  query(expr: string): Promise<SeriesValue[]>;
} {
  const base = options.url.replace(/\/+$/, '');
  const range = options.rangeSeconds === undefined ? undefined : formatPromDuration(options.rangeSeconds);

  async function query(expr: string): Promise<SeriesValue[]> {
    const params = new URLSearchParams({ query: expr });
    if (options.end) params.set('time', String(options.end.getTime() / 1000));
    let response: Response;
    try {
      response = await fetch(`${base}/api/v1/query?${params}`, {
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
    } catch (error) {
      throw new CanaryError(
        'PROMETHEUS_QUERY_FAILED',
        `cannot reach Prometheus at ${base}: ${String(error)}`,
        {
          hint: 'check --prometheus (e.g. http://127.0.0.1:9090) and that the server is up',
          cause: error,
        },
      );
    }
    const body = (await response.json().catch(() => undefined)) as PromVectorResponse | undefined;
    if (!response.ok || !body || body.status !== 'success' || !body.data) {
      throw new CanaryError(
        'PROMETHEUS_QUERY_FAILED',
        `Prometheus at ${base} rejected ${expr}: HTTP ${response.status} ${body?.error ?? ''}`.trim(),
        {
          hint: 'check that the URL points at the Prometheus server itself (not Grafana) and it scrapes the canary',
        },
      );
    }
    return body.data.result.map((sample) => ({ labels: sample.metric, value: Number(sample.value[1]) }));
  }

  const only = options.matchers ?? {};
  const select = (selector: SeriesSelector): string =>
    renderSelector({ metric: selector.metric, matchers: { ...selector.matchers, ...only } });
  const span = range ? `range ${range}` : 'instant';
  return {
    description: `prometheus ${base} (${span}${options.end ? ` at ${options.end.toISOString()}` : ''}${Object.entries(
      only,
    )
      .map(([label, value]) => `, ${label}=${value}`)
      .join('')})`,
    query,
    sum: (selector: SeriesSelector, by: readonly string[]) =>
      query(grouped('sum', by, range ? `increase(${select(selector)}[${range}])` : select(selector))),
    max: (selector: SeriesSelector, by: readonly string[]) =>
      query(grouped('max', by, range ? `max_over_time(${select(selector)}[${range}])` : select(selector))),
  };
}
