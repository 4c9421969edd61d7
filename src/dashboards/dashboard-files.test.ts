import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OBJECTIVE_RECORD_NAME, SLI_WINDOWS, sliErrorRecordName } from '../alerts/index.js';
import { allMetrics, catalog } from '../metrics/index.js';
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
]);

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
});
