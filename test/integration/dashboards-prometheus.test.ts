/**
 * Proof on real data: a probe runs against the local target (`canary run` in-process), a real
 * Prometheus scrapes its exporter and loads the generated rules, and then EVERY dashboard panel
 * query (template variables substituted) and EVERY rule expression is executed through
 * Prometheus' HTTP API. A query error fails the test, and so does an empty result wherever the
 * panel or rule declares that a healthy run must produce data.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  HEALTH_RULES_PATH,
  OBJECTIVE_RECORD_NAME,
  SLO_RULES_PATH,
  isAlertingRule,
  type AlertingRule,
  type RecordingRule,
  type RuleGroup,
} from '../../src/alerts/index.js';
import { startRun, type RunHandle } from '../../src/cli/commands/run.js';
import { dashboardSpecs, type QuerySpec } from '../../src/dashboards/index.js';
import { DELIVERY_PATHS, catalog } from '../../src/metrics/index.js';
import { silentLogger } from '../../src/shared/index.js';
import { loadSloFile } from '../../src/slo/index.js';
import { skipWithoutPrometheus, startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';

const root = path.resolve(import.meta.dirname, '../..');
const slos = loadSloFile(path.join(root, 'slos/delivery.yaml')).slos;
const ENV = 'local';
const RULE_FILES = [SLO_RULES_PATH, HEALTH_RULES_PATH].map((file) => path.join(root, file));

/** What Grafana would put in place of each template variable for this run. */
const VARIABLES: Record<string, string> = {
  env: ENV,
  env_a: ENV,
  env_b: ENV,
  path: '.*',
  scenario: '.*',
  run_id: '.*',
  __rate_interval: '30s',
  __range: '5m',
};

function substitute(expr: string): string {
  return expr.replace(/\$(\w+)/g, (token, name: string) => {
    const value = VARIABLES[name];
    if (value === undefined) throw new Error(`no test value for template variable ${token} in ${expr}`);
    return value;
  });
}

/**
 * Per alert: whether the signal it watches (its expression without the final threshold) must
 * exist on a healthy run, and whether the alert may be firing. Absent-style alerts have no signal.
 */
const ALERT_EXPECTATIONS: Record<
  string,
  { signal: 'data' | 'maybe-empty' | 'none'; firing: 'quiet' | 'any' }
> = {
  CanaryProbeAbsent: { signal: 'none', firing: 'quiet' },
  CanaryProbeStale: { signal: 'data', firing: 'quiet' },
  CanarySubscribersNotConnected: { signal: 'data', firing: 'quiet' },
  // The error counter only has series once a subscription has failed.
  CanarySubscriptionErrors: { signal: 'maybe-empty', firing: 'quiet' },
  CanaryZombieSubscribers: { signal: 'maybe-empty', firing: 'quiet' },
  CanaryConnectionHeadroomLow: { signal: 'data', firing: 'quiet' },
  // Two cores shared with other test runs: the harness may honestly report itself saturated.
  CanaryHarnessOverloaded: { signal: 'data', firing: 'any' },
  // A minute of probing is a tiny sample: one drop or one slow delivery among ~100 is already
  // 10× a 0.1 % budget. The burn alerts must evaluate cleanly (their inputs are checked through
  // the recording rules above); whether they fire on such a sample says nothing.
  CanaryDeliverySuccessBudgetFastBurn: { signal: 'none', firing: 'any' },
  CanaryDeliverySuccessBudgetSlowBurn: { signal: 'none', firing: 'any' },
  CanaryDeliveryLatencyBudgetFastBurn: { signal: 'none', firing: 'any' },
  CanaryDeliveryLatencyBudgetSlowBurn: { signal: 'none', firing: 'any' },
  CanaryPollingLatencyBudgetFastBurn: { signal: 'none', firing: 'any' },
  CanaryPollingLatencyBudgetSlowBurn: { signal: 'none', firing: 'any' },
  // Mechanic sessions exist only where mechanics sign in; a healthy run never renews late or fails.
  CanaryAuthRefreshFailing: { signal: 'maybe-empty', firing: 'quiet' },
  CanaryAuthTokenNearExpiry: { signal: 'maybe-empty', firing: 'quiet' },
};

