import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createHarnessHealth, createMetrics, type HarnessHealth } from '../../src/metrics/index.js';
import {
  createProbeStatusSource,
  createStatusHub,
  startExporter,
  type Exporter,
} from '../../src/server/index.js';
import { skipWithoutPrometheus, startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';
import { createRunner, startLocalEnvironment, type RunnerFixture } from './probe-support.js';

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

describe.skipIf(skipWithoutPrometheus)(
  'a real Prometheus scraping a probe runner on the local target',
  () => {
    let environment: Awaited<ReturnType<typeof startLocalEnvironment>> | undefined;
    let fixture: RunnerFixture | undefined;
    let exporter: Exporter | undefined;
    let prometheus: RunningPrometheus | undefined;

    afterAll(async () => {
      await prometheus?.stop();
      await exporter?.close();
      await fixture?.runner.stop();
      await environment?.env.close();
      // Stopping a local target has taken over a minute when the whole suite runs on two cores.
    }, 120_000);

    it('records delivery latency for postgres_changes and broadcast that Prometheus can query', async () => {
      environment = await startLocalEnvironment({ name: 'local', mechanics: 2 });
      fixture = createRunner(environment.env, {
        name: 'scrape',
        subscribers: { lean: 1, 'supabase-js': 1 },
        paths: ['postgres_changes', 'broadcast', 'polling'],
        pollInterval: '300ms',
        lateAfter: '2s',
        deadline: '6s',
        eventsPerRound: 2,
        readinessCheck: false,
      });
      const { runner, registry } = fixture;
      exporter = await startExporter({
        registry,
        status: createProbeStatusSource({ runners: [runner] }),
        port: 0,
      });
      prometheus = await startPrometheus({ scrapeTargets: [exporter.url] });

      await runner.start();
      expect(await runner.waitUntilSubscribed(20_000)).toBe(true);
      const round = await runner.runRound();
      expect(round.success).toBe(true);

      for (const path of ['postgres_changes', 'broadcast', 'polling']) {
        const [count] = await prometheus.waitFor(
          `canary_delivery_latency_seconds_count{env="local",probe="scrape",path="${path}"} > 0`,
        );
        // 2 events × 2 subscribers, each with exactly one outcome per path.
        expect(count?.value, path).toBe(4);
      }
      const [quantile] = await prometheus.waitFor(
        'histogram_quantile(0.5, sum by (le) (canary_delivery_latency_seconds_bucket{path="broadcast"}))',
      );
      expect(quantile?.value).toBeGreaterThan(0);
      expect(quantile?.value).toBeLessThan(2);
      const [delivered] = await prometheus.waitFor(
        'sum(canary_delivery_outcomes_total{probe="scrape",outcome="delivered"})',
        { until: (samples) => samples[0]?.value === 12 },
      );
      expect(delivered?.value).toBe(12);
      await prometheus.waitFor('canary_probe_success{probe="scrape"} == 1');
    }, 90_000);
  },
);
