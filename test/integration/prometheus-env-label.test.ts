/**
 * The `env` label against a scrape setup that adds its own `env` target label (Kubernetes
 * relabeling, file service discovery): with the shipped scrape configs' `honor_labels: true` real
 * Prometheus keeps the canary's `env`, and the generated rules still match; without it the label
 * becomes `exported_env` and they do not.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { HEALTH_RULES_PATH, SLO_RULES_PATH } from '../../src/alerts/index.js';
import { createMetrics } from '../../src/metrics/index.js';
import { createStatusHub, startExporter, type Exporter } from '../../src/server/index.js';
import { skipWithoutPrometheus, startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';

const root = path.resolve(import.meta.dirname, '../..');
const RULE_FILES = [SLO_RULES_PATH, HEALTH_RULES_PATH].map((file) => path.join(root, file));

interface ScrapeJob {
  job_name: string;
  honor_labels?: boolean;
}

function shippedScrapeJobs(): { file: string; job: string; honorLabels: unknown }[] {
  const jobs: { file: string; job: string; honorLabels: unknown }[] = [];
  const prometheus = parse(fs.readFileSync(path.join(root, 'prometheus/prometheus.yml'), 'utf8')) as {
    scrape_configs: ScrapeJob[];
  };
  for (const job of prometheus.scrape_configs.filter((j) => j.job_name !== 'prometheus'))
    jobs.push({ file: 'prometheus/prometheus.yml', job: job.job_name, honorLabels: job.honor_labels });
  const configMap = parse(
    fs.readFileSync(path.join(root, 'deploy/kubernetes/monitoring/prometheus-scrape-config.yaml'), 'utf8'),
  ) as { data: Record<string, string> };
  for (const [key, text] of Object.entries(configMap.data)) {
    for (const job of (parse(text) as { scrape_configs: ScrapeJob[] }).scrape_configs)
      jobs.push({
        file: `prometheus-scrape-config.yaml ${key}`,
        job: job.job_name,
        honorLabels: job.honor_labels,
      });
  }
  const podMonitor = parse(
    fs.readFileSync(path.join(root, 'deploy/kubernetes/monitoring/pod-monitor.yaml'), 'utf8'),
  ) as { spec: { podMetricsEndpoints: { port: string; honorLabels?: boolean }[] } };
  for (const endpoint of podMonitor.spec.podMetricsEndpoints)
    jobs.push({ file: 'pod-monitor.yaml', job: endpoint.port, honorLabels: endpoint.honorLabels });
  return jobs;
}

describe('the shipped scrape configs', () => {
  it('all keep the canary env label with honor_labels', () => {
    const jobs = shippedScrapeJobs();
    expect(jobs.length).toBeGreaterThanOrEqual(4);
    expect(jobs.filter((job) => job.honorLabels !== true)).toEqual([]);
  });
});

describe.skipIf(skipWithoutPrometheus)('a scrape config that adds an env target label', () => {
  let exporter: Exporter;
  const started: RunningPrometheus[] = [];
  const canaryJob = (
    parse(fs.readFileSync(path.join(root, 'prometheus/prometheus.yml'), 'utf8')) as {
      scrape_configs: ScrapeJob[];
    }
  ).scrape_configs.find((job) => job.job_name === 'canary');

  beforeAll(async () => {
    const { registry, metrics } = createMetrics();
    const labels = { env: 'local', probe: 'waiver-to-mechanic' };
    for (const deliveryPath of ['postgres_changes', 'broadcast', 'polling'] as const) {
      metrics.deliveryOutcomes.inc({ ...labels, path: deliveryPath, outcome: 'delivered' }, 99);
      metrics.deliveryOutcomes.inc({ ...labels, path: deliveryPath, outcome: 'dropped' }, 1);
      metrics.deliveryLatency.observe({ ...labels, path: deliveryPath }, 0.2);
    }
    metrics.subscribersConnected.set({ ...labels, client: 'lean' }, 3);
    metrics.connectionLimit.set({ env: 'local' }, 200);
    exporter = await startExporter({ registry, status: createStatusHub(), port: 0, host: '127.0.0.1' });
  });

  afterAll(async () => {
    for (const prometheus of started) await prometheus.stop();
    await exporter?.close();
  });

  async function scrapeWithClusterEnv(honorLabels: boolean | undefined): Promise<RunningPrometheus> {
    const prometheus = await startPrometheus({
      scrapeTargets: [{ url: exporter.url, job: 'canary', labels: { env: 'cluster-a' } }],
      ruleFiles: RULE_FILES,
      ...(honorLabels === undefined ? {} : { honorLabels }),
    });
    started.push(prometheus);
    return prometheus;
  }

  it('keeps the canary env with the shipped honor_labels, so the SLO and health rules still match', async () => {
    expect(canaryJob?.honor_labels).toBe(true);
    const prometheus = await scrapeWithClusterEnv(canaryJob?.honor_labels);
    // The counters do not move, so the ratio itself is NaN (0/0): what matters is that the rule's
    // series exists under the canary's env, grouped as the alerts and dashboards select it.
    const ratio = await prometheus.waitFor(
      'canary_slo:sli_error:ratio_rate5m{slo="delivery-success", env="local", path="broadcast"}',
      { timeoutMs: 30_000 },
    );
    expect(ratio[0]?.metric.exported_env).toBeUndefined();
    const outcomes = await prometheus.waitFor('sum by (env) (canary_delivery_outcomes_total{env="local"})');
    expect(outcomes[0]?.value).toBe(300);
    // The health rules' expressions group by env too.
    const headroom = await prometheus.query(
      'sum by (env) (max_over_time(canary_subscribers_connected[10m])) / max by (env) (canary_connection_limit > 0)',
    );
    expect(headroom.map((sample) => sample.metric.env)).toEqual(['local']);
  }, 60_000);

  it('renames it exported_env without honor_labels, and the rules stop matching (the failure it prevents)', async () => {
    const prometheus = await scrapeWithClusterEnv(false);
    const raw = await prometheus.waitFor(
      'canary_delivery_outcomes_total{outcome="dropped", path="broadcast"}',
    );
    expect(raw[0]?.metric).toMatchObject({ env: 'cluster-a', exported_env: 'local' });
    await prometheus.waitFor('canary_slo:sli_error:ratio_rate5m{slo="delivery-success"}', {
      timeoutMs: 30_000,
    });
    expect(await prometheus.query('canary_slo:sli_error:ratio_rate5m{env="local"}')).toEqual([]);
  }, 60_000);
});
