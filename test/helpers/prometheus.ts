/**
 * A real Prometheus for tests: the Debian binary on loopback, with its config and TSDB in a fresh
 * temp dir and a free port, scraping the given targets every second (by default). Tests use it to
 * prove series are really scrapeable, to evaluate SLO PromQL, and to load rule files.
 *
 *   const prometheus = await startPrometheus({ scrapeTargets: [exporter.url] });
 *   await prometheus.waitFor('up{job="canary"} == 1');
 *   await prometheus.stop();
 *
 * When the binary is missing the suite should skip locally but fail in CI: use
 * `describe.skipIf(skipWithoutPrometheus)`, and startPrometheus throws a clear error otherwise.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const PROMETHEUS_BINARY = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';

export const prometheusAvailable = fs.existsSync(PROMETHEUS_BINARY);

/** Skip only on a developer machine; in CI a missing Prometheus is a failure. */
export const skipWithoutPrometheus = !prometheusAvailable && process.env.CI !== 'true';

export interface ScrapeTarget {
  /** Base URL (http://127.0.0.1:1234) or a full metrics URL (…/metrics is the default path). */
  url: string;
  /** Job label; `canary` by default. Targets with the same job share one scrape config. */
  job?: string;
  /** Extra target labels (e.g. `{ shard: '0' }`). */
  labels?: Record<string, string>;
}

export interface PrometheusOptions {
  scrapeTargets: ReadonlyArray<string | ScrapeTarget>;
  /** Rule files to load (absolute paths, or relative to the current directory). */
  ruleFiles?: readonly string[];
  /** Scrape and rule-evaluation interval; 1 s by default. */
  scrapeIntervalSeconds?: number;
  /** How long to wait for Prometheus to report ready; 30 s by default. */
  startTimeoutMs?: number;
  /** `honor_labels` on every scrape job (the shipped scrape configs set it). */
  honorLabels?: boolean;
  /** Extra command-line flags, e.g. '--web.enable-remote-write-receiver'. */
  extraArgs?: readonly string[];
}

