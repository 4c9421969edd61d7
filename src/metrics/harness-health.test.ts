import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { CanaryError, sleep } from '../shared/index.js';
import { createHarnessHealth, type HarnessHealth } from './harness-health.js';
import { createMetrics } from './registry.js';

function blockEventLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Deliberately busy: this is the saturation the monitor must notice.
  }
}

/** Spins until the process used `cpuMs` of CPU time (or 5 s of wall time passed). */
function burnCpu(cpuMs: number): void {
  const start = process.cpuUsage();
  const giveUpAt = performance.now() + 5_000;
  while (performance.now() < giveUpAt) {
    const used = process.cpuUsage(start);
    if ((used.user + used.system) / 1000 >= cpuMs) return;
  }
}

async function gaugeValue(registry: Registry, name: string): Promise<number | undefined> {
  const metric = await registry.getSingleMetric(name)?.get();
  return metric?.values[0]?.value;
}

describe('harness health', () => {
  let health: HarnessHealth | undefined;
  afterEach(() => health?.stop());

  it('reports a calm process as not overloaded and writes all three gauges', async () => {
    const { registry, metrics } = createMetrics({ registry: new Registry() });
    // Generous lag threshold: the test machine is shared, only the verdict's wiring is under test here.
    health = createHarnessHealth({ metrics, thresholds: { eventLoopLagP99Ms: 1000 }, intervalMs: 60_000 });
    health.start();
    await sleep(200);
    const snapshot = health.sample();

    expect(snapshot.samples).toBe(1);
    expect(snapshot.overloaded).toBe(false);
    expect(health.isOverloaded()).toBe(false);
    expect(snapshot.cpuRatio).toBeGreaterThanOrEqual(0);
    expect(snapshot.cpuRatio).toBeLessThan(0.9);
    expect(await gaugeValue(registry, 'canary_harness_overloaded')).toBe(0);
    expect(await gaugeValue(registry, 'canary_harness_cpu_ratio')).toBeCloseTo(snapshot.cpuRatio, 6);
    expect(await gaugeValue(registry, 'canary_harness_event_loop_lag_seconds')).toBeCloseTo(
      snapshot.eventLoopLagP99Ms / 1000,
      6,
    );
  });

  it('flags the harness as overloaded when the event loop is blocked', async () => {
    const { registry, metrics } = createMetrics({ registry: new Registry() });
    // CPU threshold out of reach so the verdict must come from the event-loop lag alone.
    health = createHarnessHealth({ metrics, thresholds: { cpuRatio: 100 }, intervalMs: 60_000 });
    health.start();
    await sleep(20);
    blockEventLoop(300);
    // Let the delay monitor's timer fire once so the stall is recorded.
    await sleep(30);
    const snapshot = health.sample();

    expect(snapshot.eventLoopLagP99Ms).toBeGreaterThan(200);
    expect(snapshot.overloaded).toBe(true);
    expect(health.isOverloaded()).toBe(true);
    expect(await gaugeValue(registry, 'canary_harness_overloaded')).toBe(1);
    expect(await gaugeValue(registry, 'canary_harness_event_loop_lag_seconds')).toBeGreaterThan(0.2);
  });

  it('flags the harness as overloaded when CPU use crosses the threshold', async () => {
    const { metrics } = createMetrics({ registry: new Registry() });
    // The machine is shared, so a busy loop may get only part of a core: the threshold is low and
    // the loop burns a fixed amount of CPU time rather than of wall time.
    health = createHarnessHealth({
      metrics,
      thresholds: { eventLoopLagP99Ms: 100_000, cpuRatio: 0.05 },
      intervalMs: 60_000,
    });
    health.start();
    burnCpu(200);
    const snapshot = health.sample();

    expect(snapshot.cpuRatio).toBeGreaterThan(0.05);
    expect(snapshot.overloaded).toBe(true);
  });

  it('recovers once a calm window follows a saturated one', async () => {
    const { metrics } = createMetrics({ registry: new Registry() });
    health = createHarnessHealth({
      metrics,
      thresholds: { eventLoopLagP99Ms: 150, cpuRatio: 100 },
      intervalMs: 60_000,
    });
    health.start();
    await sleep(20);
    blockEventLoop(400);
    await sleep(30);
    expect(health.sample().overloaded).toBe(true);
    await sleep(300);
    expect(health.sample().overloaded).toBe(false);
  });

  it('samples on its own timer after start and stops sampling after stop', async () => {
    const { metrics } = createMetrics({ registry: new Registry() });
    health = createHarnessHealth({ metrics, intervalMs: 50 });
    health.start();
    for (let i = 0; i < 100 && health.snapshot().samples < 3; i++) await sleep(20);
    expect(health.snapshot().samples).toBeGreaterThanOrEqual(3);
    health.stop();
    const afterStop = health.snapshot().samples;
    await sleep(200);
    expect(health.snapshot().samples).toBe(afterStop);
  });

  it('rejects a sampling interval too short to measure anything, saying what to use', () => {
    const { metrics } = createMetrics({ registry: new Registry() });
    expect(() => createHarnessHealth({ metrics, intervalMs: 5 })).toThrow(CanaryError);
    expect(() => createHarnessHealth({ metrics, intervalMs: 5 })).toThrow(/at least 50/);
    expect(() => createHarnessHealth({ metrics, thresholds: { cpuRatio: -1 } })).toThrow(/must be > 0/);
  });
});
