import { describe, expect, it } from 'vitest';
import { isCanaryError } from '../../shared/index.js';
import { rampingSubscribers, rampingSubscribersSchema } from './ramping-subscribers.js';
import { simulatedRun } from './simulated-run.js';

const common = { version: 'canary.scenario/v1', name: 'ramp', description: 'a ramp' } as const;

describe('ramping-subscribers executor', () => {
  it('follows its stages on a manual clock and publishes at the constant rate until the plan ends', async () => {
    const scenario = rampingSubscribersSchema.parse({
      ...common,
      executor: 'ramping-subscribers',
      stages: [
        { duration: '10s', target: 50 },
        { duration: '10s', target: 50 },
      ],
      rate: 2,
      spawnRate: 1000,
    });
    const run = simulatedRun({ spawnRate: scenario.spawnRate });
    const result = await run.run(rampingSubscribers, scenario);
    expect(result).toEqual({ stopReason: 'completed' });
    expect(run.clock.now()).toBe(20_000);
    // Linear 0 → 50 over 10 s (5 more every second, rounded), then held.
    for (const step of run.steps) expect(step.subscribers).toBe(Math.round((5 * step.t) / 1000));
    expect(run.steps.at(-1)?.subscribers).toBe(50);
    expect(run.steps.at(-1)?.t).toBeLessThanOrEqual(10_000);
    // 2 events/s; the last tick before the end is at 19.9 s.
    expect(run.published()).toBe(39);
    expect(new Set(run.arrivalRates)).toEqual(new Set([2]));
  });

  it('joins no faster than spawnRate even when the stage asks for more at once', async () => {
    const scenario = rampingSubscribersSchema.parse({
      ...common,
      executor: 'ramping-subscribers',
      startSubscribers: 100,
      stages: [{ duration: '10s', target: 100 }],
      rate: 0,
      spawnRate: 20,
    });
    const run = simulatedRun({ spawnRate: scenario.spawnRate });
    await run.run(rampingSubscribers, scenario);
    // 2 a tick at 20/s: 100 joins take 5 s.
    for (const step of run.steps) expect(step.subscribers).toBeLessThanOrEqual((step.t / 1000) * 20);
    expect(run.steps.at(-1)?.subscribers).toBe(100);
    expect(run.steps.at(-1)?.t).toBeGreaterThanOrEqual(5000);
  });

  it('stops at maxEvents, and at once when the run is interrupted', async () => {
    const scenario = rampingSubscribersSchema.parse({
      ...common,
      executor: 'ramping-subscribers',
      stages: [{ duration: '60s', target: 5 }],
      rate: 10,
      maxEvents: 25,
    });
    const capped = simulatedRun({ spawnRate: scenario.spawnRate, maxEvents: scenario.maxEvents });
    expect(await capped.run(rampingSubscribers, scenario)).toEqual({ stopReason: 'max_events' });
    expect(capped.published()).toBe(25);

    const controller = new AbortController();
    const interrupted = simulatedRun({ spawnRate: scenario.spawnRate, signal: controller.signal });
    setTimeout(() => controller.abort(), 0);
    expect(await interrupted.run(rampingSubscribers, scenario)).toEqual({ stopReason: 'interrupted' });
    expect(interrupted.clock.now()).toBeLessThan(60_000);
  });

  it('fails as the harness when the stages want more subscribers than its budget', async () => {
    const scenario = rampingSubscribersSchema.parse({
      ...common,
      executor: 'ramping-subscribers',
      stages: [{ duration: '10s', target: 100 }],
      harness: { maxSubscribers: 40 },
    });
    const run = simulatedRun({ spawnRate: scenario.spawnRate });
    const error = await run.run(rampingSubscribers, scenario).catch((e: unknown) => e);
    expect(isCanaryError(error) && error.code).toBe('HARNESS_OVERLOADED');
    expect(String((error as Error).message)).toMatch(
      /wants 41 subscribers, over this harness's budget of 40/,
    );
    expect(run.steps.at(-1)?.subscribers).toBe(40);
  });
});
