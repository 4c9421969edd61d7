import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createHarnessHealth, createMetrics, type HarnessHealth } from '../../src/metrics/index.js';
import { createStatusHub, startExporter, type Exporter } from '../../src/server/index.js';
import { skipWithoutPrometheus, startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';

describe.skipIf(skipWithoutPrometheus)('a real Prometheus scraping the exporter', () => {
  let exporter: Exporter;
  let prometheus: RunningPrometheus;
  let health: HarnessHealth;

  beforeAll(async () => {
    const { registry, metrics } = createMetrics({ registry: new Registry(), defaultMetrics: true });
    health = createHarnessHealth({ metrics, intervalMs: 200 });
    health.start();
    metrics.deliveryLatency.observe({ env: 'local', probe: 'scrape-check', path: 'broadcast' }, 0.042);
    exporter = await startExporter({ registry, status: createStatusHub(), port: 0, health });
    prometheus = await startPrometheus({ scrapeTargets: [exporter.url] });
  });

  afterAll(async () => {
    health?.stop();
    await prometheus?.stop();
    await exporter?.close();
  });

  it('sees the exporter up and reads the build info', async () => {
    const up = await prometheus.waitFor('up{job="canary"} == 1');
    expect(up).toHaveLength(1);
    const [buildInfo] = await prometheus.waitFor('canary_build_info');
    expect(buildInfo?.value).toBe(1);
    expect(buildInfo?.metric.node_version).toBe(process.version);
  });

  it('scrapes histograms, harness gauges and default process metrics with their catalogue names', async () => {
    const [count] = await prometheus.waitFor(
      'canary_delivery_latency_seconds_count{env="local",probe="scrape-check",path="broadcast"}',
    );
    expect(count?.value).toBe(1);
    const buckets = await prometheus.query('canary_delivery_latency_seconds_bucket{path="broadcast"}');
    // One series per catalogue bucket plus +Inf.
    expect(buckets.length).toBe(13);
    await prometheus.waitFor('canary_harness_cpu_ratio');
    await prometheus.waitFor('canary_harness_overloaded');
    await prometheus.waitFor('process_resident_memory_bytes > 0');
  });
});
