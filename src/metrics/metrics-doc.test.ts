import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allMetrics } from './catalog.js';
import { metricsDocPath, renderMetricsDoc } from './metrics-doc.js';

describe('metrics reference', () => {
  it('docs/metrics.md equals what the catalogue renders (regenerate with npx tsx src/metrics/metrics-doc.ts)', () => {
    const committed = fs.readFileSync(metricsDocPath(), 'utf8');
    expect(committed).toBe(renderMetricsDoc());
  });

  it('lists every catalogue metric exactly once, with its type, unit and labels', () => {
    const doc = renderMetricsDoc();
    expect(doc.startsWith('<!-- Generated from src/metrics/catalog.ts — do not edit.')).toBe(true);
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
