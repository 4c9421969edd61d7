/** docs/metrics.md documents the local target's own target_* metrics like the canary's. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTargetMetrics } from '../../src/local-target/index.js';

const root = path.resolve(import.meta.dirname, '../..');

describe('the metrics reference', () => {
  it('has a row for every metric the local target registers, with its labels', async () => {
    const doc = fs.readFileSync(path.join(root, 'docs/metrics.md'), 'utf8');
    const { registry } = createTargetMetrics();
    const metrics = await registry.getMetricsAsJSON();
    expect(metrics.length).toBeGreaterThan(5);
    for (const metric of registry.getMetricsAsArray()) {
      const { name, labelNames } = metric as unknown as { name: string; labelNames: string[] };
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
      expect(row, `docs/metrics.md lacks ${name}: run npm run generate`).toBeDefined();
      for (const label of labelNames) expect(row).toContain(`\`${label}\``);
    }
  });
});
