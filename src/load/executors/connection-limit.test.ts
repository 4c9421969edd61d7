import { describe, expect, it } from 'vitest';
import { connectionLimit, connectionLimitSchema } from './connection-limit.js';
import { simulatedRun } from './simulated-run.js';

const scenario = connectionLimitSchema.parse({
  version: 'canary.scenario/v1',
  name: 'limit',
  description: 'find the limit',
  executor: 'connection-limit',
  start: 10,
  step: 10,
  max: 40,
  hold: '2s',
  rate: 5,
  spawnRate: 100,
  latencyP95: '500ms',
});

describe('connection-limit executor', () => {
  it('climbs every level and reports no break when the target takes them all', async () => {
    const run = simulatedRun({ spawnRate: scenario.spawnRate });
    const result = await run.run(connectionLimit, scenario);
    expect(run.levels).toEqual([10, 20, 30, 40]);
    expect(result).toEqual({
      stopReason: 'completed',
      breakingPoint: {
        subscribers: 40,
        level: 40,
        cause: 'none',
        detail: 'no break up to 40 subscribers',
        planLimit: 200,
      },
    });
  });

  it('names the plan cap when the target refuses connections past 25, without waiting out the settle time', async () => {
    const run = simulatedRun({
      spawnRate: scenario.spawnRate,
      planLimit: 25,
      connected: (asked) => Math.min(asked, 25),
      errors: (asked): Record<string, number> => (asked > 25 ? { connection_limit: asked - 25 } : {}),
    });
    const result = await run.run(connectionLimit, scenario);
    expect(run.levels).toEqual([10, 20, 30]);
    expect(result.breakingPoint).toMatchObject({
      subscribers: 25,
      level: 30,
      cause: 'plan_cap',
      planLimit: 25,
    });
    expect(result.stopReason).toBe('breaking_point');
    expect(run.clock.now()).toBeLessThan(15_000);
  });

  it('breaks on latency when every subscriber connects but p95 passes the bound', async () => {
    const run = simulatedRun({ spawnRate: scenario.spawnRate, latencyMs: (asked) => asked * 20 });
    const result = await run.run(connectionLimit, scenario);
    expect(result.breakingPoint).toMatchObject({ level: 30, cause: 'latency', subscribers: 30 });
    expect(result.breakingPoint?.detail).toMatch(/p95 latency 600 ms over 500 ms at 30 subscribers/);
  });

  it('blames the harness when a level is above its subscriber budget', async () => {
    const budgeted = { ...scenario, harness: { ...scenario.harness, maxSubscribers: 25 } };
    const run = simulatedRun({ spawnRate: scenario.spawnRate });
    const result = await run.run(connectionLimit, budgeted);
    expect(result.breakingPoint).toMatchObject({ level: 30, subscribers: 20, cause: 'harness' });
  });

  it('refuses a probe whose lateAfter is not below its deadline', () => {
    expect(() => connectionLimit.check?.(scenario, { lateAfter: 5000, deadline: 5000 })).toThrow(
      /lateAfter must be below deadline for "limit"/,
    );
  });
});
