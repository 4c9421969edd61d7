/**
 * Fixtures for the probe tests: a local target started through resolveEnvironment (as `canary run`
 * does), a probe spec from the real schema, and a runner on a fresh registry.
 */
import { environmentSchema, probeSchema, type ProbeSpecInput } from '../../src/config/index.js';
import { createMetrics, type CanaryMetrics } from '../../src/metrics/index.js';
import { ProbeRunner, resolveEnvironment, type ResolvedEnvironment } from '../../src/probe/index.js';
import { startTarget, type FaultSettingsInput, type LocalTarget } from '../../src/local-target/index.js';
import type { Registry } from 'prom-client';

export async function startLocalEnvironment(
  options: { name?: string; faults?: FaultSettingsInput; mechanics?: number } = {},
): Promise<{ env: ResolvedEnvironment; target: LocalTarget }> {
  let started: LocalTarget | undefined;
  const config = environmentSchema.parse({
    name: options.name ?? 'local',
    local: { seed: 11 },
    mechanics: { from: 'local', count: options.mechanics ?? 4 },
  });
  const env = await resolveEnvironment(config, {
    startLocalTarget: async (request) => {
      started = await startTarget({
        ...request,
        faults: options.faults ?? {},
        faultSeed: 11,
      });
      return started;
    },
  });
  if (!started) throw new Error('the local target did not start');
  return { env, target: started };
}

export interface RunnerFixture {
  runner: ProbeRunner;
  registry: Registry;
  metrics: CanaryMetrics;
}

export function createRunner(
  env: ResolvedEnvironment,
  probe: ProbeSpecInput,
  options: { isOverloaded?: () => boolean } = {},
): RunnerFixture {
  const { registry, metrics } = createMetrics();
  const runner = new ProbeRunner({ env, probe: probeSchema.parse(probe), metrics, ...options });
  return { runner, registry, metrics };
}

/** Sum of a metric's samples whose labels include `labels`. */
export async function metricSum(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const [base, suffix] = name.endsWith('_count')
    ? [name.slice(0, -'_count'.length), name]
    : name.endsWith('_sum')
      ? [name.slice(0, -'_sum'.length), name]
      : [name, undefined];
  const metric = await registry.getSingleMetric(base)?.get();
  let total = 0;
  for (const value of metric?.values ?? []) {
    const sampleName = (value as { metricName?: string }).metricName;
    if (suffix !== undefined && sampleName !== suffix) continue;
    if (suffix === undefined && sampleName !== undefined && sampleName !== base) continue;
    const sampleLabels = value.labels as Record<string, unknown>;
    if (Object.entries(labels).every(([k, v]) => sampleLabels[k] === v)) total += value.value;
  }
  return total;
}

/** Books: for every path, due == delivered + late + dropped. */
export function booksBalance(runner: ProbeRunner): boolean {
  return runner.status().paths.every((p) => p.due === p.delivered + p.late + p.dropped);
}
