import { describe, expect, it } from 'vitest';
import { rampingArrivalRate, rampingArrivalRateSchema } from './ramping-arrival-rate.js';
import { simulatedRun } from './simulated-run.js';

describe('ramping-arrival-rate executor', () => {
  it('publishes the integral of its rate stages while a fixed number of mechanics listen', async () => {
    const scenario = rampingArrivalRateSchema.parse({
      version: 'canary.scenario/v1',
      name: 'lunch',
      description: 'lunch-time peak',
      executor: 'ramping-arrival-rate',
      subscribers: 8,
      startRate: 0,
      stages: [
        { duration: '10s', target: 20 },
        { duration: '10s', target: 20 },
      ],
    });
    const run = simulatedRun({ spawnRate: scenario.spawnRate });
    expect(await run.run(rampingArrivalRate, scenario)).toEqual({ stopReason: 'completed' });
    expect(run.steps.at(-1)?.subscribers).toBe(8);
    // 0 → 20/s over 10 s is 100 events, then 20/s; the last tick is at 19.9 s: 100 + 198.
    expect(run.published()).toBe(298);
    expect(run.arrivalRates[0]).toBe(0);
    expect(run.arrivalRates[50]).toBeCloseTo(10);
    expect(Math.max(...run.arrivalRates)).toBe(20);
  });
});