export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export interface RunningPrometheus {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** The temp dir holding prometheus.yml and the TSDB (removed by stop()). */
  readonly dir: string;
  /** An instant query; vector and scalar results come back as samples. */
  query(expr: string): Promise<PromSample[]>;
  /** Poll `expr` until it returns a sample (or `until` accepts the samples); throws on timeout. */
  waitFor(
    expr: string,
    options?: { timeoutMs?: number; until?: (samples: PromSample[]) => boolean },
  ): Promise<PromSample[]>;
  /** Any GET under /api/v1 (e.g. 'rules', 'targets'); returns the `data` field. */
  api(endpoint: string, params?: Record<string, string>): Promise<unknown>;
  /** Prometheus' own log lines so far (stderr), for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function normaliseTarget(target: string | ScrapeTarget): Required<ScrapeTarget> & { metricsPath: string } {
  const spec = typeof target === 'string' ? { url: target } : target;
  const url = new URL(spec.url);
  const metricsPath = url.pathname === '/' || url.pathname === '' ? '/metrics' : url.pathname;
  return { url: url.host, job: spec.job ?? 'canary', labels: spec.labels ?? {}, metricsPath };
}

function renderConfig(options: PrometheusOptions): string {
  const interval = `${options.scrapeIntervalSeconds ?? 1}s`;
  const jobs = new Map<
    string,
    { metricsPath: string; groups: { target: string; labels: Record<string, string> }[] }
  >();
  for (const raw of options.scrapeTargets) {
    const target = normaliseTarget(raw);
    const key = `${target.job}\u0000${target.metricsPath}`;
    const job = jobs.get(key) ?? { metricsPath: target.metricsPath, groups: [] };
    job.groups.push({ target: target.url, labels: target.labels });
    jobs.set(key, job);
  }
  // JSON is valid YAML, so the config needs no YAML writer and no quoting rules.
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    rule_files: (options.ruleFiles ?? []).map((file) => path.resolve(file)),
    scrape_configs: [...jobs.entries()].map(([key, job]) => ({
      job_name: key.split('\u0000')[0],
      metrics_path: job.metricsPath,
      ...(options.honorLabels === undefined ? {} : { honor_labels: options.honorLabels }),
      static_configs: job.groups.map((group) => ({ targets: [group.target], labels: group.labels })),
    })),
  };
  return JSON.stringify(config, null, 2);
}

async function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  if (!prometheusAvailable) {
    throw new Error(
      `Prometheus is not installed at ${PROMETHEUS_BINARY}: install the Debian package (apt-get install prometheus) or set PROMETHEUS_BIN`,
    );
  }
  if (
    options.scrapeTargets.length === 0 &&
    (options.ruleFiles ?? []).length === 0 &&
    (options.extraArgs ?? []).length === 0
  ) {
    throw new Error('startPrometheus needs at least one scrape target, rule file or flag');
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-prometheus-'));
  const configFile = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(configFile, renderConfig(options));
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;

  // Another process can take the free port between our probe and Prometheus' bind: retry a few times.
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freeLoopbackPort();
    const url = `http://127.0.0.1:${port}`;
    let logText = '';
    const child = spawn(
      PROMETHEUS_BINARY,
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
        ...(options.extraArgs ?? []),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      // Bounded: only the tail matters for a failure message.
      logText = (logText + chunk).slice(-20_000);
    });

    const ready = await waitUntilReady(url, child, startTimeoutMs);
    if (ready) return running(url, dir, child, () => logText);
    child.kill('SIGKILL');
    await waitForExit(child, 5_000);
    lastError = new Error(
      `Prometheus did not become ready on ${url} within ${startTimeoutMs} ms:\n${logText}`,
    );
    if (!/address already in use/i.test(logText)) break;
  }
  fs.rmSync(dir, { recursive: true, force: true });
  throw lastError ?? new Error('Prometheus did not start');
}

async function waitUntilReady(url: string, child: ChildProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    try {
      const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return true;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

function running(url: string, dir: string, child: ChildProcess, log: () => string): RunningPrometheus {
  async function api(endpoint: string, params: Record<string, string> = {}): Promise<unknown> {
    const query = new URLSearchParams(params).toString();
    const response = await fetch(`${url}/api/v1/${endpoint}${query ? `?${query}` : ''}`, {
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await response.json()) as {
      status: string;
      data?: unknown;
      error?: string;
      errorType?: string;
    };
    if (body.status !== 'success') {
      throw new Error(
        `Prometheus ${endpoint} failed (${body.errorType ?? response.status}): ${body.error ?? ''}`,
      );
    }
    return body.data;
  }

  async function query(expr: string): Promise<PromSample[]> {
    const data = (await api('query', { query: expr })) as {
      resultType: string;
      result: unknown;
    };
    if (data.resultType === 'scalar') {
      const [, value] = data.result as [number, string];
      return [{ metric: {}, value: Number(value) }];
    }
    if (data.resultType !== 'vector') {
      throw new Error(
        `query ${expr} returned a ${data.resultType}; use an instant vector or scalar expression`,
      );
    }
    return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((sample) => ({
      metric: sample.metric,
      value: Number(sample.value[1]),
    }));
  }

  let stopped: Promise<void> | null = null;
  return {
    url,
    dir,
    query,
    api,
    log,
    async waitFor(expr, waitOptions = {}) {
      const timeoutMs = waitOptions.timeoutMs ?? 30_000;
      const accept = waitOptions.until ?? ((samples: PromSample[]) => samples.length > 0);
      const deadline = Date.now() + timeoutMs;
      let last: PromSample[] = [];
      while (Date.now() < deadline) {
        last = await query(expr);
        if (accept(last)) return last;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      throw new Error(
        `Prometheus: ${expr} not satisfied within ${timeoutMs} ms; last result ${JSON.stringify(last)}`,
      );
    },
    stop() {
      stopped ??= (async () => {
        child.kill('SIGTERM');
        if (!(await waitForExit(child, 10_000))) {
          child.kill('SIGKILL');
          await waitForExit(child, 5_000);
        }
        fs.rmSync(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
