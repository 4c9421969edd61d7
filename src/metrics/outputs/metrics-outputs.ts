/**
 * Outputs for short runs (`--out prometheus-rw=URL`, `--out pushgateway=URL`, like k6's outputs):
 * a load test or a bounded `canary run` in CI pushes its registry while it runs and once more at
 * the end, so its numbers land in the Prometheus the team's dashboards read instead of only in
 * report files. Every series gets a `run_id` label (and `scenario` for a load run) so runs never mix.
 *
 * - prometheus-rw: Prometheus remote write 1.0 (protobuf + snappy) to e.g.
 *   http://prometheus:9090/api/v1/write (Prometheus started with --web.enable-remote-write-receiver,
 *   Mimir, Thanos receive, VictoriaMetrics, Grafana Cloud). Samples carry the push time.
 * - pushgateway: PUT of the text exposition to <url>/metrics/job/canary/run_id/<id>[/scenario/<name>];
 *   Prometheus scrapes the Pushgateway (with honor_labels: true). The group keeps the final values
 *   until deleted: `curl -X DELETE <url>/metrics/job/canary/run_id/<id>/…`.
 */
import os from 'node:os';
import type { Registry } from 'prom-client';
import { CanaryError, type Logger } from '../../shared/index.js';
import { encodeWriteRequest, snappyBlock, type TimeSeries } from './remote-write-encoding.js';

export const OUTPUT_KINDS = ['prometheus-rw', 'pushgateway'] as const;
export type OutputKind = (typeof OUTPUT_KINDS)[number];

export interface OutputSpec {
  readonly kind: OutputKind;
  readonly url: string;
}

/** Labels every pushed series carries. */
export interface RunLabels {
  readonly run_id: string;
  readonly scenario?: string;
}

/** The Pushgateway job and the remote-write `job` label of pushed runs. */
export const PUSH_JOB = 'canary';

/** `prometheus-rw=http://…` → { kind, url }; a CLI_USAGE error naming the bad value otherwise. */
export function parseOutputSpec(text: string): OutputSpec {
  const at = text.indexOf('=');
  const kind = at > 0 ? text.slice(0, at) : '';
  const url = at > 0 ? text.slice(at + 1) : '';
  if (!(OUTPUT_KINDS as readonly string[]).includes(kind)) {
    throw new CanaryError('CLI_USAGE', `--out "${text}" is not an output`, {
      hint: `write --out prometheus-rw=http://prometheus:9090/api/v1/write or --out pushgateway=http://pushgateway:9091`,
    });
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CanaryError('CLI_USAGE', `--out ${kind}: "${url}" is not a URL`, {
      hint: 'give an absolute http(s) URL, e.g. http://127.0.0.1:9090/api/v1/write',
    });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new CanaryError('CLI_USAGE', `--out ${kind}: "${url}" is not an http(s) URL`, {
      hint: 'give an absolute http(s) URL',
    });
  }
  return { kind: kind as OutputKind, url };
}

