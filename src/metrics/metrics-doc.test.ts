import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allMetrics } from './catalog.js';
import { metricsDocPath, renderMetricsDoc } from './metrics-doc.js';

describe('metrics reference', () => {
  it('docs/metrics.md holds what the catalogue renders (regenerate with npm run generate)', () => {
    const committed = fs.readFileSync(metricsDocPath(), 'utf8');
    const catalogue = renderMetricsDoc();
    const upTo = (text: string, heading: string) => text.slice(0, text.indexOf(heading));
    expect(upTo(committed, '## The `env` label')).toBe(upTo(catalogue, '## The `env` label'));
  });

  it('lists the local target metrics in their own section when given', () => {
    const doc = renderMetricsDoc(allMetrics, {
      target: [
        { name: 'target_connections', type: 'gauge', help: 'Open sockets.', unit: 'count', labels: [] },
      ],
    });
    expect(doc).toContain('## Local target metrics');
    expect(doc).toContain('| `target_connections` | gauge | count | — | Open sockets. |');
  });

  it('explains why every shipped scrape config sets honor_labels', () => {
    expect(renderMetricsDoc()).toContain('honor_labels: true');
    expect(renderMetricsDoc()).toContain('exported_env');
  });

  it('lists every catalogue metric exactly once, with its type, unit and labels', () => {
    const doc = renderMetricsDoc();
    expect(doc.startsWith('<!-- Generated from src/metrics/catalog.ts')).toBe(true);
    expect(doc).toContain('do not edit');
    for (const spec of allMetrics) {
      const rows = doc.split('\n').filter((line) => line.startsWith(`| \`${spec.name}\` | ${spec.type} |`));
      expect(rows, spec.name).toHaveLength(1);
      expect(rows[0]).toContain(`| ${spec.unit} |`);
      for (const label of spec.labels) expect(rows[0]).toContain(`\`${label}\``);
    }
  });

  it('escapes pipes in help text so a row never splits into extra columns', () => {
    const doc = renderMetricsDoc([
      { name: 'canary_example_total', type: 'counter', help: 'a | b', unit: 'count', labels: [] },
    ]);
    expect(doc).toContain('| `canary_example_total` | counter | count | — | a \\| b |');
  });
});
