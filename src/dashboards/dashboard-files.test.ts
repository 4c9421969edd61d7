import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ERROR_BUDGET_REMAINING_RECORD_NAME,
  OBJECTIVE_RECORD_NAME,
  SLI_WINDOWS,
  WINDOW_ERROR_RECORD_NAME,
  sliErrorRecordName,
} from '../alerts/index.js';
import { allMetrics, catalog, DELIVERY_PATHS, type MetricSpec } from '../metrics/index.js';
import { loadSloFile } from '../slo/index.js';
import { dashboardSpecs, renderDashboards } from './dashboard-files.js';
import { buildDashboard } from './grafana-json.js';

const slos = loadSloFile(path.resolve(import.meta.dirname, '../../slos/delivery.yaml')).slos;
const specs = dashboardSpecs({ catalog, slos });
const queries = specs.flatMap((spec) =>
  spec.rows.flatMap((row) =>
    row.panels.flatMap((panel) => panel.queries.map((query) => ({ spec, panel, query }))),
  ),
);

/** Series a query may read: catalogue metrics (histograms by their series) and our recording rules. */
const knownSeries = new Set([
  ...allMetrics.flatMap((metric) =>
    metric.type === 'histogram'
      ? [`${metric.name}_bucket`, `${metric.name}_count`, `${metric.name}_sum`]
      : [metric.name],
  ),
  ...SLI_WINDOWS.map(sliErrorRecordName),
  OBJECTIVE_RECORD_NAME,
  WINDOW_ERROR_RECORD_NAME,
  ERROR_BUDGET_REMAINING_RECORD_NAME,
]);

/** The catalogue metric a query reads (its first one), with its series suffix removed. */
function metricOf(expr: string): MetricSpec | undefined {
  const names = [...expr.matchAll(/\bcanary_[a-z0-9_]+/g)].map((m) =>
    m[0].replace(/_(bucket|count|sum)$/, ''),
  );
  return allMetrics.find((metric) => metric.name === names[0]);
}

