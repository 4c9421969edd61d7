/**
 * One evaluator, two sources: the same SLO spec judged on a recorded run's in-process registry
 * and, through a real Prometheus that scraped that run's exporter, with PromQL — same verdicts,
 * same numbers. Also through the CLI: `canary slo --prometheus` and `canary slo --run` agree.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPORT_SCHEMA, type CanaryReport } from '../../src/report/index.js';
import { createProbeStatusSource, startExporter, type Exporter } from '../../src/server/index.js';
import {
  evaluateSlos,
  loadSloFile,
  prometheusSource,
  registrySource,
  type MetricSnapshot,
  type SloResult,
} from '../../src/slo/index.js';
import { skipWithoutPrometheus, startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';
import { runCli, tempDir, writeYaml } from './load-support.js';
import { createRunner, startLocalEnvironment, type RunnerFixture } from './probe-support.js';

function key(result: SloResult): string {
  return `${result.slo} ${result.env ?? ''} ${result.path ?? ''}`;
}

describe.skipIf(skipWithoutPrometheus)('SLO evaluation from a run registry and from Prometheus', () => {
  let environment: Awaited<ReturnType<typeof startLocalEnvironment>> | undefined;
  let fixture: RunnerFixture | undefined;
  let exporter: Exporter | undefined;
  let prometheus: RunningPrometheus | undefined;

  afterAll(async () => {
    await prometheus?.stop();
    await exporter?.close();
    await fixture?.runner.stop();
    await environment?.env.close();
  });

  it('gives the same verdicts and values in-process and with PromQL on a recorded run', async () => {
    const dir = tempDir('slo-sources');
    const sloFile = writeYaml(dir, 'slos.yaml', [
      'version: canary.slo/v1',
      'slos:',
      '  - { name: latency, description: within 1 s, objective: 0.9, sli: { latency: { threshold: 1s } } }',
      '  - { name: delivery, description: delivered, objective: 0.99, sli: { delivery: {} } }',
      '  - { name: joins, description: joins, objective: 0.99, sli: { subscription: { timeToSubscribed: 5s } } }',
      '  - { name: headroom, description: room, objective: 0.99, sli: { headroom: { minSubscribers: 3 } } }',
    ]);
    const spec = loadSloFile(sloFile);

    environment = await startLocalEnvironment({ name: 'local', mechanics: 2 });
    fixture = createRunner(environment.env, {
      name: 'agreement',
      subscribers: { lean: 2, 'supabase-js': 0 },
      paths: ['postgres_changes', 'broadcast'],
      lateAfter: '2s',
      deadline: '4s',
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
    // Three healthy rounds, then three with broadcast slowed past the 1 s threshold: a mixed verdict.
    for (let round = 0; round < 3; round++) await runner.runRound();
    await environment.target.faults.update({ broadcast: { delayMs: 1300 } });
    for (let round = 0; round < 3; round++) await runner.runRound();
    await runner.drain();

    const local = await evaluateSlos(spec.slos, registrySource(registry));
    const outcomes = local.results.filter((r) => r.slo === 'delivery').reduce((sum, r) => sum + r.total, 0);
    expect(outcomes).toBe(6 * 2 * 2 * 2); // rounds × events × subscribers × paths
    // Wait until Prometheus has scraped the final counters.
    await prometheus.waitFor('sum(canary_delivery_outcomes_total{probe="agreement"})', {
      until: (samples) => samples[0]?.value === outcomes,
    });
    await prometheus.waitFor('sum(canary_delivery_latency_seconds_count{probe="agreement"})', {
      until: (samples) => samples[0]?.value === outcomes,
    });

    const remote = await evaluateSlos(spec.slos, prometheusSource({ url: prometheus.url }));
    expect(remote.status).toBe(local.status);
    expect(local.status).toBe('breached');
    expect(remote.results.map(key).sort()).toEqual(local.results.map(key).sort());
    for (const mine of local.results) {
      const theirs = remote.results.find((r) => key(r) === key(mine));
      expect(theirs?.status, key(mine)).toBe(mine.status);
      expect(theirs?.good, key(mine)).toBeCloseTo(mine.good, 6);
      expect(theirs?.total, key(mine)).toBeCloseTo(mine.total, 6);
    }
    const byKey = new Map(local.results.map((r) => [key(r), r]));
    expect(byKey.get('latency local broadcast')?.status).toBe('breached');
    expect(byKey.get('latency local postgres_changes')?.status).toBe('met');
    expect(byKey.get('headroom local ')?.status).toBe('breached'); // 2 subscribers < 3

    // The CLI, both ways: a report holding this registry, and the Prometheus URL.
    const report: CanaryReport = {
      schema: REPORT_SCHEMA,
      generator: { name: 'realtime-canary', version: '0.1.0', node: process.version },
      run: {
        kind: 'load',
        env: 'local',
        startedAt: new Date().toISOString(),
        endedAt: new Date().toISOString(),
        durationSeconds: 1,
        partial: false,
        stopReason: 'completed',
        status: 'slo_breached',
        exitCode: 1,
      },
      totals: { published: 12, publishErrors: 0, peakSubscribers: 2, paths: {} },
      slo: null,
      timeline: [],
      latencySamplesMs: {},
      metrics: (await registry.getMetricsAsJSON()) as unknown as MetricSnapshot[],
    };
    const reportFile = path.join(dir, 'report.json');
    fs.writeFileSync(reportFile, JSON.stringify(report));
    const fromRun = await runCli(['slo', '--run', reportFile, '--slos', sloFile, '--format', 'json']);
    const fromPrometheus = await runCli([
      'slo',
      '--prometheus',
      prometheus.url,
      '--slos',
      sloFile,
      '--format',
      'json',
    ]);
    expect(fromRun.code, fromRun.stderr).toBe(1);
    expect(fromPrometheus.code, fromPrometheus.stderr).toBe(1);
    const statuses = (stdout: string) =>
      (JSON.parse(stdout) as { slo: { results: SloResult[] } }).slo.results
        .map((r) => `${key(r)}=${r.status}`)
        .sort();
    expect(statuses(fromPrometheus.stdout)).toEqual(statuses(fromRun.stdout));
  }, 120_000);

  it('exits 2 with PROMETHEUS_QUERY_FAILED when Prometheus is unreachable', async () => {
    const result = await runCli([
      'slo',
      '--prometheus',
      'http://127.0.0.1:9',
      '--slos',
      'slos/delivery.yaml',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('PROMETHEUS_QUERY_FAILED');
  });
});