/** A run id that sorts by time and is safe in a URL path: 20260131T120000Z-3f9a. */
export function newRunId(now: Date = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${Math.floor(Math.random() * 0x10000)
    .toString(16)
    .padStart(4, '0')}`;
}

interface MetricJson {
  name: string;
  values: { value: number; labels: Record<string, string | number>; metricName?: string }[];
}

/** The registry's current values as remote-write time series, one sample each at `timestampMs`. */
export async function registryTimeSeries(
  registry: Registry,
  labels: Readonly<Record<string, string>>,
  timestampMs: number,
): Promise<TimeSeries[]> {
  const metrics = (await registry.getMetricsAsJSON()) as unknown as MetricJson[];
  const series: TimeSeries[] = [];
  for (const metric of metrics) {
    for (const value of metric.values) {
      const seriesLabels: Record<string, string> = {};
      for (const [name, raw] of Object.entries(value.labels)) {
        seriesLabels[name] = raw === Infinity ? '+Inf' : String(raw);
      }
      Object.assign(seriesLabels, labels, { __name__: value.metricName ?? metric.name });
      series.push({ labels: seriesLabels, samples: [{ value: value.value, timestampMs }] });
    }
  }
  return series;
}

function pushLabels(run: RunLabels): Record<string, string> {
  return {
    job: PUSH_JOB,
    instance: os.hostname(),
    run_id: run.run_id,
    ...(run.scenario === undefined ? {} : { scenario: run.scenario }),
  };
}

async function checkResponse(response: Response, what: string): Promise<void> {
  if (response.ok) return;
  const body = (await response.text().catch(() => '')).slice(0, 300).trim();
  throw new Error(`${what}: HTTP ${response.status}${body ? ` — ${body}` : ''}`);
}

/** One remote-write request with the registry's current values. */
export async function pushRemoteWrite(
  url: string,
  registry: Registry,
  run: RunLabels,
  timestampMs: number = Date.now(),
): Promise<number> {
  const series = await registryTimeSeries(registry, pushLabels(run), timestampMs);
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-prometheus-remote-write-version': '0.1.0',
      'user-agent': 'realtime-canary',
    },
    body: Buffer.from(snappyBlock(encodeWriteRequest(series))),
    signal: AbortSignal.timeout(10_000),
  });
  await checkResponse(response, `remote write to ${url}`);
  return series.length;
}

/** `<label>/<value>` of a Pushgateway grouping key, base64url-encoded when the value has a slash. */
function groupingPart(label: string, value: string): string {
  if (value === '' || value.includes('/')) {
    return `${label}@base64/${Buffer.from(value).toString('base64url') || '='}`;
  }
  return `${label}/${encodeURIComponent(value)}`;
}

/** The Pushgateway group of a run: <url>/metrics/job/canary/run_id/<id>[/scenario/<name>]. */
export function pushgatewayGroupUrl(url: string, run: RunLabels): string {
  const parts = [groupingPart('job', PUSH_JOB), groupingPart('run_id', run.run_id)];
  if (run.scenario !== undefined) parts.push(groupingPart('scenario', run.scenario));
  return `${url.replace(/\/+$/, '')}/metrics/${parts.join('/')}`;
}

/** Replaces the run's group on the Pushgateway with the registry's current values. */
export async function pushToPushgateway(url: string, registry: Registry, run: RunLabels): Promise<void> {
  const target = pushgatewayGroupUrl(url, run);
  const response = await fetch(target, {
    method: 'PUT',
    headers: { 'content-type': registry.contentType },
    body: await registry.metrics(),
    signal: AbortSignal.timeout(10_000),
  });
  await checkResponse(response, `push to ${target}`);
}

export interface MetricsOutputsOptions {
  readonly outputs: readonly OutputSpec[];
  /** The registry to push; a function, because a split run only has its merged registry at the end. */
  readonly registry: () => Registry | undefined;
  readonly run: RunLabels;
  /** Push while running every this many ms; 0 = only at the end. */
  readonly intervalMs: number;
  readonly logger: Logger;
}

export interface MetricsOutputs {
  /** Push once more (the final values) and stop the timer; resolves with one line per failure. */
  finish(): Promise<string[]>;
}

/** Pushes on a timer while a run lasts, and once at the end. Failures are logged, never thrown. */
export function startMetricsOutputs(options: MetricsOutputsOptions): MetricsOutputs {
  const warned = new Set<string>();
  let lastTimestamp = 0;
  const pushAll = async (): Promise<string[]> => {
    const registry = options.registry();
    if (!registry) return [];
    // Remote write rejects a second sample at the same millisecond for a series.
    const timestampMs = Math.max(Date.now(), lastTimestamp + 1);
    lastTimestamp = timestampMs;
    const failures: string[] = [];
    await Promise.all(
      options.outputs.map(async (output) => {
        try {
          if (output.kind === 'prometheus-rw')
            await pushRemoteWrite(output.url, registry, options.run, timestampMs);
          else await pushToPushgateway(output.url, registry, options.run);
        } catch (error) {
          const message = `--out ${output.kind}: ${error instanceof Error ? error.message : String(error)}`;
          failures.push(message);
          if (!warned.has(output.kind))
            options.logger.warn('pushing metrics failed', { output: output.kind, error: message });
          warned.add(output.kind);
        }
      }),
    );
    return failures;
  };
  let inFlight: Promise<unknown> = Promise.resolve();
  const timer =
    options.intervalMs > 0 && options.outputs.length > 0
      ? setInterval(() => {
          inFlight = inFlight.then(pushAll);
        }, options.intervalMs)
      : undefined;
  timer?.unref();
  return {
    async finish() {
      if (timer) clearInterval(timer);
      await inFlight;
      return options.outputs.length > 0 ? pushAll() : [];
    },
  };
}
