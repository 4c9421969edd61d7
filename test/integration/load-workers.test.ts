import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCanaryConfig, probesFor, selectEnvironments, type ProbeSpec } from '../../src/config/index.js';
import {
  runWithWorkers,
  scenarioSchema,
  type LoadRunResult,
  type MetricsJson,
  type WorkerRun,
} from '../../src/load/index.js';
import { LatencyHistogram } from '../../src/metrics/index.js';
import { resolveEnvironment, type ResolvedEnvironment } from '../../src/probe/index.js';
import { faultSettingsSchema, startTarget } from '../../src/local-target/index.js';
import type { CanaryReport } from '../../src/report/index.js';
import {
  readJson,
  runCli,
  SHARED_MACHINE_HARNESS,
  tempDir,
  writeLocalConfig,
  writeYaml,
} from './load-support.js';

const SUBSCRIBERS = 7;
const WORKERS = 3;
const PATHS = ['postgres_changes', 'broadcast'] as const;

/** Seven mechanics connect during 3 s of silence, then three waivers a second for 4 s. */
const scenario = scenarioSchema.parse({
  version: 'canary.scenario/v1',
  name: 'split',
  description: 'Seven mechanics over three workers; three waivers a second after they connect.',
  executor: 'ramping-arrival-rate',
  subscribers: SUBSCRIBERS,
  startRate: 0,
  paths: [...PATHS],
  stages: [
    { duration: '3s', target: 0 },
    { duration: '100ms', target: 3 },
    { duration: '4s', target: 3 },
  ],
  spawnRate: 50,
  maxDuration: '60s',
  harness: SHARED_MACHINE_HARNESS,
});

function counterTotal(metrics: MetricsJson, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const metric of metrics) {
    for (const sample of metric.values) {
      const series = (sample as { metricName?: string }).metricName ?? metric.name;
      if (series !== name) continue;
      if (Object.entries(labels).every(([key, value]) => String(sample.labels[key]) === value))
        total += sample.value;
    }
  }
  return total;
}

