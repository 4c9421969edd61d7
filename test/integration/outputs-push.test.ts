/**
 * `canary load --out prometheus-rw=… --out pushgateway=…` against real parts: a Prometheus with its
 * remote-write receiver enabled, and a real Pushgateway that a second Prometheus scrapes. The smoke
 * scenario pushes while it runs and at the end; afterwards the PromQL verdict of the pushed run
 * equals the verdict the run judged in-process, and every dashboard panel query returns series.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { HEALTH_RULES_PATH, SLO_RULES_PATH } from '../../src/alerts/index.js';
import { startRun } from '../../src/cli/commands/run.js';
import { dashboardSpecs } from '../../src/dashboards/index.js';
import { catalog } from '../../src/metrics/index.js';
import type { CanaryReport } from '../../src/report/index.js';
import { silentLogger } from '../../src/shared/index.js';
import { evaluateSlos, loadSloFile, prometheusSource, type SloVerdict } from '../../src/slo/index.js';
import { skipWithoutPrometheus, startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';
import { skipWithoutPushgateway, startPushgateway, type RunningPushgateway } from '../helpers/pushgateway.js';
import { readJson, runCli, smokeScenario, tempDir, writeLocalConfig } from './load-support.js';

const root = path.resolve(import.meta.dirname, '../..');
const RUN_ID = `ci-${process.pid}`;
const ENV = 'local';
const RULE_FILES = [SLO_RULES_PATH, HEALTH_RULES_PATH].map((file) => path.join(root, file));
/**
 * Probe rounds are what `canary run` schedules; a load scenario publishes events one by one and
 * finishes no round, so these series exist for monitor runs only. Their panels must still execute.
 */
const ROUND_METRICS = [
  catalog.probeLastRun,
  catalog.probeRuns,
  catalog.probeSuccess,
  catalog.probeDuration,
].map((spec) => spec.name);

/** What Grafana would put in place of each template variable to show this CI run. */
const VARIABLES: Record<string, string> = {
  env: ENV,
  env_a: ENV,
  env_b: ENV,
  path: '.*',
  scenario: 'smoke',
  run_id: RUN_ID,
  __rate_interval: '30s',
  __range: '5m',
  __interval: '10s',
};

function substitute(expr: string): string {
  return expr.replace(/\$(\w+)/g, (token, name: string) => {
    const value = VARIABLES[name];
    if (value === undefined) throw new Error(`no test value for template variable ${token} in ${expr}`);
    return value;
  });
}

/** Verdicts reduced to what must agree: status, good and total per SLO, env and path. */
function comparable(verdict: SloVerdict | null): unknown {
  return {
    status: verdict?.status,
    results: (verdict?.results ?? [])
      .map((r) => ({ slo: r.slo, env: r.env, path: r.path, status: r.status, good: r.good, total: r.total }))
      .sort((a, b) => `${a.slo}/${a.path}`.localeCompare(`${b.slo}/${b.path}`)),
  };
}

