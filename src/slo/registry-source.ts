/**
 * SLI source (a): the in-process prom-client registry of a run, or the snapshot of it a JSON
 * report stores (`registry.getMetricsAsJSON()`), so `canary slo --run report.json` judges a
 * finished run exactly as the run judged itself.
 */
import type { Registry } from 'prom-client';
import type { Matchers, SeriesSelector } from './sli-queries.js';
import type { SeriesValue, SliSource } from './sli-source.js';

/** The parts of prom-client's `getMetricsAsJSON()` output the evaluator reads. */
export interface MetricSnapshot {
  name: string;
  type: string;
  values: { value: number; metricName?: string; labels: Record<string, string | number> }[];
}

function matches(labels: Record<string, string | number>, matchers: Matchers): boolean {
  return Object.entries(matchers).every(([label, expected]) => {
    const actual = labels[label];
    if (actual === undefined) return false;
    const wanted = typeof expected === 'string' ? [expected] : expected;
    // prom-client keeps `le` as a number in JSON; compare as Prometheus prints it.
    return wanted.some((value) => String(actual) === value || Number(actual) === Number(value));
  });
}

function select(snapshot: readonly MetricSnapshot[], selector: SeriesSelector): MetricSnapshot['values'] {
  const out: MetricSnapshot['values'] = [];
  for (const metric of snapshot) {
    for (const sample of metric.values) {
      const seriesName = sample.metricName ?? metric.name;
      if (seriesName === selector.metric && matches(sample.labels, selector.matchers)) out.push(sample);
    }
  }
  return out;
}

function group(
  samples: MetricSnapshot['values'],
  by: readonly string[],
  combine: (a: number, b: number) => number,
): SeriesValue[] {
  const groups = new Map<string, SeriesValue>();
  for (const sample of samples) {
    const labels: Record<string, string> = {};
    for (const label of by) {
      const value = sample.labels[label];
      if (value !== undefined) labels[label] = String(value);
    }
    const key = JSON.stringify(labels);
    const existing = groups.get(key);
    if (existing) existing.value = combine(existing.value, sample.value);
    else groups.set(key, { labels, value: sample.value });
  }
  return [...groups.values()];
}

export function snapshotSource(snapshot: readonly MetricSnapshot[], description = 'run snapshot'): SliSource {
  return {
    description,
    sum: async (selector, by) => group(select(snapshot, selector), by, (a, b) => a + b),
    max: async (selector, by) => group(select(snapshot, selector), by, Math.max),
  };
}

/** Reads the registry afresh on every question, so a live run can be judged mid-flight. */
export function registrySource(registry: Registry, description = 'in-process registry'): SliSource {
  // prom-client types label values loosely (string | number | undefined); the shape is the same.
  const read = async (): Promise<MetricSnapshot[]> =>
    (await registry.getMetricsAsJSON()) as unknown as MetricSnapshot[];
  return {
    description,
    sum: async (selector, by) => group(select(await read(), selector), by, (a, b) => a + b),
    max: async (selector, by) => group(select(await read(), selector), by, Math.max),
  };
}