/** The Grafana unit a query's value has, from the catalogue unit and what the query does to it. */
function unitOf(expr: string): string | undefined {
  const metric = metricOf(expr);
  if (!metric) return undefined;
  if (expr.includes('histogram_quantile(')) return metric.unit === 'seconds' ? 's' : undefined;
  if (expr.includes(' >= bool ')) return undefined; // a state, mapped to names
  if (/\b(rate|increase)\(/.test(expr)) {
    if (metric.type === 'histogram') return metric.unit === 'seconds' ? 's' : undefined; // heatmap buckets
    if (expr.includes(' / ')) return 'percentunit'; // a share of two rates
    return metric.name === catalog.pollRequests.name || metric.name === catalog.pollCacheable.name
      ? 'reqps'
      : 'eps';
  }
  if (expr.startsWith('time() -')) return 's';
  return {
    seconds: 's',
    ratio: 'percentunit',
    count: 'short',
    boolean: 'bool',
    events_per_second: 'eps',
    bytes: 'bytes',
    info: undefined,
  }[metric.unit];
}

describe('the generated dashboards', () => {
  it('are the overview, environment comparison, load test and harness health dashboards', () => {
    expect(specs.map((spec) => spec.uid)).toEqual([
      'canary-overview',
      'canary-env-comparison',
      'canary-load-test',
      'canary-harness-health',
    ]);
  });

  it('read only catalogue metrics and the SLO recording rules', () => {
    const unknown = queries.flatMap(({ panel, query }) =>
      [...query.expr.matchAll(/\bcanary_[a-z0-9_:]+/g)]
        .map((match) => match[0])
        .filter((name) => !knownSeries.has(name))
        .map((name) => `${panel.title}: ${name}`),
    );
    expect(unknown).toEqual([]);
    expect(queries.length).toBeGreaterThan(50);
  });

  it('follow a metric renamed in the catalogue', () => {
    const renamed = {
      ...catalog,
      subscribersConnected: { ...catalog.subscribersConnected, name: 'canary_subscribers_joined' },
      harnessOverloaded: { ...catalog.harnessOverloaded, name: 'canary_harness_saturated' },
    };
    const before = renderDashboards({ catalog, slos })
      .map((file) => file.content)
      .join('\n');
    const after = renderDashboards({ catalog: renamed, slos })
      .map((file) => file.content)
      .join('\n');
    expect(before).toContain(catalog.subscribersConnected.name);
    expect(after).not.toContain(catalog.subscribersConnected.name);
    expect(after).not.toContain(catalog.harnessOverloaded.name);
    expect(after).toContain('canary_subscribers_joined');
    expect(after).toContain('canary_harness_saturated');
  });

  it('say, for every query that may be empty on a healthy run, when that happens', () => {
    const unexplained = queries
      .filter(({ query }) => query.expect === 'maybe-empty' && !query.emptyWhen)
      .map(({ panel }) => panel.title);
    expect(unexplained).toEqual([]);
  });

  it('show every comparison panel once for env_a on the left and once for env_b on the right', () => {
    const comparison = specs.find((spec) => spec.uid === 'canary-env-comparison');
    const panels = comparison?.rows.flatMap((row) => row.panels) ?? [];
    expect(panels.length).toBeGreaterThan(0);
    for (let i = 0; i < panels.length; i += 2) {
      const [a, b] = [panels[i], panels[i + 1]];
      expect(a?.title.replace('$env_a', '$env_b')).toBe(b?.title);
      expect(a?.queries.map((q) => q.expr.replaceAll('$env_a', '$env_b'))).toEqual(
        b?.queries.map((q) => q.expr),
      );
      expect(a?.queries.every((q) => q.expr.includes('env="$env_a"'))).toBe(true);
    }
    expect(comparison?.variables.map((v) => v.name)).toEqual(['env_a', 'env_b', 'path']);
  });

  it('have env and path template variables where panels are per environment and path', () => {
    const overview = specs.find((spec) => spec.uid === 'canary-overview');
    expect(overview?.variables.map((v) => v.name)).toEqual(['env', 'path']);
    const latency = overview?.rows[0]?.panels[0];
    expect(
      latency?.queries.every((q) => q.expr.includes('env="$env"') && q.expr.includes('path=~"$path"')),
    ).toBe(true);
  });

  it('show an error budget and a burn rate for every burn-rate-alerted SLO', () => {
    const overview = specs.find((spec) => spec.uid === 'canary-overview');
    const titles = overview?.rows.flatMap((row) => row.panels.map((panel) => panel.title)) ?? [];
    for (const name of ['delivery-latency', 'delivery-success']) {
      expect(titles).toContain(`Error budget remaining — ${name}`);
      expect(titles).toContain(`Burn rate — ${name}`);
    }
  });

  it('lay panels out on the 24-column grid without overlaps', () => {
    for (const spec of specs) {
      const panels = (buildDashboard(spec).panels ?? []) as {
        title?: string;
        gridPos?: { x: number; y: number; w: number; h: number };
      }[];
      const cells = new Set<string>();
      for (const panel of panels) {
        const pos = panel.gridPos;
        expect(pos, `${spec.uid} › ${panel.title}`).toBeDefined();
        if (!pos) continue;
        expect(pos.x + pos.w).toBeLessThanOrEqual(24);
        for (let x = pos.x; x < pos.x + pos.w; x += 1) {
          for (let y = pos.y; y < pos.y + pos.h; y += 1) {
            const cell = `${x},${y}`;
            expect(cells.has(cell), `${spec.uid} › ${panel.title} overlaps at ${cell}`).toBe(false);
            cells.add(cell);
          }
        }
      }
    }
  });

  it('query the Prometheus picked by the datasource variable', () => {
    for (const file of renderDashboards({ catalog, slos })) {
      const dashboard = JSON.parse(file.content) as {
        templating: { list: { name: string; type: string }[] };
        panels: {
          type: string;
          datasource?: { uid: string };
          targets?: { datasource?: { uid: string } }[];
        }[];
      };
      expect(dashboard.templating.list[0]).toMatchObject({ name: 'datasource', type: 'datasource' });
      for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
        expect(panel.datasource?.uid).toBe('${datasource}');
        for (const target of panel.targets ?? []) expect(target.datasource?.uid).toBe('${datasource}');
      }
    }
  });

  it('show every query in the unit of what it measures: event rates in events/s, never reqps', () => {
    const wrong = queries.flatMap(({ spec, panel, query }) => {
      const expected = unitOf(query.expr);
      const actual = query.unit ?? panel.unit;
      return expected === undefined || expected === actual
        ? []
        : [`${spec.uid} › ${panel.title}: ${actual}, measures ${expected} (${query.expr})`];
    });
    expect(wrong).toEqual([]);
    const eventRates = queries.filter(({ query }) => unitOf(query.expr) === 'eps');
    expect(eventRates.length).toBeGreaterThan(5);
  });

  it('never mix units on one axis: a query in another unit has a field override on the right axis', () => {
    for (const file of renderDashboards({ catalog, slos })) {
      const dashboard = JSON.parse(file.content) as {
        panels: {
          title: string;
          type: string;
          fieldConfig?: {
            defaults: { unit?: string };
            overrides: {
              matcher: { id: string; options: string };
              properties: { id: string; value: unknown }[];
            }[];
          };
        }[];
      };
      const spec = specs.find((candidate) => file.path.endsWith(`${candidate.uid}.json`));
      for (const panel of spec?.rows.flatMap((row) => row.panels) ?? []) {
        const built = dashboard.panels.find((p) => p.title === panel.title);
        panel.queries.forEach((query, index) => {
          if (query.unit === undefined || query.unit === panel.unit) return;
          const override = built?.fieldConfig?.overrides.find(
            (o) => o.matcher.id === 'byFrameRefID' && o.matcher.options === 'ABCDEFGHIJ'[index],
          );
          expect(override?.properties, `${panel.title} query ${index}`).toEqual([
            { id: 'unit', value: query.unit },
            { id: 'custom.axisPlacement', value: 'right' },
          ]);
        });
      }
    }
    const mixed = queries.filter(({ panel, query }) => query.unit !== undefined && query.unit !== panel.unit);
    expect([...new Set(mixed.map(({ panel }) => panel.title.replace(/ — \$env_[ab]$/, '')))].sort()).toEqual([
      'Harness saturation during the run',
      'Polling fallback: snapshot staleness and cacheable responses',
      'Rounds by result',
    ]);
  });

  it('draw a latency heatmap per delivery path from the histogram buckets', () => {
    const overview = buildDashboard(specs.find((spec) => spec.uid === 'canary-overview')!);
    const heatmaps = (overview.panels ?? []).filter((panel) => panel.type === 'heatmap') as unknown as {
      title: string;
      targets: { expr: string; format: string; legendFormat: string }[];
      options: { calculate: boolean };
    }[];
    expect(heatmaps.map((panel) => panel.title)).toEqual(
      DELIVERY_PATHS.map((path) => `Latency heatmap — ${path}`),
    );
    for (const [index, panel] of heatmaps.entries()) {
      expect(panel.options.calculate).toBe(false);
      expect(panel.targets[0]).toMatchObject({ format: 'heatmap', legendFormat: '{{le}}' });
      expect(panel.targets[0]?.expr).toBe(
        `sum by (le) (increase(${catalog.deliveryLatency.name}_bucket{env="$env", path=~"${DELIVERY_PATHS[index]}"}[$__rate_interval]))`,
      );
    }
  });

  it('show each probe and client kind as a subscription state timeline', () => {
    const overview = buildDashboard(specs.find((spec) => spec.uid === 'canary-overview')!);
    const timeline = (overview.panels ?? []).find((panel) => panel.type === 'state-timeline') as
      | {
          targets: { expr: string }[];
          fieldConfig: { defaults: { mappings: { options: Record<string, { text: string }> }[] } };
        }
      | undefined;
    expect(timeline?.targets[0]?.expr).toBe(
      `min by (probe, client) (${catalog.subscribersConnected.name}{env="$env"} >= bool ${catalog.subscribersDesired.name}{env="$env"})`,
    );
    expect(timeline?.fieldConfig.defaults.mappings[0]?.options).toMatchObject({
      '1': { text: 'all SUBSCRIBED' },
      '0': { text: 'subscribers missing' },
    });
  });

  it('read error budgets from the recording rules, never a raw rate over the SLO window', () => {
    const budgets = queries.filter(({ panel }) => panel.title.startsWith('Error budget remaining'));
    expect(budgets.length).toBeGreaterThanOrEqual(3);
    for (const { query } of budgets)
      expect(query.expr.startsWith(ERROR_BUDGET_REMAINING_RECORD_NAME)).toBe(true);
    expect(queries.filter(({ query }) => /\[(28d|4w|\d+d)\]/.test(query.expr))).toEqual([]);
  });

  it('link to one another and annotate the latency panels with firing latency alerts', () => {
    for (const spec of specs) {
      const dashboard = buildDashboard(spec) as {
        links?: { type: string; tags: string[]; includeVars: boolean; keepTime: boolean }[];
        annotations?: { list: { expr?: string; filter?: { ids: number[]; exclude: boolean } }[] };
        panels?: { id?: number; title?: string }[];
      };
      expect(dashboard.links).toEqual([
        expect.objectContaining({
          type: 'dashboards',
          tags: ['realtime-canary'],
          includeVars: true,
          keepTime: true,
        }),
      ]);
      expect(spec.tags).toContain('realtime-canary');
      if (spec.uid === 'canary-harness-health') continue;
      const annotation = dashboard.annotations?.list.find((a) => a.expr?.startsWith('ALERTS{'));
      expect(annotation?.expr, spec.uid).toContain('sli="latency"');
      const annotated = (dashboard.panels ?? []).filter((panel) =>
        annotation?.filter?.ids.includes(panel.id ?? -1),
      );
      expect(annotated.length, spec.uid).toBeGreaterThan(0);
      expect(
        annotated.every((panel) => /latency/i.test(panel.title ?? '')),
        spec.uid,
      ).toBe(true);
    }
  });

  it('let the load-test dashboard pick a pushed CI run by run_id', () => {
    const load = specs.find((spec) => spec.uid === 'canary-load-test');
    expect(load?.variables.map((v) => v.name)).toContain('run_id');
    const loadQueries = load?.rows.flatMap((row) => row.panels.flatMap((panel) => panel.queries)) ?? [];
    const unscoped = loadQueries.filter(
      (query) => query.expr.includes('env="$env"') && !query.expr.includes('run_id=~"$run_id"'),
    );
    expect(unscoped.map((query) => query.expr)).toEqual([
      expect.stringContaining(catalog.connectionLimit.name), // the plan limit is the environment's, not a run's
    ]);
  });
});
