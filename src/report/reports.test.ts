import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMetrics, LatencyHistogram } from '../metrics/index.js';
import { evaluateSlos, parseSloSpec, registrySource, type MetricSnapshot } from '../slo/index.js';
import { renderHtml } from './html-report.js';
import { renderJUnit } from './junit-report.js';
import { renderMarkdown } from './markdown-report.js';
import {
  readReportFile,
  REPORT_SCHEMA,
  runOutcome,
  summarizeLatency,
  type CanaryReport,
} from './report-model.js';
import { cdfPoints, niceTicks } from './svg-chart.js';
import { writeReports } from './write-reports.js';

async function sampleReport(options: { breach: boolean; failure?: boolean }): Promise<CanaryReport> {
  const { registry, metrics } = createMetrics();
  const labels = { env: 'local', probe: 'load', path: 'postgres_changes' };
  const latencies = Array.from({ length: 40 }, (_, i) => (options.breach && i % 4 === 0 ? 1600 : 20 + i));
  for (const latency of latencies) metrics.deliveryLatency.observe(labels, latency / 1000);
  metrics.deliveryOutcomes.inc({ ...labels, outcome: 'delivered' }, 40);
  const spec = parseSloSpec(
    {
      version: 'canary.slo/v1',
      slos: [
        {
          name: 'delivery-latency',
          description: 'fast',
          objective: 0.99,
          sli: { latency: { threshold: '1s' } },
        },
        { name: 'delivery-success', description: 'arrives', objective: 0.999, sli: { delivery: {} } },
        { name: 'subscription-success', description: 'joins', objective: 0.999, sli: { subscription: {} } },
      ],
    },
    'inline',
  );
  const verdict = await evaluateSlos(spec.slos, registrySource(registry));
  const failure = options.failure
    ? {
        code: 'TARGET_UNREACHABLE',
        message: 'http://127.0.0.1:1 refused the connection',
        hint: 'start the target',
      }
    : undefined;
  const outcome = runOutcome(verdict, failure);
  return {
    schema: REPORT_SCHEMA,
    generator: { name: 'realtime-canary', version: '0.1.0', node: process.version },
    run: {
      kind: 'load',
      scenario: 'smoke',
      description: 'A <quick> & "small" run',
      executor: 'ramping-subscribers',
      env: 'local',
      startedAt: '2026-01-01T00:00:00.000Z',
      endedAt: '2026-01-01T00:00:30.000Z',
      durationSeconds: 30,
      partial: false,
      stopReason: 'completed',
      ...outcome,
      ...(failure ? { failure } : {}),
    },
    totals: {
      published: 40,
      publishErrors: 0,
      peakSubscribers: 5,
      paths: {
        postgres_changes: {
          delivered: 40,
          late: 0,
          dropped: 0,
          latencyMs: summarizeLatency(histogramOf(latencies)),
        },
      },
    },
    slo: verdict,
    timeline: Array.from({ length: 10 }, (_, i) => ({
      t: i,
      subscribersTarget: Math.min(5, i),
      subscribersConnected: Math.min(5, i),
      published: i * 4,
      delivered: i * 4,
      late: 0,
      dropped: i > 5 ? 1 : 0,
      latencyP50Ms: { postgres_changes: 25 },
      latencyP95Ms: { postgres_changes: options.breach ? 1600 : 55 },
      overloaded: false,
    })),
    latencySamplesMs: { postgres_changes: latencies },
    metrics: (await registry.getMetricsAsJSON()) as unknown as MetricSnapshot[],
  };
}

function histogramOf(latencies: readonly number[]): LatencyHistogram {
  const histogram = new LatencyHistogram();
  for (const latency of latencies) histogram.record(latency);
  return histogram;
}

describe('reports', () => {
  it('marks a breached SLO failed in JUnit with the measured value and the objective', async () => {
    const xml = renderJUnit(await sampleReport({ breach: true }));
    expect(xml).toContain('<testcase classname="canary.slo" name="delivery-latency"');
    expect(xml).toMatch(
      /<failure type="SloBreached" message="delivery-latency breached: 75% of deliveries within 1s \(30\/40\), objective 99%/,
    );
    expect(xml).toContain('failures="1"');
    expect(xml).toContain('<skipped message="subscription-success: no data');
  });

  it('reports a failed run as a JUnit error, not an SLO failure', async () => {
    const report = await sampleReport({ breach: false, failure: true });
    expect(report.run).toMatchObject({ status: 'run_failed', exitCode: 2 });
    const xml = renderJUnit(report);
    expect(xml).toContain(
      '<error type="TARGET_UNREACHABLE" message="http://127.0.0.1:1 refused the connection">',
    );
    expect(xml).toContain('errors="1"');
    expect(xml).toContain('failures="0"');
  });

  it('writes a Markdown summary with the verdict, SLO table and per-path latency', async () => {
    const markdown = renderMarkdown(await sampleReport({ breach: true }));
    expect(markdown).toContain('❌ **SLO breached** (exit 1)');
    expect(markdown).toContain(
      '| delivery-latency | local / postgres_changes | 75% of deliveries within 1s (30/40)',
    );
    expect(markdown).toMatch(/\| postgres_changes \| 40 \| 0 \| 0 \| \d+ ms \|/);
  });

  it('draws the three plots into a self-contained HTML page with escaped text', async () => {
    const html = renderHtml(await sampleReport({ breach: false }));
    for (const id of ['latency-cdf', 'latency-over-time', 'subscribers-over-time']) {
      expect(html).toMatch(new RegExp(`<svg [^>]*id="${id}"[\\s\\S]*?<path class="series"`));
    }
    expect(html).toContain('A &lt;quick&gt; &amp; &quot;small&quot; run');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });

  it('writes all four files and reads the JSON back for re-judging', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-report-'));
    const files = writeReports(await sampleReport({ breach: false }), dir);
    for (const file of Object.values(files)) expect(fs.statSync(file).size).toBeGreaterThan(100);
    const back = readReportFile(files.json);
    expect(back.schema).toBe('canary.report/v1');
    expect(back.metrics.length).toBeGreaterThan(0);
    fs.writeFileSync(path.join(dir, 'other.json'), JSON.stringify({ schema: 'x' }));
    expect(() => readReportFile(path.join(dir, 'other.json'))).toThrow(
      /schema: expected "canary.report\/v1"/,
    );
  });

  it('computes chart helpers: nice ticks and a CDF ending at 1', () => {
    expect(niceTicks(0, 100)).toEqual([0, 20, 40, 60, 80, 100]);
    const cdf = cdfPoints([3, 1, 2, 4]);
    expect(cdf[0]).toEqual([1, 0.25]);
    expect(cdf[cdf.length - 1]).toEqual([4, 1]);
    // Within the histogram's 0.1 % of the exact nearest-rank values.
    const summary = summarizeLatency(histogramOf([5, 1, 3]));
    expect(summary?.count).toBe(3);
    expect(summary?.p50).toBeCloseTo(3, 2);
    expect(summary?.max).toBeCloseTo(5, 2);
    expect(summarizeLatency(new LatencyHistogram())).toBeNull();
  });
});