describe('canary load --workers', () => {
  let env: ResolvedEnvironment;
  let probe: ProbeSpec;
  let run: WorkerRun;

  beforeAll(async () => {
    const dir = tempDir('workers');
    const config = loadCanaryConfig(writeLocalConfig(dir, { lateAfter: '2s', deadline: '5s' }), {
      localFaultsSchema: faultSettingsSchema,
    });
    const [envConfig] = selectEnvironments(config, ['local']);
    env = await resolveEnvironment(envConfig!, { startLocalTarget: (request) => startTarget(request) });
    probe = probesFor(config, 'local')[0]!;
    run = await runWithWorkers({ scenario, env, probe, workers: WORKERS });
  }, 150_000);

  afterAll(async () => {
    await env?.close();
  });

  it('gives each worker its share of subscribers and lets only worker 0 publish', () => {
    expect(run.workers).toHaveLength(WORKERS);
    expect(run.workers.map((w) => w.result.peakSubscribers)).toEqual([3, 2, 2]);
    expect(run.workers.map((w) => w.result.published)).toEqual([run.result.published, 0, 0]);
    expect(run.result.published).toBeGreaterThanOrEqual(10);
    expect(run.result.publishErrors).toBe(0);
    // Every follower registered every event the publisher announced.
    for (const worker of run.workers.slice(1)) expect(worker.feedEvents).toBe(run.result.published);
  });

  it('merges outcome counts and latency histograms as the sums of the workers', () => {
    for (const pathName of PATHS) {
      const merged = run.result.paths[pathName]!;
      for (const outcome of ['delivered', 'late', 'dropped'] as const) {
        const sum = run.workers.reduce((total, w) => total + (w.result.paths[pathName]?.[outcome] ?? 0), 0);
        expect(merged[outcome]).toBe(sum);
      }
      const recorded = (result: LoadRunResult): number => {
        const encoded = result.latencyHistograms[pathName]?.all;
        return encoded ? LatencyHistogram.decode(encoded).count : 0;
      };
      const samples = run.workers.reduce((n, w) => n + recorded(w.result), 0);
      expect(samples).toBeGreaterThan(0);
      expect(recorded(run.result)).toBe(samples);
    }
  });

  it('accounts for every (event, subscriber, path) after the merge: published × subscribers × paths', () => {
    let finals = 0;
    for (const pathName of PATHS) {
      const counts = run.result.paths[pathName]!;
      expect(counts.delivered + counts.late + counts.dropped).toBe(run.result.published * SUBSCRIBERS);
      finals += counts.delivered + counts.late + counts.dropped;
      // A healthy local target delivers on both realtime paths.
      expect(counts.delivered).toBeGreaterThan(0);
    }
    expect(finals).toBe(run.result.published * SUBSCRIBERS * PATHS.length);
  });

  it('sums counters and histogram buckets of the workers’ registries into the merged registry', async () => {
    const merged = await run.registry.getMetricsAsJSON();
    const perWorker = run.workers.map((w) => w.metrics);
    const sumOver = (name: string, labels: Record<string, string> = {}): number =>
      perWorker.reduce((total, metrics) => total + counterTotal(metrics, name, labels), 0);
    for (const name of [
      'canary_events_published_total',
      'canary_delivery_outcomes_total',
      'canary_delivery_latency_seconds_count',
      'canary_delivery_latency_seconds_sum',
    ]) {
      expect(counterTotal(merged, name)).toBeCloseTo(sumOver(name), 9);
    }
    for (const le of ['0.05', '0.25', '1', '+Inf']) {
      const labels = { path: 'broadcast', le };
      expect(counterTotal(merged, 'canary_delivery_latency_seconds_bucket', labels)).toBe(
        sumOver('canary_delivery_latency_seconds_bucket', labels),
      );
    }
    expect(counterTotal(merged, 'canary_events_published_total')).toBe(run.result.published);
    const outcomes = counterTotal(merged, 'canary_delivery_outcomes_total');
    expect(outcomes).toBe(run.result.published * SUBSCRIBERS * PATHS.length);
  });

  it('canary load --workers 2 reports and judges the merged run like one process', async () => {
    const dir = tempDir('workers-cli');
    const file = writeYaml(dir, 'split.yaml', [
      'version: canary.scenario/v1',
      'name: split',
      'description: Five mechanics over two workers, then two waivers a second.',
      'executor: ramping-arrival-rate',
      'subscribers: 5',
      'startRate: 0',
      'paths: [postgres_changes, broadcast]',
      'stages: [{ duration: 3s, target: 0 }, { duration: 100ms, target: 2 }, { duration: 3s, target: 2 }]',
      'maxDuration: 60s',
      `harness: { eventLoopLagP99Ms: ${SHARED_MACHINE_HARNESS.eventLoopLagP99Ms}, cpuRatio: ${SHARED_MACHINE_HARNESS.cpuRatio} }`,
      'thresholds:',
      '  inline:',
      '    - { name: delivery-success, description: all delivered, objective: 0.99, window: 1d, sli: { delivery: {} } }',
    ]);
    const out = path.join(dir, 'out');
    const result = await runCli(
      [
        'load',
        file,
        '--env',
        'local',
        '--config',
        writeLocalConfig(dir, { deadline: '5s' }),
        '--workers',
        '2',
        '--report-dir',
        out,
      ],
      { timeoutMs: 120_000 },
    );
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const report = readJson<CanaryReport>(path.join(out, 'report.json'));
    expect(report.totals.published).toBeGreaterThanOrEqual(4);
    expect(report.totals.peakSubscribers).toBe(5);
    for (const pathName of PATHS) {
      const counts = report.totals.paths[pathName]!;
      expect(counts.delivered + counts.late + counts.dropped).toBe(report.totals.published * 5);
    }
    // The verdict was judged on the merged registry: it counted every worker's outcomes.
    const success = report.slo?.results.filter((r) => r.slo === 'delivery-success') ?? [];
    expect(success.map((r) => r.path).sort()).toEqual([...PATHS].sort());
    for (const perPath of success) {
      expect(perPath.total).toBe(report.totals.published * 5);
      expect(perPath.status).toBe('met');
    }
  }, 150_000);

  it('refuses a worker count it cannot use, with a hint, before starting anything', async () => {
    const dir = tempDir('workers-bad');
    const file = writeYaml(dir, 'split.yaml', [
      'version: canary.scenario/v1',
      'name: split',
      'description: x',
      'executor: ramping-subscribers',
      'stages: [{ duration: 1s, target: 1 }]',
    ]);
    const result = await runCli(
      [
        'load',
        file,
        '--env',
        'local',
        '--config',
        writeLocalConfig(dir),
        '--workers',
        '0',
        '--report-dir',
        path.join(dir, 'out'),
      ],
      { timeoutMs: 60_000 },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--workers 0');
    expect(result.stderr).toContain('one worker per core');
  }, 90_000);
});