describe.skipIf(skipWithoutPrometheus || skipWithoutPushgateway)('a load run pushing its metrics', () => {
  let dir: string;
  let remoteWrite: RunningPrometheus;
  let pushgateway: RunningPushgateway;
  let scraper: RunningPrometheus;
  let report: CanaryReport;
  let stderr = '';

  beforeAll(async () => {
    dir = tempDir('outputs');
    remoteWrite = await startPrometheus({
      scrapeTargets: [],
      ruleFiles: RULE_FILES,
      extraArgs: ['--web.enable-remote-write-receiver'],
    });
    pushgateway = await startPushgateway();
    scraper = await startPrometheus({
      scrapeTargets: [{ url: pushgateway.url, job: 'pushgateway' }],
      honorLabels: true,
    });
    const out = path.join(dir, 'report');
    // No --env: the config defines one environment, and load picks it.
    const result = await runCli([
      'load',
      smokeScenario(dir),
      '--config',
      writeLocalConfig(dir),
      '--report-dir',
      out,
      '--no-progress',
      '--out',
      `prometheus-rw=${remoteWrite.url}/api/v1/write`,
      '--out',
      `pushgateway=${pushgateway.url}`,
      '--run-id',
      RUN_ID,
      '--push-interval',
      '2s',
    ]);
    stderr = result.stderr;
    expect(result.code, result.stdout + result.stderr).toBe(0);
    report = readJson<CanaryReport>(path.join(out, 'report.json'));
    // The Pushgateway holds the final values; wait until the scraper has seen them.
    await scraper.waitFor(
      `sum(${catalog.eventsPublished.name}{run_id="${RUN_ID}"}) == ${report.totals.published}`,
      { timeoutMs: 30_000 },
    );
  }, 240_000);

  afterAll(async () => {
    await remoteWrite?.stop();
    await scraper?.stop();
    await pushgateway?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('says where it pushes, under which run_id, and reports no push failure', () => {
    expect(stderr).toContain(
      `pushing metrics to prometheus-rw, pushgateway as run_id="${RUN_ID}", scenario="smoke"`,
    );
    expect(stderr).not.toContain('--out prometheus-rw:');
    expect(stderr).not.toContain('--out pushgateway:');
  });

  it('remote-writes while the run lasts, not only at the end', async () => {
    const [samples] = await remoteWrite.query(
      `count_over_time(${catalog.eventsPublished.name}{run_id="${RUN_ID}", scenario="smoke", job="canary"}[15m])`,
    );
    // A ~30 s run pushed every 2 s: many samples, the last one the final count.
    expect(samples?.value).toBeGreaterThanOrEqual(5);
    const [last] = await remoteWrite.query(`sum(${catalog.eventsPublished.name}{run_id="${RUN_ID}"})`);
    expect(last?.value).toBe(report.totals.published);
  });

  it('records the arrival rate in events per second: the smoke plan wants 2/s at its peak', async () => {
    const [peak] = await remoteWrite.query(
      `max(max_over_time(${catalog.loadArrivalRate.name}{run_id="${RUN_ID}"}[15m]))`,
    );
    expect(peak?.value).toBe(2);
  });

  it('gives the same SLO verdict through PromQL on the remote-written run as in-process', async () => {
    const slos = loadSloFile(path.join(root, 'slos/delivery.yaml')).slos.filter((slo) =>
      report.slo?.results.some((result) => result.slo === slo.name),
    );
    expect(slos.length).toBeGreaterThanOrEqual(4);
    const source = prometheusSource({ url: remoteWrite.url, matchers: { run_id: RUN_ID } });
    const promql = await evaluateSlos(slos, source, { env: ENV });
    expect(report.slo?.results.length).toBeGreaterThan(0);
    expect(comparable(promql)).toEqual(comparable(report.slo));
  });

  it('gives the same SLO verdict through PromQL on the Pushgateway-scraped run as in-process', async () => {
    const slos = loadSloFile(path.join(root, 'slos/delivery.yaml')).slos.filter((slo) =>
      report.slo?.results.some((result) => result.slo === slo.name),
    );
    const source = prometheusSource({ url: scraper.url, matchers: { run_id: RUN_ID } });
    const promql = await evaluateSlos(slos, source, { env: ENV });
    expect(comparable(promql)).toEqual(comparable(report.slo));
  });

  it('judges the pushed run with canary slo --prometheus --run-id, with the exit code of the run', async () => {
    // The SLOs the smoke scenario is judged by (its thresholds.only), as an SLO file.
    const judged = new Set(report.slo?.results.map((result) => result.slo));
    const spec = parse(fs.readFileSync(path.join(root, 'slos/delivery.yaml'), 'utf8')) as {
      slos: { name: string }[];
    };
    const file = path.join(dir, 'judged.yaml');
    fs.writeFileSync(file, stringify({ ...spec, slos: spec.slos.filter((slo) => judged.has(slo.name)) }));
    const result = await runCli(
      ['slo', '--prometheus', remoteWrite.url, '--run-id', RUN_ID, '--env', ENV, '--slos', file],
      { timeoutMs: 60_000 },
    );
    expect(result.code, result.stdout + result.stderr).toBe(report.run.exitCode);
    expect(result.stdout).toContain(`run_id=${RUN_ID}`);
    expect(result.stdout).toContain('delivery-success');
  });

  it('answers every dashboard panel query with series from the pushed run', async () => {
    const queries = dashboardSpecs({
      catalog,
      slos: loadSloFile(path.join(root, 'slos/delivery.yaml')).slos,
    }).flatMap((dashboard) =>
      dashboard.rows.flatMap((row) =>
        row.panels.flatMap((panel) =>
          panel.queries.map((query, index) => ({
            name: `${dashboard.uid} › ${panel.title} › ${String.fromCharCode(65 + index)}`,
            query,
          })),
        ),
      ),
    );
    expect(queries.length).toBeGreaterThan(50);
    const problems: string[] = [];
    const end = Math.floor(Date.now() / 1000);
    for (const { name, query } of queries) {
      const expr = substitute(query.expr);
      try {
        const range = (await remoteWrite.api('query_range', {
          query: expr,
          start: String(end - 600),
          end: String(end),
          step: '5',
        })) as { result: unknown[] };
        const roundsOnly = ROUND_METRICS.some((metric) => expr.includes(metric));
        if (range.result.length === 0 && query.expect === 'data' && !roundsOnly)
          problems.push(`${name}: no series from ${expr}`);
      } catch (error) {
        problems.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    expect(problems).toEqual([]);
  }, 120_000);
});

describe.skipIf(skipWithoutPrometheus)('a bounded canary run pushing its metrics', () => {
  it('remote-writes its probe rounds while running and once more after the drain', async () => {
    const dir = tempDir('outputs-run');
    const prometheus = await startPrometheus({
      scrapeTargets: [],
      extraArgs: ['--web.enable-remote-write-receiver'],
    });
    try {
      const handle = await startRun(
        {
          config: writeLocalConfig(dir),
          env: [],
          port: '0',
          host: '127.0.0.1',
          summaryEvery: '1h',
          logLevel: 'error',
          duration: '8s',
          out: [`prometheus-rw=${prometheus.url}/api/v1/write`],
          runId: 'monitor-run',
          pushInterval: '2s',
        },
        { logger: silentLogger },
      );
      expect(await handle.done).toBe(0);
      const [samples] = await prometheus.query(
        `count_over_time(${catalog.eventsPublished.name}{run_id="monitor-run", env="${ENV}"}[15m])`,
      );
      expect(samples?.value).toBeGreaterThanOrEqual(2);
      const rounds = await prometheus.query(`sum(${catalog.probeRuns.name}{run_id="monitor-run"})`);
      expect(rounds[0]?.value).toBeGreaterThan(0);
      // A monitor run has no scenario: only run_id marks it.
      const labels = await prometheus.query(`${catalog.buildInfo.name}{run_id="monitor-run"}`);
      expect(labels[0]?.metric.scenario).toBeUndefined();
      expect(labels[0]?.metric.job).toBe('canary');
    } finally {
      await prometheus.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
