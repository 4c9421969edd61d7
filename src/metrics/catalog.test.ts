import { describe, expect, it } from 'vitest';
import { allMetrics, catalog, METRIC_UNITS } from './catalog.js';
import { createMetrics } from './registry.js';

/** The unit a metric's name promises, by Prometheus naming conventions. */
function unitFromName(name: string, type: string): string | undefined {
  if (name.endsWith('_seconds') || name.endsWith('_timestamp_seconds')) return 'seconds';
  if (name.endsWith('_bytes')) return 'bytes';
  if (name.endsWith('_ratio')) return 'ratio';
  if (name.endsWith('_info')) return 'info';
  if (name.endsWith('_rate')) return 'events_per_second';
  if (type === 'counter') return 'count';
  return undefined;
}

describe('the metric catalogue units', () => {
  it('agree with every metric name and type', () => {
    const wrong = allMetrics.flatMap((spec) => {
      const expected = unitFromName(spec.name, spec.type);
      if (!(METRIC_UNITS as readonly string[]).includes(spec.unit))
        return [`${spec.name}: unknown unit ${spec.unit}`];
      if (expected !== undefined && expected !== spec.unit)
        return [`${spec.name}: ${spec.unit}, name says ${expected}`];
      if (spec.type === 'counter' && !spec.name.endsWith('_total'))
        return [`${spec.name}: counter without _total`];
      if (spec.unit === 'boolean' && spec.type !== 'gauge')
        return [`${spec.name}: boolean that is not a gauge`];
      return [];
    });
    expect(wrong).toEqual([]);
  });

  it('say what the recorded value is: the arrival rate is events per second, a rate the scenario sets', () => {
    expect(catalog.loadArrivalRate.unit).toBe('events_per_second');
    expect(catalog.loadArrivalRate.help).toContain('events per second');
    for (const spec of allMetrics.filter((metric) => metric.unit === 'count' && metric.type === 'gauge')) {
      expect(spec.help, spec.name).not.toMatch(/per second|\/s\b/);
    }
  });

  it('match the values the instruments record: booleans are 0 or 1, build info is always 1', async () => {
    const { registry, metrics } = createMetrics();
    metrics.probeSuccess.set({ env: 'e', probe: 'p' }, 1);
    metrics.harnessOverloaded.set(0);
    const json = await registry.getMetricsAsJSON();
    for (const spec of allMetrics.filter((metric) => metric.unit === 'boolean' || metric.unit === 'info')) {
      const values = json.find((metric) => metric.name === spec.name)?.values ?? [];
      expect(values.length, spec.name).toBeGreaterThan(0);
      for (const value of values) expect([0, 1], spec.name).toContain(value.value);
    }
    const info = json.find((metric) => metric.name === catalog.buildInfo.name)?.values ?? [];
    expect(info.map((value) => value.value)).toEqual([1]);
  });
});