/** `a - b > 0` → `a - b`: the series an alert compares against its threshold. */
function withoutThreshold(expr: string): string {
  return expr.replace(/\s*(>|>=|<|<=|==)\s*[\d.]+$/, '');
}

function writeProbeConfig(dir: string): string {
  // The shipped probe, one round every 2 s instead of 5 s, so a short run gives rates to show.
  const probe = fs
    .readFileSync(path.join(root, 'probes/waiver-to-mechanic.yaml'), 'utf8')
    .replace(/^interval: .*$/m, 'interval: 2s')
    .replace(/^jitter: .*$/m, 'jitter: 200ms');
  fs.writeFileSync(path.join(dir, 'probe.yaml'), probe);
  const config = path.join(dir, 'canary.yaml');
  fs.writeFileSync(
    config,
    [
      'version: canary/v1',
      'environments:',
      `  - name: ${ENV}`,
      '    local: {}',
      'probes:',
      '  - file: probe.yaml',
      '',
    ].join('\n'),
  );
  return config;
}

describe.skipIf(skipWithoutPrometheus)('dashboards and rules on a real probe run', () => {
  let dir: string;
  let runHandle: RunHandle | undefined;
  let prometheus: RunningPrometheus | undefined;
  // The committed files, exactly as Prometheus loads them (alerts-rules.test.ts proves they are current).
  const rules = RULE_FILES.flatMap((file) => {
    const doc = parse(fs.readFileSync(file, 'utf8')) as { groups: RuleGroup[] };
    return doc.groups.flatMap((group) => group.rules);
  });

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-dashboards-'));
    runHandle = await startRun(
      {
        config: writeProbeConfig(dir),
        env: [],
        port: '0',
        host: '127.0.0.1',
        summaryEvery: '1h',
        logLevel: 'error',
        duration: '10m',
      },
      { logger: silentLogger },
    );
    // Scraped as a Kubernetes setup would: an `env` target label naming the cluster, kept off the
    // canary's own `env` by honor_labels as in every shipped scrape config (docs/metrics.md).
    prometheus = await startPrometheus({
      scrapeTargets: [{ url: runHandle.exporterUrl, job: 'canary', labels: { env: 'cluster-a' } }],
      ruleFiles: RULE_FILES,
      scrapeIntervalSeconds: 1,
      honorLabels: true,
    });
    // Both realtime paths delivering, and long enough after that for 30 s rate windows to fill.
    for (const deliveryPath of ['postgres_changes', 'broadcast']) {
      await prometheus.waitFor(
        `sum(${catalog.deliveryOutcomes.name}{env="${ENV}", path="${deliveryPath}", outcome="delivered"}) > 0`,
        { timeoutMs: 90_000 },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 35_000));
  }, 180_000);

  afterAll(async () => {
    await prometheus?.stop();
    await runHandle?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('loads every generated rule and evaluates it without errors', async () => {
    const data = (await prometheus?.api('rules')) as {
      groups: { name: string; rules: { name: string; health: string; lastError?: string }[] }[];
    };
    const loaded = data.groups.flatMap((group) => group.rules);
    expect(loaded).toHaveLength(rules.length);
    const unhealthy = loaded.filter((rule) => rule.health !== 'ok' || rule.lastError);
    expect(unhealthy).toEqual([]);
  });

  const panelQueries = dashboardSpecs({ catalog, slos }).flatMap((dashboard) =>
    dashboard.rows.flatMap((row) =>
      row.panels.flatMap((panel) =>
        panel.queries.map((query, index) => ({
          name: `${dashboard.uid} › ${panel.title} › ${String.fromCharCode(65 + index)}`,
          query,
        })),
      ),
    ),
  );

  it('executes every panel query, with data wherever a healthy run must have some', async () => {
    expect(panelQueries.length).toBeGreaterThan(50);
    const problems: string[] = [];
    let withData = 0;
    for (const { name, query } of panelQueries) {
      const result = await runQuery(query);
      if (typeof result === 'string') problems.push(`${name}: ${result}`);
      else if (result > 0) withData += 1;
      else if (query.expect === 'data') problems.push(`${name}: no data from ${substitute(query.expr)}`);
    }
    expect(problems).toEqual([]);
    expect(withData).toBeGreaterThanOrEqual(panelQueries.filter((p) => p.query.expect === 'data').length);
  }, 120_000);

  /**
   * Series the query returns, asked the way Grafana asks (a range query over the last minute at a
   * 5 s step) and as an instant query; an error from either comes back as its message.
   */
  async function runQuery(query: QuerySpec): Promise<number | string> {
    const expr = substitute(query.expr);
    const end = Math.floor(Date.now() / 1000);
    try {
      const instant = await (prometheus as RunningPrometheus).query(expr);
      const range = (await (prometheus as RunningPrometheus).api('query_range', {
        query: expr,
        start: String(end - 60),
        end: String(end),
        step: '5',
      })) as { resultType: string; result: unknown[] };
      if (range.resultType !== 'matrix') return `range query returned a ${range.resultType}`;
      return Math.min(instant.length, range.result.length);
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }

  it('gives every SLO error-ratio recording rule a value for each delivery path it covers', async () => {
    const recordings = rules.filter((rule): rule is RecordingRule => !isAlertingRule(rule));
    expect(recordings.length).toBeGreaterThan(0);
    const problems: string[] = [];
    for (const rule of recordings) {
      const labels = Object.entries(rule.labels ?? {})
        .map(([key, value]) => `${key}="${value}"`)
        .join(', ');
      const recorded = await (prometheus as RunningPrometheus).query(`${rule.record}{${labels}}`);
      const direct = await (prometheus as RunningPrometheus).query(rule.expr);
      if (direct.length === 0) problems.push(`${rule.record}{${labels}}: its expression returns nothing`);
      if (recorded.length === 0) problems.push(`${rule.record}{${labels}}: not recorded`);
      const slo = slos.find((candidate) => candidate.name === rule.labels?.slo);
      const perPath = rule.labels?.sli === 'latency' || rule.labels?.sli === 'delivery';
      if (slo && perPath && rule.record !== OBJECTIVE_RECORD_NAME) {
        const paths = new Set(recorded.map((sample) => sample.metric.path));
        for (const wanted of slo.paths ?? DELIVERY_PATHS) {
          if (!paths.has(wanted)) problems.push(`${rule.record}{${labels}}: no ${wanted} series`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('executes every alert expression: the watched signal exists and a healthy run fires nothing', async () => {
    const alerts = rules.filter(isAlertingRule);
    expect(Object.keys(ALERT_EXPECTATIONS).sort()).toEqual([...new Set(alerts.map((a) => a.alert))].sort());
    const problems: string[] = [];
    for (const alert of alerts as AlertingRule[]) {
      const expectation = ALERT_EXPECTATIONS[alert.alert];
      if (!expectation) continue;
      const firing = await (prometheus as RunningPrometheus).query(alert.expr);
      if (expectation.firing === 'quiet' && firing.length > 0) {
        problems.push(`${alert.alert} fires on a healthy run: ${JSON.stringify(firing)}`);
      }
      if (expectation.signal !== 'none') {
        const signal = await (prometheus as RunningPrometheus).query(withoutThreshold(alert.expr));
        if (expectation.signal === 'data' && signal.length === 0) {
          problems.push(`${alert.alert}: no data for ${withoutThreshold(alert.expr)}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
